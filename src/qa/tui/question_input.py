"""The question box: an Input whose up/down keys walk earlier questions, shell-style."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import Input

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
            select_on_focus=False,  # a new question starts empty, Escape selects the old one
            **kwargs,  # type: ignore[arg-type]
        )
        self.history = history  # shared with History.entries, oldest first
        self._position: int | None = None  # index into history while walking it
        self._draft = ""  # what was typed before walking began, restored at the end

    @property
    def has_keys(self) -> bool:
        """Keys are sent here now: the box is focused on the active screen. `has_focus`
        turns true a tick later, when the box handles its Focus event."""
        return self.app.focused is self

    def start_question(self) -> None:
        """A key typed where the box has no focus (the results, the passage, the
        document) starts a new question: the app calls this as the key arrives, before
        it dispatches it.

        The focus moves at once, not on a later tick (`focus()`), so this key and every
        one after it come here, in the order typed; a key sent to the results first
        would come back to the app late, after keys typed behind it. The box is emptied
        through its own message queue, behind any key already on its way here (those
        belong to the old text) and ahead of this one.
        """
        self.call_later(self._begin_afresh)
        self.screen.set_focus(self)

    def select_question(self) -> None:
        """Escape from the results: focus now, with the old question selected once the
        keys already on their way here are in, so typing replaces it."""
        self.call_later(self.select_all)
        self.screen.set_focus(self)

    async def on_key(self, event: events.Key) -> None:
        """Enter asks the question as typed up to it, here, in the order of the keys.
        Input's own Enter binding runs only once the key has gone up to the app, and
        keys typed right behind the Enter were in the box by then: they joined the
        question asked."""
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            await super().action_submit()

    async def action_submit(self) -> None:
        """Input's Enter binding, which Textual looks up once a key has gone up to the
        app, against whatever has the focus by then. An Enter that reaches it was typed
        at the results just before a key moved the focus here: it was meant for a
        result, and must not ask the question half typed. The box's own Enter asks, in
        `on_key`."""

    def _begin_afresh(self) -> None:
        self.reset_history_walk()
        self.value = ""
        self.cursor_position = 0

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
