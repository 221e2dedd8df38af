"""The terminal UI, driven by Pilot against a real index of the real corpus.

The session index holds the corpus plus `zz-markup.md`, a document whose title and body
carry Rich markup and a Textual action, which must be shown as written. SVG snapshots
pin the main screen, the document view, the help screen and the no-answer state.
"""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandList
from textual.geometry import Region
from textual.pilot import Pilot

from qa.index.layout import HISTORY_FILE
from qa.settings import Paths
from qa.tui.app import NO_ANSWER, QaApp, create_app
from qa.tui.document_screen import DocumentScreen
from qa.tui.help_screen import KEYS, HelpScreen
from qa.tui.question_input import QuestionInput
from tests.conftest import CORPUS, FakeEmbedder

EXAMPLE = "why did Baku reject mediators?"
NO_ANSWER_QUESTION = "What is the recipe for Armenian lavash bread?"
MARKUP_QUESTION = "What did the zebra crossing committee in Tbilisi discuss?"
INJECTIONS = ("[bold red]x[/]", "[link=file:///etc/passwd]click[/]", "[@click=app.quit]x[/]")
MARKUP_DOC = """---
title: "Zebra crossings [bold red]x[/] report"
source: "Probe [link=file:///etc/passwd]click[/] Gazette"
---

The zebra crossing committee met in Tbilisi to discuss painting wider stripes on
pedestrian crossings near schools. Its notes contain [bold red]x[/] and
[link=file:///etc/passwd]click[/] and [@click=app.quit]x[/] written exactly like that.

The committee also discussed traffic lights for cyclists.
"""


# -- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tui_index(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The real corpus plus the markup document, indexed once with the real model."""
    from qa.index.writer import update_index

    base = tmp_path_factory.mktemp("tui")
    corpus = base / "corpus"
    corpus.mkdir()
    for path in sorted(CORPUS.glob("*.md")):
        shutil.copy2(path, corpus / path.name)
    (corpus / "zz-markup.md").write_text(MARKUP_DOC, encoding="utf-8")
    paths = Paths(corpus, base / "index")
    update_index(paths, progress=False)
    return paths


@pytest.fixture
def tui_paths(tui_index: Paths, tmp_path: Path) -> Paths:
    """The session index with a fresh, empty history, so tests do not see each other."""
    (tui_index.index / HISTORY_FILE).unlink(missing_ok=True)
    return tui_index


@pytest.fixture
def index_copy(tui_index: Paths, tmp_path: Path) -> Paths:
    """A private copy of the session index and corpus, free to change."""
    shutil.copytree(tui_index.corpus, tmp_path / "corpus")
    shutil.copytree(tui_index.index, tmp_path / "index")
    (tmp_path / "index" / HISTORY_FILE).unlink(missing_ok=True)
    return Paths(tmp_path / "corpus", tmp_path / "index")


def make_app(paths: Paths, **kwargs: Any) -> QaApp:
    kwargs.setdefault("show_timings", False)
    kwargs.setdefault("watch_corpus", False)
    return create_app(paths, **kwargs)


