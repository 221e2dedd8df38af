"""Styled but literal text: a passage with its answering sentence and question words.

Everything here builds `rich.text.Text` from plain strings plus explicit spans, never
markup, so a document that contains `[bold red]x[/]` or `[@click=app.quit]x[/]` is shown
exactly as written and cannot trigger styles, links or actions. Control characters (an
ESC sequence in a saved page) are shown as visible pictures of the same length
(`qa.output.safe_text`), so they cannot drive the terminal and every span still lands
on the same characters.
"""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

from qa.output.safe_text import visible_line, visible_text

_WORD = re.compile(r"\w+", re.UNICODE)
_SUFFIXES = ("ing", "ed", "es", "s", "ly")

# Words too common to be worth marking: marking every "the" hides the useful marks.
_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves""".split()  # noqa: SIM905 - reads as words
)


def stem(word: str) -> str:
    """A crude, predictable stem, so "mediators" marks "mediator" and "rejected" "reject".

    Deliberately simpler than the index's Porter stemmer: it only decides what to mark
    for the eye, and a stemmer that over-reaches would mark unrelated words.
    """
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def question_terms(question: str) -> frozenset[str]:
    """The stems of the question's content words (stopwords and 1-letter words dropped)."""
    return frozenset(
        stem(w) for w in _WORD.findall(question) if len(w) > 1 and w.lower() not in _STOPWORDS
    )


def mark_terms(text: Text, terms: frozenset[str], style: Style | str) -> None:
    """Stylize every word of `text` whose stem is one of `terms`."""
    if not terms:
        return
    for match in _WORD.finditer(text.plain):
        if stem(match.group()) in terms:
            text.stylize(style, match.start(), match.end())


def styled_span(
    plain: str,
    offset: int,
    spans: list[tuple[int, int, Style | str]],
    terms: frozenset[str],
    term_style: Style | str,
) -> Text:
    """`plain` (which starts at document offset `offset`) with document-offset spans styled.

    Spans are clipped to the text, so a span that starts before or ends after this slice
    (a passage cut across widgets) still styles the part that is here.
    """
    text = Text(visible_text(plain))
    for start, end, style in spans:
        a, b = max(start - offset, 0), min(end - offset, len(plain))
        if a < b:
            text.stylize(style, a, b)
    mark_terms(text, terms, term_style)
    return text


def first_line(text: str) -> str:
    """The first non-blank line, whitespace-collapsed, for one-row previews."""
    for line in text.splitlines():
        if line.strip():
            return visible_line(" ".join(line.split()))
    return ""
