"""The selected result in full: its citation (ready to copy) and the passage, with the
answering sentence highlighted and the question's words marked."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from qa.output.citation import citation, place
from qa.output.safe_text import visible_line
from qa.output.text import also_published_line
from qa.tui.highlight import question_terms, styled_span

if TYPE_CHECKING:
    from qa.search.searcher import Hit

WELCOME = (
    "Type a question above and press Enter.\n\n"
    "↑/↓ in the question box recall earlier questions; in the results they move the "
    "selection. Enter opens the whole document, ctrl+y copies the citation, ctrl+r "
    "re-indexes the corpus, and F1 lists every key. Typing anywhere starts a new "
    "question.\n\n"
    'Filters go in the question: source:"War on the Rocks", in:folder/, type:pdf, '
    'title:word, after:2024-01, before:2025-06-30, "an exact phrase", -word.'
)


class PassagePane(VerticalScroll):
    """Scrollable view of one hit. Focusable, so long passages can be read by keyboard.

    Content is always a rich Text built from plain strings with explicit spans: passage
    text is data, never markup.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "passage-pane--citation", "passage-pane--answer", "passage-pane--term",
        "passage-pane--meta",
    }

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.hit: Hit | None = None
        self.question = ""
        self._lead = ""  # the pane's text before the answering sentence

    def compose(self) -> ComposeResult:
        yield Static(Text(WELCOME), id="passage-body", markup=False)

    @property
    def body(self) -> Static:
        return self.query_one("#passage-body", Static)

    def show_hit(self, hit: Hit, question: str, total: int, weak: bool) -> None:
        """Show `hit` for `question`; `weak` when the corpus gave no confident answer.

        The passage comes first and the citation last: at 80x24 the pane has about eight
        lines, and the answering sentence matters more than the reference. The pane also
        scrolls so that the answering sentence is in view.
        """
        self.hit, self.question = hit, question
        p = hit.passage
        style = self.get_component_rich_style
        meta = f"Result {hit.rank} of {total} · score {hit.score:.3f} · {place(p)}"
        if weak:
            meta += " · weak: not a confident answer"
        text = Text()
        text.append(meta + "\n", style=style("passage-pane--meta"))
        answer_at = len(text.plain) + hit.answer_start - p.start
        text.append_text(styled_span(
            p.text, p.start,
            [(hit.answer_start, hit.answer_end, style("passage-pane--answer"))],
            question_terms(question), style("passage-pane--term"),
        ))
        text.append("\n\nCitation (ctrl+y copies it): ", style=style("passage-pane--meta"))
        text.append(visible_line(citation(p)), style=style("passage-pane--citation"))
        if p.author:
            text.append(f" — by {visible_line(p.author)}", style=style("passage-pane--meta"))
        if hit.also_published:
            text.append("\nA" + visible_line(also_published_line(hit))[1:],
                        style=style("passage-pane--meta"))
        self.body.update(text)
        self.border_title = f"Passage {hit.rank}/{total}"
        self.border_subtitle = "ctrl+y copy citation · enter open document"
        self.scroll_home(animate=False)
        self._lead = text.plain[:answer_at]
        self.call_after_refresh(self._scroll_to_answer)

    def _scroll_to_answer(self) -> None:
        """Bring the answering sentence into view if it starts below the visible lines."""
        width = self.body.content_region.width
        height = self.scrollable_content_region.height
        if self.hit is None or not self._lead or width <= 0 or height <= 0:
            return
        line = len(Content(self._lead).wrap(width)) - 1
        if line >= height - 1:
            self.scroll_to(y=max(line - 1, 0), animate=False)

    def show_message(self, message: str) -> None:
        """No hit to show: explain instead (literal text)."""
        self.hit = None
        self._lead = ""
        self.body.update(Text(message))
        self.border_title = "Passage"
        self.border_subtitle = ""
        self.scroll_home(animate=False)
