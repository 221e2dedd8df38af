"""Bring the index up to date with the corpus, embedding only what changed.

Order of work, chosen so that a kill at any moment leaves the previous index usable:
1. stat every file; hash only files whose size or mtime moved; load and chunk the new
   or changed ones (`qa.ingest.pipeline`; nothing is written yet);
2. embed them in batches, each committed with its vector segment (`qa.index.commit`);
3. a build from scratch, or any update with `optimize`, then merges the vector segments
   into one (beyond 2^20 vectors, several: `qa.index.segment_writer`), reading one
   segment at a time; an update merges them tier by tier as it goes.
A rebuild writes a new generation beside the live one and switches to it at the end
(`qa.index.generations`). A second writer is kept out by a file lock (`qa.index.lock`).

A little over 250 lines: the update's order of work (what changed, the generation to
write, recovery, batches, the switch) is kept in one file so the crash-safety argument
can be read top to bottom.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from qa.corpus.walk import CorpusFile, require_documents, scan_corpus, stat_files
from qa.embed import model
from qa.embed.document_embedder import DocumentEmbedder, Embedder
from qa.errors import IndexIncompatible, QaError
from qa.index import generations, impact_base, impact_base_writer, manifest
from qa.index.batches import BATCH_CHUNKS, BatchCommitter, embed_documents, passage_batches
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
from qa.index.preparation import FileWork, prepare_work
from qa.index.records import StoredDocument
from qa.index.segment_writer import SegmentWriter
from qa.index.skipped import SkippedEntry
from qa.index.store import Store, timestamp
from qa.ingest.document import UnreadableDocument
from qa.ingest.pipeline import PreparedDocument, read_file
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
    indexer: Indexer | None = None,
    optimize: bool = False,
    only: Collection[str] | None = None,
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

    `only` (corpus-relative file paths: what `qa add` copied, what `qa remove` deleted)
    limits an update of an existing index to those files, so adding one document to an
    archive of 200,000 does not stat the other 199,999 and read all their records;
    other changes wait for the next full update. A build from scratch takes everything.
    """
    files = scan_corpus(paths.corpus) if only is None else stat_files(paths.corpus, only)
    if not allow_empty and only is None:
        require_documents(paths.corpus, files)
    paths.index.mkdir(parents=True, exist_ok=True)
    embedder = embedder or DocumentEmbedder()
    indexer = indexer or LocalIndexer(embedder)
    with writer_lock(paths.index):
        generation, fresh = _target_generation(paths.index, rebuild)
        if fresh and only is not None:
            files, only = scan_corpus(paths.corpus), None
        # First, as the real embedder indexes with the query encoder it installs.
        encoder = encoder_path(paths.index, model.fingerprint())
        encoder.parent.mkdir(exist_ok=True)
        embedder.install_query_encoder(encoder)
        store = Store(store_path(generation), create=True)
        try:
            if not store.acronyms.current():  # an index from before the table, or its rule
                with store.transaction():
                    store.acronyms.refresh(store.document_texts())
            report = _apply(store, files, fresh, indexer, progress, on_progress, batch_chunks,
                            encoder, only)
            if optimize:
                SegmentWriter(store).optimize()
            _refresh_lexical_base(store, rebuild=fresh or optimize)
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            store.close()
        if generation != current_generation(paths.index):
            generations.switch_to(paths.index, generation)
        generations.remove_unused(paths.index, keep_encoder=encoder)
    return report


def _refresh_lexical_base(store: Store, rebuild: bool) -> None:
    """Build the lexical base (`qa.index.impact_base`) at the end of a build from scratch
    or an optimize of a large index; and delete bases a killed build left behind."""
    if (rebuild and store.count("chunks") >= impact_base.MIN_PASSAGES
            and impact_base.available()):
        impact_base_writer.build(store)
    impact_base_writer.remove_unnamed(store)


def _target_generation(index_dir: Path, rebuild: bool) -> tuple[Path, bool]:
    """The generation to write, and whether it is being built from scratch.

    An update writes the live generation in place. A rebuild (or a first build) writes a
    new generation beside it, which becomes live only when complete; a killed build is
    resumed by the next run, unless it was made with other settings.
    """
    live = current_generation(index_dir)
    pending = generations.building(index_dir)
    if pending is not None and pending == live:
        # Killed between the switch and its cleanup: the build is done and live. Left
        # named as being built, it would be "resumed" by every later run, a rebuild too,
        # which would then write into the live generation.
        generations.switch_to(index_dir, live)
        pending = None
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
    indexer: Indexer,
    progress: bool,
    on_progress: ProgressCallback | None,
    batch_chunks: int,
    encoder: Path,
    only: Collection[str] | None = None,
) -> IndexReport:
    report = IndexReport()
    folder = store.path.parent / LEXICAL_DIR
    folder.mkdir(exist_ok=True)
    segments = SegmentWriter(store, bulk=fresh)
    lost = segments.recover()
    sides = Sides(store, segments, LexicalWriter(LexicalIndex(folder)))
    try:
        recover(sides)
        if lost:  # in a damaged segment: removed now, and indexed again below
            _remove(sides, lost)
        stored = store.documents(only)
        present = {f.rel for f in files}
        removed = [stored[p] for p in (stored if only is None else only)
                   if p in stored and p not in present]
        report.removed = [d.path for d in removed]
        work = _stat_changed(files, stored, report)
        if removed:
            _remove(sides, removed)
        committer = BatchCommitter(sides, stored, report, batch_chunks=batch_chunks,
                                   progress=progress, on_progress=on_progress)
        job = IndexJob(work, store, committer, report, encoder)
        try:
            indexer.index_files(job)
            committer.flush()
        finally:
            committer.close()
        if job.doomed:
            _remove(sides, job.doomed)
        if fresh:
            segments.optimize()
            with commit(sides):
                _finish(store, job.skipped, only)
        else:
            with store.transaction():
                _finish(store, job.skipped, only)
    finally:
        sides.lexical.close()
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


def _remove(sides: Sides, docs: list[StoredDocument]) -> None:
    with commit(sides):
        for d in docs:
            sides.store.remove_document(d.id)


@dataclass
class IndexJob:
    """The files one update must read, and where an indexer reports what became of
    each: embedded documents go to `committer`, the rest to `unchanged`/`unreadable`.
    `encoder` is the index's ONNX model (`Embedder.install_query_encoder`), which an
    indexer embedding elsewhere (a Ray actor) loads."""

    work: list[FileWork]
    store: Store
    committer: BatchCommitter
    report: IndexReport
    encoder: Path
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
                job.report.skipped_parts.extend((work.file.rel, part)
                                                for part in p.doc.skipped_parts)
        if not prepared:
            return
        job.committer.start(sum(len(p.chunks) for p in prepared))
        for batch in passage_batches(prepared, job.committer.batch_chunks):
            for embedded in embed_documents(self.embedder, batch):
                job.committer.add(embedded)


def _finish(store: Store, skipped: list[SkippedEntry],
            only: Collection[str] | None = None) -> None:
    store.skipped.replace(skipped, only)
    store.set_meta("updated_at", timestamp())
