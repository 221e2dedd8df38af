"""Bring the index up to date with the corpus, embedding only what changed.

Order of work, chosen so that a kill at any moment leaves the previous index usable:
1. stat every file; hash only files whose size or mtime moved; load and chunk the
   new or changed ones (nothing is written yet);
2. embed them in batches; for each batch, in ONE SQLite transaction, replace the
   batch's documents, write the new FAISS file under a temporary name, record its
   hash, commit, and only then rename the file into place.
A reader (or the next run) that finds the FAISS file's hash different from the store's
rebuilds it from the vectors the store keeps, so a kill between commit and rename
costs nothing. A second writer is kept out by a file lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa import manifest, settings, vectors
from qa.chunking import ChunkerSettings, chunk_text
from qa.corpus import CorpusFile, require_documents, scan_corpus
from qa.documents import Document, UnreadableDocument, load_document
from qa.errors import QaError
from qa.hashing import file_sha256
from qa.sentences import sentence_spans
from qa.settings import Paths
from qa.store import NewChunk, Store

if TYPE_CHECKING:
    import faiss

    from qa.embedder import DocumentEmbedder

STORE_FILE = "qa.sqlite"
QUERY_ENCODER_FILE = "query_encoder.onnx"
LOCK_FILE = ".lock"
BATCH_CHUNKS = 256


@dataclass
class IndexReport:
    """What an update did, by corpus-relative path."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)},"
            f" unchanged {len(self.unchanged)}, skipped {len(self.skipped)}"
        )


@dataclass
class _Prepared:
    """A document loaded and chunked, waiting to be embedded and stored."""

    file: CorpusFile
    sha256: str
    doc: Document
    chunks: list[NewChunk]
    chunk_texts: list[str]
    sentences: list[tuple[int, int]]


@dataclass(frozen=True)
class Staleness:
    """Corpus files that differ from the index, judged by stat alone (cheap)."""

    new: list[str]
    changed: list[str]
    removed: list[str]

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.removed)

    def describe(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in
                 (("new", self.new), ("changed", self.changed), ("removed", self.removed)) if v]
        return ", ".join(parts)


def chunker_settings() -> ChunkerSettings:
    return ChunkerSettings(
        settings.CHUNK_MAX_TOKENS, settings.CHUNK_OVERLAP_TOKENS, settings.TOKEN_ENCODING
    )


def embedding_text(title: str, passage: str) -> str:
    """What the model sees for a passage: the title gives it the document's topic."""
    return f"{title}\n\n{passage}" if settings.EMBED_TITLE else passage


def index_exists(index_dir: Path) -> bool:
    return (index_dir / STORE_FILE).exists()


def staleness(paths: Paths, store: Store, files: list[CorpusFile] | None = None) -> Staleness:
    """Compare the corpus (or a listing of it already made) with the store by stat alone."""
    files = scan_corpus(paths.corpus) if files is None else files
    stored = store.documents()
    skipped = store.skipped()
    new, changed = [], []
    for f in files:
        doc = stored.get(f.rel)
        if doc is not None:
            if (doc.size, doc.mtime_ns) != (f.size, f.mtime_ns):
                changed.append(f.rel)
        elif skipped.get(f.rel, (None, None, None))[1:] != (f.size, f.mtime_ns):
            new.append(f.rel)
    present = {f.rel for f in files}
    removed = [p for p in stored if p not in present]
    return Staleness(new, changed, removed)


