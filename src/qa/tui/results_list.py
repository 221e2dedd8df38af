"""The ranked results: one row per passage with rank, score, title, source, date,
paragraph (or page, or chapter) and the passage's first line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on
from textual.message import Message
from textual.widgets import DataTable

from qa.output.safe_text import visible_line
from qa.tui.highlight import first_line

if TYPE_CHECKING:
    from qa.search.searcher import Answer, Hit

# Fixed columns: (label, width). Title, source and passage share what is left.
_RANK, _SCORE, _DATE, _PLACE = ("#", 2), ("Score", 6), ("Date", 10), ("Where", 5)
_FLEX_SHARES = (("Title", 0.45, 60), ("Source", 0.2, 30), ("Passage", 0.35, 10_000))


def _cell(value: str, style: str = "") -> Text:
    """A literal, one-line cell: DataTable would parse a plain str as markup, and a
    control character from a document would reach the terminal."""
    return Text(visible_line(value), style=style, no_wrap=True, overflow="ellipsis")


def place(hit: Hit) -> str:
    """Page, chapter or paragraph, short enough for a narrow column."""
    p = hit.passage
    if p.page:
        return f"p. {p.page}"
    return f"ch {p.chapter}" if p.chapter else f"¶ {p.paragraph}"


def _source(hit: Hit) -> str:
    """The source, and how many republished copies are listed under this result."""
    copies = len(hit.also_published)
    more = f" (+{copies} {'copy' if copies == 1 else 'copies'})" if copies else ""
    return (hit.passage.source or "—") + more


class ResultsList(DataTable[Text]):
    """A DataTable of hits that re-fits its columns whenever its width changes.

    Column widths are computed, not left to DataTable's auto-sizing, so that long titles
    and passages are cut with an ellipsis instead of pushing columns off-screen at 80
    columns.
    """

    @dataclass
    class HitHighlighted(Message):
        """The cursor moved to `hit` (keyboard or mouse)."""

        hit: Hit

    @dataclass
    class HitChosen(Message):
        """Enter (or a click on the highlighted row) on `hit`: open its document."""

        hit: Hit

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.answer: Answer | None = None
        self._fitted_width = 0

    @property
    def hits(self) -> list[Hit]:
        return self.answer.hits if self.answer else []

    @property
    def current_hit(self) -> Hit | None:
        hits = self.hits
        if not hits or not 0 <= self.cursor_row < len(hits):
            return None
        return hits[self.cursor_row]

    def on_mount(self) -> None:
        self._fit_columns(force=True)

    def on_resize(self, event: events.Resize) -> None:
        self._fit_columns()

    def show_answer(self, answer: Answer | None) -> None:
        """Replace the rows with `answer`'s hits and put the cursor on the first."""
        self.answer = answer
        self._fill(cursor=0)

    def _fit_columns(self, force: bool = False) -> None:
        width = self.scrollable_content_region.width or self.size.width
        if not width or (width == self._fitted_width and not force):
            return
        self._fitted_width = width
        cursor = self.cursor_row
        self.clear(columns=True)
        fixed = [_RANK, _SCORE, _DATE, _PLACE]
        padding = 2 * self.cell_padding * (len(fixed) + len(_FLEX_SHARES))
        spare = max(width - padding - sum(w for _, w in fixed), 3 * 6)
        flex = [max(6, min(cap, int(spare * share))) for _, share, cap in _FLEX_SHARES]
        flex[-1] = max(6, spare - flex[0] - flex[1])  # the passage takes the remainder
        widths = {"#": _RANK[1], "Score": _SCORE[1], "Date": _DATE[1], "Where": _PLACE[1]}
        widths.update({label: w for (label, _, _), w in zip(_FLEX_SHARES, flex, strict=True)})
        for label in ("#", "Score", "Title", "Source", "Date", "Where", "Passage"):
            self.add_column(_cell(label), width=widths[label], key=label)
        self._fill(cursor=cursor)

    def _fill(self, cursor: int) -> None:
        self.clear()
        weak = self.answer is not None and not self.answer.answered
        style = "italic" if weak else ""
        for hit in self.hits:
            p = hit.passage
            self.add_row(
                _cell(str(hit.rank), style),
                _cell(f"{hit.score:.3f}", style),
                _cell(p.title, style),
                _cell(_source(hit), style),
                _cell(p.published or "—", style),
                _cell(place(hit), style),
                _cell(first_line(p.text), style),
                key=str(hit.rank),
            )
        if self.hits:
            self.move_cursor(row=min(max(cursor, 0), len(self.hits) - 1), animate=False)

    @on(DataTable.RowHighlighted)
    @on(DataTable.RowSelected)
    def _row_event(self, event: DataTable.RowHighlighted | DataTable.RowSelected) -> None:
        """Turn the table's row events into messages that carry the hit."""
        event.stop()
        hit = self.current_hit
        if hit is not None:
            chosen = isinstance(event, DataTable.RowSelected)
            self.post_message(self.HitChosen(hit) if chosen else self.HitHighlighted(hit))
