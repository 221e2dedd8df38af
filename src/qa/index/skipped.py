"""The registry of files that could not be indexed, with why and their stat.

Remembered with the stat so that a skipped file is not reported as "new" on every
`qa ask`, and is retried as soon as it changes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable

SkippedEntry = tuple[str, str, int | None, int | None]  # path, reason, size, mtime_ns


class SkippedFiles:
    """The `skipped` table of a store's connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def replace(self, entries: Iterable[SkippedEntry],
                only: Collection[str] | None = None) -> None:
        """Inside the writer's transaction: the skipped files of this run, and no others
        (of the files in `only`, when the run looked at those alone)."""
        if only is None:
            self.db.execute("DELETE FROM skipped")
        else:
            self.db.executemany("DELETE FROM skipped WHERE path = ?", [(p,) for p in only])
        self.db.executemany("INSERT INTO skipped VALUES (?,?,?,?)", list(entries))

    def all(self) -> dict[str, tuple[str, int | None, int | None]]:
        rows = self.db.execute("SELECT path, reason, size, mtime_ns FROM skipped")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}
