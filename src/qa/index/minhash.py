"""MinHash signatures of document texts, and their LSH band keys (writer side only).

datasketch rather than rensa: both estimate Jaccard similarity equally well here, and
signing a document costs milliseconds either way, next to a second of embedding it
(`bench/near_duplicates.py` measured both); datasketch is the long-maintained,
widely used one, and its LSH parameter choice (bands x rows for a threshold) is used
as is. Imported lazily: it pulls in scipy, which the query path never needs.
"""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np

from qa.index.copies import COPY_THRESHOLD, LSH_WEIGHTS, NUM_PERM, SHINGLE_WORDS
from qa.textnorm import words

SEED = 1  # fixed, so signatures stored at different times are comparable


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Overlapping runs of `size` normalised words (the whole text if shorter)."""
    found = words(text)
    if len(found) <= size:
        return {" ".join(found)}
    return {" ".join(found[i : i + size]) for i in range(len(found) - size + 1)}


def signature(text: str, size: int = SHINGLE_WORDS) -> np.ndarray:
    """The document's MinHash signature: NUM_PERM unsigned 32-bit values."""
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch([s.encode("utf-8") for s in sorted(shingles(text, size))])
    return minhash.hashvalues.astype(np.uint32)


@cache
def bands_and_rows(threshold: float = COPY_THRESHOLD) -> tuple[int, int]:
    """datasketch's LSH split of NUM_PERM values into b bands of r rows for `threshold`,
    weighing missed and needless candidates by LSH_WEIGHTS."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=LSH_WEIGHTS)
    return lsh.b, lsh.r


def band_keys(sig: np.ndarray) -> list[int]:
    """One 63-bit key per band: documents sharing a key are compared."""
    b, r = bands_and_rows()
    return [int.from_bytes(hashlib.blake2b(sig[i * r : (i + 1) * r].tobytes(),
                                           digest_size=8).digest(), "little") >> 1
            for i in range(b)]
