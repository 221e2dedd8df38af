"""Earlier questions, kept as JSON lines in `<index>/tui-history.jsonl`.

JSON lines rather than one JSON document so that adding a question is an append (a
crash cannot truncate what was there) and a damaged line loses only itself. The file
lives beside the index because questions belong to a corpus, not to the machine.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from qa import atomic
from qa.index.layout import HISTORY_FILE

LIMIT = 500  # older questions are dropped when the file is rewritten


class History:
    """An ordered list of questions, oldest first, mirrored to a JSONL file.

    File errors never reach the user as failures: history is a convenience, so an
    unwritable index folder just means questions are remembered for this run only.
    """

    def __init__(self, path: Path | None, limit: int = LIMIT) -> None:
        self.path = path
        self.limit = limit
        self.entries: list[str] = []

    @classmethod
    def for_index(cls, index_dir: Path) -> History:
        history = cls(index_dir / HISTORY_FILE)
        history.load()
        return history

    def load(self) -> None:
        """Read the file, skipping lines that are not `{"q": "..."}` objects.

        `entries` is only ever changed in place: the question box holds the same list.
        """
        self.entries.clear()
        if self.path is None:
            return
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                question = json.loads(line).get("q")
            except (ValueError, AttributeError):
                continue
            if isinstance(question, str) and question.strip():
                self._append(question)
        del self.entries[: -self.limit]

    def add(self, question: str) -> None:
        """Remember `question` (unless it repeats the last one) and append it to the file."""
        question = question.strip()
        if not question or (self.entries and self.entries[-1] == question):
            return
        self._append(question)
        if self.path is None or not self.path.parent.is_dir():
            return  # no index folder yet: do not create one just for history
        record = json.dumps(
            {"q": question, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
            ensure_ascii=False,
        )
        try:
            if len(self.entries) > self.limit:
                del self.entries[: -self.limit]
                self._rewrite()
            else:
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(record + "\n")
        except OSError:
            pass

    def _append(self, question: str) -> None:
        if self.entries and self.entries[-1] == question:
            return
        self.entries.append(question)

    def _rewrite(self) -> None:
        assert self.path is not None
        atomic.write_text(
            self.path,
            "".join(json.dumps({"q": q}, ensure_ascii=False) + "\n" for q in self.entries),
        )
