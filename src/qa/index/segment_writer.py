"""Passage vectors in segments, write side: a batch's segment, merges, and repair.

Every file is written whole under a temporary name, fsynced, and renamed to a name no
live segment has, before the store's transaction that names it commits; files the store
does not name are left-overs of a killed writer, and the next writer deletes them. So a
kill leaves the last commit's segments, all present and whole (`qa.index.commit`).

Merges follow Lucene's tiered policy: segments are grouped by size in tiers a factor
SEGMENTS_PER_TIER apart, and a tier holding SEGMENTS_PER_TIER segments is merged into
one (of the next tier), dropping the deleted vectors. A passage's vector is rewritten
about log10(N / 256) times over an index's life, and a search sees at most about
SEGMENTS_PER_TIER segments per tier. `qa index --optimize` merges everything into one.
A merged segment of APPROXIMATE_FROM vectors or more is IVF with 8-bit codes; merging
smaller segments into it adds them to its lists (no new training), and `--optimize`
trains it again for its current size.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import faiss
import numpy as np

from qa.atomic import atomic_path
from qa.embed.model import DIMENSION
from qa.hashing import file_sha256
from qa.index.records import SegmentRow, StoredDocument
from qa.index.store import Store
from qa.index.vectors import Segment, folder_for, members, probes_for, read_segment

APPROXIMATE_FROM = 100_000  # vectors: below, a segment is exact (see docs/scale.md)
SEGMENTS_PER_TIER = 10  # Lucene's default segments per tier
SMALLEST_TIER = 256  # vectors: a batch's worth (`qa.index.batches.BATCH_CHUNKS`)
LISTS_PER_SQRT = 4  # IVF lists: about 4 * sqrt(vectors), a power of two
TRAINING_PER_LIST = 64  # k-means sample: vectors per list
MIN_TRAINING_PER_LIST = 39  # fewer, and FAISS warns that k-means is poorly fed
COUNTER_KEY = "segment_counter"  # meta: the number of the last segment file named


def lists_for(vectors: int) -> int:
    """About 4 * sqrt(vectors), a power of two, with enough vectors to train each."""
    lists = 2 ** round(math.log2(LISTS_PER_SQRT * math.sqrt(max(vectors, 1))))
    while lists > 1 and lists * MIN_TRAINING_PER_LIST > vectors:
        lists //= 2
    return lists


def exact_index(ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return index


def approximate_index(ids: np.ndarray, vectors: np.ndarray,
                      lists: int | None = None) -> faiss.Index:
    """IVF over 8-bit scalar codes, trained on a sample of `vectors` (deterministic),
    keeping chunk ids itself and a hash-table direct map to read vectors back by id."""
    lists = lists or lists_for(len(ids))
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(DIMENSION), DIMENSION, lists, faiss.ScalarQuantizer.QT_8bit,
        faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical = True  # unit vectors: centroids on the sphere
    sample = min(len(ids), lists * TRAINING_PER_LIST)
    rows = np.random.default_rng(0).choice(len(ids), sample, replace=False)
    index.train(np.ascontiguousarray(vectors[np.sort(rows)], dtype=np.float32))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)
    index.nprobe = probes_for(lists)  # what a search uses (`qa.index.vectors`)
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return index


def build_index(ids: np.ndarray, vectors: np.ndarray) -> tuple[faiss.Index, bool]:
    """A segment's index for these vectors, and whether it is approximate."""
    if len(ids) >= APPROXIMATE_FROM:
        return approximate_index(ids, vectors), True
    return exact_index(ids, vectors), False


def merge_candidates(rows: list[SegmentRow]) -> list[SegmentRow]:
    """The smallest tier holding SEGMENTS_PER_TIER segments, or [] when none does."""
    tiers: dict[int, list[SegmentRow]] = defaultdict(list)
    for row in rows:
        tiers[_tier(row.vectors)].append(row)
    for tier in sorted(tiers):
        if len(tiers[tier]) >= SEGMENTS_PER_TIER:
            return tiers[tier]
    return []


def _tier(vectors: int) -> int:
    """0 below SMALLEST_TIER * SEGMENTS_PER_TIER vectors, then one more per factor."""
    tier, bound = 0, SMALLEST_TIER * SEGMENTS_PER_TIER
    while vectors >= bound:
        tier, bound = tier + 1, bound * SEGMENTS_PER_TIER
    return tier


