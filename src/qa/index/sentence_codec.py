"""Sentence vectors as stored: 4-bit codes with one scale per vector.

Sentence vectors serve answer marking alone (the best sentence of a passage, and its
cosine for the confidence). At five to six sentences per passage, float32 costs ~7 KB a
passage, int8 ~2.3 KB and 4-bit codes ~1.3 KB, against an issue budget of 4 KB for
everything. Rounding each coordinate to 1/7 of the vector's largest one moves cosines
by about 0.01; bench/sentence_vectors.py measured the marking figures of every format
(docs/sentence-vectors-run.txt) before 4 bits became the default.

A row's length says its format: DIMENSION bytes are int8 codes (indexes written before
4 bits), DIMENSION / 2 bytes are two 4-bit codes per byte. So an older index reads on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.embed.model import DIMENSION

BITS = 4  # what `encode` writes by default
# Symmetric code ranges, so 0.0 is exact: [-7, 7] in 4 bits, [-127, 127] in 8.
_LEVELS = {4: 7, 8: 127}


def encode(vectors: np.ndarray, bits: int = BITS) -> list[tuple[float, bytes]]:
    """(scale, codes) per row of an (n, DIMENSION) float matrix; a row is about
    codes * scale. 4-bit codes are stored offset by 8, the first of a pair in the low
    nibble."""
    if len(vectors) == 0:
        return []
    levels = _LEVELS[bits]
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    scales = np.abs(matrix).max(axis=1, initial=0.0) / levels
    safe = np.where(scales > 0, scales, 1.0)[:, None]
    codes = np.clip(np.rint(matrix / safe), -levels, levels).astype(np.int8)
    if bits == 4:
        nibbles = (codes + 8).astype(np.uint8)
        codes = (nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)).view(np.int8)
    return [(float(scale), row.tobytes()) for scale, row in zip(scales, codes, strict=True)]


def decode(rows: Sequence[tuple[float, bytes]]) -> np.ndarray:
    """The (n, DIMENSION) float32 matrix of stored (scale, codes) rows, of either width."""
    if not rows:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    out = np.empty((len(rows), DIMENSION), dtype=np.float32)
    for width, unpack in ((DIMENSION, _int8), (DIMENSION // 2, _int4)):
        at = [n for n, r in enumerate(rows) if len(r[1]) == width]
        if at:
            codes = unpack(np.frombuffer(b"".join(rows[n][1] for n in at), dtype=np.uint8))
            scales = np.array([rows[n][0] for n in at], dtype=np.float32)[:, None]
            out[at] = codes.reshape(len(at), DIMENSION) * scales
    return out


def _int8(raw: np.ndarray) -> np.ndarray:
    return raw.view(np.int8).astype(np.float32)


def _int4(raw: np.ndarray) -> np.ndarray:
    pairs = np.empty((len(raw), 2), dtype=np.float32)
    pairs[:, 0] = (raw & 0x0F).astype(np.float32) - 8
    pairs[:, 1] = (raw >> 4).astype(np.float32) - 8
    return pairs.reshape(-1)
