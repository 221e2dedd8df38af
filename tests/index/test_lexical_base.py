"""The lexical base (PISA's MaxScore over qa's BM25 impacts): built at the end of a build
and by `--optimize` on a large index, it proposes candidates and tantivy scores them, so
the lexical top is the one tantivy's walk gives, before and after documents come and go;
a build killed halfway leaves the index as it was, and a stale base is rebuilt."""

from __future__ import annotations

import pytest

from qa import atomic
from qa.index import impact_base, impact_base_writer
from qa.index.impact_base import BASE_KEY, BASE_PREFIX
from qa.index.layout import LEXICAL_DIR, STORE_FILE
from qa.index.lexical import LexicalIndex
from qa.index.status import status_text
from qa.index.store import Store
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.conftest import CORPUS, FakeEmbedder, live

QUESTIONS = ["why did Baku reject mediators?", "What happened to the prisoners?",
             "peace treaty signed in Washington", "Zangezur corridor transit route",
             "the", "Russia", "confidence-building measures between the two states"]


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every index counts as large enough for a base (the corpus has ~70 passages)."""
    monkeypatch.setattr(impact_base, "MIN_PASSAGES", 0)


def _build(paths: Paths, **kwargs: object) -> None:
    update_index(paths, progress=False, embedder=FakeEmbedder(), **kwargs)  # type: ignore[arg-type]


def _base_name(paths: Paths) -> str | None:
    store = Store(live(paths.index) / STORE_FILE)
    try:
        return store.get_meta(BASE_KEY)
    finally:
        store.close()


def _tops(paths: Paths, limit: int) -> tuple[list[dict[int, float]], list[dict[int, float]]]:
    """Each question's lexical top through the base, and by tantivy's walk alone."""
    searcher = Searcher(paths.index, encoder=FakeEmbedder())
    try:
        lexical = searcher.lexical
        assert lexical.base is not None
        through_base = [dict(lexical.search(q, limit)) for q in QUESTIONS]
        walk = LexicalIndex(searcher.generation / LEXICAL_DIR)
        return through_base, [dict(walk.search(q, limit)) for q in QUESTIONS]
    finally:
        searcher.close()


def _assert_same_scores(ours: dict[int, float], theirs: dict[int, float]) -> None:
    """The same passages, with the same BM25 up to the impacts' rounding (1/65536 of a
    point per term)."""
    assert ours.keys() == theirs.keys()
    assert all(abs(ours[c] - theirs[c]) < 1e-3 for c in ours)


def test_the_base_gives_tantivy_s_top_before_and_after_changes(
        large: None, corpus_copy: Paths) -> None:
    _build(corpus_copy)
    name = _base_name(corpus_copy)
    assert name is not None and (live(corpus_copy.index) / name).is_dir()
    everything = 1_000  # more than the corpus' passages: every matching one
    assert ("lexical     lexical base of" in status_text(corpus_copy)
            and "0 added and 0 removed since" in status_text(corpus_copy))
    through_base, walk = _tops(corpus_copy, everything)
    assert walk[0] and walk[-1]
    for ours, theirs in zip(through_base, walk, strict=True):
        _assert_same_scores(ours, theirs)
    top3, _ = _tops(corpus_copy, 3)
    for short, full in zip(top3, through_base, strict=True):
        assert list(short) == list(full)[: len(short)]
    # A new document (searched by tantivy beside the base), with a word no other has,
    # and a removed one (still in the base, left out).
    first = sorted(CORPUS.iterdir())[0]
    (corpus_copy.corpus / "added.md").write_text(
        first.read_text(encoding="utf-8") + "\n\nThe Zqxjvorn clause was added late.\n",
        encoding="utf-8")
    removed = sorted(corpus_copy.corpus.iterdir())[1]
    store = Store(live(corpus_copy.index) / STORE_FILE)
    try:
        gone = set(store.chunk_ids([store.document_id(removed.name)]).tolist())
    finally:
        store.close()
    removed.unlink()
    _build(corpus_copy)
    assert _base_name(corpus_copy) == name  # a small change keeps the base
    searcher = Searcher(corpus_copy.index, encoder=FakeEmbedder())
    try:
        view = searcher.lexical.base
        assert view is not None and view.recent and view.removed == gone
        (new_hit, _), = searcher.lexical.search("Zqxjvorn", 10)
        assert new_hit in view.recent
        assert (f"{len(view.recent)} added and {len(gone)} removed since"
                in status_text(corpus_copy))
    finally:
        searcher.close()
    through_base, walk = _tops(corpus_copy, everything)
    for ours, theirs in zip(through_base, walk, strict=True):
        assert ours.keys() == theirs.keys() and not ours.keys() & gone
        assert all(ours[c] == theirs[c] for c in ours if c in view.recent)


def test_a_small_index_has_no_base(corpus_copy: Paths) -> None:
    _build(corpus_copy, optimize=True)
    assert _base_name(corpus_copy) is None
    assert "lexical     tantivy (a lexical base from 200,000 passages)" in status_text(
        corpus_copy)
    assert not list(live(corpus_copy.index).glob(f"{BASE_PREFIX}*"))


def test_optimize_replaces_the_base_and_a_reader_follows(large: None, corpus_copy: Paths
                                                         ) -> None:
    _build(corpus_copy)
    first = _base_name(corpus_copy)
    searcher = Searcher(corpus_copy.index, encoder=FakeEmbedder())
    try:
        assert searcher.lexical.base is not None
        assert searcher.lexical.base.base.name == first
        _build(corpus_copy, optimize=True)
        second = _base_name(corpus_copy)
        assert second not in (None, first)
        assert [p.name for p in live(corpus_copy.index).glob(f"{BASE_PREFIX}*")] == [second]
        # No batch was committed, yet the reader takes the new base; the old one's files
        # are gone, and its answers still come.
        lexical = searcher.lexical
        assert lexical.base is not None and lexical.base.base.name == second
        assert lexical.search(QUESTIONS[0], 5)
    finally:
        searcher.close()


class Killed(BaseException):
    """Stands for a kill: nothing after it runs, and no handler catches it."""


@pytest.mark.parametrize("step", ["write_text", "fsync_dir"])
def test_a_build_killed_halfway_leaves_the_old_base_and_is_redone(
        large: None, corpus_copy: Paths, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Killed before the new base's folder has its name (`write_text` of its info file),
    or after, before the store names it (`fsync_dir` of the generation)."""
    _build(corpus_copy)
    first = _base_name(corpus_copy)
    real_build = impact_base_writer.build

    def kill(*args: object) -> None:
        raise Killed

    def killed_build(store: Store) -> None:
        with monkeypatch.context() as patch:
            patch.setattr(atomic, step, kill)
            real_build(store)

    monkeypatch.setattr(impact_base_writer, "build", killed_build)
    with pytest.raises(Killed):
        _build(corpus_copy, optimize=True)
    monkeypatch.setattr(impact_base_writer, "build", real_build)
    generation = live(corpus_copy.index)
    assert _base_name(corpus_copy) == first
    assert len(list(generation.glob(f"{BASE_PREFIX}*"))) == 2  # the old one and the half one
    through_base, walk = _tops(corpus_copy, 1_000)  # readers use the old base meanwhile
    for ours, theirs in zip(through_base, walk, strict=True):
        _assert_same_scores(ours, theirs)
    _build(corpus_copy, optimize=True)
    name = _base_name(corpus_copy)
    assert name not in (None, first)
    assert [p.name for p in generation.glob(f"{BASE_PREFIX}*")] == [name]


