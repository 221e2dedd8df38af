"""Ways to fuse the dense and lexical scores of a candidate pool into one ranking.

Each candidate carries BOTH scores (a dense-only candidate gets its BM25 computed, a
lexical-only one its cosine), so score-based fusion is not blind to the other side.
`bench/fusion.py` compares these on the dev questions and SciFact train; the winner and
its parameters are `DEFAULT` below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

TieKeys = Callable[[Sequence[int]], Mapping[int, Any]]
"""Chunk ids -> a sort key each that does not depend on indexing history (the
searcher's: document path and offset), read only for candidates whose scores tie."""


@dataclass(frozen=True)
class Candidates:
    """A pool of chunks with their cosine and BM25 scores (0 where no term matches).

    Equal scores are ordered by `tie_keys` when given, so a ranking never depends on the
    chunk ids' order, which follows the order documents were indexed in (republished
    copies tie on both scores); without it, by their order in the pool."""

    ids: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    tie_keys: TieKeys | None = None


@dataclass(frozen=True)
class Fusion:
    """A fusion method and its parameters."""

    method: str  # "rrf", "minmax" or "zscore"
    dense_weight: float = 0.5
    rrf_k: int = 60


def best_first(scores: np.ndarray, c: Candidates) -> np.ndarray:
    """Positions in the pool, highest score first; equal scores in `c.tie_keys` order.

    Only the tied candidates' keys are read: at a million passages, reading every
    candidate's key cost about 2 ms of each query (docs/scale.md)."""
    order = np.argsort(-scores, kind="stable")
    ordered = scores[order]
    same = ordered[1:] == ordered[:-1]
    if c.tie_keys is None or not same.any():
        return order
    tied = np.flatnonzero(np.r_[False, same] | np.r_[same, False])
    run = np.r_[0, np.cumsum(~same)]  # which run of equal scores each position is in
    ids = c.ids[order]
    keys = c.tie_keys(ids[tied].tolist())  # a chunk a writer removed since: last

    def key(position: int) -> tuple[Any, ...]:
        found = keys.get(int(ids[position]))
        return (run[position], found is None, found or ())

    resorted = sorted(tied.tolist(), key=key)
    order[tied] = order[resorted]
    return order


def _ranks(scores: np.ndarray, c: Candidates) -> np.ndarray:
    order = best_first(scores, c)
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def _minmax(x: np.ndarray) -> np.ndarray:
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def zscore(x: np.ndarray) -> np.ndarray:
    """x centred and scaled within its pool (all zeros when it does not vary)."""
    std = x.std()
    return (x - x.mean()) / std if std > 0 else np.zeros_like(x)


def fused_scores(c: Candidates, fusion: Fusion) -> np.ndarray:
    """One score per candidate; higher is better."""
    w = fusion.dense_weight
    if len(c.ids) == 0:
        return np.zeros(0)
    if fusion.method == "rrf":
        return (w / (fusion.rrf_k + _ranks(c.dense, c))
                + (1 - w) / (fusion.rrf_k + _ranks(c.lexical, c)))
    if fusion.method == "minmax":
        return w * _minmax(c.dense) + (1 - w) * _minmax(c.lexical)
    if fusion.method == "zscore":
        return w * zscore(c.dense) + (1 - w) * zscore(c.lexical)
    raise ValueError(f"unknown fusion method {fusion.method!r}")


def ranking(c: Candidates, mode: str, fusion: Fusion) -> tuple[np.ndarray, np.ndarray]:
    """Candidate ids and scores, best first, for "hybrid", "dense" or "bm25"."""
    if mode == "dense":
        scores = c.dense
    elif mode == "bm25":  # only passages a question word matches; their ties alone are read
        matched = c.lexical > 0
        c = Candidates(c.ids[matched], c.dense[matched], c.lexical[matched], c.tie_keys)
        scores = c.lexical
    else:
        scores = fused_scores(c, fusion)
    order = best_first(scores, c)
    return c.ids[order], scores[order]


DEFAULT = Fusion("zscore", dense_weight=0.8)
