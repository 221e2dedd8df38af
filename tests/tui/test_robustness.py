"""The TUI under stress, with the fake model (fast): a long history, Enter pressed during
a rebuild, a slow corpus scan, an index that will not open, a damaged store."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from qa.errors import EXIT_INTERNAL
from qa.index.layout import HISTORY_FILE, STORE_FILE
from qa.settings import Paths
from qa.tui.app import QaApp
from qa.tui.document_screen import DocumentScreen
from qa.tui.engine import Engine, ProblemError
from qa.tui.history import LIMIT
from tests.conftest import REPO, FakeEmbedder, live
from tests.tui.test_app import ask, make_app, run, screen_text, wait_for, wait_ready

QUESTION = "why did Baku reject mediators?"


def fake_app(paths: Paths, **kwargs: Any) -> QaApp:
    from tests.support.fake_model import FakeDocumentEmbedder

    kwargs.setdefault("query_encoder", FakeEmbedder())
    kwargs.setdefault("embedder", FakeDocumentEmbedder())
    return make_app(paths, **kwargs)


def test_history_keeps_recalling_after_it_is_full(fake_index: Paths) -> None:
    """History.add used to rebind its list once it held LIMIT entries, and the question
    box kept walking the old one: new questions were never recalled again."""
    (fake_index.index / HISTORY_FILE).write_text(
        "".join(f'{{"q": "old question {n}"}}\n' for n in range(LIMIT)), encoding="utf-8")
    app = fake_app(fake_index)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        for question in ("first new question", QUESTION):
            await ask(pilot, question)
        app.question_input.focus()
        await pilot.press("up")
        assert app.question_input.value == QUESTION
        await pilot.press("up")
        assert app.question_input.value == "first new question"
        assert len(app.history.entries) == LIMIT

    run(app, scenario)
    lines = (fake_index.index / HISTORY_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == LIMIT and QUESTION in lines[-1]


def test_questions_during_a_rebuild_are_answered_from_the_live_generation(
    fake_index: Paths,
) -> None:
    """A rebuild writes a new generation beside the live one, so questions are answered
    from the live one meanwhile, Enter parks no thread, and the last question's results
    are the ones shown."""
    from tests.support.fake_model import FakeDocumentEmbedder

    release = threading.Event()

    class HeldEmbedder(FakeDocumentEmbedder):
        def encode(self, texts: list[str], batch_size: int = 32) -> Any:
            assert release.wait(60), "the test never released the rebuild"
            return super().encode(texts, batch_size)

    app = fake_app(fake_index, embedder=HeldEmbedder())

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        app.action_reindex(rebuild=True)
        assert app.reindexing
        threads = threading.active_count()
        for n in range(10):
            # The box has the focus when Enter is pressed, as for a user, whose typing
            # goes to it from the results (test_app covers that). Without this, a
            # question answered during `press` moved the focus to the results, and the
            # next Enter opened a document instead of asking: the old flakiness.
            app.question_input.focus()
            app.question_input.value = f"question {n} about Baku"
            await pilot.press("enter")
        assert app.screen is app.screen_stack[0]
        await wait_for(pilot, lambda: not app.searching)
        assert app.reindexing, "the rebuild was released too early"
        # At most the search worker and the searcher's two lexical threads are new.
        assert threading.active_count() <= threads + 3, "each Enter parked a thread"
        assert app.results.answer is not None  # answered while the rebuild runs
        assert app.results.answer.question == "question 9 about Baku"
        await wait_for(pilot, lambda: all(worker.is_finished for worker in app.workers
                                          if worker.group == "search"))
        assert app.results.answer.question == "question 9 about Baku"  # no older one won
        release.set()
        await wait_for(pilot, lambda: not app.reindexing and not app.searching)
        assert app.results.answer.question == "question 9 about Baku"

    run(app, scenario)


def test_the_status_scan_does_not_hold_searches_up(
    fake_index: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The periodic staleness check walked the corpus while holding the lock every
    search needs; on a slow folder, Enter waited for it."""
    import qa.corpus.walk as walk

    scanning, release = threading.Event(), threading.Event()
    scan = walk.corpus_stats

    def slow_scan(corpus: Path) -> Any:
        if threading.current_thread() is not threading.main_thread() and release_armed:
            scanning.set()
            assert release.wait(60), "the test never released the scan"
        return scan(corpus)

    release_armed = False
    monkeypatch.setattr(walk, "corpus_stats", slow_scan)
    app = fake_app(fake_index)

    async def scenario(pilot: Pilot) -> None:
        nonlocal release_armed
        await wait_ready(pilot)
        release_armed = True
        status = threading.Thread(target=app.engine.info, daemon=True)
        status.start()
        await wait_for(pilot, scanning.is_set)
        await ask(pilot, QUESTION)  # would wait for the scan if it held the lock
        assert app.results.row_count > 0
        release.set()
        status.join(10)

    run(app, scenario)


