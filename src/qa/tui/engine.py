"""The TUI's one door to the search API and the indexer, used from worker threads only.

A class rather than loose calls because the model-loading, search, document and
re-index workers all share one Searcher (its SQLite connection and FAISS index), and a
re-index has to swap it for a fresh one; one lock around every use keeps those threads
from meeting half-way. Nothing heavy is imported at module import time: `qa.search`
pulls numpy, FAISS and onnxruntime, so it is imported on first use, inside a worker.

A little over 250 lines: every call the TUI makes into the index goes through this one
class and its lock, which is what makes the threading argument checkable.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa.errors import IndexIncompatible, QaError, SystemRefused
from qa.settings import Paths

if TYPE_CHECKING:
    from qa.embed.document_embedder import Embedder
    from qa.index.writer import IndexReport
    from qa.search.searcher import Answer, Searcher

WARM_UP_QUESTION = "warm up the query model"
# How long a search, a document or the status line waits for an index that is being
# opened (or reopened after a re-index) before saying so, rather than waiting forever.
OPEN_TIMEOUT = 30.0


@dataclass(frozen=True)
class IndexInfo:
    """What the status bar shows: counts, model and how the index stands to the corpus."""

    documents: int
    chunks: int
    model: str
    stale: str | None  # None when up to date, else e.g. "1 new, 2 changed"
    sources: tuple[str, ...] = ()  # values `source:` can complete to
    folders: tuple[str, ...] = ()  # values `in:` can complete to ("a/b/")


@dataclass(frozen=True)
class Problem:
    """Why the index cannot answer, and the fix, in words for the user.

    `rebuild` is True when an incremental update cannot help (incompatible or unreadable
    index), so the re-index key must start from scratch.
    """

    message: str
    fix: str
    rebuild: bool = False


class ProblemError(Exception):
    """Carries a Problem out of the engine to the worker that reports it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class Engine:
    """Opens the index, answers questions and re-indexes, safely from any thread."""

    def __init__(
        self, paths: Paths, embedder: Embedder | None = None, query_encoder: Any = None,
        open_timeout: float = OPEN_TIMEOUT,
    ) -> None:
        """`embedder` re-indexes (default: the real model); `query_encoder` embeds
        questions instead of the index's ONNX encoder (the tests' fake, or a slow one)."""
        self.paths = paths
        self._embedder = embedder
        self._lock = threading.RLock()
        self._searcher: Searcher | None = None
        self._spare_encoder: Any = query_encoder  # kept across a rebuild, which closes the searcher
        self.open_timeout = open_timeout
        self.problem: Problem | None = None

    @property
    def ready(self) -> bool:
        return self._searcher is not None

    # -- opening --------------------------------------------------------------------
    def load(self) -> IndexInfo:
        """Open the index and warm the model up; raise ProblemError if it cannot answer."""
        with self._locked():
            encoder = self._take_encoder()
            self._close_locked()
            try:
                self._searcher = self._open(encoder)
            except Exception as exc:
                self.problem = self._problem_from(exc)
                raise ProblemError(self.problem) from None
            self.problem = None
        return self.info()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The engine's lock, or ProblemError after `open_timeout` seconds: an open that
        hangs (a stalled disk, a slow first model load) must not hang every caller."""
        if not self._lock.acquire(timeout=self.open_timeout):
            raise ProblemError(Problem(
                f"The index at {self.paths.index} is still opening after"
                f" {self.open_timeout:g} s.",
                "Ask again in a moment; if this persists, press ctrl+r to rebuild it."))
        try:
            yield
        finally:
            self._lock.release()

    def _take_encoder(self) -> Any:
        """The already-loaded ONNX encoder, so reopening after a re-index costs no reload."""
        if self._searcher is None:
            return self._spare_encoder
        return self._take_encoder_of(self._searcher)

    @staticmethod
    def _take_encoder_of(searcher: Searcher) -> Any:
        try:
            return searcher.encoder
        except Exception:
            return None

    def _open(self, encoder: Any) -> Searcher:
        from qa.index.layout import index_exists, is_legacy

        if not index_exists(self.paths.index) and not is_legacy(self.paths.index):
            raise ProblemError(self._missing_index_problem())
        from qa.search.searcher import Searcher

        searcher = Searcher(self.paths.index, encoder=encoder)
        try:
            if searcher.store.count("chunks") == 0:
                raise ProblemError(Problem(
                    f"The index at {self.paths.index} holds no passages"
                    " (every file was skipped or the corpus was empty).",
                    f"Add readable documents to {self.paths.corpus}, then press ctrl+r.",
                ))
            # Load the ONNX model and the FAISS file now, not on the user's first question.
            searcher.search(WARM_UP_QUESTION, k=1)
        except BaseException:
            searcher.close()
            raise
        return searcher

    def _missing_index_problem(self) -> Problem:
        from qa.corpus.walk import scan_corpus

        index, corpus = self.paths.index, self.paths.corpus
        try:
            files = scan_corpus(corpus)
        except QaError:
            return Problem(
                f"No index at {index}, and no corpus folder at {corpus}.",
                f"Create {corpus} and put documents in it (or start qa with --corpus DIR"
                " or QA_CORPUS=DIR), then press ctrl+r to build the index.",
            )
        if not files:
            return Problem(
                f"No index at {index}, and the corpus folder {corpus} is empty.",
                "Add documents (Markdown, text, HTML or PDF) to it, then press ctrl+r"
                " to build the index.",
            )
        return Problem(
            f"No index at {index} yet.",
            f"Press ctrl+r to build it from {corpus} ({len(files)} files).",
        )

    def _problem_from(self, exc: BaseException) -> Problem:
        from qa.crash_log import explain

        if isinstance(exc, ProblemError):
            return exc.problem
        rebuild = "Press ctrl+r to rebuild the index from the corpus."
        if isinstance(exc, IndexIncompatible):
            return Problem(str(exc), rebuild, True)
        error = explain(exc, self.paths.index)
        if isinstance(error, SystemRefused):  # the fix is outside qa, and in the message
            return Problem(f"The index cannot be opened: {error}.", "Then press ctrl+r.")
        return Problem(f"The index cannot be used: {error}", rebuild, True)

    # -- reading --------------------------------------------------------------------
    def search(self, question: str, k: int = 5) -> Answer:
        """Run the one search API on the open index (the app asks only once it is)."""
        with self._locked():
            return self._open_searcher().search(question, k)

    def document_text(self, doc_id: int) -> str:
        with self._locked():
            try:
                return self._open_searcher().store.document_text(doc_id)
            except TypeError:  # no such row: the document left the index since
                raise QaError(
                    "That document is no longer in the index; ask the question again."
                ) from None

    def _open_searcher(self) -> Searcher:
        if self._searcher is not None:
            return self._searcher
        raise ProblemError(self.problem or self._missing_index_problem())

    def info(self) -> IndexInfo:
        """Counts, model, staleness, and the sources and folders that filters complete.
        The corpus is scanned before taking the lock, so a big or slow corpus folder
        never holds a search up."""
        from qa.corpus.walk import corpus_stats
        from qa.index.catalog import catalog
        from qa.index.staleness import staleness

        files: dict[str, tuple[int, int]] | None
        try:
            files = corpus_stats(self.paths.corpus)
        except QaError:
            files = None  # the corpus folder is gone
        with self._locked():
            store = self._open_searcher().store
            stale = staleness(self.paths, store, files) if files is not None else None
            documents, chunks = store.count("documents"), store.count("chunks")
            found = catalog(store)
        stale_text = ("corpus folder missing" if files is None else
                      stale.describe() if stale else None)
        return IndexInfo(documents, chunks, self._model_name(), stale_text,
                         tuple(g.name for g in found.sources if g.name),
                         tuple(f"{g.name}/" for g in found.folders if g.name))

    def _model_name(self) -> str:
        """The model named in the manifest, without its organisation prefix."""
        from qa.index.layout import MANIFEST_FILE

        assert self._searcher is not None
        try:
            manifest = self._searcher.generation / MANIFEST_FILE
            found = json.loads(manifest.read_text(encoding="utf-8"))
            return str(found["model"]["name"]).rsplit("/", 1)[-1]
        except (OSError, ValueError, KeyError, TypeError):
            return "unknown model"

    # -- writing --------------------------------------------------------------------
    def reindex(
        self, rebuild: bool, report: Callable[[str], None],
        progress: Callable[[int, int], None] | None = None,
    ) -> IndexReport:
        """Run update_index (no tqdm), then reopen the index; `report` gets each phase,
        `progress` the passages embedded so far and in all, after each committed batch.

        The current searcher keeps answering meanwhile: an update commits under it (SQLite
        WAL gives it a consistent snapshot), and a rebuild writes a new generation beside
        the one it has pinned, which it leaves for the new one when the rebuild is done.
        """
        from qa.index.writer import update_index

        report("Rebuilding the index (embedding every document)…" if rebuild
               else "Updating the index (new and changed files)…")
        if self._embedder is None:  # made once and kept: the model loads on first use only
            from qa.embed.document_embedder import DocumentEmbedder

            self._embedder = DocumentEmbedder()
        try:
            return update_index(
                self.paths, rebuild=rebuild, progress=False,
                embedder=self._embedder, on_progress=progress,
            )
        finally:
            report("Reopening the index…")
            with contextlib.suppress(ProblemError):  # self.problem says what is wrong
                self.load()

    # -- closing --------------------------------------------------------------------
    def close(self) -> None:
        with contextlib.suppress(ProblemError), self._locked():  # a hung open: exit anyway
            self._close_locked()

    def _close_locked(self) -> None:
        if self._searcher is not None:
            searcher, self._searcher = self._searcher, None
            self._spare_encoder = self._take_encoder_of(searcher)
            with contextlib.suppress(Exception):
                searcher.close()
