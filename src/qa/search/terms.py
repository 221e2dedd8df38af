"""The question's words as answer marking (and the confidence) weigh them.

Words go through the lexical index's own analyser (tantivy: lower case, English
stemming), so "freezes" in a question meets "freezing" in a sentence exactly as BM25
sees it, and no second stemmer is needed. Each term weighs its inverse document
frequency in the index, so words nearly every passage holds ("the", "what") count for
almost nothing, with no list of such words. `overlap(text)` is the share of the
question's weight that a text contains: what a sentence says of the question in its own
words, which the embedding model's cosine sees only blurred.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qa.index.lexical import LexicalIndex, terms

_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits: tantivy's simple tokenizer


@lru_cache(maxsize=1 << 17)
def _term_of(word: str) -> str | None:
    analysed = terms(word)
    return analysed[0] if analysed else None


def text_terms(text: str) -> set[str]:
    """The index terms of `text`, as `terms` gives them, distinct word by distinct word
    through a cache: one call into the analyser per text costs more than the words of a
    passage repeat, and a cached lookup per distinct word is what a query's 60-odd texts
    can afford."""
    return {term for word in set(_WORD.findall(text)) if (term := _term_of(word)) is not None}


@dataclass(frozen=True)
class QueryTerms:
    """The question's distinct index terms and their IDF weights (summing to 1), and
    `coverage`: the share of that weight carried by terms the corpus holds. A question
    whose distinctive words never occur in the corpus (a recipe asked of a politics
    corpus) is probably not answerable there, however close its topic looks to the
    embedding model. Both come from one lookup of the terms' document frequencies."""

    terms: tuple[str, ...]
    weights: np.ndarray
    coverage: float = 0.0

    @classmethod
    def of(cls, question: str, lexical: LexicalIndex) -> QueryTerms:
        found = lexical.term_weights(terms(question))
        total = sum(w for w, _ in found.values())
        if not total:
            return cls((), np.zeros(0))
        held = sum(w for w, df in found.values() if df)
        return cls(tuple(found), np.array([w for w, _ in found.values()]) / total,
                   held / total)

    def overlap(self, text: str) -> float:
        """Share of the question's weight carried by terms that occur in `text`."""
        present = text_terms(text)
        return float(sum(w for t, w in zip(self.terms, self.weights, strict=True)
                         if t in present))

    def overlaps(self, texts: list[str]) -> np.ndarray:
        """`overlap` of each text."""
        return np.array([self.overlap(t) for t in texts], dtype=np.float64)