def test_an_index_that_will_not_open_times_out_instead_of_hanging(fake_index: Paths) -> None:
    entered, release = threading.Event(), threading.Event()

    class StuckEncoder(FakeEmbedder):
        """The model load never finishes (a stalled disk, say)."""

        def encode(self, texts: list[str], batch_size: int = 32) -> Any:
            entered.set()
            assert release.wait(60)
            return super().encode(texts, batch_size)

    engine = Engine(fake_index, query_encoder=StuckEncoder(), open_timeout=0.2)
    opening = threading.Thread(target=engine.load, daemon=True)
    opening.start()
    assert entered.wait(30)
    with pytest.raises(ProblemError, match=r"still opening after 0\.2 s"):
        engine.search(QUESTION)
    release.set()
    opening.join(30)
    assert engine.search(QUESTION).hits


def test_a_damaged_store_is_a_notice_with_the_fix_not_a_traceback(fake_index: Paths) -> None:
    from tests.support.faults import damage_table

    damage_table(live(fake_index.index) / STORE_FILE, "documents")
    app = fake_app(fake_index)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        assert app.engine.problem is not None and app.engine.problem.rebuild
        text = screen_text(app)
        assert "database disk image is malformed" in text and "ctrl+r" in text
        assert "Traceback" not in text
        await pilot.press("ctrl+r")  # a rebuild from the corpus is the fix
        await wait_for(pilot, lambda: not app.reindexing)
        await wait_for(pilot, lambda: app.ready)
        await ask(pilot, QUESTION)
        assert app.results.row_count > 0

    run(app, scenario)


def test_an_unexpected_error_on_the_ui_thread_is_logged_not_dumped(
    fake_index: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: QaApp, message: Any) -> None:
        raise ZeroDivisionError("a bug planted by the test")

    monkeypatch.setattr(QaApp, "on_search_finished", broken)
    app = fake_app(fake_index)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        app.question_input.value = QUESTION
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.is_running or app.crash is not None, 30)

    with pytest.raises(ZeroDivisionError):  # Pilot re-raises what ended the app
        run(app, scenario)
    assert str(app.crash).startswith("internal error (ZeroDivisionError: a bug planted")
    assert app.crash is not None and app.crash.exit_code == EXIT_INTERNAL
    log = Path(str(app.crash).split("the traceback is in ", 1)[1])
    assert log.parent == fake_index.index
    assert "in broken" in log.read_text(encoding="utf-8")


PLANTED_BUG = """
from tests.support import fake_model
fake_model.install()
from qa.tui.app import QaApp
from qa.tui.document_screen import DocumentScreen
def broken(self, message):
    raise ZeroDivisionError("a bug planted by the test")
QaApp.on_search_finished = broken
from qa.cli import main
main()
"""


def test_a_bug_in_the_running_tui_ends_it_with_one_line_on_a_real_terminal(fake_index: Paths):
    """`qa tui` on a pseudo-terminal: a bug ends the app, and what the terminal shows
    after it is one line naming the log, never Textual's traceback."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "QA_CORPUS": str(fake_index.corpus), "QA_INDEX": str(fake_index.index),
           "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-c", PLANTED_BUG, "tui"], cwd=REPO, env=env,
                            stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    shown = _read_until(primary, b"Ask a question", 60)
    os.write(primary, QUESTION.encode() + b"\r")
    shown += _read_until(primary, None, 60)
    os.close(primary)
    assert proc.wait(30) == EXIT_INTERNAL
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]", "", shown.decode("utf-8", "replace"))
    assert "qa: internal error (ZeroDivisionError: a bug planted by the test); this is a bug" \
        in text
    assert "Traceback" not in text and "ZeroDivisionError(" not in text
    assert (fake_index.index / "error.log").exists()


def _read_until(fd: int, needle: bytes | None, timeout: float) -> bytes:
    """Read the terminal until `needle` shows (or, for None, until the program ends)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the program closed the terminal
            return seen
        if not chunk:
            return seen
        seen += chunk
        if needle is not None and needle in seen:
            return seen
    raise AssertionError(f"timed out waiting for {needle!r}; saw {seen[-500:]!r}")


