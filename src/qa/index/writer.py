"""Bring the index up to date with the corpus, embedding only what changed.

Order of work, chosen so that a kill at any moment leaves the previous index usable:
1. stat every file; hash only files whose size or mtime moved; load and chunk the new
   or changed ones (`qa.ingest.pipeline`; nothing is written yet);
2. embed them in batches, each committed with its FAISS file (`qa.index.commit`).
A rebuild writes a new store and FAISS file beside the live ones and swaps them in at
the end. A second writer is kept out by a file lock (`qa.index.lock`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa.corpus.walk import CorpusFile, require_documents, scan_corpus
from qa.embed import model
from qa.embed.document_embedder import DocumentEmbedder, Embedder
from qa.index import manifest, vectors
from qa.index.batches import BATCH_CHUNKS, BatchCommitter, embed_documents, passage_batches
from qa.index.commit import commit
from qa.index.layout import QUERY_ENCODER_FILE, REBUILD_SUFFIX, VECTORS_FILE, store_path
from qa.index.lock import writer_lock
from qa.index.preparation import FileWork, prepare_work
from qa.index.records import StoredDocument
from qa.index.skipped import SkippedEntry
from qa.index.store import Store, timestamp
from qa.ingest.document import UnreadableDocument
from qa.ingest.pipeline import PreparedDocument, read_file
from qa.settings import Paths

if TYPE_CHECKING:
    import faiss

ProgressCallback = Callable[[int, int], None]


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


def update_index(
    paths: Paths,
    *,
    rebuild: bool = False,
    progress: bool = True,
    embedder: Embedder | None = None,
    allow_empty: bool = False,
    on_progress: ProgressCallback | None = None,
    batch_chunks: int = BATCH_CHUNKS,
    indexer: Indexer | None = None,
) -> IndexReport:
    """Incrementally update (or, with `rebuild`, recreate) the index under a lock.

    `embedder` defaults to the real model, loaded only if something needs embedding.
    An empty corpus is an error (nothing to answer from) unless `allow_empty`, which
    `qa remove` uses so that removing the last document empties the index too.
    `on_progress(done, total)` is called with passage counts after each committed
    batch (the TUI's progress bar; the CLI uses tqdm on stderr). `batch_chunks` sets
    how many passages each commit holds (the kill tests make it small). `indexer` says
    where files are read, chunked and embedded: by default here, with `embedder`; a
    `qa.index.distributed.RayIndexer` spreads that over a Ray cluster. `embedder` still
    installs the query encoder either way.
    """
    files = scan_corpus(paths.corpus)
    if not allow_empty:
        require_documents(paths.corpus, files)
    paths.index.mkdir(parents=True, exist_ok=True)
    embedder = embedder or DocumentEmbedder()
    indexer = indexer or LocalIndexer(embedder)
    with writer_lock(paths.index):
        live = store_path(paths.index)
        target = live.with_name(live.name + REBUILD_SUFFIX) if rebuild else live
        fresh = rebuild or not live.exists()
        if rebuild:
            for leftover in paths.index.glob(f"*{REBUILD_SUFFIX}*"):
                leftover.unlink()
        if fresh:
            manifest.write_manifest(paths.index)  # first, so a killed first build can resume
        else:
            manifest.check_manifest(paths.index)
        store = Store(target, create=True)
        try:
            report = _apply(store, files, fresh, indexer, progress, on_progress, batch_chunks)
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            store.close()
        if target != live:
            _swap_in(target, live, paths.index)
        embedder.install_query_encoder(paths.index / QUERY_ENCODER_FILE)
    return report


def _swap_in(built: Path, live: Path, index_dir: Path) -> None:
    """Replace the live store with a freshly built one, then its FAISS file."""
    os.replace(built, live)
    for suffix in ("-wal", "-shm"):
        Path(str(live) + suffix).unlink(missing_ok=True)
        Path(str(built) + suffix).unlink(missing_ok=True)
    rebuilt_vectors = index_dir / (VECTORS_FILE + REBUILD_SUFFIX)
    if rebuilt_vectors.exists():
        os.replace(rebuilt_vectors, index_dir / VECTORS_FILE)


def _apply(
    store: Store,
    files: list[CorpusFile],
    fresh: bool,
    indexer: Indexer,
    progress: bool,
    on_progress: ProgressCallback | None,
    batch_chunks: int,
) -> IndexReport:
    report = IndexReport()
    stored = store.documents()
    present = {f.rel for f in files}
    removed = [stored[p] for p in stored if p not in present]
    report.removed = [d.path for d in removed]
    work = _stat_changed(files, stored, report)

    vectors.finish_committed_temp(store)
    index, repaired = vectors.load_or_rebuild(store, model.DIMENSION)
    if removed:
        _remove(store, index, removed)
    committer = BatchCommitter(store, index, stored, report, batch_chunks=batch_chunks,
                               progress=progress, on_progress=on_progress)
    job = IndexJob(work, store, committer, report)
    try:
        indexer.index_files(job)
        committer.flush()
    finally:
        committer.close()
    if job.doomed:
        _remove(store, index, job.doomed)
    if fresh or repaired:
        with commit(store, index):
            _finish(store, job.skipped)
    else:
        with store.transaction():
            _finish(store, job.skipped)
    return report


def _stat_changed(files: list[CorpusFile], stored: dict[str, StoredDocument],
                  report: IndexReport) -> list[FileWork]:
    """New files, and files whose size or mtime moved: by stat alone, nothing read."""
    work = []
    for f in files:
        doc = stored.get(f.rel)
        if doc is not None and (doc.size, doc.mtime_ns) == (f.size, f.mtime_ns):
            report.unchanged.append(f.rel)
        else:
            work.append(FileWork(f, doc.sha256 if doc is not None else None))
    return work


def _remove(store: Store, index: faiss.Index, docs: list[StoredDocument]) -> None:
    with commit(store, index):
        drop = [cid for d in docs for cid in store.remove_document(d.id)]
        index.remove_ids(np.array(drop, dtype=np.int64))


@dataclass
class IndexJob:
    """The files one update must read, and where an indexer reports what became of
    each: embedded documents go to `committer`, the rest to `unchanged`/`unreadable`."""

    work: list[FileWork]
    store: Store
    committer: BatchCommitter
    report: IndexReport
    skipped: list[SkippedEntry] = field(default_factory=list)
    doomed: list[StoredDocument] = field(default_factory=list)

    def unchanged(self, work: FileWork) -> None:
        """Same content under a new stat: record the stat, embed nothing."""
        doc = self.committer.stored[work.file.rel]
        with self.store.transaction():
            self.store.touch_document(doc.id, work.file.size, work.file.mtime_ns)
        self.report.unchanged.append(work.file.rel)

    def unreadable(self, work: FileWork, reason: str) -> None:
        """Skip the file; its old version (if any) goes, since its text no longer
        matches the file."""
        f = work.file
        self.skipped.append((f.rel, reason, f.size, f.mtime_ns))
        self.report.skipped.append((f.rel, reason))
        if f.rel in self.committer.stored:
            self.doomed.append(self.committer.stored[f.rel])


class Indexer(Protocol):
    """How the files of an `IndexJob` are read, chunked and embedded: in this process
    (`LocalIndexer`) or on a Ray cluster (`qa.index.distributed`). Every embedded
    document goes through `job.committer`, so commits are the same either way."""

    def index_files(self, job: IndexJob) -> None: ...


class LocalIndexer:
    """Reads and chunks every file first, so a bad file is named and skipped before
    any commit, then embeds in batches of about `job.committer.batch_chunks` passages."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def index_files(self, job: IndexJob) -> None:
        prepared: list[PreparedDocument] = []
        for work in job.work:
            try:
                p = prepare_work(work, read_file(work.file))
            except UnreadableDocument as exc:
                job.unreadable(work, exc.reason)
                continue
            if p is None:
                job.unchanged(work)
            else:
                prepared.append(p)
        if not prepared:
            return
        job.committer.start(sum(len(p.chunks) for p in prepared))
        for batch in passage_batches(prepared, job.committer.batch_chunks):
            for embedded in embed_documents(self.embedder, batch):
                job.committer.add(embedded)


def _finish(store: Store, skipped: list[SkippedEntry]) -> None:
    store.skipped.replace(skipped)
    store.set_meta("updated_at", timestamp())
