"""Fuzzing the loaders and the chunker: random and mutated bytes for each format, and
random front matter. Every input is either prepared into consistent passages or
skipped with a one-line reason (UnreadableDocument); nothing else may escape."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from qa.corpus.walk import CorpusFile
from qa.embed import model
from qa.ingest.document import UnreadableDocument
from qa.ingest.pipeline import prepare
from tests.support.fuzzing import (
    SAMPLE_HTML,
    SAMPLE_MARKDOWN,
    fuzz_settings,
    mutated,
    sample_pdf,
    tricky_text,
)

SEEDS = {".md": SAMPLE_MARKDOWN, ".txt": SAMPLE_MARKDOWN, ".html": SAMPLE_HTML,
         ".pdf": sample_pdf()}


def fits_model(text: str) -> bool:
    return model.count_wordpieces(text) <= model.MAX_WORDPIECES


def prepared_or_skipped(rel: str, data: bytes) -> None:
    """Prepare `data` as corpus file `rel`; check what came out, or the skip reason."""
    try:
        prepared = prepare(CorpusFile(rel, f"/corpus/{rel}", len(data), 0), data, fits_model)
    except UnreadableDocument as exc:
        assert exc.reason and "\n" not in exc.reason and exc.path == rel
        return
    doc = prepared.doc
    assert doc.text.strip() and doc.title.strip()
    for value in (doc.source, doc.published, doc.author):
        assert value is None or isinstance(value, str)
    for chunk in prepared.chunks:
        assert 0 <= chunk.start < chunk.end <= len(doc.text)
        assert chunk.text == doc.text[chunk.start:chunk.end]
    for start, end in prepared.sentences:
        assert 0 <= start <= end <= len(doc.text)
    for section in doc.sections:
        assert 0 <= section.start <= section.end <= len(doc.text)


def contents(suffix: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=2048),
        mutated(SEEDS[suffix]),
        tricky_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.builds(lambda head, t: head + t.encode("utf-8"), st.just(SEEDS[suffix][:200]),
                  tricky_text),
    )


@pytest.mark.parametrize("suffix", sorted(SEEDS))
@fuzz_settings(100)
@given(data=st.data())
def test_random_and_mutated_bytes_are_prepared_or_skipped(suffix: str, data: st.DataObject):
    prepared_or_skipped(f"doc{suffix}", data.draw(contents(suffix)))


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), tricky_text,
                    st.dates(), st.datetimes(timezones=st.just(dt.UTC)))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(tricky_text, inner, max_size=3)),
    max_leaves=6)
meta = st.dictionaries(st.one_of(st.sampled_from(["title", "source", "published", "date",
                                                  "author"]), tricky_text),
                       values, max_size=6)


@st.composite
def front_matter_documents(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        head = yaml.safe_dump(draw(meta), allow_unicode=draw(st.booleans()))
    else:
        head = draw(tricky_text)  # not necessarily YAML at all
    close = draw(st.sampled_from(["---", "...", "", "--- "]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    body = draw(st.one_of(tricky_text, st.just("Baku rejected mediators.\n\nSecond.")))
    return f"---{newline}{head}{newline}{close}{newline}{body}".encode("utf-8",
                                                                       "surrogatepass")


@fuzz_settings(150)
@given(front_matter_documents(), st.sampled_from([".md", ".txt"]))
def test_random_front_matter_is_read_or_skipped(data: bytes, suffix: str):
    prepared_or_skipped(f"note{suffix}", data)