def test_enter_right_after_typing_over_the_results_asks_the_question(fake_index: Paths):
    """Typed fast (or pasted) over the results, a question and its Enter reach the app
    before the focus has moved to the question box (it moves on a later tick). The
    Enter used to reach the results and open a document; it must ask the question."""
    from textual import events
    from textual.keys import _character_to_key

    app = fake_app(fake_index)
    question = "what did the envoy offer"

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        assert app.results.has_focus
        for character in question:  # queued at once, as a terminal delivers a paste
            app.post_message(events.Key(_character_to_key(character), character))
        app.post_message(events.Key("enter", "\r"))
        await wait_for(pilot, lambda: app.results.answer is not None
                       and app.results.answer.question == question and not app.searching)
        await pilot.pause()
        assert not isinstance(app.screen, DocumentScreen)

    run(app, scenario)


class HeldQuestions(FakeEmbedder):
    """Embeds questions like FakeEmbedder, but only while `answering` is set: a test
    holds a search at will. `asked` is set as a question comes in."""

    def __init__(self) -> None:
        self.asked, self.answering = threading.Event(), threading.Event()
        self.answering.set()

    def encode(self, texts: list[str], batch_size: int = 32) -> Any:
        self.asked.set()
        assert self.answering.wait(60), "the test never let the search answer"
        return super().encode(texts, batch_size)


async def send(app: QaApp, keys: list[str], spacing: int) -> None:
    """Post `keys` to the app as a terminal delivers them, one by one, letting the event
    loop run `spacing` turns between two keys: the app's tasks (the results, the screen,
    the question box) then interleave with the keys differently for each spacing, as
    they do on a loaded machine. A key longer than one character other than a key name
    (enter, escape) is a paste."""
    import asyncio

    from textual import events
    from textual.keys import _character_to_key

    for key in keys:
        if key in ("enter", "escape"):
            event: events.Event = events.Key(key, "\r" if key == "enter" else "\x1b")
        elif len(key) > 1:
            event = events.Paste(key)
        else:
            event = events.Key(_character_to_key(key), key)
        app.post_message(event)
        for _ in range(spacing):
            await asyncio.sleep(0)


def test_a_question_typed_over_the_results_arrives_whole_at_any_key_spacing(
    fake_index: Paths,
) -> None:
    """After a search the results have focus, and the next question is typed there.
    Keys that reached the results before the focus moved to the question box, and came
    back to the app after it had, used to start the question over ("hta did…" for "What
    did…", now and then in tmux on a loaded machine), and an Enter among them opened a
    document. At every spacing, the question typed (after Escape too, or pasted) is
    asked whole by its Enter."""
    app = fake_app(fake_index)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        for spacing in range(16):
            for way in ("typed", "after escape", "pasted"):
                question = f"What did the envoy offer ({way}, spacing {spacing})?"
                keys = [question] if way == "pasted" else list(question)
                lead = ["escape"] if way == "after escape" else []
                before = app.history.entries[-1]
                app.results.focus()
                await wait_for(pilot, lambda: app.results.has_focus)
                await send(app, [*lead, *keys, "enter"], spacing)
                await wait_for(pilot, lambda previous=before: isinstance(
                    app.screen, DocumentScreen) or (not app.searching
                                                    and app.history.entries[-1] != previous))
                assert not isinstance(app.screen, DocumentScreen), (way, spacing)
                assert app.history.entries[-1] == question
                assert app.results.answer is not None
                assert app.results.answer.question == question

    run(app, scenario)


def test_typing_while_the_answer_arrives_stays_in_the_question_box(fake_index: Paths):
    """Keys typed right after Enter, while the search runs, go on in the box. They
    used to join the question asked: Input's Enter ran once the key had gone up to the
    app, after the box had taken them in. Here the answer is held until half of them are
    sent: at every spacing, Enter asks what was typed before it, every key typed after
    it stays in the box, and the box keeps the focus."""
    encoder = HeldQuestions()
    app = fake_app(fake_index, query_encoder=encoder)
    more = " and who answered it in the name of the government"
    half = len(more) // 2

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        for spacing in range(16):
            question = f"what did the envoy offer in round {spacing}"
            app.question_input.value = ""
            app.question_input.focus()
            await wait_for(pilot, lambda: app.question_input.has_focus)
            encoder.answering.clear()
            await send(app, [*question, "enter", *more[:half]], spacing)
            encoder.answering.set()
            await send(app, list(more[half:]), spacing)
            await wait_for(pilot, lambda q=question: not app.searching
                           and app.results.answer is not None
                           and app.results.answer.question.startswith(q))
            await pilot.pause()
            assert app.history.entries[-1] == question  # the Enter asked what was before it
            assert app.question_input.value == question + more
            assert app.focused is app.question_input

    run(app, scenario)


