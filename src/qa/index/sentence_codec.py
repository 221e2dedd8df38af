"""Sentence vectors as stored: int8 codes with one scale per vector.

Sentence vectors serve answer marking alone (the best sentence of a passage, and its
cosine for the confidence), where rounding each coordinate to 1/127 of the vector's
largest one moves cosines by about 0.001. At about four sentences per passage, float32
cost ~6 KB a passage and float16 ~3 KB, against an issue budget of 4 KB for everything;
int8 costs ~1.5 KB. bench/sentence_vectors.py measured the marking figures of all three
(docs/sentence-vectors-run.txt).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_LEVELS = 127  # symmetric: codes in [-127, 127], so 0.0 is exact and no code is wasted


def encode(vectors: np.ndarray) -> list[tuple[float, bytes]]:
    """(scale, codes) per row of an (n, dim) float matrix; a row is ~ codes * scale."""
    if len(vectors) == 0:
        return []
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    scales = np.abs(matrix).max(axis=1, initial=0.0) / _LEVELS
    safe = np.where(scales > 0, scales, 1.0)[:, None]
    codes = np.clip(np.rint(matrix / safe), -_LEVELS, _LEVELS).astype(np.int8)
    return [(float(scale), row.tobytes()) for scale, row in zip(scales, codes, strict=True)]


def decode(rows: Sequence[tuple[float, bytes]]) -> np.ndarray:
    """The (n, dim) float32 matrix of stored (scale, codes) rows."""
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    codes = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.int8).reshape(len(rows), -1)
    scales = np.array([r[0] for r in rows], dtype=np.float32)[:, None]
    return codes.astype(np.float32) * scales