def run(app: QaApp, scenario: Callable[[Pilot], Awaitable[None]],
        size: tuple[int, int] = (100, 30)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


async def wait_for(pilot: Pilot, condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.05)
    await pilot.pause()


async def wait_ready(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, QaApp)
    await wait_for(pilot, lambda: app.ready or app.engine.problem is not None)


async def ask(pilot: Pilot, question: str, *, type_it: bool = False) -> None:
    """Put `question` in the box, press Enter and wait for the answer (or failure)."""
    app = pilot.app
    assert isinstance(app, QaApp)
    app.question_input.focus()
    if type_it:
        app.question_input.value = ""
        await pilot.press(*question)
    else:
        app.question_input.value = question
    await pilot.press("enter")
    await wait_for(pilot, lambda: not app.searching)


def screen_text(app: QaApp) -> str:
    """What the terminal shows, as plain text lines (from Textual's own screenshot)."""
    svg = app.export_screenshot()
    lines: dict[float, list[str]] = {}
    for y, body in re.findall(r'<text [^>]*?y="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        lines.setdefault(float(y), []).append(html.unescape(body).replace("\xa0", " "))
    return "\n".join("".join(parts) for _, parts in sorted(lines.items()))


def notifications(app: QaApp) -> list[str]:
    return app.notices


# -- behaviour --------------------------------------------------------------------------
def test_question_gives_results_with_the_right_first_citation(tui_paths: Paths) -> None:
    from qa.search.searcher import Searcher

    searcher = Searcher(tui_paths.index)
    try:
        expected = searcher.search(EXAMPLE, 5)
    finally:
        searcher.close()
    app = make_app(tui_paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, EXAMPLE, type_it=True)
        assert app.results.row_count == len(expected.hits)
        assert app.results.hits[0].passage.title == expected.hits[0].passage.title
        assert app.passage.hit is not None
        assert app.passage.hit.passage.chunk_id == expected.hits[0].passage.chunk_id
        assert app.notice_kind == "info"
        assert app.focused is app.results
        body = str(app.passage.body.visual)
        assert expected.hits[0].answer in body
        await pilot.press("ctrl+y")
        assert app.clipboard.startswith("\u201c" + expected.hits[0].passage.title)
        assert "Citation copied" in notifications(app)

    run(app, scenario)


def test_down_selects_another_result_and_the_passage_follows(tui_paths: Paths) -> None:
    app = make_app(tui_paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, EXAMPLE)
        first = app.passage.hit
        await pilot.press("down")
        await pilot.pause()
        assert app.results.cursor_row == 1
        assert app.passage.hit is app.results.hits[1]
        assert app.passage.hit is not first
        assert app.results.hits[1].passage.text[:40] in str(app.passage.body.visual)

    run(app, scenario)


def test_document_opens_at_the_passage_and_escape_restores_results(tui_paths: Paths) -> None:
    app = make_app(tui_paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, EXAMPLE)
        # The hit that starts furthest into its document: it must be scrolled to.
        row = max(range(app.results.row_count), key=lambda i: app.results.hits[i].passage.start)
        for _ in range(row):
            await pilot.press("down")
        hit = app.results.hits[row]
        rows_before = [app.results.get_row_at(i) for i in range(app.results.row_count)]
        await pilot.press("enter")
        # Opened, and scrolled to the passage once laid out.
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen)
                       and app.screen.query_one("#doc-body").scroll_y > 0)
        screen = app.screen
        assert isinstance(screen, DocumentScreen)
        body = screen.query_one("#doc-body")
        assert body.scroll_y > 0
        top, height = body.scroll_y, body.scrollable_content_region.height
        assert top <= screen.passage_line < top + height
        assert hit.answer.split()[0] in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DocumentScreen)
        assert app.results.cursor_row == row
        assert [app.results.get_row_at(i) for i in range(app.results.row_count)] == rows_before
        assert app.passage.hit is hit
        await pilot.press("ctrl+o")  # the other way in
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen))
        await pilot.press("backspace")
        await pilot.pause()
        assert app.results.cursor_row == row

    run(app, scenario)


def test_typing_where_the_results_have_focus_starts_a_new_question(tui_paths: Paths) -> None:
    """Every letter that used to be an action (o, c, p, q, ?, /) goes into the box."""
    app = make_app(tui_paths)
    typed = "What did Aliyev say? Copy, open, print, quit / ok"

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, EXAMPLE)
        assert app.focused is app.results
        await pilot.press(*typed)
        assert app.question_input.value == typed
        assert app.focused is app.question_input
        assert not isinstance(app.screen, DocumentScreen | HelpScreen)
        assert "Citation copied" not in notifications(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.searching)
        assert app.results.answer is not None and app.results.answer.question == typed
        app.passage.focus()
        await pilot.press("o")
        assert (app.question_input.value, app.focused) == ("o", app.question_input)
        app.results.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen))
        await pilot.press("ctrl+g")  # back to the passage: still the document view
        assert isinstance(app.screen, DocumentScreen)
        await pilot.press(*"Why")
        assert not isinstance(app.screen, DocumentScreen)
        assert (app.question_input.value, app.focused) == ("Why", app.question_input)

    run(app, scenario)


