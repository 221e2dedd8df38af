"""The rows of an index as the rest of qa sees them: plain frozen dataclasses.

Kept apart from the store so that the output and the TUI can name a `Passage` without
opening SQLite, and so that the store module holds only the schema and the queries.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoredDocument:
    """What the indexer needs to decide whether a file changed."""

    id: int
    path: str
    sha256: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class DocumentFields:
    """What filters and `qa sources` look at: a document's path and citation fields."""

    id: int
    path: str
    title: str
    source: str | None
    published: str | None


@dataclass(frozen=True)
class DocumentRecord:
    """An indexed document as a listing shows it: citation data and sizes."""

    id: int
    path: str
    title: str
    source: str | None
    published: str | None
    author: str | None
    chars: int  # length of the indexed text
    chunks: int
    section_kind: str | None  # "page", "chapter" or None
    sections: int  # pages or chapters (0 when the document has none)
    indexed_at: str


@dataclass(frozen=True)
class Passage:
    """A stored chunk with its document's citation data."""

    chunk_id: int
    doc_id: int
    path: str
    title: str
    source: str | None
    published: str | None
    author: str | None
    paragraph: int
    section_kind: str | None  # "page" (PDF), "chapter" (EPUB), or None
    section: int | None  # the page or chapter number, 1-based
    section_title: str | None  # a chapter's title, where the book gives one
    ocr: bool  # the page's text was read by OCR
    start: int
    end: int
    text: str

    @property
    def page(self) -> int | None:
        return self.section if self.section_kind == "page" else None

    @property
    def chapter(self) -> int | None:
        return self.section if self.section_kind == "chapter" else None


@dataclass(frozen=True)
class NewChunk:
    """A chunk about to be stored (its vector goes into the batch's vector segment)."""

    start: int
    end: int
    paragraph: int
    section: int | None  # the page or chapter number, 1-based


@dataclass(frozen=True)
class SegmentRow:
    """A live vector segment as the store records it (`qa.index.vectors`)."""

    name: str  # file name in the generation's vectors/ folder
    sha256: str
    bytes: int
    vectors: int  # vectors in the file, deleted ones included
    approximate: bool  # HNSW (or, written before it, IVF) over 8-bit codes, else exact
    # How the file looked once written (`qa.index.vectors.file_identity`): a file that
    # still looks so is the one committed, and is not hashed again ("" for unknown).
    identity: str = ""
