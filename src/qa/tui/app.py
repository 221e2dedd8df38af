"""The qa terminal UI: ask a question, read ranked cited passages, open the document.

Layout, top to bottom: question box, a one-line notice (loading, weak answer, index
problems), the results table, the selected passage, a re-index progress line (only
while indexing), the status bar and the key footer.

Responsiveness rule: the UI thread never loads a model, searches or indexes. Those run
in thread workers that post typed messages (`qa.tui.messages`) back. This module
imports only Textual and light qa modules, so the window paints well under a second;
the ONNX query model loads in a worker while the user types.

Longer than qa's other modules (about 520 lines), on purpose: this is the one place
where the workers' typed messages meet the widgets, and keeping every handler here
makes the app's behaviour readable in one file. Each widget lives in its own module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from qa.errors import QaError
from qa.output.citation import citation
from qa.output.safe_text import visible_line, visible_text
from qa.output.text import scope_line
from qa.settings import Paths
from qa.tui.document_screen import DocumentScreen
from qa.tui.engine import Engine, Problem, ProblemError
from qa.tui.help_screen import HelpScreen
from qa.tui.history import History
from qa.tui.messages import (
    CorpusChanged,
    DocumentLoaded,
    IndexReady,
    IndexUnusable,
    ReindexFailed,
    ReindexFinished,
    ReindexProgress,
    SearchFailed,
    SearchFinished,
)
from qa.tui.passage_pane import WELCOME, PassagePane
from qa.tui.question_input import QuestionInput
from qa.tui.reindex_panel import ReindexPanel
from qa.tui.results_list import ResultsList
from qa.tui.status_bar import StatusBar

if TYPE_CHECKING:
    from qa.embed.document_embedder import Embedder
    from qa.search.searcher import Hit

NO_ANSWER = "No confident answer in the corpus — closest passages shown, weak"
RESULTS_K = 5


class QaApp(App[None]):
    """The application; build it with `create_app(paths)`."""

    CSS_PATH = "qa.tcss"
    TITLE = "qa"
    # No printable key is bound: typing anywhere starts a question (see `on_event`).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reindex", "Re-index", priority=True),
        Binding("f1", "help", "Help"),
        Binding("ctrl+y", "copy_citation", "Copy citation"),
        Binding("ctrl+o", "open_document", "Open document"),
    ]

    def __init__(
        self,
        paths: Paths,
        *,
        embedder: Embedder | None = None,
        query_encoder: Any = None,
        show_timings: bool = True,
        watch_corpus: bool = True,
    ) -> None:
        super().__init__()
        self.paths = paths
        self.engine = Engine(paths, embedder, query_encoder)
        self.notices: list[str] = []  # every notification shown, oldest first
        self.history = History.for_index(paths.index)
        self.show_timings = show_timings  # off in snapshot tests: timings vary per run
        self.watch_corpus = watch_corpus  # off in tests that want a still corpus
        self._stop_watching = threading.Event()
        self.watching = False  # True once changes to the corpus are being noticed
        self._changes_waiting = False  # the corpus changed during a re-index
        self.ready = False
        self.reindexing = False
        self._search_seq = 0
        # A key other than Enter reached the question box since it last had an Enter: the
        # user is typing, and a search that ends now leaves the focus in the box.
        self._edited_since_ask = False
        self._pending_search: int | None = None
        # A question asked while the index is loading or being rebuilt waits here, not in
        # a worker thread: Enter pressed ten times costs nothing, and only the last runs.
        self._queued: tuple[int, str] | None = None
        self._document_seq = 0
        self._opening: tuple[Hit, str] | None = None  # (hit, question) being opened
        self._launched = time.perf_counter()
        self.ready_seconds: float | None = None  # launch to model ready, for the record
        self.crash: QaError | None = None  # what ended the app, if an unexpected error did
        self.notice_kind = ""

    # -- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Kept as attributes: App.query_one searches the *active* screen, and messages
        # about results arrive while the document or help screen may be on top.
        self.question_input = QuestionInput(self.history.entries, id="question")
        self.notice = Static(id="notice", markup=False, classes="-hidden")
        self.results = ResultsList(id="results")
        self.passage = PassagePane(id="passage")
        self.index_progress = ReindexPanel(id="index-progress")
        self.status = StatusBar(id="status")
        yield self.question_input
        yield self.notice
        yield self.results
        yield self.passage
        yield self.index_progress
        yield self.status
        yield Footer()

    def on_mount(self) -> None:
        self.question_input.focus()
        self.results.border_title = "Results"
        self.passage.border_title = "Passage"
        self.question_input.border_title = "Question"
        self.status.show_loading()
        self._load_index()
        if self.watch_corpus and self.paths.corpus.is_dir():
            self._watch()

    def on_unmount(self) -> None:
        self._stop_watching.set()
        self.engine.close()

    def failure(self, exc: BaseException) -> QaError:
        """What to tell the user about a failure: its one line with the fix, or for a
        bug, a line naming the log that holds the traceback (never the traceback)."""
        from qa.crash_log import explain

        return explain(exc, self.paths.index)

    def _handle_exception(self, error: Exception) -> None:
        """An exception no handler caught ends the app, as in Textual; but where Textual
        prints a traceback with local variables (document text among them), qa logs it
        and prints one line, like the CLI (see `_fatal_error`), and `qa tui` exits with
        the error's code."""
        self.crash = self.failure(error)
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        # One line however narrow the terminal: Rich would wrap it at the width.
        self.panic(Text(visible_line(f"qa: {self.crash}"), no_wrap=True, overflow="ignore"))

    @property
    def searching(self) -> bool:
        """A question was asked and its results (or failure) have not arrived yet."""
        return self._pending_search is not None

    def notify(self, message: str, **kwargs: Any) -> None:  # type: ignore[override]
        """Show a toast, and keep its text in `notices` (what the user was told). File
        names and reasons in it are shown with control characters made visible."""
        message = visible_text(message)
        self.notices.append(message)
        super().notify(message, **kwargs)

    def set_notice(self, text: str, kind: str = "") -> None:
        """The line above the results. `kind`: info, weak, loading, problem; "" hides it."""
        notice = self.notice
        notice.update(Text(visible_text(text)))
        for name in ("info", "weak", "loading", "problem"):
            notice.set_class(kind == name, f"-{name}")
        notice.set_class(not kind, "-hidden")
        self.notice_kind = kind

    # -- loading the index and model ---------------------------------------------------
    @work(thread=True, group="load", exit_on_error=False)
    def _load_index(self) -> None:
        """Open the index and warm the model up, off the UI thread."""
        try:
            info = self.engine.load()
        except ProblemError as exc:
            self.post_message(IndexUnusable(exc.problem))
            return
        self.post_message(IndexReady(info, time.perf_counter() - self._launched))

    def on_index_ready(self, message: IndexReady) -> None:
        self.ready = True
        self.question_input.filter_suggester.values = {
            "source": list(message.info.sources), "in": list(message.info.folders)}
        if self.ready_seconds is None:
            self.ready_seconds = message.seconds
        self.status.show_info(message.info)
        if self._pending_search is None and self.notice_kind in ("problem", "loading"):
            self.set_notice("")
        if self.results.answer is None:
            self.passage.show_message(WELCOME)
        self.refresh_bindings()
        if self._queued is not None:
            seq, question = self._queued
            self._queued = None
            self.set_notice("Searching…", "loading")
            self._search(seq, question)

    def on_index_unusable(self, message: IndexUnusable) -> None:
        self.ready = False
        self._queued = None
        self._pending_search = None
        self._show_problem(message.problem)

    def _show_problem(self, problem: Problem) -> None:
        self.results.show_answer(None)
        self.passage.show_message("Nothing to show until the index can be used (see above).")
        self.set_notice(f"{problem.message} {problem.fix}", "problem")
        summary = "Index needs a rebuild: ctrl+r" if problem.rebuild else "No usable index: ctrl+r"
        self.status.show_problem(summary)
        self.refresh_bindings()

    # -- watching the corpus ------------------------------------------------------------
    @work(thread=True, group="watch", exit_on_error=False)
    def _watch(self) -> None:
        """Post CorpusChanged for each settled batch of changes to the corpus folder
        (`qa.corpus.changes`: bursts gathered, files still being written waited out)."""
        from qa.corpus.changes import settled_changes

        try:
            for batch in settled_changes(self.paths.corpus, self._stop_watching,
                                         ignore=self.paths.index):
                if batch:
                    self.post_message(CorpusChanged(batch))
                else:  # the first, empty batch: the watch is in place
                    self.watching = True
        except Exception as exc:  # e.g. the corpus folder was removed
            self.call_from_thread(self.notify, f"Stopped watching the corpus: {exc}",
                                  severity="warning", markup=False)

    def on_corpus_changed(self, message: CorpusChanged) -> None:
        """Files arrived, changed or left: update the index now (or right after the
        update already running), so they are searchable within seconds."""
        if self.reindexing:
            self._changes_waiting = True
        elif not (self.engine.problem and self.engine.problem.rebuild):
            self.action_reindex(rebuild=False)  # a rebuild stays the user's call (ctrl+r)

    # -- asking -----------------------------------------------------------------------
    @on(Input.Submitted, "#question")
    def _ask(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            self.notify("Type a question first.", severity="warning", timeout=3)
            return
        self.history.add(question)
        self.question_input.reset_history_walk()
        self._search_seq += 1
        self._pending_search = self._search_seq
        if self.ready and self.engine.ready:
            self.set_notice("Searching…", "loading")
            self._search(self._search_seq, question)
        elif self.engine.problem is not None and not self.reindexing:
            self._pending_search = None
            self._show_problem(self.engine.problem)
        else:
            self._queued = (self._search_seq, question)
            self.set_notice("Loading model… your question runs as soon as it is ready.",
                            "loading")

    @work(thread=True, group="search", exclusive=True, exit_on_error=False)
    def _search(self, seq: int, question: str) -> None:
        """Run one search on the open index."""
        started = time.perf_counter()
        try:
            answer = self.engine.search(question, RESULTS_K)
        except ProblemError as exc:
            message = f"{exc.problem.message} {exc.problem.fix}"
        except Exception as exc:
            message = str(self.failure(exc))
            if self.reindexing and not isinstance(exc, QaError):
                message += " The index is being updated; ask again when it finishes."
        else:
            if not get_current_worker().is_cancelled:
                self.post_message(SearchFinished(seq, answer, time.perf_counter() - started))
            return
        self.post_message(SearchFailed(seq, message))

    def on_search_finished(self, message: SearchFinished) -> None:
        if message.seq != self._search_seq:
            return  # a newer question was asked meanwhile
        self._pending_search = None
        answer = message.answer
        self.results.show_answer(answer)
        filters = f"\n{scope_line(answer.scope)}" if answer.scope is not None else ""
        if not answer.hits:
            nothing = ("No passage matches these filters." if answer.scope is not None
                       else "Nothing in the index matches that question.")
            self.set_notice(nothing + filters, "weak")
            self.passage.show_message("No passages to show.")
        elif answer.answered:
            line = (f"{len(answer.hits)} passages · confidence {answer.confidence:.2f}")
            if self.show_timings:
                line += f" · {message.seconds * 1000:.0f} ms"
            self.set_notice(line + filters, "info")
        else:
            self.set_notice(f"{NO_ANSWER} (confidence {answer.confidence:.2f}){filters}",
                            "weak")
        hit = self.results.current_hit
        if hit is not None:
            self._show_hit(hit)
        box = self.question_input
        if box.has_keys and not self._edited_since_ask and box.value.strip() == answer.question:
            # At once: a key typed from now on starts the next question (see `on_event`).
            self.results.screen.set_focus(self.results)
        self.refresh_bindings()

    def on_search_failed(self, message: SearchFailed) -> None:
        if message.seq != self._search_seq:
            return
        self._pending_search = None
        if self.engine.problem is not None and not self.ready:
            self._show_problem(self.engine.problem)
        else:
            self.set_notice(message.message, "problem")

    @on(ResultsList.HitHighlighted)
    def _highlighted(self, message: ResultsList.HitHighlighted) -> None:
        self._show_hit(message.hit)
        self.refresh_bindings()

    def _show_hit(self, hit: Hit) -> None:
        answer = self.results.answer
        if answer is None:
            return
        self.passage.show_hit(hit, answer.search_text, len(answer.hits), not answer.answered)

    # -- actions ----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out copy/open in the footer while no result is selected."""
        if action in ("copy_citation", "open_document"):
            if len(self.screen_stack) > 1:
                return False  # the document screen has its own copy key; hide these
            results: ResultsList | None = getattr(self, "results", None)
            return True if results is not None and results.current_hit is not None else None
        return True

    async def on_event(self, event: events.Event) -> None:
        """Keys that belong in the question box are sent there as they arrive.

        After a search the results have focus, and the next question is typed straight
        away, from the results, the passage or the document view: a printable key (or a
        paste) there starts a new question, and Escape goes back to the old one. No
        action sits on a printable key for that reason (they moved to ctrl+o, ctrl+y,
        ctrl+g, F1). The choice is made here, before Textual dispatches the key, and the
        focus moves at once: keys are dispatched in the order they arrive, so the rest of
        the question, and the Enter that ends it, follow it into the box. Decided later
        (once the key had gone through the results and come back), keys typed behind it
        were already on their way to the results, came back after the focus had moved,
        and started the question over; an Enter among them opened a document.
        """
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            self._route(event)
        await super().on_event(event)

    def _route(self, event: events.Key | events.Paste) -> None:
        """Move the focus for `event` before it is dispatched (see `on_event`)."""
        box = self.question_input
        if not box.is_mounted:
            return
        key = event.key if isinstance(event, events.Key) else ""
        if box.has_keys:
            self._edited_since_ask = key != "enter"
            return
        if key == "escape":
            if self.screen is self.screen_stack[0]:
                self._opening = None  # a document still loading is not opened over it
                box.select_question()
            return
        if isinstance(event, events.Key) and not event.is_printable:
            return
        if isinstance(self.screen, DocumentScreen):
            self.pop_screen()
        elif self.screen is not self.screen_stack[0]:
            return  # help and the command palette keep their own keys
        self._opening = None
        box.start_question()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_copy_citation(self) -> None:
        hit = self.results.current_hit
        if hit is None:
            self.notify("No result selected.", severity="warning", timeout=3)
            return
        self.copy_to_clipboard(visible_line(citation(hit.passage)))
        self.notify("Citation copied", timeout=3)

    @on(ResultsList.HitChosen)
    def _chosen(self, message: ResultsList.HitChosen) -> None:
        """Enter or a click on a result. An Enter typed just before a new question comes
        back from the results after that question has taken the focus: not opened."""
        if not self.question_input.has_keys:
            self.action_open_document()

    def action_open_document(self) -> None:
        hit = self.results.current_hit
        answer = self.results.answer
        if hit is None or answer is None:
            self.notify("No result selected.", severity="warning", timeout=3)
            return
        self._document_seq += 1
        self._opening = (hit, answer.search_text)
        self._load_document(self._document_seq, hit.passage.doc_id)

    @work(thread=True, group="document", exclusive=True, exit_on_error=False)
    def _load_document(self, seq: int, doc_id: int) -> None:
        try:
            text = self.engine.document_text(doc_id)
        except ProblemError as exc:
            failure = f"{exc.problem.message} {exc.problem.fix}"
        except Exception as exc:
            failure = str(self.failure(exc))
        else:
            self.post_message(DocumentLoaded(seq, text))
            return
        self.call_from_thread(self.notify, f"Cannot open the document: {failure}",
                              severity="error", markup=False)

    def on_document_loaded(self, message: DocumentLoaded) -> None:
        if message.seq != self._document_seq or self._opening is None:
            return
        hit, question = self._opening
        self._opening = None
        if not isinstance(self.screen, DocumentScreen):
            self.push_screen(DocumentScreen(hit, message.text, question))

    # -- re-indexing ------------------------------------------------------------------
    def action_reindex(self, rebuild: bool | None = None) -> None:
        """Update the index (or rebuild it when an update cannot fix it)."""
        if self.reindexing:
            self.notify("Already re-indexing.", timeout=3)
            return
        if rebuild is None:
            rebuild = bool(self.engine.problem and self.engine.problem.rebuild)
        self.reindexing = True
        self.index_progress.start("Rebuilding the index…" if rebuild else "Updating the index…")
        self._reindex(rebuild)

    @work(thread=True, group="index", exclusive=True, exit_on_error=False)
    def _reindex(self, rebuild: bool) -> None:
        """update_index in a daemon thread, so quitting mid-index does not hang the exit.

        Killing an update at any point is safe by the indexer's design (each batch
        commits whole; the lock file dies with the process).
        """
        started = time.perf_counter()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["report"] = self.engine.reindex(
                    rebuild, lambda phase: self.post_message(ReindexProgress(phase)),
                    lambda done, total: self.post_message(ReindexProgress(
                        f"Embedded {done} of {total} passages…", done, total)))
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=run, name="qa-reindex", daemon=True)
        thread.start()
        worker = get_current_worker()
        while thread.is_alive():
            thread.join(0.2)
            if worker.is_cancelled:
                return
        error = outcome.get("error")
        if error is not None:
            self.post_message(ReindexFailed(str(self.failure(error))))
        else:
            report = outcome["report"]
            self.post_message(ReindexFinished(
                report.summary(), report.changes(),
                list(report.skipped) + list(report.skipped_parts),
                time.perf_counter() - started))
        if self.engine.ready:
            try:
                self.post_message(IndexReady(self.engine.info(), 0.0))
            except ProblemError as exc:
                self.post_message(IndexUnusable(exc.problem))
        elif self.engine.problem is not None:
            self.post_message(IndexUnusable(self.engine.problem))

    def on_reindex_progress(self, message: ReindexProgress) -> None:
        if self.reindexing:
            self.index_progress.show(message.phase, message.done, message.total)

    def on_reindex_finished(self, message: ReindexFinished) -> None:
        self._end_reindex()
        text = f"Index updated: {message.summary}"
        if self.show_timings:
            text += f" ({message.seconds:.1f} s)"
        if message.changes:
            text += f"\n{message.changes}"
        for path, reason in message.skipped[:5]:
            text += f"\nskipped {path}: {reason}"
        self.notify(text, title="Re-index done", timeout=10, markup=False)

    def on_reindex_failed(self, message: ReindexFailed) -> None:
        self._end_reindex()
        self.notify(f"Re-index failed: {message.message}", title="Re-index",
                    severity="error", timeout=15, markup=False)

    def _end_reindex(self) -> None:
        self.reindexing = False
        self.index_progress.stop()
        if self._changes_waiting:
            self._changes_waiting = False
            self.action_reindex(rebuild=False)

    # -- command palette --------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield SystemCommand("Re-index: update the index from the corpus (ctrl+r)",
                            "Embed new and changed documents, drop removed ones",
                            self.action_reindex)
        yield SystemCommand("Re-index: rebuild the index from scratch",
                            "Re-embed every document (use when the index is broken)",
                            lambda: self.action_reindex(rebuild=True))
        yield SystemCommand("Copy citation of the selected result (ctrl+y)",
                            "Copies to the clipboard", self.action_copy_citation)
        yield SystemCommand("Open the selected result's document (enter or ctrl+o)",
                            "Shows the whole document at the passage",
                            self.action_open_document)
        yield SystemCommand("Keys: show every key (F1)", "The help screen",
                            self.action_help)
        yield from super().get_system_commands(screen)


def create_app(paths: Paths, **options: Any) -> QaApp:
    """The app for `paths`, apart from the CLI that runs it. `options` are QaApp's
    keywords, for tests: another embedder for re-indexing or for questions, and no
    timings or timers so screenshots are deterministic."""
    return QaApp(paths, **options)
