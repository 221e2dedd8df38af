"""The FAISS file: normalised passage vectors, keyed by chunk id.

An `IndexIDMap2` over an exact inner-product index: vectors are unit length, so inner
product is cosine, and ids are the store's chunk ids, so a removed document's vectors
can be removed by id. The file is always written to a temporary name and renamed into
place; its SHA-256 is recorded in the store, so a torn or corrupt file is detected and
rebuilt from the vectors the store keeps.
"""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

from qa.hashing import file_sha256

VECTORS_FILE = "vectors.faiss"


def new_index(dimension: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def from_arrays(ids: np.ndarray, vectors: np.ndarray, dimension: int) -> faiss.Index:
    index = new_index(dimension)
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return index


def write_temp(index: faiss.Index, path: Path) -> tuple[Path, str]:
    """Write `index` beside `path` under a temporary name, synced; return it and its hash.

    The caller renames it into place only after the store has committed the hash.
    """
    tmp = path.with_name(path.name + ".tmp")
    # Written by FAISS directly and hashed from the page cache: serialising to a buffer
    # first costs two extra copies of the whole index (measured at 10,000 documents).
    faiss.write_index(index, str(tmp))
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    return tmp, file_sha256(tmp)


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
