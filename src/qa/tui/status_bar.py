"""One line at the bottom: what the index holds, the model, and whether it is stale."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from qa.output.safe_text import visible_line
from qa.tui.engine import IndexInfo


class StatusBar(Static):
    """Shows the index state as literal text (paths and names may hold brackets).

    Colours come from component classes so qa.tcss stays the one place for styling.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-bar--fresh", "status-bar--stale", "status-bar--problem", "status-bar--busy",
    }

    def __init__(self, **kwargs: object) -> None:
        super().__init__(Text("Opening the index…"), markup=False, **kwargs)  # type: ignore[arg-type]

    def _line(self, *parts: tuple[str, str | None]) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        for chunk, component in parts:
            style = self.get_component_rich_style(component) if component else ""
            text.append(visible_line(chunk), style=style)
        self.update(text)

    def show_loading(self) -> None:
        self._line(("Loading model…", "status-bar--busy"))

    def show_info(self, info: IndexInfo) -> None:
        counts = (f"{info.documents:,} documents · {info.chunks:,} chunks · model {info.model}"
                  " · ", None)
        if info.stale is None:
            self._line(counts, ("index up to date", "status-bar--fresh"))
        else:
            self._line(counts, (f"index stale ({info.stale}): ctrl+r", "status-bar--stale"))

    def show_problem(self, summary: str) -> None:
        self._line((summary, "status-bar--problem"))
