"""Every key, in one table, shown over whatever screen is open."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# (where, keys, what). The single list of keys: tests check that every binding the app
# declares appears here, so this table cannot silently fall behind the code.
KEYS: tuple[tuple[str, str, str], ...] = (
    ("Question box", "enter", "Search for the question"),
    ("Question box", "up/down", "Walk earlier questions (kept between runs)"),
    ("Question box", "right or end", 'Accept the greyed completion of source: or in:'),
    ("Results", "up/down", "Select another result; the passage pane follows"),
    ("Results", "enter or ctrl+o", "Open the whole document at the passage"),
    ("Results", "ctrl+y", "Copy the selected result's citation"),
    ("Results", "escape", "Back to the question box"),
    ("Results", "letters", "Typing starts a new question in the question box"),
    ("Anywhere", "tab/shift+tab", "Move between question, results and passage"),
    ("Anywhere", "ctrl+r", "Re-index the corpus (update; rebuild if the index is broken)"),
    ("Anywhere", "ctrl+p", "Command palette: re-index, rebuild, copy, open, help, theme"),
    ("Anywhere", "f1", "This help"),
    ("Anywhere", "ctrl+q", "Quit"),
    ("Document", "up/down", "Scroll the document by a line"),
    ("Document", "pgup/pgdn", "Scroll by a page"),
    ("Document", "home/end", "Go to the start or the end"),
    ("Document", "ctrl+g", "Jump back to the passage"),
    ("Document", "ctrl+y", "Copy the citation"),
    ("Document", "escape or backspace", "Back to the results, as they were"),
    ("Document", "letters", "Typing starts a new question"),
    ("Help", "escape, q, ? or f1", "Close this help"),
    ("Mouse", "click", "Focus a box; click a result to select it, again to open it"),
)


def keys_table() -> Table:
    """Two columns (keys, meaning) under a heading per place: fits 80 columns unwrapped."""
    table = Table(box=None, show_header=False, expand=True, pad_edge=False)
    table.add_column("Keys", style="bold", no_wrap=True)
    table.add_column("What it does", ratio=1)
    previous = ""
    for where, keys, what in KEYS:
        if where != previous:
            if previous:
                table.add_row("", "")
            table.add_row(Text(where, style="bold underline"), "")
            previous = where
        table.add_row(Text("  " + keys), Text(what))
    return table


class HelpScreen(ModalScreen[None]):
    """A modal over the current screen; any of its close keys returns to it unchanged."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close help"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "qa keys"
            box.border_subtitle = "escape closes"
            yield Static(keys_table(), id="help-table")

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()

    def action_close(self) -> None:
        self.dismiss()
