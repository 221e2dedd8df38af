"""The rows of an index as the rest of qa sees them: plain frozen dataclasses.

Kept apart from the store so that the output and the TUI can name a `Passage` without
opening SQLite, and so that the store module holds only the schema and the queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    page: int | None
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class NewChunk:
    """A chunk about to be stored, with its embedding."""

    start: int
    end: int
    paragraph: int
    page: int | None
    vector: np.ndarray
