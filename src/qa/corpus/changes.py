"""Changes to the corpus folder as they settle, for `qa watch` and the TUI.

watchfiles reports file events (inotify and its kin, polling where there is none). A
copy of fifty files, or one file written in pieces, is many events; indexing after
each would index half-written files and repeat work. So events are gathered, and a
batch is handed on only when the corpus has been quiet for QUIET_SECONDS: no event,
and every changed file kept its size and modification time across the last look. A
file still growing is waited for; one written slowly is indexed once, complete.

Hidden files and folders (editors' swap files, `.git`) are ignored, as the corpus walk
ignores them, and so is the index folder if it lies inside the corpus.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

QUIET_SECONDS = 1.0  # what "quiet" means: no event and no stat change for this long
LOOK_EVERY_MS = 200  # how often stats are compared while a batch waits


def settled_changes(corpus: Path, stop: threading.Event, *, ignore: Path | None = None,
                    quiet: float = QUIET_SECONDS) -> Iterator[list[str]]:
    """Yield, batch by batch, the corpus-relative paths that were added, changed or
    removed, each batch once it has settled; return when `stop` is set.

    The first batch is empty, and comes as soon as the watch is in place: a caller that
    catches up then (an index update) misses nothing, since any change made meanwhile
    is already being recorded and comes in a later batch.
    """
    from watchfiles import watch

    root = corpus.resolve()
    ignored = ignore.resolve() if ignore is not None else None
    pending: set[str] = set()
    stats: dict[str, tuple[int, int] | None] = {}
    last_change = time.monotonic()
    watching = False

    def wanted(_change: object, path: str) -> bool:
        absolute = Path(path)
        if ignored is not None and absolute.is_relative_to(ignored):
            return False
        rel = absolute.relative_to(root) if absolute.is_relative_to(root) else None
        return rel is not None and not any(part.startswith(".") for part in rel.parts)

    for changes in watch(root, watch_filter=wanted, step=50, rust_timeout=LOOK_EVERY_MS,
                         yield_on_timeout=True, stop_event=stop, raise_interrupt=False):
        if not watching:
            watching = True
            yield []
        now = time.monotonic()
        if changes:
            pending.update(Path(path).relative_to(root).as_posix() for _, path in changes)
            last_change = now
        if not pending:
            continue
        looked = {rel: _stat(root / rel) for rel in pending}
        if looked != stats:  # something is still being written (or was just touched)
            stats, last_change = looked, now
        elif now - last_change >= quiet:
            yield sorted(pending)
            pending.clear()
            stats = {}


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None  # removed (or renamed away)
    return info.st_size, info.st_mtime_ns
