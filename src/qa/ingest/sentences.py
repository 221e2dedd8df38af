"""Paragraph and sentence spans, as character offsets into a document's text.

Offsets, not strings: every passage and every marked sentence must be a verbatim slice
of the indexed text, so citations can be checked. Paragraphs are runs of non-blank
lines; sentences come from blingfire (a compiled, well-tested segmenter, ~1 ms per
article) applied inside each paragraph so a sentence never spans two paragraphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import blingfire

_PARAGRAPH = re.compile(r"[^\n]+(?:\n[ \t]*[^\s][^\n]*)*")


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) and the 1-based paragraph it lies in."""

    start: int
    end: int
    paragraph: int


def paragraph_spans(text: str) -> list[Span]:
    """Spans of paragraphs: maximal runs of lines with no blank line between them."""
    spans = []
    for match in _PARAGRAPH.finditer(text):
        start, end = _strip(text, match.start(), match.end())
        if start < end:
            spans.append(Span(start, end, len(spans) + 1))
    return spans


def sentence_spans(text: str) -> list[Span]:
    """Spans of sentences, each inside one paragraph, in document order."""
    spans = []
    for para in paragraph_spans(text):
        chunk = text[para.start : para.end]
        _, offsets = blingfire.text_to_sentences_and_offsets(chunk)
        for start, end in offsets:
            s, e = _strip(text, para.start + start, para.start + end)
            if s < e:
                spans.append(Span(s, e, para.paragraph))
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) so it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
