"""Word and EPUB files, written by python-docx and ebooklib: their text, structure and
metadata, chapter citations, and a clear reason for each kind of bad file."""

from __future__ import annotations

import pytest

from qa.index.writer import update_index
from qa.ingest.document import UnreadableDocument
from qa.ingest.loaders.package import OLE_MAGIC
from qa.ingest.loaders.registry import load_document
from qa.ingest.sentences import paragraph_spans
from qa.output.citation import citation
from qa.output.json_output import answer_json
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.support.documents import (
    CHAPTERS,
    DOCX_HEADING,
    DOCX_PARAGRAPHS,
    make_docx,
    make_epub,
    with_encrypted_chapters,
    zip_of,
)


def _reason(name: str, data: bytes) -> str:
    with pytest.raises(UnreadableDocument) as info:
        load_document(name, data)
    return info.value.reason


def _paragraphs(text: str) -> list[str]:
    return [text[s.start : s.end] for s in paragraph_spans(text)]


# --- Word -----------------------------------------------------------------------------


def test_docx_gives_headings_paragraphs_tables_and_properties():
    doc = load_document("reports/harbour.docx", make_docx())
    assert (doc.title, doc.author, doc.published) == ("Harbour report", "Maren Solberg",
                                                       "2024-05-06")
    assert doc.sections == ()
    assert _paragraphs(doc.text) == [
        DOCX_HEADING, *DOCX_PARAGRAPHS, "Opening hours:\nweekdays from seven.",
        "Crane | Lift\nNorth quay | 40 tonnes",
    ]


def test_docx_without_a_title_is_named_by_its_file():
    doc = load_document("notes/quay survey.docx", make_docx(title=None, author=None))
    assert doc.title == "quay survey"
    assert doc.author is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"Just some text saved with the wrong name.", "not a readable DOCX (damaged or not"),
        (OLE_MAGIC + bytes(600), "not a DOCX: an OLE file (password-protected"),
        (zip_of({"hello.txt": "hi"}), "not a DOCX (no Word document inside)"),
    ],
)
def test_bad_docx_files_name_a_reason(data, reason):
    assert _reason("bad.docx", data).startswith(reason)


def test_truncated_and_textless_docx_are_skipped():
    data = make_docx()
    assert _reason("cut.docx", data[: len(data) // 2]).startswith("not a readable DOCX")
    assert _reason("blank.docx", make_docx(paragraphs=[])) == "DOCX holds no text"


# --- EPUB -----------------------------------------------------------------------------


def test_epub_chapters_in_spine_order_with_titles():
    doc = load_document("books/lighthouse.epub", make_epub())
    assert (doc.title, doc.author, doc.source, doc.published) == (
        "The Lighthouse Diaries", "Ingrid Dahl", "Coastal Press", "2021-04-02")
    assert doc.section_kind == "chapter"
    # The cover (no text) and the navigation document are not chapters.
    assert [s.title for s in doc.sections] == [title for title, _ in CHAPTERS]
    for section, (title, paragraphs) in zip(doc.sections, CHAPTERS, strict=True):
        assert _paragraphs(doc.text[section.start : section.end]) == [title, *paragraphs]
    assert doc.sections[0].start == 0 and doc.sections[-1].end == len(doc.text)


def test_epub_chapters_without_a_table_of_contents_take_their_headings():
    doc = load_document("fog.epub", make_epub(toc=False))
    assert [s.title for s in doc.sections] == [title for title, _ in CHAPTERS]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"<html>not a book</html>", "not a readable EPUB (damaged or not a zip)"),
        (zip_of({"hello.txt": "hi"}), "not an EPUB (missing"),
    ],
)
def test_bad_epub_files_name_a_reason(data, reason):
    assert _reason("bad.epub", data).startswith(reason)


def test_drm_and_truncated_and_textless_epubs_are_skipped():
    book = make_epub()
    assert _reason("drm.epub", with_encrypted_chapters(book)) == (
        "DRM-protected EPUB (its chapters are encrypted)")
    assert _reason("cut.epub", book[: len(book) // 2]).startswith("not a readable EPUB")
    assert _reason("empty.epub", make_epub([])) == "EPUB holds no text"


# --- Indexing and citations -------------------------------------------------------------


def test_docx_and_epub_are_indexed_and_cited(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour.docx").write_bytes(make_docx())
    (corpus / "lighthouse.epub").write_bytes(make_epub())
    paths = Paths(corpus, tmp_path / "index")
    report = update_index(paths, progress=False, embedder=fake_embedder)
    assert sorted(report.added) == ["harbour.docx", "lighthouse.epub"]

    searcher = Searcher(paths.index, encoder=fake_embedder)
    try:
        book = searcher.search("Where was her diary found, in the tin box under the stairs?")
        word = searcher.search("How many containers does the harbour master expect?")
    finally:
        searcher.close()
    hit = next(h for h in book.hits if h.passage.path == "lighthouse.epub")
    assert "tin box under the stairs" in hit.passage.text
    assert (hit.passage.chapter, hit.passage.section_title, hit.passage.page) == (
        2, "The Tin Box", None)
    assert citation(hit.passage).startswith(
        "\u201cThe Lighthouse Diaries\u201d, Coastal Press, 2021-04-02, chapter 2 (The Tin Box)"
        " [lighthouse.epub, chars ")
    result = next(r for r in answer_json(book)["results"] if r["doc"] == "lighthouse.epub")
    assert (result["chapter"], result["chapter_title"], result["page"], result["ocr"]) == (
        2, "The Tin Box", None, False)

    passage = next(h.passage for h in word.hits if h.passage.path == "harbour.docx")
    assert "twelve thousand containers" in passage.text
    assert citation(passage).startswith(
        "\u201cHarbour report\u201d, 2024-05-06, paragraph 1 [harbour.docx")