def test_filters_are_completed_shown_and_applied(tui_paths: Paths) -> None:
    app = make_app(tui_paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        box = app.question_input
        box.focus()
        await pilot.press(*'source:"wa')
        await wait_for(pilot, lambda: box._suggestion != "")
        await pilot.press("right")
        assert box.value == 'source:"War on the Rocks"'
        await pilot.press(*f" {EXAMPLE}", "enter")
        await wait_for(pilot, lambda: not app.searching)
        assert app.results.hits
        assert {h.passage.source for h in app.results.hits} == {"War on the Rocks"}
        assert re.search(r'Filters: source:"War on the Rocks" \(1 document, \d+ passages\)',
                         str(app.notice.visual))
        await ask(pilot, f"after:2024-13 {EXAMPLE}")
        assert app.notice_kind == "problem"
        assert "after:2024-13: not a date" in str(app.notice.visual)

    run(app, scenario)


def test_mouse_selects_a_result_and_a_second_click_opens_it(tui_paths: Paths) -> None:
    app = make_app(tui_paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, EXAMPLE)
        # Border (1 line) and header (1 line) come first: y=3 is the second result.
        await pilot.click("#results", offset=(10, 3))
        await pilot.pause()
        assert app.results.cursor_row == 1
        assert app.passage.hit is app.results.hits[1]
        await pilot.click("#results", offset=(10, 3))
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen))
        await pilot.press("escape")
        await pilot.click("#question")
        await pilot.pause()
        assert app.focused is app.question_input

    run(app, scenario)


def test_history_walks_back_and_persists(tui_paths: Paths) -> None:
    app = make_app(tui_paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, "first question about Baku")
        await ask(pilot, EXAMPLE)
        app.question_input.focus()
        app.question_input.value = "draft"
        await pilot.press("up")
        assert app.question_input.value == EXAMPLE
        await pilot.press("up")
        assert app.question_input.value == "first question about Baku"
        await pilot.press("down", "down")
        assert app.question_input.value == "draft"

    run(app, scenario)
    assert (tui_paths.index / HISTORY_FILE).exists()
    second = make_app(tui_paths)

    async def recall(pilot: Pilot) -> None:
        assert isinstance(second.focused, QuestionInput)
        await pilot.press("up")
        assert second.question_input.value == EXAMPLE
        await pilot.press("up")
        assert second.question_input.value == "first question about Baku"

    run(second, recall)


def test_reindex_runs_in_a_worker_and_reports_a_summary(index_copy: Paths) -> None:
    (index_copy.corpus / "new-note.md").write_text(
        "---\ntitle: \"A new note\"\n---\n\nBaku and Yerevan met again in spring.\n",
        encoding="utf-8",
    )
    phases: list[str] = []

    release = threading.Event()

    class GatedEmbedder(FakeEmbedder):
        """Holds the re-index until the test has seen it in progress."""

        def encode(self, texts: list[str], batch_size: int = 32) -> Any:
            assert release.wait(60), "the test never released the re-index"
            return super().encode(texts, batch_size)

    app = make_app(index_copy, embedder=GatedEmbedder())

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await pilot.press("ctrl+r")
        assert app.reindexing
        assert not app.index_progress.has_class("-hidden")
        await ask(pilot, EXAMPLE)  # the UI stays usable meanwhile, searches too
        assert app.results.row_count > 0
        assert app.reindexing
        release.set()

        def watch() -> bool:
            phases.append(str(app.index_progress.phase.visual))
            return not app.reindexing

        await wait_for(pilot, watch)
        await wait_for(pilot, lambda: app.ready)
        done = [m for m in notifications(app) if m.startswith("Index updated")]
        assert done, notifications(app)
        assert "added 1" in done[0] and "unchanged 6" in done[0]
        assert app.index_progress.has_class("-hidden")
        assert "7 documents" in screen_text(app)

    run(app, scenario)
    assert any("Updating the index" in p for p in phases), phases
    assert any("Reopening" in p for p in phases), phases


