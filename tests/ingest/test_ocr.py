"""Scanned PDF pages read by OCR: PDFs whose pages are images of known text (drawn with
Pillow, placed by fpdf2), read offline, flagged in citations, and found by `qa ask`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from qa.ingest.document import Document, UnreadableDocument
from qa.ingest.loaders.registry import load_document
from qa.ingest.ocr import layout_text
from qa.settings import Paths
from tests.conftest import CORPUS, run_qa
from tests.support.documents import SCANNED_PARAGRAPHS, make_scanned_pdf

TYPED_PAGE = "A typed page: the fog signal at Skarvik sounded every thirty seconds."
SCANNED_TEXT = "\n\n".join("\n".join(lines) for lines in SCANNED_PARAGRAPHS)


@pytest.fixture(scope="module")
def mixed_scan() -> Document:
    """Page 1 scanned text, page 2 a scanned picture without text, page 3 typed, page 4
    one scanned paragraph: OCR runs on pages 1, 2 and 4 only."""
    data = make_scanned_pdf([SCANNED_PARAGRAPHS, None, TYPED_PAGE, SCANNED_PARAGRAPHS[1:]])
    return load_document("scans/skarvik.pdf", data)


def test_scanned_pages_are_read_and_flagged(mixed_scan: Document):
    pages = [mixed_scan.text[s.start : s.end] for s in mixed_scan.sections]
    assert pages == [SCANNED_TEXT, "", TYPED_PAGE, "\n".join(SCANNED_PARAGRAPHS[1])]
    assert [s.ocr for s in mixed_scan.sections] == [True, False, False, True]
    assert mixed_scan.title == "Skarvik light log"


def test_a_page_ocr_cannot_read_is_named_and_the_rest_kept(mixed_scan: Document):
    assert mixed_scan.skipped_parts == ("page 2 skipped, OCR found no text",)


def test_a_pdf_whose_every_page_is_unreadable_is_skipped():
    with pytest.raises(UnreadableDocument) as info:
        load_document("photo.pdf", make_scanned_pdf([None]))
    assert info.value.reason == "scanned PDF, and OCR read no page (OCR found no text)"


def test_layout_joins_pieces_into_lines_and_paragraphs():
    # (left, top, bottom): two pieces on line 1, line 2 close below, a paragraph gap.
    pieces = [((10, 100, 130), "Forty-one"), ((200, 102, 131), "storms"),
              ((10, 140, 170), "in 1923."), ((10, 240, 270), "The  tin box.")]
    assert layout_text(pieces) == "Forty-one storms\nin 1923.\n\nThe tin box."
    assert layout_text([]) == ""


def test_ocr_runs_offline_and_writes_nothing_outside(tmp_path):
    """With the network refused and HOME empty, OCR still reads the page, and nothing
    appears in HOME (onnxruntime's telemetry store, model downloads, caches)."""
    home = tmp_path / "home"
    home.mkdir()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(make_scanned_pdf([SCANNED_PARAGRAPHS[:1]]))
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise OSError('network attempted')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from pathlib import Path\n"
        "from qa.ingest.loaders.registry import load_document\n"
        f"doc = load_document('scan.pdf', Path({str(scan)!r}).read_bytes())\n"
        "print(doc.text)\n"
    )
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "\n".join(SCANNED_PARAGRAPHS[0])
    assert list(home.rglob("*")) == []
    assert socket.socket.connect  # this process is untouched


@pytest.mark.e2e
def test_scanned_pdf_is_found_by_qa_ask_with_the_ocr_mark(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "skarvik.pdf").write_bytes(make_scanned_pdf(
        [TYPED_PAGE, SCANNED_PARAGRAPHS], title="Skarvik light log"))
    shutil.copy(sorted(CORPUS.glob("*.md"))[0], corpus)
    paths = Paths(corpus, tmp_path / "index")
    indexed = run_qa(paths, "index", "--quiet")
    assert indexed.returncode == 0, indexed.stderr

    asked = run_qa(paths, "ask", "--json", "-k", "3",
                   "How many storms did the keeper log in the winter of 1923?")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    top = answer["results"][0]
    assert answer["answered"] and top["doc"] == "skarvik.pdf"
    assert (top["page"], top["ocr"]) == (2, True)
    assert "forty-one storms" in top["text"]
    assert ", page 2, OCR [skarvik.pdf, chars " in top["citation"]
    text = run_qa(paths, "ask", "How many storms did the keeper log in 1923?").stdout
    assert "page 2, OCR [skarvik.pdf" in text