def test_a_base_too_far_behind_is_left_aside_until_optimize(
        large: None, corpus_copy: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    _build(corpus_copy)
    first = _base_name(corpus_copy)
    monkeypatch.setattr(impact_base, "MAX_REMOVED", 0)
    sorted(corpus_copy.corpus.iterdir())[0].unlink()
    _build(corpus_copy)
    assert _base_name(corpus_copy) == first
    searcher = Searcher(corpus_copy.index, encoder=FakeEmbedder())
    try:
        assert searcher.lexical.base is None  # too far behind: tantivy walks
        assert "(too many: tantivy walks until `qa index --optimize`)" in status_text(
            corpus_copy)
        assert searcher.search(QUESTIONS[0], 3).hits
        _build(corpus_copy, optimize=True)
        view = searcher.lexical.base  # the reader takes the new base
        assert view is not None and view.base.name not in (None, first)
        assert not view.removed and not view.recent
    finally:
        searcher.close()


def test_without_pisa_no_base_is_built_and_tantivy_walks(
        large: None, corpus_copy: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where pyterrier-pisa has no wheel (it is required on Linux x86-64 only)."""
    def missing() -> None:
        raise ImportError("pyterrier-pisa is not installed")

    _build(corpus_copy)
    built = _base_name(corpus_copy)
    monkeypatch.setattr(impact_base, "pisa", missing)
    searcher = Searcher(corpus_copy.index, encoder=FakeEmbedder())
    try:  # an index built where PISA loads, then copied where it does not
        assert searcher.lexical.base is None and searcher.search(QUESTIONS[0], 3).hits
    finally:
        searcher.close()
    assert built is not None
    _build(corpus_copy, rebuild=True)
    assert _base_name(corpus_copy) is None
    searcher = Searcher(corpus_copy.index, encoder=FakeEmbedder())
    try:
        assert searcher.lexical.base is None and searcher.search(QUESTIONS[0], 3).hits
    finally:
        searcher.close()


def test_a_base_analysed_by_worker_processes_gives_the_same_top(
        large: None, corpus_copy: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of 10 chunk ids: several runs, analysed in spawned worker processes."""
    monkeypatch.setattr(impact_base_writer, "RUN_IDS", 10)
    _build(corpus_copy)
    through_base, walk = _tops(corpus_copy, 1_000)
    for ours, theirs in zip(through_base, walk, strict=True):
        _assert_same_scores(ours, theirs)
