"""Each kind of unreadable file, through the real `qa index`: one line naming the file
and the reason, exit status 4, and everything else still indexed."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fpdf import FPDF

from qa.corpus.walk import CorpusFile
from qa.ingest.document import UnreadableDocument
from qa.ingest.loaders.package import OLE_MAGIC
from qa.ingest.pipeline import read_file
from qa.settings import Paths
from tests.conftest import QA, run_qa
from tests.support.documents import (
    SCANNED_PARAGRAPHS,
    make_docx,
    make_epub,
    make_scanned_pdf,
    with_encrypted_chapters,
    zip_of,
)


def _pdf(text: str | None, password: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    if text:
        pdf.set_font("helvetica", size=12)
        pdf.cell(text=text)
    else:
        pdf.rect(20, 20, 50, 50)
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    buffer = io.BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()


BAD_FILES = {
    "unsupported type": ("slides.pptx", b"PK\x03\x04 zip", "unsupported file type '.pptx'"),
    "binary": ("data.md", b"\x00\x01\x02\x03binary", "binary content"),
    "invalid encoding": ("latin.txt", "na\xefve caf\xe9".encode("latin-1"), "not valid UTF-8"),
    "empty": ("empty.md", b"", "empty"),
    "encrypted PDF": ("locked.pdf", None, "encrypted PDF"),
    "text-less PDF": ("blank.pdf", None, "PDF has no text (no text layer"),
    "truncated PDF": ("torn.pdf", None, "not a readable PDF"),
    "truncated DOCX": ("torn.docx", None, "not a readable DOCX"),
    "encrypted DOCX": ("locked.docx", OLE_MAGIC + bytes(600), "not a DOCX: an OLE file"),
    "DRM EPUB": ("drm.epub", None, "DRM-protected EPUB"),
    "zip named EPUB": ("photos.epub", zip_of({"a.txt": "x"}), "not an EPUB"),
    "unreadable scan": ("photo.pdf", None, "scanned PDF, and OCR read no page"),
}


def _content(kind: str) -> bytes:
    data = BAD_FILES[kind][1]
    if data is not None:
        return data
    if kind == "encrypted PDF":
        return _pdf("A secret report.", password="secret")
    if kind == "text-less PDF":
        return _pdf(None)
    if kind == "truncated DOCX":
        return make_docx()[:2000]
    if kind == "DRM EPUB":
        return with_encrypted_chapters(make_epub())
    if kind == "unreadable scan":
        return make_scanned_pdf([None])
    return _pdf("A report that was cut short.")[:300]


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_file_is_named_skipped_and_the_rest_indexed(index_copy: Paths, kind: str):
    name, _, reason = BAD_FILES[kind]
    (index_copy.corpus / name).write_bytes(_content(kind))
    result = run_qa(index_copy, "index")
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("qa: ")]
    assert len(lines) == 1 and lines[0].startswith(f"qa: {name}: skipped, {reason}"), lines
    assert "added 0, updated 0, removed 0, unchanged 5, skipped 1" in result.stdout
    status = run_qa(index_copy, "status").stdout
    assert "documents   5" in status and f"{name}: {reason}" in status
    assert run_qa(index_copy, "ask", "--json", "why did Baku reject mediators?").returncode == 0


def test_scanned_page_ocr_cannot_read_is_named_and_the_rest_indexed(index_copy: Paths):
    (index_copy.corpus / "log.pdf").write_bytes(
        make_scanned_pdf([SCANNED_PARAGRAPHS, None]))
    result = run_qa(index_copy, "index")
    assert result.returncode == 4, result.stderr
    assert result.stderr.splitlines() == ["qa: log.pdf: page 2 skipped, OCR found no text"]
    assert "added 1, updated 0, removed 0, unchanged 5, skipped 0, parts skipped 1" in (
        result.stdout)
    answer = json.loads(run_qa(index_copy, "ask", "--json", "Who logged storms in 1923?").stdout)
    assert any(r["doc"] == "log.pdf" and r["ocr"] for r in answer["results"])


def test_oversized_file_is_skipped_without_being_read(index_copy: Paths):
    big = index_copy.corpus / "huge.md"
    big.write_text("---\ntitle: huge\n---\n\n" + "All work and no play. " * 5000)
    env = {**os.environ, "QA_CORPUS": str(index_copy.corpus), "QA_INDEX": str(index_copy.index),
           "QA_MAX_FILE_BYTES": "50000"}
    result = subprocess.run([*QA, "index"], env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 4
    size = f"{big.stat().st_size:,}"
    assert f"qa: huge.md: skipped, {size} bytes, over the size limit of 50,000" in result.stderr
    assert "unchanged 5, skipped 1" in result.stdout


def test_file_vanished_mid_run_is_a_skip_reason(tmp_path: Path):
    ghost = CorpusFile("ghost.md", str(tmp_path / "ghost.md"), 10, 0)
    with pytest.raises(UnreadableDocument, match="vanished while indexing"):
        read_file(ghost)


def test_tiktoken_works_with_the_network_blocked():
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network attempted')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from qa.ingest.tokens import count_tokens\n"
        "assert count_tokens('Baku rejected mediators.') == 6\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert socket.socket.connect  # the test process itself is untouched
