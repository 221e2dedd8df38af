"""Chunking: verbatim slices, token budgets, paragraph cuts, overlap, the model limit."""

from __future__ import annotations

import itertools

import pytest

from qa.embed import model
from qa.ingest.chunking import ChunkerSettings, chunk_text
from qa.ingest.loaders.registry import load_document
from qa.ingest.pipeline import chunker_settings, embedding_text
from qa.ingest.tokens import count_tokens
from tests.conftest import CORPUS


def _docs():
    for path in sorted(CORPUS.glob("*.md")):
        yield load_document(path.name, path.read_bytes())


def _chunks(doc):
    return chunk_text(doc.text, chunker_settings(), count_tokens,
                      lambda s: model.count_wordpieces(embedding_text(doc.title, s))
                      <= model.MAX_WORDPIECES)


def test_chunks_are_verbatim_slices_within_budget():
    settings = chunker_settings()
    for doc in _docs():
        chunks = _chunks(doc)
        assert chunks, doc.path
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text
            assert count_tokens(c.text) <= settings.max_tokens or "." not in c.text


def test_every_chunk_fits_the_model_input_limit():
    """A silently truncated chunk is a quality bug: check what the model really sees."""
    for doc in _docs():
        for c in _chunks(doc):
            assert model.count_wordpieces(embedding_text(doc.title, c.text)) <= 256


def test_chunks_cover_the_whole_text_in_order():
    for doc in _docs():
        chunks = _chunks(doc)
        starts = [c.start for c in chunks]
        assert starts == sorted(starts)
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        words = [i for i, ch in enumerate(doc.text) if not ch.isspace()]
        assert all(i in covered for i in words), doc.path


def test_overlap_only_within_a_paragraph():
    text = "\n\n".join(
        " ".join(f"Sentence {p}-{i} says something about topic {p}." for i in range(12))
        for p in range(3)
    )
    chunks = chunk_text(text, ChunkerSettings(60, 20, "cl100k_base"), count_tokens,
                        lambda s: True)
    overlaps = [(a, b) for a, b in itertools.pairwise(chunks) if b.start < a.end]
    assert overlaps, "a cut inside a paragraph should carry a sentence over"
    for a, b in overlaps:
        assert a.paragraph == b.paragraph or b.start >= a.start


def test_a_giant_sentence_is_split_to_fit():
    text = "word " * 2000
    chunks = chunk_text(text.strip(), ChunkerSettings(100, 20, "cl100k_base"), count_tokens,
                        lambda s: model.count_wordpieces(s) <= 256)
    assert len(chunks) > 10
    assert all(model.count_wordpieces(c.text) <= 256 for c in chunks)


def test_paragraph_numbers_follow_blank_lines():
    text = "First para one. Still one.\n\nSecond para.\n\nThird para here."
    chunks = chunk_text(text, ChunkerSettings(4, 0, "cl100k_base"), count_tokens, lambda s: True)
    assert next(c.paragraph for c in chunks) == 1
    assert chunks[-1].paragraph == 3


def test_no_passage_straddles_a_page_break():
    pages = ["Short page one.", "Short page two.", "Short page three is here."]
    text = "\n\n".join(pages)
    breaks = [text.index(p) for p in pages[1:]]
    chunks = chunk_text(text, ChunkerSettings(160, 40, "cl100k_base"), count_tokens,
                        lambda s: True, breaks=breaks)
    assert [c.text for c in chunks] == pages


def _prepared(rel: str, text: str):
    from qa.corpus.walk import CorpusFile
    from qa.index.preparation import fits_model
    from qa.ingest.pipeline import prepare

    return prepare(CorpusFile(rel, rel, len(text), 0), text.encode(), fits_model)


def test_each_sentence_is_pooled_from_the_first_passage_holding_it_whole():
    for path in sorted(CORPUS.glob("*.md")):
        p = _prepared(path.name, path.read_text(encoding="utf-8"))
        owned = p.passage_sentences()
        assert len(owned) == len(p.chunks)
        flat = [span for spans in owned for span in spans]
        assert len(flat) == len(set(flat)) and set(flat) <= set(p.sentences)
        for number, spans in enumerate(owned):
            for s, e in spans:
                holding = [i for i, c in enumerate(p.chunks) if c.start <= s and e <= c.end]
                assert holding[0] == number
        # every sentence that some passage holds whole has a vector
        held = {(s, e) for s, e in p.sentences
                if any(c.start <= s and e <= c.end for c in p.chunks)}
        assert set(flat) == held
        assert len(held) == len(p.sentences)  # the articles have no over-long sentence