class SegmentWriter:
    """The vector side of a writer: collects a batch's vectors, writes them as a new
    segment inside the batch's commit, and merges segments after commits."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.folder = folder_for(store)
        self.folder.mkdir(exist_ok=True)
        self._ids: list[np.ndarray] = []
        self._vectors: list[np.ndarray] = []

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        """Vectors for the batch being committed."""
        if ids:
            self._ids.append(np.array(ids, dtype=np.int64))
            self._vectors.append(np.asarray(vectors, dtype=np.float32))

    def write_batch(self) -> None:
        """Inside the batch's transaction: its vectors become a new segment, named in
        the store (nothing if the batch only removed)."""
        if self._ids:
            ids, vectors = np.concatenate(self._ids), np.concatenate(self._vectors)
            self.discard()
            row = self._write(exact_index(ids, vectors), approximate=False)
            self.store.replace_segments((), row)

    def discard(self) -> None:
        """Forget the batch's vectors (written, or abandoned with a failed commit)."""
        self._ids, self._vectors = [], []

    def _write(self, index: faiss.Index, *, approximate: bool) -> SegmentRow:
        """Write `index` durably under a new name (recorded with the caller's commit)."""
        number = int(self.store.get_meta(COUNTER_KEY) or 0) + 1
        self.store.set_meta(COUNTER_KEY, str(number))
        name = f"seg-{number:08d}.faiss"
        with atomic_path(self.folder / name) as tmp:
            faiss.write_index(index, str(tmp))
            sha = file_sha256(tmp)
            size = tmp.stat().st_size
        return SegmentRow(name, sha, size, index.ntotal, approximate)

    # -- merges -------------------------------------------------------------------------
    def merge_tiers(self) -> None:
        """Merge while some tier is full (after a commit)."""
        while group := merge_candidates(self.store.vector_segments()):
            self.merge(group)

    def optimize(self) -> None:
        """Merge every segment into one, dropping every deleted vector; an approximate
        result is trained again for its size. Nothing to do for one segment without
        deletions, unless it is approximate with a list count not meant for its size."""
        rows = self.store.vector_segments()
        if len(rows) == 1 and not len(self.store.vector_deletes()):
            if not rows[0].approximate:
                return
            index = read_segment(self.folder, rows[0]).index
            if index.nlist == lists_for(index.ntotal):
                return
        if rows:
            self.merge(rows, retrain=True)

    def merge(self, rows: list[SegmentRow], *, retrain: bool = False) -> None:
        """Replace `rows` by one segment of their live vectors, in one commit; then
        remove their files."""
        segments = [read_segment(self.folder, r) for r in rows]
        deleted = self.store.vector_deletes()
        held = np.concatenate([s.ids for s in segments])
        applied = held[members(deleted, held)]
        index, approximate = self._merged(segments, deleted, retrain)
        with self.store.transaction():
            row = self._write(index, approximate=approximate) if index.ntotal else None
            self.store.replace_segments([r.name for r in rows], row, applied)
        for r in rows:
            (self.folder / r.name).unlink(missing_ok=True)

    def _merged(self, segments: list[Segment], deleted: np.ndarray,
                retrain: bool) -> tuple[faiss.Index, bool]:
        base = max((s for s in segments if s.approximate), key=lambda s: len(s.ids),
                   default=None)
        if base is None or retrain:
            parts = [_live(s, deleted) for s in segments]
            ids = np.concatenate([p[0] for p in parts])
            return build_index(ids, np.concatenate([p[1] for p in parts]))
        gone = base.ids[members(deleted, base.ids)]
        if len(gone):
            base.index.remove_ids(faiss.IDSelectorArray(len(gone), faiss.swig_ptr(gone)))
        for s in segments:
            if s is not base:
                ids, vectors = _live(s, deleted)
                if len(ids):
                    base.index.add_with_ids(vectors, ids)
        return base.index, True

    # -- recovery -----------------------------------------------------------------------
    def recover(self) -> list[StoredDocument]:
        """Remove what a killed writer left (files no commit names), and find the
        documents whose vectors are in a damaged or missing segment: the caller removes
        them, and indexes them again."""
        rows = self.store.vector_segments()
        named = {r.name for r in rows}
        for path in self.folder.iterdir():
            if path.name not in named:
                path.unlink(missing_ok=True)
        damaged = [r for r in rows if not _intact(self.folder, r)]
        if not damaged:
            return []
        healthy = [read_segment(self.folder, r).ids for r in rows if r not in damaged]
        every = self.store.chunk_ids()
        held = np.concatenate(healthy) if healthy else np.zeros(0, dtype=np.int64)
        lost = every[~members(np.sort(held), every)]
        with self.store.transaction():
            self.store.replace_segments([r.name for r in damaged], None)
        for r in damaged:
            (self.folder / r.name).unlink(missing_ok=True)
        return self.store.documents_holding(lost)


def _intact(folder: Path, row: SegmentRow) -> bool:
    """The file is there and is the one committed (hashed, not loaded: cheap enough
    for every update, about 0.2 s per GB here)."""
    try:
        return file_sha256(folder / row.name) == row.sha256
    except FileNotFoundError:
        return False


def _live(segment: Segment, deleted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = segment.ids[~members(deleted, segment.ids)]
    return ids, segment.vectors(ids)
