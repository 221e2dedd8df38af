"""The store: documents, passages, sentences and their vectors, in one SQLite file.

SQLite because one file gives us transactions (an update commits whole or not at all),
WAL snapshots (a reader keeps answering from the last commit while a writer works) and
FTS5, the lexical half of retrieval (its queries live in `qa.index.lexical`). Vectors are
stored here too, as float32 blobs: the FAISS file is then a derived copy that can always
be rebuilt without re-embedding anything. This module holds the schema, the connection,
transactions and the rows; the lexical index and the skipped-file registry read and
write their own tables through `Store.db`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from qa.errors import QaError
from qa.index.copies import CopyRegistry
from qa.index.lexical import LexicalIndex
from qa.index.records import DocumentFields, NewChunk, Passage, StoredDocument
from qa.index.skipped import SkippedFiles

SCHEMA_VERSION = 2  # 2: MinHash signatures, LSH bands and copies (republished documents)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    title TEXT NOT NULL,
    source TEXT,
    published TEXT,
    author TEXT,
    text TEXT NOT NULL,
    pages TEXT,
    indexed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    page INTEGER,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS sentences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_doc ON sentences(doc_id, start);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, body, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS minhash (
    doc_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS minhash_bands (
    band INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    PRIMARY KEY (band, bucket, doc_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS minhash_bands_doc ON minhash_bands(doc_id);
CREATE TABLE IF NOT EXISTS copies (
    doc_a INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    doc_b INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    similarity REAL NOT NULL,
    PRIMARY KEY (doc_a, doc_b)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS copies_b ON copies(doc_b);
CREATE TABLE IF NOT EXISTS skipped (
    path TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER
);
"""


