"""Republished copies: documents whose text is nearly the same, found at index time.

Each document's MinHash signature (`qa.index.minhash`) is stored with its LSH band keys.
A new document is compared only with the documents that share a band key with it (an
indexed lookup), so adding one document never re-reads or re-hashes the others. Pairs
whose estimated Jaccard similarity reaches COPY_THRESHOLD are stored; a group of copies
is a connected set of such pairs. Every row cascades away with its document.

The parameters were chosen by `bench/near_duplicates.py` (see docs/near-duplicates.md);
they are in the manifest, so an index built with others asks for a rebuild.
"""

from __future__ import annotations

import sqlite3

import numpy as np

NUM_PERM = 128  # permutations per signature: the estimate errs by about 0.04 at 0.35
SHINGLE_WORDS = 5  # words per shingle
COPY_THRESHOLD = 0.35  # estimated Jaccard from which two documents are copies (bench)
# LSH bands are chosen (by datasketch) weighing a missed copy 4x a needless comparison:
# candidates are checked against their stored signature, so an extra one costs little.
LSH_WEIGHTS = (0.2, 0.8)  # (false positive, false negative)


class CopyRegistry:
    """The `minhash`, `minhash_bands` and `copies` tables of a store's connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def add(self, doc_id: int, signature: np.ndarray, band_keys: list[int]) -> None:
        """Store a document's signature, and pair it with the stored documents it copies."""
        sig = np.ascontiguousarray(signature, dtype=np.uint32)
        candidates = {doc for band, key in enumerate(band_keys) for (doc,) in self.db.execute(
            "SELECT doc_id FROM minhash_bands WHERE band = ? AND bucket = ? AND doc_id != ?",
            (band, key, doc_id))}
        self.db.execute("INSERT INTO minhash(doc_id, signature) VALUES (?, ?)",
                        (doc_id, sig.tobytes()))
        self.db.executemany("INSERT OR IGNORE INTO minhash_bands(band, bucket, doc_id)"
                            " VALUES (?, ?, ?)",
                            [(band, key, doc_id) for band, key in enumerate(band_keys)])
        for other, blob in self._signatures(candidates):
            similarity = float(np.mean(np.frombuffer(blob, dtype=np.uint32) == sig))
            if similarity >= COPY_THRESHOLD:
                a, b = sorted((doc_id, other))
                self.db.execute("INSERT OR REPLACE INTO copies(doc_a, doc_b, similarity)"
                                " VALUES (?, ?, ?)", (a, b, similarity))

    def _signatures(self, doc_ids: set[int]) -> list[tuple[int, bytes]]:
        if not doc_ids:
            return []
        return self.db.execute(
            "SELECT doc_id, signature FROM minhash WHERE doc_id IN"
            " (SELECT value FROM json_each(?))", (_ids_json(doc_ids),)).fetchall()

    def pairs(self) -> list[tuple[int, int, float]]:
        return self.db.execute("SELECT doc_a, doc_b, similarity FROM copies").fetchall()

    def groups(self) -> list[frozenset[int]]:
        """Groups of documents that are copies of each other (two or more each)."""
        parent: dict[int, int] = {}

        def root(x: int) -> int:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b, _ in self.pairs():
            parent[root(a)] = root(b)
        members: dict[int, set[int]] = {}
        for doc in parent:
            members.setdefault(root(doc), set()).add(doc)
        return [frozenset(m) for m in members.values()]


def _ids_json(ids: set[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in sorted(ids)) + "]"