def update_index(
    paths: Paths,
    *,
    rebuild: bool = False,
    progress: bool = True,
    embedder_factory: Callable[[], DocumentEmbedder] | None = None,
    allow_empty: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Incrementally update (or, with `rebuild`, recreate) the index under a lock.

    An empty corpus is an error (nothing to answer from) unless `allow_empty`, which
    `qa remove` uses so that removing the last document empties the index too.
    `on_progress(done, total)` is called with passage counts after each committed
    batch (the TUI's progress bar; the CLI uses tqdm on stderr).
    """
    from filelock import FileLock, Timeout

    files = scan_corpus(paths.corpus)
    if not allow_empty:
        require_documents(paths.corpus, files)
    paths.index.mkdir(parents=True, exist_ok=True)
    lock = FileLock(paths.index / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"{paths.index}: another qa is updating this index; waiting for it",
              file=sys.stderr)
        try:
            lock.acquire(timeout=settings.LOCK_TIMEOUT)
        except Timeout:
            raise QaError(f"{paths.index / LOCK_FILE}: another indexer still holds the lock"
                          f" after {settings.LOCK_TIMEOUT:g} s; try again later") from None
    try:
        return _update_locked(paths, files, rebuild, progress, embedder_factory, on_progress)
    finally:
        lock.release()


def _update_locked(
    paths: Paths,
    files: list[CorpusFile],
    rebuild: bool,
    progress: bool,
    embedder_factory: Callable[[], DocumentEmbedder] | None,
    on_progress: Callable[[int, int], None] | None,
) -> IndexReport:
    store_path = paths.index / STORE_FILE
    target = store_path.with_name(STORE_FILE + ".rebuild") if rebuild else store_path
    fresh = rebuild or not store_path.exists()
    if rebuild:
        for leftover in paths.index.glob("*.rebuild*"):
            leftover.unlink()
    if fresh:
        manifest.write_manifest(paths.index)  # first, so a killed first build can resume
    else:
        manifest.check_manifest(paths.index)
    store = Store(target, create=True)
    try:
        report = _apply(paths, store, files, progress, embedder_factory, fresh, on_progress)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    if target != store_path:
        _swap_in(target, store_path, paths.index)
    if embedder_factory is None:  # a custom (test) embedder has no ONNX twin to export
        _ensure_query_encoder(paths.index)
    return report


def _swap_in(built: Path, live: Path, index_dir: Path) -> None:
    """Replace the live store with a freshly built one, then its FAISS file."""
    os.replace(built, live)
    for suffix in ("-wal", "-shm"):
        Path(str(live) + suffix).unlink(missing_ok=True)
        Path(str(built) + suffix).unlink(missing_ok=True)
    rebuilt_vectors = index_dir / (vectors.VECTORS_FILE + ".rebuild")
    if rebuilt_vectors.exists():
        os.replace(rebuilt_vectors, index_dir / vectors.VECTORS_FILE)


def _vectors_path(store: Store) -> Path:
    name = vectors.VECTORS_FILE + (".rebuild" if store.path.name.endswith(".rebuild") else "")
    return store.path.parent / name


def _apply(
    paths: Paths,
    store: Store,
    files: list[CorpusFile],
    progress: bool,
    embedder_factory: Callable[[], DocumentEmbedder] | None,
    fresh: bool,
    on_progress: Callable[[int, int], None] | None,
) -> IndexReport:
    from qa import model
    from qa.tokens import count_tokens

    report = IndexReport()
    stored = store.documents()
    present = {f.rel for f in files}
    removed = [stored[p] for p in stored if p not in present]
    report.removed = [d.path for d in removed]
    fits = _fits_model(model.count_wordpieces, model.MAX_WORDPIECES)
    prepared: list[_Prepared] = []
    skipped: list[tuple[str, str, int | None, int | None]] = []
    for f in files:
        doc = stored.get(f.rel)
        if doc is not None and (doc.size, doc.mtime_ns) == (f.size, f.mtime_ns):
            report.unchanged.append(f.rel)
            continue
        try:
            data = _read(f)
            sha = hashlib.sha256(data).hexdigest()
            if doc is not None and doc.sha256 == sha:
                with store.transaction():
                    store.touch_document(doc.id, f.size, f.mtime_ns)
                report.unchanged.append(f.rel)
                continue
            loaded = load_document(f.rel, data)
        except UnreadableDocument as exc:
            skipped.append((f.rel, exc.reason, f.size, f.mtime_ns))
            report.skipped.append((f.rel, exc.reason))
            if doc is not None:
                removed.append(doc)  # its old text no longer matches the file
            continue
        chunks = chunk_text(
            loaded.text, chunker_settings(), count_tokens,
            lambda s, t=loaded.title: fits(embedding_text(t, s)),
            breaks=[start for start, _ in loaded.pages[1:]],
        )
        (report.updated if doc is not None else report.added).append(f.rel)
        prepared.append(_Prepared(
            f, sha, loaded,
            [NewChunk(c.start, c.end, c.paragraph, _page_of(loaded, c.start), np.empty(0))
             for c in chunks],
            [embedding_text(loaded.title, c.text) for c in chunks],
            [(s.start, s.end) for s in sentence_spans(loaded.text)],
        ))

    index, repaired = _load_or_rebuild_vectors(store)
    if removed:
        with store.transaction():
            drop = [cid for d in removed for cid in store.remove_document(d.id)]
            index.remove_ids(np.array(drop, dtype=np.int64))
            _commit_vectors(store, index)
        _finish_vectors_rename(store)
    _store_prepared(store, index, prepared, stored, progress, embedder_factory, report,
                    on_progress)
    with store.transaction():
        store.set_skipped(skipped)
        store.set_meta("updated_at", _now())
        if fresh or repaired:
            _commit_vectors(store, index)
    _finish_vectors_rename(store)
    return report


def _store_prepared(
    store: Store,
    index: faiss.Index,
    prepared: list[_Prepared],
    stored: dict,
    progress: bool,
    embedder_factory: Callable[[], DocumentEmbedder] | None,
    report: IndexReport,
    on_progress: Callable[[int, int], None] | None,
) -> None:
    """Embed and commit prepared documents, a batch of ~BATCH_CHUNKS chunks at a time."""
    if not prepared:
        return
    from tqdm import tqdm

    embedder = embedder_factory() if embedder_factory else _default_embedder()
    total = sum(len(p.chunks) for p in prepared)
    bar = tqdm(total=total, unit="chunk", desc="Indexing", file=sys.stderr,
               disable=not (progress and sys.stderr.isatty()))
    try:
        for batch in _batches(prepared):
            texts = [t for p in batch for t in p.chunk_texts]
            chunk_vecs = embedder.encode(texts)
            sentence_texts = [p.doc.text[s:e] for p in batch for s, e in p.sentences]
            sent_vecs = embedder.encode(sentence_texts)
            with store.transaction():
                ci = si = 0
                for p in batch:
                    old = stored.get(p.file.rel)
                    if old is not None:
                        index.remove_ids(np.array(store.remove_document(old.id), dtype=np.int64))
                    chunks = [NewChunk(c.start, c.end, c.paragraph, c.page, chunk_vecs[ci + j])
                              for j, c in enumerate(p.chunks)]
                    sents = [(s, e, sent_vecs[si + j]) for j, (s, e) in enumerate(p.sentences)]
                    ci += len(chunks)
                    si += len(sents)
                    ids = store.add_document(
                        path=p.file.rel, sha256=p.sha256, size=p.file.size,
                        mtime_ns=p.file.mtime_ns, title=p.doc.title, source=p.doc.source,
                        published=p.doc.published, author=p.doc.author, text=p.doc.text,
                        pages=json.dumps(p.doc.pages) if p.doc.pages else None,
                        indexed_at=_now(), chunks=chunks, sentences=sents,
                    )
                    if ids:
                        index.add_with_ids(
                            np.stack([c.vector for c in chunks]).astype(np.float32),
                            np.array(ids, dtype=np.int64),
                        )
                _commit_vectors(store, index)
            _finish_vectors_rename(store)
            report.chunks_embedded += len(texts)
            bar.update(len(texts))
            if on_progress:
                on_progress(report.chunks_embedded, total)
    finally:
        bar.close()


def _batches(prepared: list[_Prepared]) -> list[list[_Prepared]]:
    batches: list[list[_Prepared]] = [[]]
    size = 0
    for p in prepared:
        if size >= BATCH_CHUNKS:
            batches.append([])
            size = 0
        batches[-1].append(p)
        size += len(p.chunks)
    return batches


def _commit_vectors(store: Store, index: faiss.Index) -> None:
    """Inside the store's transaction: write the FAISS temp file and record its hash."""
    _tmp, sha = vectors.write_temp(index, _vectors_path(store))
    store.set_meta("vectors_sha256", sha)


def _finish_vectors_rename(store: Store) -> None:
    """After commit: move the FAISS temp file into place (idempotent)."""
    final = _vectors_path(store)
    tmp = final.with_name(final.name + ".tmp")
    if tmp.exists():
        os.replace(tmp, final)


def _load_or_rebuild_vectors(store: Store) -> tuple[faiss.Index, bool]:
    """The FAISS index matching the store, and whether it had to be rebuilt from the
    store's vectors (missing, torn or corrupt file): then it must be written again."""
    from qa import model

    _finish_stale_temp(store)
    index = vectors.read_verified(_vectors_path(store), store.get_meta("vectors_sha256"))
    if index is not None:
        return index, False
    ids, matrix = store.all_vectors()
    return vectors.from_arrays(ids, matrix, model.DIMENSION), True


def _finish_stale_temp(store: Store) -> None:
    """A temp file whose hash the store already committed finishes a killed rename."""
    final = _vectors_path(store)
    tmp = final.with_name(final.name + ".tmp")
    if tmp.exists():
        if file_sha256(tmp) == store.get_meta("vectors_sha256"):
            os.replace(tmp, final)
        else:
            tmp.unlink()


def _read(f: CorpusFile) -> bytes:
    if f.size > settings.MAX_FILE_BYTES:  # checked on the stat: the file is never read
        raise UnreadableDocument(
            f.rel, f"{f.size:,} bytes, over the size limit of {settings.MAX_FILE_BYTES:,}"
            " (QA_MAX_FILE_BYTES)"
        )
    try:
        return f.path.read_bytes()
    except FileNotFoundError:
        raise UnreadableDocument(f.rel, "vanished while indexing") from None
    except OSError as exc:
        raise UnreadableDocument(f.rel, f"cannot be read ({exc.strerror})") from None


def _page_of(doc: Document, offset: int) -> int | None:
    for number, (start, end) in enumerate(doc.pages, 1):
        if start <= offset < end:
            return number
    return None


def _fits_model(count: Callable[[str], int], limit: int) -> Callable[[str], bool]:
    return lambda text: count(text) <= limit


def _default_embedder() -> DocumentEmbedder:
    from qa.embedder import DocumentEmbedder

    return DocumentEmbedder()


def _ensure_query_encoder(index_dir: Path) -> None:
    """Export the ONNX query encoder into the index once; queries then skip torch."""
    path = index_dir / QUERY_ENCODER_FILE
    if not path.exists():
        from qa.onnx_export import export_query_encoder

        export_query_encoder(path)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
