"""`COMMON_SHARE` leaves terms most passages hold out of the BM25 query: measured by
bench/common_terms.py (off by default, since it cost squad-dev two questions)."""

from __future__ import annotations

import pytest

from qa.index import lexical
from qa.index.layout import LEXICAL_DIR
from qa.index.lexical import LexicalIndex, terms
from qa.settings import Paths
from tests.conftest import live


def _shares(index: LexicalIndex, question: str) -> dict[str, float]:
    weights = index.term_weights(terms(question))
    return {t: df / index.count() for t, (_, df) in weights.items()}


def test_common_terms_are_left_out_only_when_asked_and_never_all(
        fake_index: Paths, monkeypatch: pytest.MonkeyPatch):
    index = LexicalIndex(live(fake_index.index) / LEXICAL_DIR)
    question = "what did the mediators say about the Zangezur corridor?"
    shares = _shares(index, question)
    common = {t for t, share in shares.items() if share > 0.2}
    assert "the" in common and "mediat" not in common
    assert index.query_terms(question) == terms(question)  # off by default
    monkeypatch.setattr(lexical, "COMMON_SHARE", 0.2)
    assert index.query_terms(question) == sorted(set(terms(question)) - common)
    top = index.search(question, 5)
    assert top and top == sorted(top, key=lambda hit: -hit[1])
    assert index.query_terms("the of and") == terms("the of and")  # nothing rarer left
