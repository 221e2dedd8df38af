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
A merged segment of APPROXIMATE_FROM vectors or more is an HNSW graph over 8-bit codes.
Merging smaller segments into it adds their vectors to the graph, so the large base is
never rebuilt by a merge. A graph cannot drop a vector, so the base's removed passages
stay in the deletion set (searches skip them) until `--optimize`, or until they are
MAX_DELETED_SHARE of it; then the merge builds it anew without them.
"""

from __future__ import annotations

from collections import defaultdict

import faiss
import numpy as np

from qa.atomic import atomic_path
from qa.embed.model import DIMENSION
from qa.hashing import file_sha256
from qa.index.records import SegmentRow, StoredDocument
from qa.index.store import Store
from qa.index.vectors import (
    Segment,
    file_identity,
    folder_for,
    inner_index,
    members,
    read_segment,
    segment_ids,
)

APPROXIMATE_FROM = 25_600  # vectors: below, a segment is exact (see docs/scale.md)
SEGMENTS_PER_TIER = 10  # Lucene's default segments per tier
SMALLEST_TIER = 256  # vectors: a batch's worth (`qa.index.batches.BATCH_CHUNKS`)
HNSW_LINKS = 32  # graph links per vector (FAISS's M), chosen by bench/dense_recall.py
HNSW_BUILD_DEPTH = 40  # candidates kept while linking a new vector (efConstruction)
QUANTIZER_SAMPLE = 100_000  # vectors the 8-bit codes' ranges are trained on
MAX_DELETED_SHARE = 0.2  # of an HNSW base: above, a merge rebuilds it without them
COUNTER_KEY = "segment_counter"  # meta: the number of the last segment file named


def exact_index(ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return index


def approximate_index(ids: np.ndarray, vectors: np.ndarray,
                      links: int = HNSW_LINKS) -> faiss.Index:
    """An HNSW graph over 8-bit scalar codes, the codes' ranges trained on a sample of
    `vectors` (deterministic), under an id map that keeps chunk ids and reads vectors
    back by id."""
    graph = faiss.IndexHNSWSQ(DIMENSION, faiss.ScalarQuantizer.QT_8bit, links,
                              faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_BUILD_DEPTH
    sample = min(len(ids), QUANTIZER_SAMPLE)
    rows = np.random.default_rng(0).choice(len(ids), sample, replace=False)
    graph.train(np.ascontiguousarray(vectors[np.sort(rows)], dtype=np.float32))
    index = faiss.IndexIDMap2(graph)
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

    def __init__(self, store: Store, *, bulk: bool = False) -> None:
        """`bulk`: a build from scratch, which no reader sees until it is complete, so
        its segments are merged once, at its end (`optimize`), not tier by tier: at a
        million passages, tier merges would build each vector into a graph twice."""
        self.store = store
        self.bulk = bulk
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
        identity = file_identity((self.folder / name).stat())
        return SegmentRow(name, sha, size, index.ntotal, approximate, identity)

    # -- merges -------------------------------------------------------------------------
    def merge_tiers(self) -> None:
        """Merge while some tier is full (after a commit; not in a bulk build)."""
        if self.bulk:
            return
        while group := merge_candidates(self.store.vector_segments()):
            self.merge(group)

    def optimize(self) -> None:
        """Merge every segment into one, dropping every deleted vector (an HNSW graph
        holding some is built anew; otherwise the others are added to the largest).
        Nothing to do for one segment without deletions, unless it is not of the kind
        its size calls for (exact below APPROXIMATE_FROM, else HNSW)."""
        rows = self.store.vector_segments()
        if len(rows) == 1 and not len(self.store.vector_deletes()):
            index = read_segment(self.folder, rows[0]).index
            if _is_hnsw(index) == (index.ntotal >= APPROXIMATE_FROM):
                return
        if rows:
            self.merge(rows, purge=True)

    def merge(self, rows: list[SegmentRow], *, purge: bool = False) -> None:
        """Replace `rows` by one segment of their live vectors, in one commit; then
        remove their files."""
        segments = [read_segment(self.folder, r, writable=True) for r in rows]
        deleted = self.store.vector_deletes()
        held = np.concatenate([s.ids for s in segments])
        index, approximate = self._merged(segments, deleted, purge)
        kept = segment_ids(index)  # an HNSW base keeps its removed vectors
        applied = held[members(deleted, held) & ~members(kept, held)]
        with self.store.transaction():
            row = self._write(index, approximate=approximate) if index.ntotal else None
            self.store.replace_segments([r.name for r in rows], row, applied)
        for r in rows:
            (self.folder / r.name).unlink(missing_ok=True)

    def _merged(self, segments: list[Segment], deleted: np.ndarray,
                purge: bool) -> tuple[faiss.Index, bool]:
        """One index of the segments' live vectors: added to the largest HNSW graph
        among them, unless there is none or it holds too many removed vectors (any, to
        `purge`: `--optimize` leaves none), and then built anew."""
        base = max((s for s in segments if _is_hnsw(s.index)), key=lambda s: len(s.ids),
                   default=None)
        if (base is None
                or members(deleted, base.ids).mean() > (0.0 if purge else MAX_DELETED_SHARE)):
            parts = [_live(s, deleted) for s in segments]
            ids = np.concatenate([p[0] for p in parts])
            return build_index(ids, np.concatenate([p[1] for p in parts]))
        for s in segments:
            if s is not base:
                ids, vectors = _live(s, deleted)
                if len(ids):
                    base.index.add_with_ids(vectors, ids)
        return base.index, True

    # -- recovery -----------------------------------------------------------------------
    def _intact(self, row: SegmentRow) -> bool:
        """The file is there and is the one committed: it has the identity recorded when
        it was written, or else its hash (taken, and its identity then recorded, so an
        index copied elsewhere is hashed once, not at every update)."""
        path = self.folder / row.name
        try:
            identity = file_identity(path.stat())
            if identity == row.identity:
                return True
            if file_sha256(path) != row.sha256:
                return False
        except FileNotFoundError:
            return False
        with self.store.transaction():
            self.store.set_segment_identity(row.name, identity)
        return True

    def recover(self) -> list[StoredDocument]:
        """Remove what a killed writer left (files no commit names), and find the
        documents whose vectors are in a damaged or missing segment: the caller removes
        them, and indexes them again."""
        rows = self.store.vector_segments()
        named = {r.name for r in rows}
        for path in self.folder.iterdir():
            if path.name not in named:
                path.unlink(missing_ok=True)
        damaged = [r for r in rows if not self._intact(r)]
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


def _is_hnsw(index: faiss.Index) -> bool:
    """Whether a segment is an HNSW graph (one written before HNSW may be IVF)."""
    return isinstance(inner_index(index), faiss.IndexHNSW)




def _live(segment: Segment, deleted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = segment.ids[~members(deleted, segment.ids)]
    return ids, segment.vectors(ids)
