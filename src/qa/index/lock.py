"""The writer's lock: one indexer at a time per index; readers never take it.

A second writer says that it is waiting, then gives up after QA_LOCK_TIMEOUT seconds
with a line naming the lock file, rather than hanging silently.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qa import settings
from qa.errors import QaError
from qa.index.layout import LOCK_FILE


@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    from filelock import FileLock, Timeout

    timeout = settings.lock_timeout()
    lock = FileLock(index_dir / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"{index_dir}: another qa is updating this index; waiting for it",
              file=sys.stderr)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise QaError(f"{index_dir / LOCK_FILE}: another indexer still holds the lock"
                          f" after {timeout:g} s; try again later") from None
    try:
        yield
    finally:
        lock.release()
