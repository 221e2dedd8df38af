"""The re-index line: what the indexer is doing, seconds elapsed, and a progress bar.

Shown only while a re-index runs. The clock ticks every second even when no progress
message arrives (loading the model takes seconds), so a long run visibly moves.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Label, ProgressBar


class ReindexPanel(Horizontal):
    """`start` shows it, `show` updates it, `stop` hides it again."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(classes="-hidden", **kwargs)  # type: ignore[arg-type]
        self.phase = Label(id="index-phase", markup=False)
        self.bar = ProgressBar(total=None, show_eta=False, show_percentage=False,
                               id="index-bar")
        self._text = ""
        self._started = 0.0
        self._clock: Timer | None = None

    def compose(self) -> ComposeResult:
        yield self.phase
        yield self.bar

    @property
    def running(self) -> bool:
        return not self.has_class("-hidden")

    def start(self, phase: str) -> None:
        self.remove_class("-hidden")
        self.bar.update(total=None, progress=0)
        self._started = time.perf_counter()
        self.show(phase)
        self._clock = self.set_interval(1.0, lambda: self.show(self._text))

    def show(self, phase: str, done: int | None = None, total: int | None = None) -> None:
        """The phase, with seconds elapsed; the bar fills once a total is known."""
        self._text = phase
        elapsed = time.perf_counter() - self._started
        self.phase.update(Text(f"{elapsed:3.0f} s  {phase}", no_wrap=True, overflow="ellipsis"))
        if total:
            self.bar.update(total=total, progress=done)

    def stop(self) -> None:
        self.add_class("-hidden")
        if self._clock is not None:
            self._clock.stop()
            self._clock = None
