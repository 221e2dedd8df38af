"""The whole source document, scrolled to the passage, which stays highlighted.

Pushed over the main screen, so Escape pops back to the results exactly as they were
(same rows, same selection, same scroll).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from qa.output.citation import citation
from qa.output.safe_text import visible_line, visible_text
from qa.tui.highlight import question_terms, styled_span

if TYPE_CHECKING:
    from qa.search.searcher import Hit

CONTEXT_LINES = 2  # lines shown above the passage when jumping to it


def split_around(text: str, start: int, end: int) -> tuple[int, int]:
    """Paragraph bounds around [start, end): the passage's paragraphs, whole.

    The document is shown as three blocks (before, the passage's paragraphs, after) so
    the middle block's position on screen is known exactly, without measuring wrapped
    lines of one huge text; cutting at blank lines keeps the layout identical to one
    block.
    """
    head = text.rfind("\n\n", 0, start)
    head = 0 if head < 0 else head + 2
    tail = text.find("\n\n", end)
    tail = len(text) if tail < 0 else tail
    return head, tail


class DocumentScreen(Screen[None]):
    """Reads one document; Escape (or backspace) goes back. No printable key is bound:
    typing here starts a new question (the app's `on_event`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back"),
        Binding("ctrl+y", "copy_citation", "Copy citation"),
        Binding("ctrl+g", "to_passage", "To passage"),
        Binding("f1", "app.help", "Help"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "document-screen--passage", "document-screen--answer", "document-screen--term",
    }

    def __init__(self, hit: Hit, document: str, question: str) -> None:
        super().__init__()
        self.hit = hit
        self.document = document
        self.question = question
        self._head, self._tail = split_around(document, hit.passage.start, hit.passage.end)

    def compose(self) -> ComposeResult:
        p = self.hit.passage
        cite = Text(visible_line(citation(p)))
        cite.stylize("bold", 0, len(p.title) + 2)  # the quoted title leads the citation
        yield Static(cite, id="doc-citation", markup=False)
        with VerticalScroll(id="doc-body"):
            before = self.document[: self._head].rstrip("\n")
            after = self.document[self._tail :].lstrip("\n")
            yield Static(Text(visible_text(before)), id="doc-before", markup=False,
                         classes="" if before else "-empty")
            yield Static(id="doc-passage", markup=False)
            yield Static(Text(visible_text(after)), id="doc-after", markup=False,
                         classes="" if after else "-empty")
        yield Footer()

    def on_mount(self) -> None:
        style = self.get_component_rich_style
        p, hit = self.hit, self.hit
        spans = [
            (p.passage.start, p.passage.end, style("document-screen--passage")),
            (hit.answer_start, hit.answer_end, style("document-screen--answer")),
        ]
        middle = self.document[self._head : self._tail]
        self.query_one("#doc-passage", Static).update(styled_span(
            middle, self._head, spans, question_terms(self.question),
            style("document-screen--term"),
        ))
        body = self.query_one("#doc-body", VerticalScroll)
        body.focus()
        self.call_after_refresh(self.action_to_passage)

    @property
    def passage_line(self) -> int:
        """The passage's first line within the whole scrolled document (0-based)."""
        body = self.query_one("#doc-body", VerticalScroll)
        block = self.query_one("#doc-passage", Static)
        width = block.content_region.width or body.scrollable_content_region.width or 80
        lead = self.document[self._head : self.hit.passage.start]
        lines_before = len(Content(lead).wrap(width)) - 1 if lead else 0
        return block.virtual_region.y + max(lines_before, 0)

    def action_to_passage(self) -> None:
        """Scroll so the passage starts a couple of lines below the top."""
        if not self.is_attached:  # dismissed (or the app quit) before this first refresh
            return
        body = self.query_one("#doc-body", VerticalScroll)
        body.scroll_to(y=max(self.passage_line - CONTEXT_LINES, 0), animate=False)

    def action_back(self) -> None:
        self.dismiss()

    def action_copy_citation(self) -> None:
        self.app.copy_to_clipboard(visible_line(citation(self.hit.passage)))
        self.notify("Citation copied", timeout=3)