class Store:
    """One SQLite connection to `qa.sqlite` in the index directory."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        if not create and not path.exists():
            raise QaError(f"{path}: no index store; run `qa index`")
        self.path = path
        try:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA busy_timeout = 10000")
            if create:
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.executescript(_SCHEMA)
            self.db.execute("SELECT 1 FROM documents LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise QaError(
                f"{path}: unreadable index store ({exc}); run `qa index --rebuild`"
            ) from None
        self.lexical = LexicalIndex(self.db)
        self.skipped = SkippedFiles(self.db)
        self.copies = CopyRegistry(self.db)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta -----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- documents ------------------------------------------------------------------
    def documents(self) -> dict[str, StoredDocument]:
        rows = self.db.execute("SELECT id, path, sha256, size, mtime_ns FROM documents")
        return {r[1]: StoredDocument(*r) for r in rows}

    def document_fields(self, doc_ids: Iterable[int] | None = None) -> list[DocumentFields]:
        """The path, title, source and date of the given documents (of all, with None),
        by path."""
        where, params = "", ()
        if doc_ids is not None:
            where, params = " WHERE id IN (SELECT value FROM json_each(?))", (
                json.dumps(sorted(doc_ids)),)
        rows = self.db.execute(
            f"SELECT id, path, title, source, published FROM documents{where} ORDER BY path",
            params)
        return [DocumentFields(*r) for r in rows]

    def document_id(self, path: str) -> int:
        return self.db.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()[0]

    def chunk_ids(self, doc_ids: Iterable[int] | None = None) -> np.ndarray:
        """Sorted ids of the chunks of the given documents (of all, with None)."""
        if doc_ids is None:
            rows = self.db.execute("SELECT id FROM chunks ORDER BY id").fetchall()
        else:
            rows = self.db.execute(
                "SELECT id FROM chunks WHERE doc_id IN (SELECT value FROM json_each(?))"
                " ORDER BY id", (json.dumps(list(doc_ids)),)).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def documents_of(self, chunk_ids: np.ndarray) -> int:
        """How many documents the given chunks come from."""
        return self.db.execute(
            "SELECT COUNT(DISTINCT doc_id) FROM chunks WHERE id IN"
            " (SELECT value FROM json_each(?))", (json.dumps(chunk_ids.tolist()),),
        ).fetchone()[0]

    def document_text(self, doc_id: int) -> str:
        return self.db.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()[0]

    def touch_document(self, doc_id: int, size: int, mtime_ns: int) -> None:
        """Record a new stat for a file whose content hash did not change."""
        self.db.execute(
            "UPDATE documents SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, doc_id)
        )

    def add_document(
        self,
        *,
        path: str,
        sha256: str,
        size: int,
        mtime_ns: int,
        title: str,
        source: str | None,
        published: str | None,
        author: str | None,
        text: str,
        pages: str | None,
        indexed_at: str,
        chunks: list[NewChunk],
        sentences: list[tuple[int, int, np.ndarray]],
    ) -> list[int]:
        """Insert a document with its chunks and sentences; return the new chunk ids."""
        cur = self.db.execute(
            "INSERT INTO documents(path, sha256, size, mtime_ns, title, source, published,"
            " author, text, pages, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (path, sha256, size, mtime_ns, title, source, published, author, text, pages,
             indexed_at),
        )
        doc_id = cur.lastrowid
        ids = []
        for chunk in chunks:
            cur = self.db.execute(
                "INSERT INTO chunks(doc_id, start, end, paragraph, page, vector)"
                " VALUES (?,?,?,?,?,?)",
                (doc_id, chunk.start, chunk.end, chunk.paragraph, chunk.page,
                 _blob(chunk.vector)),
            )
            ids.append(cur.lastrowid)
            self.lexical.add(cur.lastrowid, title, text[chunk.start : chunk.end])
        self.db.executemany(
            "INSERT INTO sentences(doc_id, start, end, vector) VALUES (?,?,?,?)",
            [(doc_id, s, e, _blob(v)) for s, e, v in sentences],
        )
        return ids

    def remove_document(self, doc_id: int) -> list[int]:
        """Delete a document, its chunks, sentences and lexical rows; return chunk ids."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        self.lexical.remove(ids)
        self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return ids

    # -- counts -----------------------------------------------------------------------
    def count(self, table: str) -> int:
        assert table in {"documents", "chunks", "sentences"}
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    # -- retrieval --------------------------------------------------------------------
    def passages(self, chunk_ids: Iterable[int]) -> dict[int, Passage]:
        ids = list(chunk_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            "SELECT c.id, d.id, d.path, d.title, d.source, d.published, d.author, c.paragraph,"
            " c.page, c.start, c.end, substr(d.text, c.start + 1, c.end - c.start)"
            f" FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})",
            ids,
        )
        return {r[0]: Passage(*r) for r in rows}

    def chunk_keys(self, chunk_ids: Iterable[int]) -> dict[int, tuple[str, int]]:
        """(document path, start offset) of each chunk: a history-independent sort key."""
        ids = list(chunk_ids)
        if not ids:
            return {}
        rows = self.db.execute(
            "SELECT c.id, d.path, c.start FROM chunks c JOIN documents d ON d.id = c.doc_id"
            f" WHERE c.id IN ({','.join('?' * len(ids))})",
            ids,
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def chunk_paths(self) -> dict[int, str]:
        """Every chunk id with its document's path (for document-level benchmarks)."""
        rows = self.db.execute(
            "SELECT c.id, d.path FROM chunks c JOIN documents d ON d.id = c.doc_id"
        )
        return dict(rows.fetchall())

    def sentences_within(self, doc_id: int, start: int, end: int) -> list[tuple[int, int, bytes]]:
        """Sentences lying inside [start, end) of a document, with their vectors."""
        return self.db.execute(
            "SELECT start, end, vector FROM sentences WHERE doc_id = ? AND start >= ? AND end <= ?"
            " ORDER BY start",
            (doc_id, start, end),
        ).fetchall()

    def vectors_of(self, chunk_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Ids (of those still stored) and vectors of the given chunks."""
        rows = self.db.execute(
            f"SELECT id, vector FROM chunks WHERE id IN ({','.join('?' * len(chunk_ids))})",
            chunk_ids,
        ).fetchall()
        return _arrays(rows)

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every chunk id and vector, for rebuilding the FAISS file without embedding."""
        return _arrays(self.db.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall())


def _arrays(rows: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    """(id, vector blob) rows as an id array and an (n, dimension) float32 matrix."""
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    if not rows:
        return ids, np.zeros((0, 0), dtype=np.float32)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
    return ids, vectors.reshape(len(rows), -1)


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def timestamp() -> str:
    """Now, in UTC, to the second: when a document or the index was last written."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
