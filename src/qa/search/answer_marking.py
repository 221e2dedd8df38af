"""Mark the sentence of a passage that answers the question.

Each sentence's vector is stored at indexing time (as 4-bit codes), so its cosine to the
question costs one small matrix product per passage, and it works for passages found
by the dense side alone, which may share no word with the question. The cosine alone
picks a sentence on the question's topic; a factoid answer sits in the sentence that
also says the question's rarer words. So each sentence is scored by a linear model of:
- its cosine to the question;
- its overlap: the share of the question's IDF weight it contains (`QueryTerms`);
- the cosines of the sentences before and after it (an answer often follows the
  sentence that sets it up).
The weights are fitted by `bench/refit.py` on squad-dev's gold spans (cross-validated
over questions) and checked on dev's evidence phrases; they live in `qa.search.fitted`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.index.records import Passage
from qa.index.store import Store
from qa.search import fitted
from qa.search.terms import QueryTerms

MARKING_FEATURES = ("cosine", "overlap", "previous cosine", "next cosine")


@dataclass(frozen=True)
class MarkedPassage:
    """A passage's sentences (document offsets), their features and marking scores."""

    spans: list[tuple[int, int]]
    features: np.ndarray  # (sentences, len(MARKING_FEATURES))
    scores: np.ndarray

    @property
    def answer(self) -> tuple[int, int, float]:
        """(start, end, cosine) of the marked sentence."""
        best = int(np.argmax(self.scores))
        start, end = self.spans[best]
        return start, end, float(self.features[best, 0])

    @property
    def best_cosine(self) -> float:
        """The highest cosine of any of its sentences (whichever is marked)."""
        return float(self.features[:, 0].max())


def sentence_cosines(store: Store, p: Passage, qvec: np.ndarray
                     ) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The passage's sentence spans and their cosines to the question vector; the whole
    passage, with cosine 0, when it holds no stored sentence."""
    spans, vectors = store.sentences_within(p.doc_id, p.start, p.end)
    if not spans:
        return [(p.start, p.end)], np.zeros(1)
    return spans, (vectors @ qvec).astype(np.float64)


def marking_features(cosines: np.ndarray, overlaps: np.ndarray) -> np.ndarray:
    """The MARKING_FEATURES of each sentence of one passage (neighbours outside it: 0)."""
    pad = np.zeros(1)
    return np.column_stack([cosines, overlaps, np.r_[pad, cosines[:-1]],
                            np.r_[cosines[1:], pad]])


def mark(store: Store, p: Passage, qvec: np.ndarray, terms: QueryTerms,
         weights: np.ndarray | None = None) -> MarkedPassage:
    """Score the passage's sentences (`weights` default to the fitted marking model)."""
    spans, cosines = sentence_cosines(store, p, qvec)
    overlaps = terms.overlaps([p.text[s - p.start : e - p.start] for s, e in spans])
    features = marking_features(cosines, overlaps)
    w = np.asarray(fitted.MARKING if weights is None else weights, dtype=np.float64)
    return MarkedPassage(spans, features, features @ w)
