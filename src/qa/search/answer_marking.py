"""Mark the sentence of a passage that answers the question.

Each sentence's vector is stored at indexing time (as int8 codes), so marking costs one
small matrix product per passage, and it works for passages found by the dense side
alone, which may share no word with the question.
"""

from __future__ import annotations

import numpy as np

from qa.index.records import Passage
from qa.index.store import Store


def answer_sentence(store: Store, p: Passage, qvec: np.ndarray) -> tuple[int, int, float]:
    """(start, end, cosine) of the passage's sentence closest to the question vector;
    the whole passage, with cosine 0, when it holds no stored sentence."""
    spans, vectors = store.sentences_within(p.doc_id, p.start, p.end)
    if not spans:
        return p.start, p.end, 0.0
    sims = vectors @ qvec
    best = int(np.argmax(sims))
    return spans[best][0], spans[best][1], float(sims[best])
