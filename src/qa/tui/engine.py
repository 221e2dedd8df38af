"""The TUI's one door to the search API and the indexer, used from worker threads only.

A class rather than loose calls because the model-loading, search, document and
re-index workers all share one Searcher (its SQLite connection and FAISS index), and a
re-index has to swap it for a fresh one; one lock around every use keeps those threads
from meeting half-way. Nothing heavy is imported at module import time: `qa.search`
pulls numpy, FAISS and onnxruntime, so it is imported on first use, inside a worker.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa.errors import IndexIncompatible, QaError
from qa.settings import Paths

if TYPE_CHECKING:
    from qa.embed.document_embedder import Embedder
    from qa.index.writer import IndexReport
    from qa.search.searcher import Answer, Searcher

WARM_UP_QUESTION = "warm up the query model"


@dataclass(frozen=True)
class IndexInfo:
    """What the status bar shows: counts, model and how the index stands to the corpus."""

    documents: int
    chunks: int
    model: str
    stale: str | None  # None when up to date, else e.g. "1 new, 2 changed"


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
        self, paths: Paths, embedder: Embedder | None = None, query_encoder: Any = None
    ) -> None:
        """`embedder` re-indexes (default: the real model); `query_encoder` embeds
        questions instead of the index's ONNX encoder (the tests' fake, or a slow one)."""
        self.paths = paths
        self._embedder = embedder
        self._lock = threading.RLock()
        self._searcher: Searcher | None = None
        self._spare_encoder: Any = query_encoder  # kept across a rebuild, which closes the searcher
        self._settled = threading.Event()  # set once an open attempt has finished
        self.problem: Problem | None = None

    @property
    def ready(self) -> bool:
        return self._searcher is not None

    # -- opening --------------------------------------------------------------------
    def load(self) -> IndexInfo:
        """Open the index and warm the model up; raise ProblemError if it cannot answer."""
        self._settled.clear()
        try:
            with self._lock:
                encoder = self._take_encoder()
                self._close_locked()
                try:
                    self._searcher = self._open(encoder)
                except Exception as exc:
                    self.problem = self._problem_from(exc)
                    raise ProblemError(self.problem) from None
                self.problem = None
                return self._info_locked()
        finally:
            self._settled.set()

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
        from qa.index.layout import index_exists

        if not index_exists(self.paths.index):
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
        if isinstance(exc, ProblemError):
            return exc.problem
        if isinstance(exc, IndexIncompatible):
            return Problem(str(exc), "Press ctrl+r to rebuild the index from the corpus.", True)
        if isinstance(exc, QaError):
            return Problem(f"The index cannot be used: {exc}",
                           "Press ctrl+r to rebuild the index from the corpus.", True)
        return Problem(
            f"The index at {self.paths.index} cannot be opened"
            f" ({type(exc).__name__}: {exc}).",
            "Press ctrl+r to rebuild the index from the corpus.",
            True,
        )

    # -- reading --------------------------------------------------------------------
    def search(self, question: str, k: int = 5) -> Answer:
        """Wait for the model if it is still loading, then run the one search API."""
        self._settled.wait()
        with self._lock:
            if self._searcher is None:
                raise ProblemError(self.problem or self._missing_index_problem())
            return self._searcher.search(question, k)

    def document_text(self, doc_id: int) -> str:
        self._settled.wait()
        with self._lock:
            if self._searcher is None:
                raise ProblemError(self.problem or self._missing_index_problem())
            try:
                return self._searcher.store.document_text(doc_id)
            except TypeError:  # no such row: the document left the index since
                raise QaError(
                    "That document is no longer in the index; ask the question again."
                ) from None

    def info(self) -> IndexInfo:
        with self._lock:
            if self._searcher is None:
                raise ProblemError(self.problem or self._missing_index_problem())
            return self._info_locked()

    def _info_locked(self) -> IndexInfo:
        from qa.index.staleness import staleness

        assert self._searcher is not None
        store = self._searcher.store
        try:
            stale = staleness(self.paths, store)
            stale_text = stale.describe() if stale else None
        except QaError:
            stale_text = "corpus folder missing"
        return IndexInfo(store.count("documents"), store.count("chunks"), self._model_name(),
                         stale_text)

    def _model_name(self) -> str:
        """The model named in the manifest, without its organisation prefix."""
        from qa.index.layout import MANIFEST_FILE

        try:
            found = json.loads((self.paths.index / MANIFEST_FILE).read_text(encoding="utf-8"))
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

        An update keeps the current searcher answering meanwhile (SQLite WAL gives it a
        consistent snapshot). A rebuild replaces the store file under it, so the
        searcher is closed first and searches wait for the reopen.
        """
        from qa.index.writer import update_index

        if rebuild:
            with self._lock:
                self._settled.clear()
                self._close_locked()
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
            with contextlib.suppress(ProblemError):  # self.problem then says what is wrong
                self.load()

    # -- closing --------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._searcher is not None:
            searcher, self._searcher = self._searcher, None
            self._spare_encoder = self._take_encoder_of(searcher)
            with contextlib.suppress(Exception):
                searcher.close()
