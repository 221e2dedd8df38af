"""`qa watch`: keep the index up to date as files arrive in the corpus, change or leave.

One incremental update as the watch starts (whatever changed while nobody watched),
then one per settled batch of changes (`qa.corpus.changes`). Each update that changed something
prints one line naming what; files and pages that could not be read are named on
stderr, as `qa index` names them. The model is loaded once, on the first change that
needs embedding, and kept.

Stopping: `run_watch` turns Ctrl-C (SIGINT) and SIGTERM into a request to stop. An
update in progress finishes the batch it is embedding and commits it; the watcher
stops there, between commits, and anything left is indexed by the next run. A second
Ctrl-C stops at once: the index is crash-safe, so even that loses nothing committed.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qa.corpus.changes import QUIET_SECONDS, settled_changes
from qa.corpus.walk import require_corpus_folder
from qa.errors import IndexIncompatible, QaError
from qa.settings import Paths

if TYPE_CHECKING:
    from qa.embed.document_embedder import Embedder

Echo = Callable[[str], None]


class StopBetweenCommits(Exception):
    """Raised after a committed batch, once a stop was asked for, to end the update."""


def watch_index(paths: Paths, *, embedder: Embedder, stop: threading.Event, echo: Echo,
                warn: Echo, quiet: float = QUIET_SECONDS) -> None:
    """Update the index now and after every settled change, until `stop` is set.
    `echo` gets one line per update that changed something, `warn` each problem."""
    require_corpus_folder(paths.corpus)
    started = False
    told: set[tuple[str, str]] = set()  # skips already named: the writer retries them
    for _ in settled_changes(paths.corpus, stop, ignore=paths.index, quiet=quiet):
        # The first batch comes as the watch starts: catch up with what changed before.
        if not _update(paths, embedder, stop, echo, warn, told, first=not started):
            return
        if not started:
            echo(f"watching {paths.corpus} for changes (Ctrl-C stops)")
            started = True


def _update(paths: Paths, embedder: Embedder, stop: threading.Event, echo: Echo,
            warn: Echo, told: set[tuple[str, str]], *, first: bool = False) -> bool:
    """One incremental update; False when a stop was asked for during it. A problem
    in the first update (no corpus folder, say) ends the watch; later ones are said
    and retried on the next change."""
    from qa.index.writer import update_index

    def stop_between_commits(_done: int, _total: int) -> None:
        if stop.is_set():  # called after each batch has committed
            raise StopBetweenCommits

    try:
        report = update_index(paths, progress=False, embedder=embedder, allow_empty=True,
                              on_progress=stop_between_commits)
    except StopBetweenCommits:
        echo(f"{_now()} stopped between commits; the next run indexes the rest")
        return False
    except IndexIncompatible:
        raise  # every update would fail the same way: the user must rebuild
    except QaError as exc:  # e.g. another indexer holds the lock; the next change retries
        if first:
            raise
        warn(f"qa: {exc}")
        return not stop.is_set()
    for path, reason in report.skipped:  # every update retries a skipped file; say it once
        if (path, reason) not in told:
            told.add((path, reason))
            warn(f"qa: {path}: skipped, {reason}")
    for path, part in report.skipped_parts:
        warn(f"qa: {path}: {part}")
    changes = report.changes()
    if changes:
        echo(f"{_now()} {changes}")
    return not stop.is_set()


def run_watch(paths: Paths, echo: Echo, warn: Echo) -> None:
    """`qa watch`: the real model, and Ctrl-C or SIGTERM stopping between commits."""
    from qa.embed.document_embedder import DocumentEmbedder

    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        stop.set()
        warn("qa watch: stopping after the current commit (Ctrl-C again stops at once)")

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        watch_index(paths, embedder=DocumentEmbedder(), stop=stop, echo=echo, warn=warn)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    echo("qa watch: stopped")


def _now() -> str:
    return time.strftime("%H:%M:%S")
