"""Bring the index up to date with the corpus, embedding only what changed.

Order of work, chosen so that a kill at any moment leaves the previous index usable:
1. stat every file; hash only files whose size or mtime moved; load and chunk the new
   or changed ones (`qa.ingest.pipeline`; nothing is written yet);
2. embed them in batches, each committed with its FAISS file (`qa.index.commit`).
A rebuild writes a new generation beside the live one and switches to it at the end
(`qa.index.generations`). A second writer is kept out by a file lock (`qa.index.lock`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.corpus.walk import CorpusFile, require_documents, scan_corpus
from qa.embed import model
from qa.embed.document_embedder import DocumentEmbedder, Embedder
from qa.errors import IndexIncompatible, QaError
from qa.index import generations, manifest, vectors
from qa.index.batches import BATCH_CHUNKS, store_prepared
from qa.index.commit import Sides, commit, recover
from qa.index.layout import (
    LEXICAL_DIR,
    current_generation,
    encoder_path,
    is_legacy,
    store_path,
)
from qa.index.lexical import LexicalIndex, LexicalWriter
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
        generation, fresh = _target_generation(paths.index, rebuild)
        store = Store(store_path(generation), create=True)
        try:
            report = _apply(store, files, fresh, embedder, progress, on_progress, batch_chunks)
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            store.close()
        encoder = encoder_path(paths.index, model.fingerprint())
        encoder.parent.mkdir(exist_ok=True)
        embedder.install_query_encoder(encoder)
        if generation != current_generation(paths.index):
            generations.switch_to(paths.index, generation)
        generations.remove_unused(paths.index, keep_encoder=encoder)
    return report


def _target_generation(index_dir: Path, rebuild: bool) -> tuple[Path, bool]:
    """The generation to write, and whether it is being built from scratch.

    An update writes the live generation in place. A rebuild (or a first build) writes a
    new generation beside it, which becomes live only when complete; a killed build is
    resumed by the next run, unless it was made with other settings.
    """
    live = current_generation(index_dir)
    pending = generations.building(index_dir)
    if pending is not None:
        try:
            manifest.check_manifest(pending)
            return pending, True
        except QaError:
            pass  # built with other settings: start a new one
    if live is None or rebuild:
        if live is None and is_legacy(index_dir) and not rebuild:
            raise IndexIncompatible(f"{index_dir}: index in an older format;"
                                    " run `qa index --rebuild`")
        generation = generations.start_building(index_dir)
        manifest.write_manifest(generation)
        return generation, True
    manifest.check_manifest(live)
    return live, False


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
    folder = store.path.parent / LEXICAL_DIR
    folder.mkdir(exist_ok=True)
    sides = Sides(store, index, LexicalWriter(LexicalIndex(folder)))
    try:
        recover(sides)
        if removed:
            with commit(sides):
                drop = [cid for d in removed for cid in store.remove_document(d.id)]
                index.remove_ids(_ids(drop))
        store_prepared(sides, prepared, stored, embedder, report, progress=progress,
                       on_progress=on_progress, batch_chunks=batch_chunks)
        if fresh or repaired:
            with commit(sides):
                _finish(store, skipped)
        else:
            with store.transaction():
                _finish(store, skipped)
    finally:
        sides.lexical.close()
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
