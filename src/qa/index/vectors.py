"""Passage vectors in segments, read side: the live segments of one commit, searched.

Lucene's design, for FAISS. Each commit writes the batch's vectors as one new, small,
immutable segment file, and removing a passage adds its chunk id to a deletion set; the
store names the live segments (with their SHA-256) and holds the deletion set, in the
same transaction as the rows (`qa.index.commit`). A search asks every live segment for
its best `depth` passages, leaving deleted ids out before ranking (an IDSelector), and
keeps the best `depth` overall. The writer merges small segments into larger ones
(`qa.index.segment_writer`), applying the deletions as it goes.

A segment is exact (`IndexIDMap2` over `IndexFlatIP`: vectors are unit length, so inner
product is cosine) or, once a merge makes it large, approximate: an HNSW graph over 8-bit
scalar codes (`IndexIDMap2` over `IndexHNSWSQ`: a quarter of the bytes, and a query
visits a few thousand vectors, not every one). Small indexes therefore search exactly,
as before. Segments written before HNSW (IVF with 8-bit codes, which keeps chunk ids
itself) are still read, and become HNSW at their next merge.

A search runs FAISS on one thread: one question is too little work to share, and on
this 2-core machine OpenMP's second thread made a search ten times slower whenever
the other core was busy (bench/query_stages.py).

Segment files are verified against the hash the store committed before they are used:
a damaged one is named with the fix (`qa index` re-embeds its documents), never used.
"""

from __future__ import annotations

import hashlib
import heapq
import os
from collections.abc import Iterator
from contextlib import contextmanager
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
# The share of an IVF segment's lists a search probes (segments written before HNSW).
PROBE_SHARE = 1 / 4
# How many candidates an HNSW search keeps while walking the graph: the smallest depth
# whose recall@10 against exact search reaches 0.98 on SciFact's real-model vectors,
# chosen on the train claims and reported on the test claims (bench/dense_recall.py,
# docs/scale.md). A search for more than this many passages keeps `depth` of them.
HNSW_SEARCH_DEPTH = 64


def probes_for(lists: int) -> int:
    return max(1, round(lists * PROBE_SHARE))


@contextmanager
def one_thread() -> Iterator[None]:
    """FAISS on one OpenMP thread for the block (the process-wide setting is restored)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


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
        params = search_parameters(self.index, selector, limit * len(self.ids) // size)
        cos, ids = self.index.search(query[None, :].astype(np.float32), limit, params=params)
        found = {int(i): float(s) for i, s in zip(ids[0], cos[0], strict=True) if i >= 0}
        if within is not None and self.approximate and len(found) < limit:
            # A graph walk can miss allowed vectors when few are allowed: score them all.
            return _best(allowed, self.vectors(allowed) @ query, depth)
        return found

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of `ids` (all members), decoded from 8-bit codes when approximate."""
        if not len(ids):
            return np.zeros((0, self.index.d), dtype=np.float32)
        return self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))


def inner_index(index: faiss.Index) -> faiss.Index:
    """The index under a segment's id map (an IVF segment keeps its ids itself)."""
    return faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index


def search_parameters(index: faiss.Index, selector: faiss.IDSelector | None,
                      depth: int) -> faiss.SearchParameters | None:
    """What a search of `index` needs: the selector, and for an approximate index how
    far to search. `depth` is the result count scaled up by the share of the segment a
    selector leaves out, so a walk of the graph still meets enough allowed vectors."""
    inner = inner_index(index)
    if isinstance(inner, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_SEARCH_DEPTH, depth))
    if isinstance(inner, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=probes_for(inner.nlist))
    return faiss.SearchParameters(sel=selector) if selector is not None else None


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


def file_identity(status: os.stat_result) -> str:
    """Size, inode, and modification and change times (ns) of a file: any write to it
    changes the change time, which no user call can set back, so a file that still has
    the identity it had when its hash was taken still has that hash (git trusts its
    index the same way)."""
    return (f"{status.st_size}:{status.st_ino}:{status.st_mtime_ns}"
            f":{status.st_ctime_ns}")


def read_segment(folder: Path, row: SegmentRow, *, writable: bool = False) -> Segment:
    """The segment `row` names, checked. FileNotFoundError if absent (the caller decides
    whether a merge removed it); IndexDamaged if it is not the file committed.

    A file with the identity recorded when it was written is mapped into memory by
    FAISS (its codes are paged in as searches touch them: a cold `qa ask` on a million
    passages does not read the whole segment first); any other (a copied index, a
    damaged file) is read and hashed first. The file is opened before it is checked and
    stays open while FAISS maps it: a merge may delete it at any moment, and names are
    never reused, so what FAISS opens is what was checked, or nothing. A merge that adds
    to the segment asks for it `writable`: read whole, as mapped codes cannot grow."""
    path = folder / row.name
    with path.open("rb") as handle:
        if row.identity and file_identity(os.fstat(handle.fileno())) == row.identity:
            try:
                index = faiss.read_index(str(path), 0 if writable else faiss.IO_FLAG_MMAP_IFC)
            except RuntimeError:
                if path.exists():
                    raise
                raise FileNotFoundError(path) from None
        else:
            data = handle.read()
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
        with one_thread():
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