def test_watched_corpus_makes_new_documents_searchable_with_a_notice(index_copy: Paths) -> None:
    app = make_app(index_copy, watch_corpus=True)  # the real model re-indexes
    question = "Which committee planted cherry trees along the Hrazdan gorge?"

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await wait_for(pilot, lambda: app.watching)
        note = index_copy.corpus / "2026-03-01-cherry-trees.md"
        note.write_text("---\ntitle: \"Cherry trees\"\n---\n\nThe Hrazdan gorge committee"
                        " planted four hundred cherry trees along the river.\n",
                        encoding="utf-8")
        await wait_for(pilot, lambda: any("added 1: 2026-03-01-cherry-trees.md" in m
                                          for m in notifications(app)))
        await wait_for(pilot, lambda: app.ready and not app.reindexing)
        assert "7 documents" in screen_text(app)
        await ask(pilot, question)
        assert app.results.hits[0].passage.path == note.name

    run(app, scenario)


def test_markup_in_documents_is_shown_literally(tui_paths: Paths) -> None:
    app = make_app(tui_paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, MARKUP_QUESTION)
        row = next(i for i, h in enumerate(app.results.hits) if h.passage.path == "zz-markup.md")
        for _ in range(row):
            await pilot.press("down")
        await pilot.pause()
        body = str(app.passage.body.visual)
        for literal in INJECTIONS:
            assert literal in body
        assert_literal_on_screen(app)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen))
        assert_literal_on_screen(app)
        await pilot.click("#doc-body", offset=(10, 3))
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running

    run(app, scenario, size=(200, 50))


def assert_literal_on_screen(app: QaApp) -> None:
    text = re.sub(r"\s+", " ", screen_text(app))
    for literal in INJECTIONS:
        assert literal in text, literal
    strips = [strip for widget in app.screen.query("*") if widget.display
              for strip in widget.render_lines(Region(0, 0, *widget.size))]
    for strip in strips:
        for segment in strip:
            style = segment.style
            if style is None:
                continue
            assert style.link != "file:///etc/passwd"
            assert "app.quit" not in str(style.meta.get("@click", ""))


def test_missing_index_explains_the_fix(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(next(CORPUS.glob("*.md")), corpus)
    paths = Paths(corpus, tmp_path / "no-index")
    app = make_app(paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        assert not app.ready
        text = screen_text(app)
        assert "No index at" in text and "ctrl+r" in text
        assert app.notice_kind == "problem"
        await ask(pilot, EXAMPLE)
        assert app.notice_kind == "problem"
        assert app.is_running

    run(app, scenario)
    assert not (tmp_path / "no-index").exists()  # history does not create the folder


def test_empty_corpus_and_broken_index_are_explained(tmp_path: Path) -> None:
    empty = Paths(tmp_path / "empty", tmp_path / "index")
    empty.corpus.mkdir()
    app = make_app(empty)

    async def empty_corpus(pilot: Pilot) -> None:
        await wait_ready(pilot)
        assert "is empty" in screen_text(app)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not app.reindexing)
        assert any("corpus is empty" in m for m in notifications(app)), notifications(app)
        assert app.is_running

    run(app, empty_corpus)

    broken = Paths(tmp_path / "empty", tmp_path / "broken")
    broken.index.mkdir()
    (broken.index / "qa.sqlite").write_bytes(b"this is not a database" * 100)
    app = make_app(broken)

    async def broken_index(pilot: Pilot) -> None:
        await wait_ready(pilot)
        assert app.engine.problem is not None and app.engine.problem.rebuild
        assert "rebuild" in screen_text(app)
        assert "Traceback" not in screen_text(app)

    run(app, broken_index)


def test_help_lists_every_key(tui_paths: Paths) -> None:
    listed: set[str] = set()
    for _, keys, _ in KEYS:
        for token in re.split(r"\s*(?:,| or )\s*", keys):
            listed.update(token.split("/") if token != "/" else [token])
    names = {"question_mark": "?", "slash": "/"}
    from textual.widgets import DataTable

    for owner in (QaApp, DocumentScreen, HelpScreen, QuestionInput):
        for binding in owner.BINDINGS:
            for key in binding.key.split(","):  # type: ignore[union-attr]
                assert names.get(key, key) in listed, (owner.__name__, key)
    assert {"enter", "up", "down", "ctrl+q", "ctrl+p"} <= listed
    assert any(b.key == "enter" for b in DataTable.BINDINGS)  # type: ignore[union-attr]

    app = make_app(tui_paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        app.results.focus()
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        assert not isinstance(app.screen, HelpScreen)
        app.results.focus()
        await pilot.press("question_mark")  # typed, not help: questions end with "?"
        assert not isinstance(app.screen, HelpScreen)
        assert app.question_input.value == "?"

    run(app, scenario)


def test_command_palette_offers_the_actions(tui_paths: Paths) -> None:
    app = make_app(tui_paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for needle in ("Re-index: update", "Re-index: rebuild", "Copy citation", "Open the",
                       "Keys"):
            assert any(t.startswith(needle) for t in titles), (needle, titles)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"show every key")
        await wait_for(pilot, lambda: any(
            "Keys" in str(option.prompt)
            for option in app.screen.query_one(CommandList).options))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))

    run(app, scenario)


