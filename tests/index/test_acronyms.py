"""Acronyms the corpus defines: found at index time, kept with their documents, used to
expand the lexical side of a question. Real files and index, fake embedder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from qa import settings
from qa.index.acronyms import VERSION_KEY, AcronymTable, definitions
from qa.index.layout import STORE_FILE
from qa.index.lexical import term_sequence
from qa.index.store import Store
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.conftest import FakeEmbedder, live

DEFINES = ("---\ntitle: Talks\n---\n\nThe sides agreed on confidence-building measures"
           " (CBMs) last year. They met at the European Union Mission in Armenia (EUMA)"
           " office.\n")
USES = ("---\ntitle: Next steps\n---\n\nFollow through on all agreed CBMs and expand them."
        " Hotlines help.\n")
FILLER = ("---\ntitle: Weather\n---\n\nThe sides of the valley were cold and the measures"
          " of snow were deep.\n")


def test_definitions_follow_schwartz_and_hearst() -> None:
    found = definitions(DEFINES)
    assert found == {("CBM", "confidence-building measures"): 1,
                     ("EUMA", "European Union Mission in Armenia"): 1}


@pytest.mark.parametrize("text", [
    "a value (e.g.) here",                      # no capitals
    "as shown in the table (A)",                # one letter
    "the receptor binding (CBM) was",           # letters not in the words before
    "it rose sharply. (CBM) was",               # nothing before it in its sentence
    "see also Carbon Bond Model (CBM",          # no closing parenthesis
])
def test_definitions_reject_what_defines_nothing(text: str) -> None:
    assert definitions(text) == {}


def test_the_long_form_stops_at_the_sentence() -> None:
    found = definitions("Cold biting mornings. Then bone marrow (BM) cells grew.")
    assert found == {("BM", "bone marrow"): 1}


@pytest.fixture
def corpus(tmp_path: Path) -> Paths:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "defines.md").write_text(DEFINES, encoding="utf-8")
    (folder / "uses.md").write_text(USES, encoding="utf-8")
    (folder / "filler.md").write_text(FILLER, encoding="utf-8")
    paths = Paths(folder, tmp_path / "index")
    update_index(paths, progress=False, embedder=FakeEmbedder())
    return paths


def rows(paths: Paths) -> set[tuple[str, str]]:
    store = Store(live(paths.index) / STORE_FILE)
    try:
        return {(s, lf) for s, lf, _ in store.acronyms.rows()}
    finally:
        store.close()


def test_the_table_follows_updates(corpus: Paths) -> None:
    assert rows(corpus) == {("CBM", "confidence-building measures"),
                            ("EUMA", "European Union Mission in Armenia")}
    (corpus.corpus / "defines.md").write_text(DEFINES.replace(" (EUMA)", ""), encoding="utf-8")
    update_index(corpus, progress=False, embedder=FakeEmbedder())
    assert rows(corpus) == {("CBM", "confidence-building measures")}
    (corpus.corpus / "defines.md").unlink()
    update_index(corpus, progress=False, embedder=FakeEmbedder())
    assert rows(corpus) == set()


def test_an_index_from_before_the_table_is_filled_by_the_next_update(corpus: Paths) -> None:
    db = sqlite3.connect(live(corpus.index) / STORE_FILE)
    db.execute("DROP TABLE acronyms")
    db.execute("DELETE FROM meta WHERE key = ?", (VERSION_KEY,))
    db.commit()
    db.close()
    assert rows(corpus) == set()  # read as empty, no error
    searcher = Searcher(corpus.index, encoder=FakeEmbedder())
    assert searcher.search("Which CBMs were agreed?").hits
    searcher.close()
    update_index(corpus, progress=False, embedder=FakeEmbedder())
    assert ("CBM", "confidence-building measures") in rows(corpus)


def test_expansion_groups_both_ways(corpus: Paths) -> None:
    store = Store(live(corpus.index) / STORE_FILE)
    try:
        table = AcronymTable(store.db).expansion(term_sequence)
    finally:
        store.close()
    assert table.groups("Which CBMs were agreed?", term_sequence) == [
        ("confid", "build", "measur")]
    assert table.groups("What did EUMA see?", term_sequence) == [
        ("european", "union", "mission", "in", "armenia")]
    assert table.groups("Which confidence-building measures were agreed?",
                        term_sequence) == [("cbm",), ("cbms",)]
    assert table.groups("which cbms were agreed?", term_sequence) == []  # as written only
    assert table.groups("Which measures were agreed?", term_sequence) == []


def test_a_long_form_in_the_question_finds_the_passage_using_the_short_form(
        corpus: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    question = "Which confidence-building measures matter?"
    searcher = Searcher(corpus.index, encoder=FakeEmbedder())
    try:
        monkeypatch.setattr(settings, "ACRONYM_EXPANSION", True)
        on = [h.passage.path for h in searcher.search(question, 3, mode="bm25").hits]
        monkeypatch.setattr(settings, "ACRONYM_EXPANSION", False)
        off = [h.passage.path for h in searcher.search(question, 3, mode="bm25").hits]
    finally:
        searcher.close()
    # uses.md says none of the question's words but "CBMs"; filler.md says "measures"
    assert on.index("uses.md") < on.index("filler.md")
    assert "uses.md" not in off[: off.index("filler.md")]
