"""Typed messages that worker threads post to the app.

Workers never touch widgets: they post one of these (thread-safe) and the app updates
the screen on its own thread. Dataclasses so each message says exactly what it carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from qa.search.searcher import Answer
    from qa.tui.engine import IndexInfo, Problem


@dataclass
class IndexReady(Message):
    """The index opened and the model answered a warm-up question: searches run now."""

    info: IndexInfo
    seconds: float


@dataclass
class IndexUnusable(Message):
    """The index is missing or broken; `problem` says why and what fixes it."""

    problem: Problem


@dataclass
class CorpusChanged(Message):
    """Files in the corpus were added, changed or removed (settled: see qa.corpus.changes)."""

    paths: list[str]


@dataclass
class SearchFinished(Message):
    """Results for the search numbered `seq` (older numbers are stale and dropped)."""

    seq: int
    answer: Answer
    seconds: float


@dataclass
class SearchFailed(Message):
    """The search numbered `seq` could not run; `message` is for the user."""

    seq: int
    message: str


@dataclass
class DocumentLoaded(Message):
    """The full text of the document a result came from, ready for the document screen."""

    seq: int
    text: str


@dataclass
class ReindexProgress(Message):
    """What the re-index is doing now. A burst collapses: only the newest matters."""

    phase: str
    done: int | None = None  # passages embedded so far, when known
    total: int | None = None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ReindexProgress)


@dataclass
class ReindexFinished(Message):
    """The re-index ended: `summary` is IndexReport.summary(), `changes` names what
    changed (IndexReport.changes()), `skipped` lists files and parts not read, and why."""

    summary: str
    changes: str
    skipped: list[tuple[str, str]]
    seconds: float


@dataclass
class ReindexFailed(Message):
    """The re-index stopped with a user-facing `message`; the old index is still in use."""

    message: str
