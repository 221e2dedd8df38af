"""Answer marking: the question's weighted words and the sentence cosines, on a small
corpus indexed with the fake embedder (real chunker, store and tantivy index)."""

from __future__ import annotations

import numpy as np
import pytest

from qa.index.writer import update_index
from qa.search import calibration
from qa.search.answer_marking import MarkedPassage, mark, marking_features
from qa.search.searcher import Searcher
from qa.search.terms import QueryTerms
from qa.settings import Paths
from tests.conftest import FakeEmbedder

NOTE = """---
title: "Harbour notes"
---

The harbour of Tarvik lies at the mouth of a slow river. Ships have called there for
centuries, and the town grew around its quay. The quay was rebuilt in stone in 1871 by
the engineer Maren Holt. Fishing boats still land their catch there every morning.
"""
FILLER = """---
title: "Market notes {n}"
---

The market of the town opens every morning. Traders sell fish, bread and wool there.
The town council sets the market's hours and its fees. In winter the market closes early.
"""


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("marking")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "harbour.md").write_text(NOTE, encoding="utf-8")
    for n in range(4):
        (corpus / f"market-{n}.md").write_text(FILLER.format(n=n), encoding="utf-8")
    paths = Paths(corpus, base / "index")
    update_index(paths, progress=False, embedder=FakeEmbedder())
    s = Searcher(paths.index, encoder=FakeEmbedder())
    yield s
    s.close()


def test_rare_words_weigh_more_and_stems_match(searcher: Searcher):
    terms = QueryTerms.of("Who rebuilt the town's quay?", searcher.lexical)
    weight = dict(zip(terms.terms, terms.weights, strict=True))
    assert weight["quay"] > weight["town"]  # in one passage, against in every passage
    assert terms.weights.sum() == pytest.approx(1.0)
    assert terms.overlap("quays") == pytest.approx(weight["quay"])  # stemmed as BM25 does
    assert terms.overlap("nothing of it here") == 0.0
    assert QueryTerms.of("", searcher.lexical).overlap("the quay") == 0.0


def test_neighbour_features_stay_inside_the_passage():
    f = marking_features(np.array([0.1, 0.5, 0.3]), np.array([0.0, 1.0, 0.5]))
    assert f.tolist() == [[0.1, 0.0, 0.0, 0.5], [0.5, 1.0, 0.1, 0.3], [0.3, 0.5, 0.5, 0.0]]


def test_the_sentence_saying_the_question_words_is_marked(searcher: Searcher):
    question = "Which engineer rebuilt the quay in stone?"
    answer = searcher.search(question, 1)
    hit = answer.hits[0]
    assert hit.passage.path == "harbour.md"
    assert hit.answer == "The quay was rebuilt in stone in 1871 by\nthe engineer Maren Holt."
    # the marking weights decide: words alone pick the same sentence, the cosine alone
    # of this bag-of-words embedder too, and a zero model keeps the first sentence
    qvec, terms = searcher.embed(question), QueryTerms.of(question, searcher.lexical)
    by_words = mark(searcher.store, hit.passage, qvec, terms, weights=np.eye(4)[1])
    assert by_words.answer[:2] == (hit.answer_start, hit.answer_end)
    flat = mark(searcher.store, hit.passage, qvec, terms, weights=np.zeros(4))
    assert flat.answer[0] == hit.passage.start


def test_best_cosine_is_any_sentence_not_only_the_marked_one():
    m = MarkedPassage([(0, 5), (6, 9)], np.array([[0.9, 0.0, 0, 0], [0.2, 1.0, 0, 0]]),
                      np.array([0.0, 1.0]))
    assert m.answer == (6, 9, 0.2)
    assert m.best_cosine == 0.9


def test_confidence_features_and_monotone_evidence():
    m = MarkedPassage([(0, 5), (6, 9)], np.array([[0.6, 0.2, 0, 0], [0.4, 0.8, 0, 0]]),
                      np.array([0.0, 1.0]))
    features = calibration.confidence_features([m], coverage=1.0)
    assert features.tolist() == [0.6, 1.0, 0.4, 0.8, 0.8]
    assert calibration.confidence_features([], 0.5).tolist() == [0.0, 0.5, 0.0, 0.0, 0.0]
    # a question none of whose words the corpus holds is less likely answered
    lower = features.copy()
    lower[1] = 0.0
    assert calibration.confidence(lower) < calibration.confidence(features)
