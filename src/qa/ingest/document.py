"""A document as the index sees it: the text passages are cut from, and its citation data.

Every loader (`qa.ingest.loaders`) turns raw bytes into one `Document`, or raises
`UnreadableDocument` saying why in a few words. This module imports no loader, so the
loaders can import it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qa.errors import QaError

SECTION_SEPARATOR = "\n\n"  # a blank line: a section always ends a paragraph
PAGE = "page"  # a PDF's sections
CHAPTER = "chapter"  # an EPUB's sections


@dataclass(frozen=True)
class Section:
    """A span of a document's text that citations name: a PDF page, an EPUB chapter.

    Passages never straddle two sections, so a passage's section is exact.
    """

    start: int
    end: int
    title: str | None = None  # a chapter's title, where the book gives one
    ocr: bool = False  # the page had no text layer; its text was read by OCR

    def as_json(self) -> dict[str, Any]:
        """The stored form: only what is set, so a 500-page PDF's list stays short."""
        out: dict[str, Any] = {"start": self.start, "end": self.end}
        if self.title:
            out["title"] = self.title
        if self.ocr:
            out["ocr"] = True
        return out


@dataclass(frozen=True)
class Document:
    """A loaded document. `path` is relative to the corpus, with forward slashes."""

    path: str
    text: str
    title: str
    source: str | None = None
    published: str | None = None
    author: str | None = None
    # Pages of a PDF or chapters of an EPUB, first first; `section_kind` names which.
    sections: tuple[Section, ...] = field(default=())
    section_kind: str | None = None
    # Parts left out, each said in a few words ("page 3 skipped, OCR found no text"):
    # the rest of the document is indexed, and the indexer names these.
    skipped_parts: tuple[str, ...] = field(default=())


class UnreadableDocument(QaError):
    """A file that cannot be indexed; `reason` says why, in a few words."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: skipped, {reason}")
        self.path = path
        self.reason = reason


def brief(exc: BaseException) -> str:
    """An exception in a few words, for a skip reason: libraries raise many kinds on
    damaged input, and the user needs a hint, not a traceback."""
    message = " ".join(str(exc).split())
    if len(message) > 60:
        return message[:60].rstrip() + "..."
    return message or type(exc).__name__


def normalize_lines(text: str, *, keep_blank_lines: bool = True) -> str:
    """Extracted text tidied for paragraph splitting: Unix newlines, no trailing spaces,
    no NULs, at most one blank line in a row (none with `keep_blank_lines=False`)."""
    lines = [line.rstrip() for line in
             text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (keep_blank_lines and out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def join_sections(
    texts: list[str], titles: list[str | None] | None = None, ocr: list[bool] | None = None
) -> tuple[str, tuple[Section, ...]]:
    """Join section texts (pages, chapters) with a blank line; return the text and each
    section's span in it. An empty section gets an empty span where it would have been."""
    parts: list[str] = []
    sections: list[Section] = []
    pos = 0
    for number, part in enumerate(texts):
        if part and parts:
            parts.append(SECTION_SEPARATOR)
            pos += len(SECTION_SEPARATOR)
        sections.append(Section(pos, pos + len(part), titles[number] if titles else None,
                                bool(ocr and ocr[number])))
        parts.append(part)
        pos += len(part)
    return "".join(parts), tuple(sections)
