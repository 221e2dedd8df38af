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

A merge never holds more than one output segment: it reads its input segments one at a
time and adds their vectors ADD_BATCH_VECTORS at a time, and no merge writes a segment
of more than MAX_SEGMENT_VECTORS (Lucene's maximum merged segment size): a tier whose
segments cannot merge within it is left alone, and `--optimize` (and the end of a build
from scratch) packs the segments, oldest first, into groups within it. So the memory a
merge takes is bounded, however large the index (bench/ray_memory.py): before, the end
of a build read every vector of the build at once, about 6 KB a passage.
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
# Vectors a merge writes into one segment at most: above the 1,031,472 passages of the
# 1M scale benchmark (docs/scale.md), which keeps one segment; an HNSW graph of this
# many takes about 0.8 GB while it is built.
MAX_SEGMENT_VECTORS = 1 << 20
ADD_BATCH_VECTORS = 1 << 14  # vectors a merge reads and adds at a time (24 MB)
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
    index = empty_graph(vectors[quantizer_sample(len(ids))], links)
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return index


def quantizer_sample(count: int) -> np.ndarray:
    """Which of `count` vectors (sorted positions) the 8-bit codes' ranges are trained
    on: a deterministic sample, the same whether the vectors are read at once or
    segment by segment."""
    sample = min(count, QUANTIZER_SAMPLE)
    return np.sort(np.random.default_rng(0).choice(count, sample, replace=False))


def empty_graph(sample: np.ndarray, links: int = HNSW_LINKS) -> faiss.Index:
    """An empty HNSW graph over 8-bit codes trained on `sample`, under an id map."""
    graph = faiss.IndexHNSWSQ(DIMENSION, faiss.ScalarQuantizer.QT_8bit, links,
                              faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_BUILD_DEPTH
    graph.train(np.ascontiguousarray(sample, dtype=np.float32))
    return faiss.IndexIDMap2(graph)


def build_index(ids: np.ndarray, vectors: np.ndarray) -> tuple[faiss.Index, bool]:
    """A segment's index for these vectors, and whether it is approximate."""
    if len(ids) >= APPROXIMATE_FROM:
        return approximate_index(ids, vectors), True
    return exact_index(ids, vectors), False


def merge_candidates(rows: list[SegmentRow]) -> list[SegmentRow]:
    """The segments of the smallest tier holding SEGMENTS_PER_TIER segments that merge
    within MAX_SEGMENT_VECTORS (its smallest ones, as many as fit), or [] when none
    does. Segments of a tier whose ten cannot merge within it stay as they are."""
    tiers: dict[int, list[SegmentRow]] = defaultdict(list)
    for row in rows:
        tiers[_tier(row.vectors)].append(row)
    for tier in sorted(tiers):
        fitting = _fitting(tiers[tier])
        if len(fitting) >= SEGMENTS_PER_TIER:
            return [r for r in tiers[tier] if r.name in fitting]
    return []


def _fitting(rows: list[SegmentRow]) -> set[str]:
    """The names of the smallest of `rows` whose vectors add up to MAX_SEGMENT_VECTORS
    at most."""
    names, total = set(), 0
    for row in sorted(rows, key=lambda r: r.vectors):
        total += row.vectors
        if total > MAX_SEGMENT_VECTORS:
            break
        names.add(row.name)
    return names


def packed(rows: list[SegmentRow]) -> list[list[SegmentRow]]:
    """Consecutive segments in groups of MAX_SEGMENT_VECTORS vectors at most (a larger
    segment, written before that bound, is a group of its own)."""
    groups: list[list[SegmentRow]] = []
    total = 0
    for row in rows:
        if not groups or total + row.vectors > MAX_SEGMENT_VECTORS:
            groups.append([])
            total = 0
        groups[-1].append(row)
        total += row.vectors
    return groups


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
        """Merge the segments into as few as MAX_SEGMENT_VECTORS allows (one, below it),
        dropping every deleted vector (an HNSW graph holding some is built anew;
        otherwise the others are added to the largest). A group of one segment without
        deletions is left as it is, unless it is not of the kind its size calls for
        (exact below APPROXIMATE_FROM, else HNSW)."""
        deleted = self.store.vector_deletes()
        for group in packed(self.store.vector_segments()):
            if len(group) == 1:
                segment = read_segment(self.folder, group[0])
                if (not members(deleted, segment.ids).any()
                        and _is_hnsw(segment.index) == (len(segment.ids) >= APPROXIMATE_FROM)):
                    continue
            self.merge(group, purge=True)

    def merge(self, rows: list[SegmentRow], *, purge: bool = False) -> None:
        """Replace `rows` by one segment of their live vectors, in one commit; then
        remove their files. The live vectors are added to the largest HNSW graph among
        them, unless there is none or it holds too many removed vectors (any, to
        `purge`: `--optimize` leaves none); the segment is then built anew."""
        deleted = self.store.vector_deletes()
        base = self._base(rows, deleted, 0.0 if purge else MAX_DELETED_SHARE)
        held: list[np.ndarray] = []
        if base is None:
            index, approximate = self._built(rows, deleted, held)
        else:
            index, approximate = self._added_to(base, rows, deleted, held), True
        every = np.concatenate(held)
        kept = segment_ids(index)  # an HNSW base keeps its removed vectors
        applied = every[members(deleted, every) & ~members(kept, every)]
        with self.store.transaction():
            row = self._write(index, approximate=approximate) if index.ntotal else None
            self.store.replace_segments([r.name for r in rows], row, applied)
        for r in rows:
            (self.folder / r.name).unlink(missing_ok=True)

    def _base(self, rows: list[SegmentRow], deleted: np.ndarray,
              max_deleted: float) -> Segment | None:
        """The largest HNSW graph among `rows`, read whole to be added to; None when
        there is none, or when more than `max_deleted` of it is removed."""
        for row in sorted((r for r in rows if r.approximate), key=lambda r: -r.vectors):
            segment = read_segment(self.folder, row)
            if _is_hnsw(segment.index):
                if members(deleted, segment.ids).mean() > max_deleted:
                    return None
                return read_segment(self.folder, row, writable=True)
        return None

    def _added_to(self, base: Segment, rows: list[SegmentRow], deleted: np.ndarray,
                  held: list[np.ndarray]) -> faiss.Index:
        """`base`'s graph with the other segments' live vectors added, one segment read
        at a time; every segment's ids go to `held`."""
        for row in rows:
            if row.name == base.name:
                held.append(base.ids)
                continue
            segment = read_segment(self.folder, row)
            held.append(segment.ids)
            ids, vectors = _live(segment, deleted)
            if len(ids):
                base.index.add_with_ids(vectors, ids)
        return base.index

    def _built(self, rows: list[SegmentRow], deleted: np.ndarray,
               held: list[np.ndarray]) -> tuple[faiss.Index, bool]:
        """A new segment of the live vectors of `rows`, and whether it is approximate:
        the same index `build_index` makes of them all at once, but read one segment at
        a time (three passes: ids, the quantizer's sample, the vectors) and added
        ADD_BATCH_VECTORS at a time; every segment's ids go to `held`."""
        alive = []
        for row in rows:
            ids = read_segment(self.folder, row).ids
            held.append(ids)
            alive.append(ids[~members(deleted, ids)])
        approximate = sum(len(ids) for ids in alive) >= APPROXIMATE_FROM
        if approximate:
            index = empty_graph(self._sample(rows, alive))
        else:
            index = exact_index(np.zeros(0, dtype=np.int64), np.zeros((0, DIMENSION)))
        pending: list[tuple[np.ndarray, np.ndarray]] = []
        size = 0
        for row, ids in zip(rows, alive, strict=True):
            if len(ids):
                pending.append((ids, read_segment(self.folder, row).vectors(ids)))
                size += len(ids)
            if size >= ADD_BATCH_VECTORS:
                _add(index, pending)
                pending, size = [], 0
        _add(index, pending)
        return index, approximate

    def _sample(self, rows: list[SegmentRow], alive: list[np.ndarray]) -> np.ndarray:
        """The vectors `quantizer_sample` picks among the live ones of `rows` (`alive`,
        in order), read segment by segment."""
        ends = np.cumsum([len(ids) for ids in alive])
        starts = ends - [len(ids) for ids in alive]
        positions = quantizer_sample(int(ends[-1]))
        low, high = np.searchsorted(positions, starts), np.searchsorted(positions, ends)
        sample = np.empty((len(positions), DIMENSION), dtype=np.float32)
        for row, ids, start, lo, hi in zip(rows, alive, starts, low, high, strict=True):
            if hi > lo:
                sample[lo:hi] = read_segment(self.folder, row).vectors(
                    ids[positions[lo:hi] - start])
        return sample

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


def _add(index: faiss.Index, parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Add (ids, vectors) parts to `index` in one call (one call, as `build_index`
    makes it, for a segment of up to ADD_BATCH_VECTORS vectors)."""
    if parts:
        index.add_with_ids(np.ascontiguousarray(np.concatenate([p[1] for p in parts]),
                                                dtype=np.float32),
                           np.concatenate([p[0] for p in parts]))


def _live(segment: Segment, deleted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = segment.ids[~members(deleted, segment.ids)]
    return ids, segment.vectors(ids)