def test_a_sentence_longer_than_a_passage_is_pooled_from_none():
    giant = " ".join(f"word{n}" for n in range(600)) + "."
    p = _prepared("giant.md", f"A short opening sentence.\n\n{giant}\n\nA closing one.")
    assert len(p.sentences) == 3 and len(p.chunks) > 2
    owned = [span for spans in p.passage_sentences() for span in spans]
    assert owned == [p.sentences[0], p.sentences[2]]


def _paragraph_text() -> tuple[str, list[tuple[int, int]]]:
    """Short paragraphs, then one longer than a passage, then short ones again; with each
    paragraph's [start, end)."""
    paragraphs = [f"Short paragraph {p} says one thing. It ends here." for p in range(3)]
    paragraphs.append(" ".join(f"Long paragraph sentence {i} carries on the topic."
                               for i in range(30)))
    paragraphs += [f"Closing paragraph {p} is brief." for p in range(2)]
    text = "\n\n".join(paragraphs)
    spans, pos = [], 0
    for para in paragraphs:
        start = text.index(para, pos)
        spans.append((start, start + len(para)))
        pos = start + len(para)
    return text, spans


def _mode_chunks(mode: str, max_tokens: int = 60):
    text, spans = _paragraph_text()
    return chunk_text(text, ChunkerSettings(max_tokens, 15, "cl100k_base", mode),
                      count_tokens, lambda s: True), text, spans


def _inside(chunk, spans) -> list[int]:
    """The paragraphs (numbers from 0) that the chunk touches."""
    return [n for n, (s, e) in enumerate(spans) if chunk.start < e and s < chunk.end]


def test_straddling_passages_run_on_across_a_paragraph_break():
    chunks, _, spans = _mode_chunks("straddle")
    assert any(len(_inside(c, spans)) > 1 and len(_inside(c, spans)) != 3 for c in chunks)


def test_aligned_passages_never_cross_a_paragraph_break():
    chunks, _, spans = _mode_chunks("aligned")
    assert all(len(_inside(c, spans)) == 1 for c in chunks)
    short = [c for c in chunks if _inside(c, spans) != [3]]
    assert [(c.start, c.end) for c in short] == [s for n, s in enumerate(spans) if n != 3]
    long = [c for c in chunks if _inside(c, spans) == [3]]
    assert len(long) > 2  # split by tokens, with overlap inside the paragraph
    assert all(count_tokens(c.text) <= 60 for c in long)
    assert any(b.start < a.end for a, b in itertools.pairwise(long))
    assert long[0].start == spans[3][0] and long[-1].end == spans[3][1]


def test_packed_passages_hold_whole_short_paragraphs_up_to_the_budget():
    chunks, text, spans = _mode_chunks("packed")
    for c in chunks:
        touched = _inside(c, spans)
        if len(touched) > 1:  # only whole paragraphs are packed together
            assert c.start == spans[touched[0]][0] and c.end == spans[touched[-1]][1]
            assert count_tokens(c.text) <= 60 and 3 not in touched
    assert (spans[0][0], spans[2][1]) in {(c.start, c.end) for c in chunks}
    assert (spans[4][0], spans[5][1]) in {(c.start, c.end) for c in chunks}
    tight = chunk_text(text, ChunkerSettings(25, 5, "cl100k_base", "packed"),
                       count_tokens, lambda s: True)
    assert all(len(_inside(c, spans)) <= 2 for c in tight)  # two short ones fit, not three


def test_an_unknown_paragraph_mode_is_refused():
    with pytest.raises(ValueError, match="paragraphs"):
        chunk_text("Some text.", ChunkerSettings(60, 15, "cl100k_base", "sideways"),
                   count_tokens, lambda s: True)
