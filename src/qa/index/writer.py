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

import numpy as np

from qa.corpus.walk import CorpusFile, require_documents, scan_corpus
from qa.embed import model
from qa.embed.document_embedder import DocumentEmbedder, Embedder
from qa.index import manifest, vectors
from qa.index.batches import BATCH_CHUNKS, store_prepared
from qa.index.commit import commit
from qa.index.layout import QUERY_ENCODER_FILE, REBUILD_SUFFIX, VECTORS_FILE, store_path
from qa.index.lock import writer_lock
from qa.index.records import StoredDocument
from qa.index.skipped import SkippedEntry
from qa.index.store import Store, timestamp
from qa.ingest.document import UnreadableDocument
from qa.ingest.pipeline import PreparedDocument, content_hash, prepare, read_file
from qa.settings import Paths

ProgressCallback = Callable[[int, int], None]


@dataclass
class IndexReport:
    """What an update did, by corpus-relative path."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Parts of indexed files left out (a scanned page OCR could not read), by path.
    skipped_parts: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0

    def summary(self) -> str:
        parts = f", parts skipped {len(self.skipped_parts)}" if self.skipped_parts else ""
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)},"
            f" unchanged {len(self.unchanged)}, skipped {len(self.skipped)}{parts}"
        )

    def changes(self, names: int = 3) -> str:
        """What changed, by name ("added 2: a.md, b.md; removed 1: c.md"), at most
        `names` names per kind; "" when nothing did."""
        parts = []
        for kind, paths in (("added", self.added), ("updated", self.updated),
                            ("removed", self.removed)):
            if paths:
                shown = ", ".join(paths[:names])
                more = f" and {len(paths) - names} more" if len(paths) > names else ""
                parts.append(f"{kind} {len(paths)}: {shown}{more}")
        return "; ".join(parts)


def update_index(
    paths: Paths,
    *,
    rebuild: bool = False,
    progress: bool = True,
    embedder: Embedder | None = None,
    allow_empty: bool = False,
    on_progress: ProgressCallback | None = None,
    batch_chunks: int = BATCH_CHUNKS,
) -> IndexReport:
    """Incrementally update (or, with `rebuild`, recreate) the index under a lock.

    `embedder` defaults to the real model, loaded only if something needs embedding.
    An empty corpus is an error (nothing to answer from) unless `allow_empty`, which
    `qa remove` uses so that removing the last document empties the index too.
    `on_progress(done, total)` is called with passage counts after each committed
    batch (the TUI's progress bar; the CLI uses tqdm on stderr). `batch_chunks` sets
    how many passages each commit holds (the kill tests make it small).
    """
    files = scan_corpus(paths.corpus)
    if not allow_empty:
        require_documents(paths.corpus, files)
    paths.index.mkdir(parents=True, exist_ok=True)
    embedder = embedder or DocumentEmbedder()
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
            report = _apply(store, files, fresh, embedder, progress, on_progress, batch_chunks)
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
    embedder: Embedder,
    progress: bool,
    on_progress: ProgressCallback | None,
    batch_chunks: int,
) -> IndexReport:
    report = IndexReport()
    stored = store.documents()
    present = {f.rel for f in files}
    removed = [stored[p] for p in stored if p not in present]
    report.removed = [d.path for d in removed]
    prepared, skipped = _prepare_changed(store, files, stored, report, removed)

    vectors.finish_committed_temp(store)
    index, repaired = vectors.load_or_rebuild(store, model.DIMENSION)
    if removed:
        with commit(store, index):
            drop = [cid for d in removed for cid in store.remove_document(d.id)]
            index.remove_ids(_ids(drop))
    store_prepared(store, index, prepared, stored, embedder, report,
                   progress=progress, on_progress=on_progress, batch_chunks=batch_chunks)
    if fresh or repaired:
        with commit(store, index):
            _finish(store, skipped)
    else:
        with store.transaction():
            _finish(store, skipped)
    return report


def _prepare_changed(
    store: Store,
    files: list[CorpusFile],
    stored: dict[str, StoredDocument],
    report: IndexReport,
    removed: list[StoredDocument],
) -> tuple[list[PreparedDocument], list[SkippedEntry]]:
    """Load and chunk new and changed files. A changed stat with the same content only
    records the new stat; a file that cannot be read is skipped, and its old version
    (if any) is removed, since its text no longer matches the file."""
    prepared: list[PreparedDocument] = []
    skipped: list[SkippedEntry] = []
    for f in files:
        doc = stored.get(f.rel)
        if doc is not None and (doc.size, doc.mtime_ns) == (f.size, f.mtime_ns):
            report.unchanged.append(f.rel)
            continue
        try:
            data = read_file(f)
            if doc is not None and doc.sha256 == content_hash(data):
                with store.transaction():
                    store.touch_document(doc.id, f.size, f.mtime_ns)
                report.unchanged.append(f.rel)
                continue
            prepared.append(prepare(f, data, _fits_model))
            report.skipped_parts.extend((f.rel, part) for part in prepared[-1].doc.skipped_parts)
        except UnreadableDocument as exc:
            skipped.append((f.rel, exc.reason, f.size, f.mtime_ns))
            report.skipped.append((f.rel, exc.reason))
            if doc is not None:
                removed.append(doc)
            continue
        (report.updated if doc is not None else report.added).append(f.rel)
    return prepared, skipped


def _fits_model(text: str) -> bool:
    return model.count_wordpieces(text) <= model.MAX_WORDPIECES


def _finish(store: Store, skipped: list[SkippedEntry]) -> None:
    store.skipped.replace(skipped)
    store.set_meta("updated_at", timestamp())


def _ids(ids: list[int]) -> np.ndarray:
    return np.array(ids, dtype=np.int64)
