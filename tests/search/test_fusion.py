"""Fusion's order: best score first, and equal scores by a key that does not depend on
the order documents were indexed in, read only for the candidates that tie."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from qa.search.fusion import Candidates, Fusion, best_first, ranking

# chunk id -> (document path, offset): ids 7 and 3 tie and 3's document sorts later.
KEYS = {3: ("b.md", 0), 5: ("a.md", 40), 7: ("a.md", 0), 9: ("c.md", 0)}


class KeyReader:
    """The searcher's `store.chunk_keys`, recording which ids were asked for."""

    def __init__(self, keys: dict[int, tuple[str, int]]) -> None:
        self.keys, self.asked = keys, []

    def __call__(self, ids: Sequence[int]) -> dict[int, tuple[str, int]]:
        self.asked.extend(ids)
        return {i: self.keys[i] for i in ids if i in self.keys}


def pool(ids: list[int], dense: list[float], lexical: list[float],
         reader: KeyReader | None = None) -> Candidates:
    return Candidates(np.array(ids), np.array(dense), np.array(lexical), reader)


@pytest.mark.parametrize("ids", [[3, 5, 7, 9], [9, 7, 5, 3], [7, 3, 9, 5]])
def test_ties_follow_the_key_whatever_the_pool_order(ids: list[int]):
    scores = {3: 0.5, 5: 0.9, 7: 0.5, 9: 0.1}
    reader = KeyReader(KEYS)
    c = pool(ids, [scores[i] for i in ids], [0.0] * 4, reader)
    order = best_first(np.array([scores[i] for i in ids]), c)
    assert c.ids[order].tolist() == [5, 7, 3, 9]
    assert sorted(reader.asked) == [3, 7]  # only the tied candidates' keys are read


def test_no_tie_reads_no_key():
    reader = KeyReader(KEYS)
    c = pool([3, 5, 7], [0.3, 0.2, 0.1], [1.0, 2.0, 3.0], reader)
    assert c.ids[best_first(c.dense, c)].tolist() == [3, 5, 7]
    assert reader.asked == []


def test_a_tied_chunk_without_a_key_goes_last_in_its_tie():
    reader = KeyReader({3: ("b.md", 0), 7: ("a.md", 0)})  # 1 was removed since
    c = pool([1, 3, 7], [0.5, 0.5, 0.5], [0.0] * 3, reader)
    assert c.ids[best_first(c.dense, c)].tolist() == [7, 3, 1]


@pytest.mark.parametrize("method", ["rrf", "zscore", "minmax"])
def test_every_fusion_ranks_a_shuffled_pool_alike(method: str):
    """Copies tie on both sides; RRF's ranks of tied side scores must follow the key
    too, or the fused scores themselves would depend on the pool's order."""
    rng = np.random.default_rng(0)
    ids = np.arange(40)
    dense = np.round(rng.random(40), 1)  # coarse: many ties on each side
    lexical = np.round(rng.random(40) * 3, 0)
    keys = {int(i): (f"doc-{(i * 7) % 40:02d}.md", 0) for i in ids}
    results = []
    for seed in range(4):
        order = np.random.default_rng(seed).permutation(40)
        c = Candidates(ids[order], dense[order], lexical[order], KeyReader(keys))
        found, scores = ranking(c, "hybrid", Fusion(method, dense_weight=0.5))
        results.append((found.tolist(), scores.round(12).tolist()))
    assert all(r == results[0] for r in results)
