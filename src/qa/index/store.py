"""The store: documents, passages, sentences, and the list of vector segments.

SQLite because one file gives us transactions (an update commits whole or not at all)
and WAL snapshots (a reader keeps answering from the last commit while a writer works).
The store is the index's commit point: a passage exists when its row here is committed,
and the lexical index (tantivy, `qa.index.lexical`) and the vector segments follow it.
Passage vectors live only in the segment files (`qa.index.vectors`): the store names
the live segments with their hashes, and the deletion set, in the same transaction as
the rows, so a passage's vector is stored once. Sentence vectors are stored here, as
4-bit codes with a scale (`qa.index.sentence_codec`). This module holds the schema, the
connection, transactions and the rows; the skipped-file registry reads and writes its
own table through `Store.db`.

Longer than most modules: it is the one place that writes SQL for the store's tables
(documents, passages, sentences, the copy registry's signatures, the lexical queue, the
vector segments; the acronyms documents define have their own small class), so that a
schema change is made and reviewed in one file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QaError, as_user_error
from qa.index import sentence_codec
from qa.index.acronyms import AcronymTable
from qa.index.copies import CopyRegistry
from qa.index.impact_base import BASE_KEY
from qa.index.records import (
    DocumentFields,
    DocumentRecord,
    NewChunk,
    Passage,
    SegmentRow,
    StoredDocument,
)
from qa.index.skipped import SkippedFiles

# 2: the lexical index moved from FTS5 to tantivy; sections (pages or chapters, with
# titles and OCR flags) replaced pages; MinHash signatures, LSH bands and copies
# (republished documents).
# 3: passage vectors moved out of the store into vector segments (`qa.index.vectors`);
# sentence vectors stored as int8 (later 4-bit) codes with a scale (`qa.index.sentence_codec`), only
# for sentences that lie whole in a passage.
SCHEMA_VERSION = 3
COMMIT_SEQ_KEY = "commit_seq"  # meta: the last committed batch's number
# meta: a vector segment file's identity once written (`SegmentRow.identity`), by name
IDENTITY_KEY = "segment_identity:"

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
    section_kind TEXT,
    sections TEXT,
    indexed_at TEXT NOT NULL
);
-- What the freshness check of every `qa ask` and update reads, without the rows' text:
-- scanning the table itself would read every document's text from disk.
CREATE INDEX IF NOT EXISTS documents_stat ON documents(path, size, mtime_ns, sha256);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    section INTEGER
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS sentences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    scale REAL NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_doc ON sentences(doc_id, start);
CREATE TABLE IF NOT EXISTS lexical_deletes (chunk_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS base_removes (chunk_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS vector_segments (
    name TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    vectors INTEGER NOT NULL,
    approximate INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS vector_deletes (chunk_id INTEGER PRIMARY KEY);
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
-- Acronyms each document defines (`qa.index.acronyms`); gone with their document.
CREATE TABLE IF NOT EXISTS acronyms (
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    short TEXT NOT NULL,
    long TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (doc_id, short, long)
) WITHOUT ROWID;
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
            try:
                self.db = _connect(str(path), create, uri=False)
            except sqlite3.OperationalError as exc:
                if create or not _read_only_folder(path.parent, exc):
                    raise
                # Nobody can write this folder (a read-only mount or copy), so no writer
                # can change the store: SQLite may read it without creating the -wal and
                # -shm files that WAL mode otherwise needs beside it.
                self.db = _connect(f"{path.as_uri()}?immutable=1", False, uri=True)
        except sqlite3.DatabaseError as exc:
            raise as_user_error(exc, path.parent) or QaError(
                f"{path}: unreadable index store ({exc}); run `qa index --rebuild`"
            ) from None
        self.skipped = SkippedFiles(self.db)
        self.copies = CopyRegistry(self.db)
        self.acronyms = AcronymTable(self.db)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception.

        SQLite may already have rolled back by itself (it does on SQLITE_FULL and some
        I/O errors); a second ROLLBACK would then raise and hide the real error.
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.in_transaction:
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
    def documents(self, paths: Collection[str] | None = None) -> dict[str, StoredDocument]:
        """Stored documents by path: all of them, or those of `paths` (an update of a few
        files need not read 200,000 rows). All of them are read from the table itself,
        not the covering index `documents_stat`: a full update is then also a check that
        the table reads, so `qa index` names a damaged store instead of reporting
        nothing to do."""
        if paths is None:
            rows = self.db.execute(
                "SELECT id, path, sha256, size, mtime_ns FROM documents NOT INDEXED")
        else:
            rows = self.db.execute(
                "SELECT id, path, sha256, size, mtime_ns FROM documents"
                " WHERE path IN (SELECT value FROM json_each(?))", (json.dumps(list(paths)),))
        return {r[1]: StoredDocument(*r) for r in rows}

    def document_stats(self) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of every stored document by path: what the freshness check of
        every `qa ask` compares with the corpus, read from the covering index
        `documents_stat` as plain tuples (at 200,000 documents, building a record per
        row cost a third of a second)."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute(
            "SELECT path, size, mtime_ns FROM documents")}

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

    def document_texts(self) -> Iterator[tuple[int, str]]:
        """(id, text) of every document, read row by row."""
        yield from self.db.execute("SELECT id, text FROM documents")

    def document_records(self) -> list[DocumentRecord]:
        """Every indexed document with its citation data and sizes, by path."""
        rows = self.db.execute(
            "SELECT d.id, d.path, d.title, d.source, d.published, d.author, length(d.text),"
            " (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id), d.section_kind,"
            " coalesce(json_array_length(d.sections), 0), d.indexed_at"
            " FROM documents d ORDER BY d.path"
        )
        return [DocumentRecord(*r) for r in rows]

    def document_sections(self, doc_id: int) -> list[dict[str, Any]]:
        """A document's pages or chapters as stored: start, end, and title or ocr if set."""
        row = self.db.execute("SELECT sections FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else []

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
        section_kind: str | None,
        sections: str | None,
        indexed_at: str,
        chunks: list[NewChunk],
        sentences: list[tuple[int, int, np.ndarray]],
    ) -> list[int]:
        """Insert a document with its chunks and sentences; return the new chunk ids
        (the chunks' vectors go into the batch's vector segment)."""
        cur = self.db.execute(
            "INSERT INTO documents(path, sha256, size, mtime_ns, title, source, published,"
            " author, text, section_kind, sections, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (path, sha256, size, mtime_ns, title, source, published, author, text, section_kind,
             sections, indexed_at),
        )
        doc_id = cur.lastrowid
        ids = []
        for chunk in chunks:
            cur = self.db.execute(
                "INSERT INTO chunks(doc_id, start, end, paragraph, section) VALUES (?,?,?,?,?)",
                (doc_id, chunk.start, chunk.end, chunk.paragraph, chunk.section),
            )
            ids.append(cur.lastrowid)
        codes = sentence_codec.encode(np.array([v for _, _, v in sentences]))
        self.db.executemany(
            "INSERT INTO sentences(doc_id, start, end, scale, vector) VALUES (?,?,?,?,?)",
            [(doc_id, s, e, *code) for (s, e, _), code in zip(sentences, codes, strict=True)],
        )
        return ids

    def remove_document(self, doc_id: int) -> list[int]:
        """Delete a document, its chunks and sentences; return the chunk ids.

        The chunk ids are also queued in `lexical_deletes` and added to the vector
        deletion set, in the same transaction, so their removal from the lexical index
        and the vector segments survives a kill (`qa.index.commit`); with a lexical
        base, they join the passages it must leave out (`qa.index.impact_base`).
        """
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        tables = ["lexical_deletes", "vector_deletes"]
        if self.get_meta(BASE_KEY) is not None:
            tables.append("base_removes")
        for table in tables:
            self.db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?)", [(i,) for i in ids])
        self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return ids

    def pending_lexical_deletes(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT chunk_id FROM lexical_deletes")]

    def clear_lexical_deletes(self, chunk_ids: list[int]) -> None:
        self.db.executemany("DELETE FROM lexical_deletes WHERE chunk_id = ?",
                            [(i,) for i in chunk_ids])

    # -- vector segments (`qa.index.vectors`) ------------------------------------------
    def vector_segments(self) -> list[SegmentRow]:
        """The live vector segments, oldest first."""
        return [SegmentRow(*r[:4], bool(r[4]), r[5] or "") for r in self.db.execute(
            "SELECT name, sha256, bytes, vectors, approximate, value FROM vector_segments"
            f" LEFT JOIN meta ON key = '{IDENTITY_KEY}' || name ORDER BY name")]

    def set_segment_identity(self, name: str, identity: str) -> None:
        """Record how a segment file looks once it is known to be the one committed."""
        self.set_meta(IDENTITY_KEY + name, identity)

    def vector_deletes(self) -> np.ndarray:
        """Sorted ids of removed passages whose vectors are still in a segment."""
        rows = self.db.execute("SELECT chunk_id FROM vector_deletes ORDER BY chunk_id")
        return np.array([r[0] for r in rows], dtype=np.int64)

    def replace_segments(self, old: Iterable[str], new: SegmentRow | None,
                         applied_deletes: Iterable[int] = ()) -> None:
        """Swap segments in the live list (a batch adds one; a merge replaces several by
        one), forgetting the deletions the new segment no longer holds."""
        old = list(old)
        self.db.executemany("DELETE FROM vector_segments WHERE name = ?", [(n,) for n in old])
        self.db.executemany("DELETE FROM meta WHERE key = ?", [(IDENTITY_KEY + n,) for n in old])
        if new is not None:
            self.db.execute("INSERT INTO vector_segments VALUES (?,?,?,?,?)",
                            (new.name, new.sha256, new.bytes, new.vectors, new.approximate))
            if new.identity:
                self.set_segment_identity(new.name, new.identity)
        self.db.executemany("DELETE FROM vector_deletes WHERE chunk_id = ?",
                            [(int(i),) for i in applied_deletes])

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: several queries see one commit (a reader's segment list
        and deletion set must agree)."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def commit_seq(self) -> int:
        """The number of the last committed batch (0 for none)."""
        return int(self.get_meta(COMMIT_SEQ_KEY) or 0)

    # -- counts -----------------------------------------------------------------------
    def count(self, table: str) -> int:
        assert table in {"documents", "chunks", "sentences"}
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def chunk_ids_after(self, chunk_id: int) -> list[int]:
        """Chunk ids above `chunk_id`: the passages added since (ids only grow,
        AUTOINCREMENT)."""
        return [r[0] for r in self.db.execute(
            "SELECT id FROM chunks WHERE id > ? ORDER BY id", (chunk_id,))]

    def base_removes(self) -> frozenset[int]:
        """Chunk ids removed since the lexical base was built."""
        return frozenset(r[0] for r in self.db.execute("SELECT chunk_id FROM base_removes"))

    def name_lexical_base(self, name: str) -> None:
        """Make `name` the live lexical base: nothing is removed since it was built."""
        self.set_meta(BASE_KEY, name)
        self.db.execute("DELETE FROM base_removes")

    def chunk_id_bounds(self) -> tuple[int, int]:
        """The lowest and highest chunk ids ((0, -1) for none)."""
        low, high = self.db.execute("SELECT min(id), max(id) FROM chunks").fetchone()
        return (0, -1) if low is None else (low, high)

    def passage_fields(self, low: int, high: int) -> list[tuple[int, str, str]]:
        """(chunk id, document title, passage text) of the passages with chunk ids from
        `low` to `high`, by chunk id: what the lexical index was given for each
        (`qa.index.batches`)."""
        return self.db.execute(
            "SELECT c.id, d.title, substr(d.text, c.start + 1, c.end - c.start)"
            " FROM chunks c JOIN documents d ON d.id = c.doc_id"
            " WHERE c.id BETWEEN ? AND ? ORDER BY c.id", (low, high)).fetchall()

    # -- retrieval --------------------------------------------------------------------
    def passages(self, chunk_ids: Iterable[int]) -> dict[int, Passage]:
        ids = list(chunk_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        # A chunk's section title and OCR flag live in its document's sections JSON.
        section = "'$[' || (c.section - 1) || ']"
        rows = self.db.execute(
            "SELECT c.id, d.id, d.path, d.title, d.source, d.published, d.author, c.paragraph,"
            f" d.section_kind, c.section, json_extract(d.sections, {section}.title'),"
            f" coalesce(json_extract(d.sections, {section}.ocr'), 0),"
            " c.start, c.end, substr(d.text, c.start + 1, c.end - c.start)"
            f" FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})",
            ids,
        )
        return {r[0]: Passage(*r[:11], bool(r[11]), *r[12:]) for r in rows}

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

    def sentences_within(self, doc_id: int, start: int, end: int
                         ) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Sentences lying inside [start, end) of a document, and their vectors as an
        (n, dimension) float32 matrix (decoded, near unit length)."""
        rows = self.db.execute(
            "SELECT start, end, scale, vector FROM sentences"
            " WHERE doc_id = ? AND start >= ? AND end <= ? ORDER BY start",
            (doc_id, start, end),
        ).fetchall()
        return [(r[0], r[1]) for r in rows], sentence_codec.decode([r[2:] for r in rows])

    def documents_holding(self, chunk_ids: np.ndarray) -> list[StoredDocument]:
        """The documents holding any of the given chunks (a damaged segment's)."""
        rows = self.db.execute(
            "SELECT DISTINCT d.id, d.path, d.sha256, d.size, d.mtime_ns FROM documents d"
            " JOIN chunks c ON c.doc_id = d.id WHERE c.id IN (SELECT value FROM json_each(?))",
            (json.dumps(chunk_ids.tolist()),))
        return [StoredDocument(*r) for r in rows]


def _connect(target: str, create: bool, *, uri: bool) -> sqlite3.Connection:
    db = sqlite3.connect(target, isolation_level=None, check_same_thread=False, uri=uri)
    try:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 10000")
        if create:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)
        db.execute("SELECT 1 FROM documents LIMIT 1").fetchall()
    except BaseException:
        db.close()
        raise
    return db


def _read_only_folder(folder: Path, exc: sqlite3.Error) -> bool:
    """Whether `exc` is SQLite failing to create its WAL files in an unwritable folder."""
    read_only, cant_open = 8, 14  # SQLITE_READONLY, SQLITE_CANTOPEN
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return code in (read_only, cant_open) and not os.access(folder, os.W_OK)


def timestamp() -> str:
    """Now, in UTC, to the second: when a document or the index was last written."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
