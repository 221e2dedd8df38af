"""Reranking the fused head: its features, its order, and what the searcher returns with
it, on the real corpus indexed with the fake embedder."""

from __future__ import annotations

import numpy as np
import pytest

from qa.index.records import Passage
from qa.search import fitted
from qa.search.reranking import RANKING_FEATURES, RERANK_DEPTH, ranking_features, reranked
from qa.search.searcher import Searcher
from qa.search.terms import QueryTerms
from qa.settings import Paths
from tests.conftest import FakeEmbedder

QUESTION = "why did Baku reject mediators?"


@pytest.fixture(scope="module")
def searcher(fake_index_once: Paths):
    s = Searcher(fake_index_once.index, encoder=FakeEmbedder())
    yield s
    s.close()


def _passage(chunk_id: int, title: str, text: str) -> Passage:
    return Passage(chunk_id, chunk_id, f"{chunk_id}.md", title, None, None, None, 1, None,
                   None, None, False, 0, len(text), text)


def test_features_say_what_passage_and_title_hold(searcher: Searcher):
    terms = QueryTerms.of(QUESTION, searcher.lexical)
    passages = [_passage(1, "Mediators", "Baku rejected the mediators."),
                _passage(2, "Weather", "Rain fell on the capital."),
                _passage(3, "Weather", "Nothing at all.")]
    f = ranking_features(np.array([3.0, 2.0, 1.0]), passages, terms)
    assert f.shape == (3, len(RANKING_FEATURES))
    assert f[:, 0].mean() == pytest.approx(0.0) and f[0, 0] > f[1, 0] > f[2, 0]
    assert f[0, 1] > f[1, 1] == f[2, 1] == 0.0  # words of the question in the text
    assert f[0, 2] == terms.overlap("Mediators") > 0.0 and f[1, 2] == 0.0


def test_order_follows_the_model_and_ties_keep_the_fused_order(monkeypatch):
    monkeypatch.setattr(fitted, "RANKING", (1.0, 2.0, 0.0))
    features = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.25, 0.0],
                         [0.0, 1.0, 0.0]])
    order, scores = reranked(features)
    assert order.tolist() == [1, 3, 0, 2]
    assert scores.tolist() == [2.0, 2.0, 1.0, 1.0]


@pytest.mark.parametrize("k", [5, RERANK_DEPTH + 15])
def test_results_are_k_long_ordered_and_distinct_first(searcher: Searcher, k: int):
    """Past the reranked head the fused order goes on; passages that touch a better one
    come only when the corpus has no other (this one has 5 documents)."""
    hits = searcher.search(QUESTION, k).hits
    assert len(hits) == k == len({h.passage.chunk_id for h in hits})
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    first = hits[:5]
    for i, a in enumerate(first):
        for b in first[i + 1 :]:
            pa, pb = a.passage, b.passage
            assert pa.doc_id != pb.doc_id or pa.end + 2 < pb.start or pb.end + 2 < pa.start


def test_the_head_is_reordered_and_the_single_sides_are_not(searcher: Searcher,
                                                            monkeypatch):
    fused_only = searcher.search(QUESTION, 10).hits
    monkeypatch.setattr(fitted, "RANKING", (0.0, 0.0, 1.0))  # the title's words alone
    by_title = searcher.search(QUESTION, 10).hits
    terms = QueryTerms.of(QUESTION, searcher.lexical)
    titles = [terms.overlap(h.passage.title) for h in by_title]
    assert titles == sorted(titles, reverse=True)
    assert [h.passage.chunk_id for h in by_title] != [h.passage.chunk_id for h in fused_only]
    bm25 = [h.passage.chunk_id for h in searcher.search(QUESTION, 10, mode="bm25").hits]
    monkeypatch.setattr(fitted, "RANKING", (1.0, 0.0, 0.0))
    assert [h.passage.chunk_id for h in searcher.search(QUESTION, 10, mode="bm25").hits] == bm25


def test_distinct_reads_past_its_first_2k_only_when_it_must(searcher: Searcher,
                                                             monkeypatch: pytest.MonkeyPatch):
    """The head's choice reads the window's first 2k passages, and the rest of the window
    only when overlaps leave fewer than k distinct ones there; either way it chooses as
    reading the whole window would."""
    asked: list[list[int]] = []
    passages = searcher.store.passages
    monkeypatch.setattr(searcher.store, "passages",
                        lambda ids: asked.append(list(ids)) or passages(ids))
    everything = searcher.store.passages(searcher.store.chunk_ids().tolist())
    by_document: dict[int, list[int]] = {}
    for cid, p in sorted(everything.items(), key=lambda item: item[1].start):
        by_document.setdefault(p.doc_id, []).append(cid)
    neighbours = max(by_document.values(), key=len)  # one document's passages, in order
    others = [i for ids in by_document.values() if ids is not neighbours for i in ids[:1]]
    n = neighbours
    # Each kept passage flanked by the two it adjoins: 2 of k=3 distinct in the first 2k.
    adjoining = [n[2], n[1], n[3], n[5], n[4], n[6]] + [i for i in n if i not in n[1:7]]
    k = 3
    for ids in (others + neighbours, adjoining + others):
        order = np.array(ids, dtype=np.int64)
        scores = -np.arange(len(ids), dtype=np.float64)
        asked.clear()
        chosen = searcher._distinct(order, scores, k, [])
        whole = {i: everything[i] for i in ids[: 4 * k + 20]}
        kept, skipped = searcher._choose(ids[: 4 * k + 20], scores, k, [], whole)
        expected = sorted(kept + skipped[: k - len(kept)])[:k] if len(kept) < k else kept
        assert [p.chunk_id for p, _ in chosen] == [p.chunk_id for _, p, _ in expected]
        read = [i for call in asked for i in call]
        assert len(read) == len(set(read))  # nothing read twice
        distinct_first = ids[0] in others
        assert len(read) == (2 * k if distinct_first else min(len(ids), 4 * k + 20))