def test_no_answer_is_said_plainly(tui_paths: Paths) -> None:
    app = make_app(tui_paths)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, NO_ANSWER_QUESTION)
        assert app.notice_kind == "weak"
        assert NO_ANSWER in screen_text(app).replace("\n", " ") or NO_ANSWER in str(
            app.notice.visual)
        assert app.results.row_count > 0

    run(app, scenario)


def test_search_typed_before_the_model_is_ready_waits_visibly(
    tui_paths: Paths,
) -> None:
    from qa.embed.model import fingerprint
    from qa.embed.query_encoder import QueryEncoder
    from qa.index.layout import encoder_path

    release = threading.Event()

    class ColdEncoder(QueryEncoder):
        """The real encoder, held back like a slow disk or a cold model cache."""

        def encode(self, texts: list[str]) -> Any:
            assert release.wait(60), "the test never let the model finish loading"
            return super().encode(texts)

    cold = ColdEncoder(encoder_path(tui_paths.index, fingerprint()))
    app = make_app(tui_paths, query_encoder=cold)

    async def scenario(pilot: Pilot) -> None:
        assert not app.ready
        app.question_input.value = EXAMPLE
        await pilot.press("enter")
        assert "Loading model" in str(app.notice.visual)
        assert "Loading model" in screen_text(app)
        release.set()
        await wait_for(pilot, lambda: not app.searching)
        assert app.ready
        assert app.results.row_count > 0

    run(app, scenario)


# -- snapshots --------------------------------------------------------------------------
def _before(question: str | None, *keys: str) -> Callable[[Pilot], Awaitable[None]]:
    async def run_before(pilot: Pilot) -> None:
        await pilot.pause()
        await wait_ready(pilot)
        if question is not None:
            await ask(pilot, question)
        if keys:
            await pilot.press(*keys)
        app = pilot.app
        await app.workers.wait_for_complete()
        await pilot.pause()  # the workers' last messages
        await pilot.pause()  # and the repaint they cause

    return run_before


def test_snapshot_main_screen_with_results(tui_paths: Paths, snap_compare: Any) -> None:
    assert snap_compare(make_app(tui_paths), terminal_size=(100, 30),
                        run_before=_before(EXAMPLE))


def test_snapshot_document_view(tui_paths: Paths, snap_compare: Any) -> None:
    assert snap_compare(make_app(tui_paths), terminal_size=(100, 30),
                        run_before=_before(EXAMPLE, "down", "enter"))


def test_snapshot_help_screen(tui_paths: Paths, snap_compare: Any) -> None:
    assert snap_compare(make_app(tui_paths), terminal_size=(80, 24),
                        run_before=_before(None, "f1"))


def test_snapshot_no_answer(tui_paths: Paths, snap_compare: Any) -> None:
    assert snap_compare(make_app(tui_paths), terminal_size=(80, 24),
                        run_before=_before(NO_ANSWER_QUESTION))
