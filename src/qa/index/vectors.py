"""The FAISS file: normalised passage vectors, keyed by chunk id, verified by its hash.

An `IndexIDMap2` over an exact inner-product index: vectors are unit length, so inner
product is cosine, and ids are the store's chunk ids, so a removed document's vectors
can be removed by id. The file's SHA-256 is committed in the store together with the
rows it mirrors (`qa.index.commit`), so a torn, stale or corrupt file is detected and
the index rebuilt in memory from the vectors the store keeps, never re-embedded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np

from qa.hashing import file_sha256
from qa.index.layout import VECTORS_FILE

if TYPE_CHECKING:
    from qa.index.store import Store

SHA_KEY = "vectors_sha256"  # the store's meta key holding the committed file's hash


def new_index(dimension: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def from_arrays(ids: np.ndarray, vectors: np.ndarray, dimension: int) -> faiss.Index:
    index = new_index(dimension)
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return index


def search(index: faiss.Index, query: np.ndarray, depth: int,
           within: np.ndarray | None = None) -> dict[int, float]:
    """The `depth` chunks closest to `query`, as {chunk id: cosine}.

    `within` (chunk ids) restricts the search before ranking: an IDSelector passed
    through the IndexIDMap2, which translates it to the inner index's positions, so a
    filter that leaves few passages still gets its best `depth` of them.
    """
    limit = min(depth, index.ntotal if within is None else len(within))
    if limit <= 0:  # an empty index (killed before its first commit), or nothing allowed
        return {}
    params = None
    if within is not None:
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(within))
    cos, ids = index.search(query[None, :].astype(np.float32), limit, params=params)
    return {int(i): float(s) for i, s in zip(ids[0], cos[0], strict=True) if i >= 0}


def path_for(store: Store) -> Path:
    """The FAISS file that mirrors `store`, beside it in its generation."""
    return store.path.parent / VECTORS_FILE


def temp_path(path: Path) -> Path:
    """Where a FAISS file waits between its commit and its rename."""
    return path.with_name(path.name + ".tmp")


def read_verified(path: Path, expected_sha256: str | None) -> faiss.Index | None:
    """The index at `path` if it exists and matches the recorded hash, else None."""
    if expected_sha256 is None or not path.exists():
        return None
    if file_sha256(path) != expected_sha256:
        return None
    try:
        return faiss.read_index(str(path))
    except RuntimeError:
        return None


def load_or_rebuild(store: Store, dimension: int) -> tuple[faiss.Index, bool]:
    """The FAISS index matching the store, and whether it had to be rebuilt from the
    store's vectors (missing, torn or stale file): a writer must then write it again."""
    index = read_verified(path_for(store), store.get_meta(SHA_KEY))
    if index is not None:
        return index, False
    ids, matrix = store.all_vectors()
    return from_arrays(ids, matrix, dimension), True


def finish_committed_temp(store: Store) -> None:
    """A temp file whose hash the store already committed finishes a killed rename;
    any other temp file is a killed write, and is removed. Writer only."""
    final = path_for(store)
    tmp = temp_path(final)
    if tmp.exists():
        if file_sha256(tmp) == store.get_meta(SHA_KEY):
            os.replace(tmp, final)
        else:
            tmp.unlink()
