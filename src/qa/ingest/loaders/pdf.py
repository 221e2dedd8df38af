"""PDF loader: the text layer, page by page, with pypdf; scanned pages by OCR.

`Document.text` is the pages' text joined by a blank line, and `Document.sections` the
span of each page within it, so a passage can be cited by page. A page with no text
layer but an image (a scan) is read by OCR (`qa.ingest.ocr`) and flagged, so its
citation says "page 3, OCR"; a scanned page OCR cannot read is named in
`Document.skipped_parts` and the rest of the file is still indexed. pypdf (~0.1 s to
import) is imported inside `load_pdf`, and the OCR machinery only when a page needs
it; pypdf's warnings about damaged files are silenced (the file is either read or
skipped with a reason, which is what the user sees).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import warnings
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from qa.ingest.document import (
    PAGE,
    Document,
    UnreadableDocument,
    brief,
    join_sections,
    normalize_lines,
)

if TYPE_CHECKING:
    from qa.ingest.ocr import PageReading

_PDF_DATE = re.compile(r"(?:D:)?\s*(\d{4})(\d{2})?(\d{2})?")


def load_pdf(path: str, data: bytes) -> Document:
    """Text and page spans of a PDF; metadata title, author and creation date."""
    import pypdf
    from pypdf.errors import DependencyError

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = pypdf.PdfReader(io.BytesIO(data))  # tries the empty password itself
            if reader.is_encrypted and not reader.decrypt(""):
                raise UnreadableDocument(path, "encrypted PDF")
            page_objects = list(reader.pages)
            texts, failures = _page_texts(page_objects, DependencyError)
        except UnreadableDocument:
            raise
        except DependencyError:
            raise UnreadableDocument(
                path, "encrypted PDF (AES: needs the 'cryptography' package)") from None
        except Exception as exc:  # pypdf raises many kinds on damaged input
            raise UnreadableDocument(path, f"not a readable PDF ({brief(exc)})") from None
        meta = _metadata(reader)
    ocr = [False] * len(texts)
    unread: list[tuple[int, str]] = []  # (page index, why OCR could not read it)
    missing = [i for i, page in enumerate(texts) if not page]
    for i, reading in (_read_scans(data, missing) if missing else {}).items():
        texts[i], ocr[i] = reading.text, bool(reading.text)
        if reading.skipped:
            unread.append((i, reading.skipped))
    if not any(texts):
        if unread:
            raise UnreadableDocument(path, f"scanned PDF, and OCR read no page ({unread[0][1]})")
        if failures:
            raise UnreadableDocument(path, "not a readable PDF (text extraction failed)")
        raise UnreadableDocument(path, "PDF has no text (no text layer, no page images)")
    text, pages = join_sections(texts, ocr=ocr)
    return Document(
        path=path,
        text=text,
        title=_meta_text(meta, "/Title") or PurePosixPath(path).stem,
        author=_meta_text(meta, "/Author"),
        published=pdf_date(_meta_text(meta, "/CreationDate")),
        sections=pages,
        section_kind=PAGE,
        skipped_parts=tuple(f"page {i + 1} skipped, {why}" for i, why in unread),
    )


def _read_scans(data: bytes, indexes: list[int]) -> dict[int, PageReading]:
    """OCR of the pages without a text layer; if PDFium cannot open the file at all,
    each of them says so."""
    from qa.ingest.ocr import PageReading, read_pages

    try:
        return read_pages(data, indexes)
    except Exception as exc:  # PDFium refusing a file pypdf could open
        return {i: PageReading("", f"OCR failed ({brief(exc)})") for i in indexes}


def _page_texts(
    page_objects: list[Any], fatal: type[Exception]
) -> tuple[list[str], int]:
    """Each page's text (empty when it has none or cannot be extracted) and how many
    pages failed; one bad page does not lose the others, but `fatal` propagates."""
    texts, failures = [], 0
    for page in page_objects:
        try:
            raw = page.extract_text() or ""
        except fatal:
            raise
        except Exception:  # a damaged content stream on one page
            raw, failures = "", failures + 1
        texts.append(normalize_lines(raw))
    return texts, failures


def _metadata(reader: Any) -> Any:
    try:
        return reader.metadata or {}
    except Exception:  # a damaged Info dictionary costs the metadata, not the text
        return {}


def _meta_text(meta: Any, key: str) -> str | None:
    try:
        value = meta.get(key)
    except Exception:
        return None
    if value is None:
        return None
    value = " ".join(str(value).replace("\x00", "").split())
    return value or None


def pdf_date(raw: str | None) -> str | None:
    """A PDF date string (D:YYYYMMDDHHmmSS...) as ISO YYYY-MM-DD (or YYYY-MM, YYYY)."""
    if not raw:
        return None
    match = _PDF_DATE.match(raw)
    if match is None:
        return None
    year, month, day = match.groups()
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    return "-".join(part for part in (year, month, day if month else None) if part)

