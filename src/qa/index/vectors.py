"""Passage vectors in segments, read side: the live segments of one commit, searched.

Lucene's design, for FAISS. Each commit writes the batch's vectors as one new, small,
immutable segment file, and removing a passage adds its chunk id to a deletion set; the
store names the live segments (with their SHA-256) and holds the deletion set, in the
same transaction as the rows (`qa.index.commit`). A search asks every live segment for
its best `depth` passages, leaving deleted ids out before ranking (an IDSelector), and
keeps the best `depth` overall. The writer merges small segments into larger ones
(`qa.index.segment_writer`), applying the deletions as it goes.

A segment is exact (`IndexIDMap2` over `IndexFlatIP`: vectors are unit length, so inner
product is cosine) or, once a merge makes it large, approximate: IVF with 8-bit scalar
codes (a quarter of the bytes, and a query scans a few lists rather than every vector).
The IVF segment keeps chunk ids itself, with a hash-table direct map so a vector can be
read back by id. Small indexes therefore search exactly, as before.

Segment files are verified against the hash the store committed before they are used:
a damaged one is named with the fix (`qa index` re-embeds its documents), never used.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np

from qa.errors import IndexDamaged
from qa.index.layout import VECTORS_DIR
from qa.index.records import SegmentRow

if TYPE_CHECKING:
    from qa.index.store import Store

# A filter leaving at most this many passages in an approximate segment scores them all
# from their codes: an IVF search probes a few lists only, and a narrow filter could
# leave fewer than k passages in them.
EXACT_FILTER_LIMIT = 20_000
# The share of an IVF segment's lists a search probes: the smallest share whose recall@10
# against exact search reaches 0.98 on SciFact's real-model vectors, chosen on the train
# claims and reported on the test claims (bench/dense_recall.py, docs/scale.md).
PROBE_SHARE = 1 / 4


def probes_for(lists: int) -> int:
    return max(1, round(lists * PROBE_SHARE))


def folder_for(store: Store) -> Path:
    """The segment files of `store`'s generation, beside it."""
    return store.path.parent / VECTORS_DIR


@dataclass
class Segment:
    """One segment file in memory, with its chunk ids (sorted) for membership tests."""

    name: str
    index: faiss.Index
    ids: np.ndarray
    approximate: bool

    def search(self, query: np.ndarray, depth: int, within: np.ndarray | None,
               deleted: np.ndarray) -> dict[int, float]:
        """This segment's best `depth` chunks as {chunk id: cosine}, deleted ones left
        out, restricted to `within` (sorted chunk ids, which never hold deleted ones:
        they come from the store's rows) when given."""
        if within is not None:
            allowed = within[members(self.ids, within)]
            if self.approximate and len(allowed) <= EXACT_FILTER_LIMIT:
                return _best(allowed, self.vectors(allowed) @ query, depth)
            selector, size = faiss.IDSelectorBatch(allowed), len(allowed)
        else:
            gone = deleted[members(self.ids, deleted)]
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(gone)) if len(gone) else None
            size = len(self.ids) - len(gone)
        limit = min(depth, size)
        if limit <= 0:
            return {}
        if self.approximate:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=probes_for(self.index.nlist))
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        cos, ids = self.index.search(query[None, :].astype(np.float32), limit, params=params)
        return {int(i): float(s) for i, s in zip(ids[0], cos[0], strict=True) if i >= 0}

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of `ids` (all members), decoded from 8-bit codes when approximate."""
        if not len(ids):
            return np.zeros((0, self.index.d), dtype=np.float32)
        return self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))


def members(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """A mask over `ids`: which are in `sorted_ids`."""
    if not len(sorted_ids) or not len(ids):
        return np.zeros(len(ids), dtype=bool)
    at = np.searchsorted(sorted_ids, ids).clip(0, len(sorted_ids) - 1)
    return sorted_ids[at] == ids


def _best(ids: np.ndarray, scores: np.ndarray, depth: int) -> dict[int, float]:
    top = np.argsort(-scores, kind="stable")[:depth]
    return {int(ids[i]): float(scores[i]) for i in top}


def segment_ids(index: faiss.Index) -> np.ndarray:
    """The sorted chunk ids a segment holds, read from the index itself."""
    if isinstance(index, faiss.IndexIDMap2):
        return np.sort(faiss.vector_to_array(index.id_map))
    lists = index.invlists
    parts = [faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).copy()
             for n in range(index.nlist) if lists.list_size(n)]
    return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def read_segment(folder: Path, row: SegmentRow) -> Segment:
    """The segment `row` names, after checking its hash. FileNotFoundError if absent
    (the caller decides whether a merge removed it); IndexDamaged if it differs."""
    path = folder / row.name
    # Read once, then check and parse those bytes: a merge may delete the file at any
    # moment, and a second open (hash, then FAISS) could then fail half-way.
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise IndexDamaged(f"{path}: damaged vector segment (not the file that was"
                           " committed); run `qa index` to re-embed its documents")
    index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    return Segment(row.name, index, segment_ids(index), row.approximate)


class DenseIndex:
    """The live segments of one commit and its deletion set: the dense side of a search."""

    def __init__(self, segments: list[Segment], deleted: np.ndarray) -> None:
        self.segments = segments
        self.deleted = deleted

    @property
    def count(self) -> int:
        """Live vectors: every segment's, less the deleted ones."""
        return sum(len(s.ids) for s in self.segments) - len(self.deleted)

    def search(self, query: np.ndarray, depth: int,
               within: np.ndarray | None = None) -> dict[int, float]:
        """The `depth` chunks closest to `query`, as {chunk id: cosine}, over every
        segment. `within` (sorted chunk ids) restricts the search before ranking, so a
        filter that leaves few passages still gets its best `depth` of them."""
        hits: dict[int, float] = {}
        for segment in self.segments:
            hits.update(segment.search(query, depth, within, self.deleted))
        return dict(heapq.nlargest(depth, hits.items(), key=lambda item: item[1]))

    def vectors_of(self, chunk_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ids (of those live) and vectors of the given chunks."""
        chunk_ids = np.asarray(chunk_ids, dtype=np.int64)
        live = chunk_ids[~members(self.deleted, chunk_ids)]
        found, rows = [], []
        for segment in self.segments:
            mine = live[members(segment.ids, live)]
            if len(mine):
                found.append(mine)
                rows.append(segment.vectors(mine))
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(found), np.concatenate(rows)

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every live chunk id (sorted) with its vector."""
        ids = np.concatenate([s.ids for s in self.segments] or [np.zeros(0, np.int64)])
        found, matrix = self.vectors_of(np.sort(ids))
        order = np.argsort(found)
        return found[order], matrix[order]


def open_dense(store: Store, loaded: dict[str, Segment] | None = None) -> DenseIndex:
    """The dense index of the store's last commit. Segments already in `loaded` (by
    name: segment files never change) are reused, so a long-lived reader loads only
    what was committed since. A merge may remove a segment between reading the list
    and opening its file; the list is then read again."""
    loaded = loaded if loaded is not None else {}
    for _ in range(5):
        with store.snapshot():
            rows, deleted = store.vector_segments(), store.vector_deletes()
        try:
            segments = [loaded.get(r.name) or read_segment(folder_for(store), r) for r in rows]
        except FileNotFoundError:
            continue
        return DenseIndex(segments, deleted)
    missing = [r.name for r in store.vector_segments()
               if not (folder_for(store) / r.name).exists()]
    raise IndexDamaged(f"{folder_for(store)}: vector segment {', '.join(missing) or '?'}"
                       " missing; run `qa index` to re-embed its documents")

