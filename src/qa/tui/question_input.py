"""The question box: an Input whose up/down keys walk earlier questions, shell-style."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import Input
from textual.widgets.input import Selection

from qa.tui.filter_suggester import FilterSuggester


class QuestionInput(Input):
    """Where questions are typed; Enter submits (handled by the app).

    History navigation lives here, not in the app, because up/down mean "previous
    question" only while this box has focus; elsewhere they move through results.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history_previous", "Earlier question", show=False),
        Binding("down", "history_next", "Later question", show=False),
    ]

    def __init__(self, history: list[str], **kwargs: object) -> None:
        self.filter_suggester = FilterSuggester()
        super().__init__(
            placeholder="Ask a question and press Enter  (↑/↓ earlier questions;"
                        ' filters: source:"…" in:folder/ after:2024-01 "a phrase" -word)',
            suggester=self.filter_suggester,
            select_on_focus=False,  # type_into keeps its text; Escape selects (select_question)
            **kwargs,  # type: ignore[arg-type]
        )
        self.history = history  # shared with History.entries, oldest first
        self._position: int | None = None  # index into history while walking it
        self._draft = ""  # what was typed before walking began, restored at the end
        self._focus_coming = False  # type_into asked for focus; it has not arrived yet

    def type_into(self, character: str) -> None:
        """A key typed while the results (or the document) had focus.

        The first one starts a new question; the ones typed before the focus arrives
        (focus moves on the next tick, a fast typist or a paste is quicker) continue it.
        """
        if self._focus_coming:
            self.value += character
        else:
            self.reset_history_walk()
            self.value = character
        self.cursor_position = len(self.value)
        self._focus_coming = True
        self.focus()

    @property
    def typing(self) -> bool:
        """Keys typed over the results are on their way here: the focus has not arrived."""
        return self._focus_coming

    def select_question(self) -> None:
        """Focus with the old question selected, so typing replaces it (Escape)."""
        self.focus()
        self.selection = Selection(0, len(self.value))

    def on_focus(self, event: events.Focus) -> None:
        self._focus_coming = False

    def reset_history_walk(self) -> None:
        """Forget the walk position: the next up starts from the newest question."""
        self._position = None
        self._draft = ""

    def action_history_previous(self) -> None:
        if not self.history:
            return
        if self._position is None:
            self._draft = self.value
            self._position = len(self.history)
        if self._position > 0:
            self._position -= 1
            self._show(self.history[self._position])

    def action_history_next(self) -> None:
        if self._position is None:
            return
        self._position += 1
        if self._position >= len(self.history):
            self._position = None
            self._show(self._draft)
        else:
            self._show(self.history[self._position])

    def _show(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)
