"""Filters restrict both retrieval sides before ranking: on real files, fake embedder."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from qa.index.writer import update_index
from qa.search.query_syntax import option_filter
from qa.search.searcher import Searcher
from qa.settings import Paths
from qa.textnorm import contains_phrase, normalise
from tests.conftest import CORPUS, FakeEmbedder

QUESTION = "why did Baku reject mediators?"
BRIEFING = """---
title: "Briefing on the border commission"
source: "Caucasus Desk"
published: "{date}"
---

The border commission met in Gabala to settle the northern section of the border.
{filler}

Delegations exchanged maps of the northern section and agreed on the next meeting.
{filler}

Mediators were not invited to the border commission, at Baku's request.
{filler}
"""
# Different words in each briefing: near-identical ones would be grouped as republished
# copies (tests/index/test_copies.py), and only the earliest would be shown.
FILLERS = (" ".join(["The talks went on late into the evening and covered many details."] * 8),
           " ".join(["Observers from both capitals noted every map that changed hands."] * 8))


@pytest.fixture(scope="module")
def filtered(tmp_path_factory: pytest.TempPathFactory):
    """The real corpus plus two dated briefings in reports/ (one .txt), fake embedder.
    Each briefing paragraph is long enough to be a passage of its own."""
    base = tmp_path_factory.mktemp("filters")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "reports").mkdir()
    (corpus / "reports" / "2024-06-briefing.md").write_text(
        BRIEFING.format(date="2024-06-12", filler=FILLERS[0]), encoding="utf-8")
    (corpus / "reports" / "2025-01-briefing.txt").write_text(
        BRIEFING.format(date="2025-01", filler=FILLERS[1]).replace("Gabala", "Qazax"),
        encoding="utf-8")
    paths = Paths(corpus, base / "index")
    update_index(paths, progress=False, embedder=FakeEmbedder())
    searcher = Searcher(paths.index, encoder=FakeEmbedder())
    yield searcher
    searcher.close()


def docs(answer) -> set[str]:
    return {h.passage.path for h in answer.hits}


def test_document_fields_filter_before_ranking(filtered: Searcher):
    carnegie = filtered.search(f'source:"carnegie endowment" {QUESTION}', 5)
    assert docs(carnegie) == {"2025-03-17-armenia-azerbaijan-major-step-forward.md"}
    assert len(carnegie.hits) == 5 and carnegie.scope.documents == 1
    assert docs(filtered.search(f"in:reports/ {QUESTION}", 5)) == {
        "reports/2024-06-briefing.md", "reports/2025-01-briefing.txt"}
    assert docs(filtered.search(f"type:txt {QUESTION}", 5)) == {"reports/2025-01-briefing.txt"}
    titles = docs(filtered.search(f"title:bilateralism title:crossroads {QUESTION}", 10))
    assert titles == {"2024-12-seizing-moment-armenia-azerbaijan-crossroads.md",
                      "2025-10-03-sustaining-bilateralism-armenia-azerbaijan.md"}
    by_option = filtered.search(QUESTION, 5, filters=option_filter(folders=("reports",)))
    assert docs(by_option) == {"reports/2024-06-briefing.md", "reports/2025-01-briefing.txt"}


def test_dates_are_inclusive_periods_and_undated_documents_are_counted(filtered: Searcher):
    def dated(query: str) -> tuple[set[str], int]:
        answer = filtered.search(f"{query} {QUESTION}", 20)
        return {h.passage.published for h in answer.hits}, answer.scope.undated_excluded

    # Undated: the three corpus articles without `published`.
    assert dated("after:2025") == ({"2025-01", "2025-03-17", "2025-10-03"}, 3)
    assert dated("before:2024-06") == ({"2024-06-12"}, 3)
    assert dated("after:2024-06-12 before:2025-01") == ({"2024-06-12", "2025-01"}, 3)
    assert dated("after:2025-01-02 before:2025-10-02") == ({"2025-03-17"}, 3)


def test_phrases_must_appear_and_excluded_words_must_not(filtered: Searcher):
    # Typed with a straight apostrophe; the corpus has a curly one.
    answer = filtered.search(f"\"Azerbaijan's bid\" {QUESTION}", 5)
    assert answer.hits
    assert all(contains_phrase(normalise(h.passage.text), "azerbaijan's bid")
               for h in answer.hits)
    unfiltered = filtered.search(QUESTION, 10)
    assert any("russia" in normalise(h.passage.text) for h in unfiltered.hits)
    without = filtered.search(f"-Russia -\"northern section\" {QUESTION}", 10)
    assert len(without.hits) == 10
    for hit in without.hits:
        text = normalise(hit.passage.text)
        assert not contains_phrase(text, "russia") and "northern section" not in text
    # Whole words: excluding "Russia" keeps "Russian-led"? No: "Russian" is another word.
    russian = filtered.search(f"-Russia {QUESTION}", 30).hits
    assert any(contains_phrase(normalise(h.passage.text), "russian") for h in russian)


def test_k_passages_come_back_when_k_match(filtered: Searcher):
    """The briefings hold six passages, three adjacent ones each. A filter that leaves
    them gets them all back (adjacent passages fill up when too few distinct ones are
    left), while filtering the unfiltered top n afterwards (txtai #915) loses them."""
    n = filtered.search(f"in:reports/ {QUESTION}", 1).scope.passages
    assert n == 6
    answer = filtered.search(f"in:reports/ {QUESTION}", n)
    assert len(answer.hits) == n
    assert len(filtered.search(f"in:reports/ {QUESTION}", n + 5).hits) == n
    after_the_fact = [h for h in filtered.search(QUESTION, n).hits
                      if h.passage.path.startswith("reports/")]
    assert len(after_the_fact) < n


def test_a_filter_that_matches_nothing_says_so(filtered: Searcher):
    answer = filtered.search(f"source:nowhere {QUESTION}", 5)
    assert answer.hits == [] and not answer.answered
    assert answer.scope.passages == 0 and answer.scope.documents == 0


def test_faiss_id_selector_works_through_the_id_map(filtered: Searcher):
    dense = filtered.dense
    query = FakeEmbedder().encode([QUESTION])[0]
    all_ids = filtered.store.chunk_ids()
    allowed = all_ids[::7]
    got = dense.search(query, 100, allowed)
    assert set(got) == set(allowed.tolist())  # all of them: fewer than the depth
    few = dense.search(query, 3, allowed)
    everything = dense.search(query, len(all_ids))
    best = sorted(allowed.tolist(), key=lambda i: -everything[i])[:3]
    assert set(few) == set(best)
    assert dense.search(query, 5, np.array([], dtype=np.int64)) == {}


def test_lexical_search_is_restricted_before_its_limit(filtered: Searcher):
    lexical = filtered.lexical
    everything = [cid for cid, _ in lexical.search(QUESTION, 1000)]
    allowed = everything[-3:]  # the three weakest matches
    assert [cid for cid, _ in lexical.search(QUESTION, 3, allowed)] == allowed