def test_an_answer_arriving_behind_a_typed_key_leaves_the_focus_in_the_box(
    fake_index: Paths,
) -> None:
    """The answer moves the focus to the results only if nothing was typed since Enter.
    Keys the app had already sent to the question box, which the box had not yet taken
    in when the answer arrived, were not seen: the focus moved to the results, and the
    next key started a new question, losing them. Here the answer reaches the app right
    behind two such keys."""
    from qa.tui.messages import SearchFinished

    posted = threading.Event()
    encoder = HeldQuestions()
    app = fake_app(fake_index, query_encoder=encoder)
    post = app.post_message

    def noting_answers(message: Any) -> bool:
        queued = post(message)
        if isinstance(message, SearchFinished):
            posted.set()
        return queued

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        app.post_message = noting_answers  # type: ignore[method-assign]
        app.question_input.focus()
        await wait_for(pilot, lambda: app.question_input.has_focus)
        encoder.asked.clear()
        encoder.answering.clear()
        await send(app, [*QUESTION, "enter"], 0)
        await wait_for(pilot, encoder.asked.is_set)
        encoder.answering.set()
        assert posted.wait(10)  # the event loop waits too: the answer is not queued yet
        await send(app, ["?", "?"], 0)  # queued ahead of the answer
        await wait_for(pilot, lambda: not app.searching)
        await pilot.pause()
        assert (app.question_input.value, app.focused) == (QUESTION + "??", app.question_input)

    run(app, scenario)


def test_a_question_typed_right_after_enter_on_a_result_opens_no_document(
    fake_index: Paths,
) -> None:
    """Enter on a result loads its document in a worker, and the view opens when it is
    loaded. Typed right behind that Enter, a new question (or Escape) used to be cut by
    the document view opening over it, or the Enter, looked up by Textual once the
    focus was in the question box, asked the question half typed. At every spacing the
    document is not opened, nothing is asked, and the box holds what was typed."""
    loading = threading.Event()
    app = fake_app(fake_index)
    document_text = app.engine.document_text

    def held_document_text(doc_id: int) -> str:
        assert loading.wait(60), "the test never let the document load"
        return document_text(doc_id)

    app.engine.document_text = held_document_text  # type: ignore[method-assign]

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        for spacing in range(12):
            for lead in (list("Why"), ["escape"]):
                loading.clear()
                app.results.focus()
                await wait_for(pilot, lambda: app.results.has_focus)
                await send(app, ["enter", *lead], spacing)
                await wait_for(pilot, lambda: app.focused is app.question_input)
                loading.set()
                await wait_for(pilot, lambda: all(w.is_finished for w in app.workers
                                                  if w.group == "document"))
                await pilot.pause()
                assert not isinstance(app.screen, DocumentScreen), (lead, spacing)
                assert app.history.entries[-1] == QUESTION
                if lead == ["escape"]:
                    assert app.question_input.selected_text == QUESTION
                else:
                    assert app.question_input.value == "Why"
                    app.question_input.value = QUESTION

    run(app, scenario)


def test_a_document_closed_before_its_first_refresh_is_no_crash(fake_index: Paths):
    """The document view scrolls to the passage after its first refresh; closed before
    that (ctrl+q, or a key typed at once), the scroll found no widgets and ended the
    app with an internal error (NoMatches)."""
    app = fake_app(fake_index)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        hit = app.results.current_hit
        assert hit is not None
        text = app.engine.document_text(hit.passage.doc_id)
        screen = DocumentScreen(hit, text, QUESTION)
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.is_mounted)
        app.pop_screen()
        await wait_for(pilot, lambda: not screen.is_attached)
        # What its queued call_after_refresh runs when the screen went first (seen in
        # tmux: a question and Enter typed at once opened a document, then ctrl+q):
        screen.action_to_passage()
        assert app.crash is None and not isinstance(app.screen, DocumentScreen)

    run(app, scenario)
