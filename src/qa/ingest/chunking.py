"""Cut a document's text into passages that fit the embedding model.

Passages are packed from whole sentences up to a budget of tiktoken tokens, and overlap
by whole sentences when a cut falls inside a paragraph (so an answer that straddles a
cut is still whole in one passage). How passages meet paragraph breaks is the
`paragraphs` setting (PARAGRAPH_MODES):
- "straddle": a passage runs on into the next paragraph, and is cut at a break only once
  it is half full;
- "aligned": a passage never crosses a break: each paragraph is its own passage, or
  several when it is longer than the budget;
- "packed": as "aligned", but whole short paragraphs that follow each other share a
  passage while together they fit the budget.
A passage that straddles a break mixes two topics into one vector and one BM25 text;
one that stops at it may lose the sentence that sets an answer up. `bench/chunking.py`
measures the modes on every evaluation set (docs/chunking-run.txt).
The token budget is a proxy; the real limit is the model's 256 wordpieces, so every
passage is also checked with `fits` and shrunk until it passes: a silently truncated
passage would be a quality bug.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.ingest.sentences import Span, sentence_spans


@dataclass(frozen=True)
class Chunk:
    """A passage: a verbatim slice text[start:end] of its document."""

    start: int
    end: int
    paragraph: int
    text: str


@dataclass(frozen=True)
class ChunkerSettings:
    """Recorded in the index manifest: a change means the index must be rebuilt."""

    max_tokens: int
    overlap_tokens: int
    encoding: str
    paragraphs: str = "straddle"  # one of PARAGRAPH_MODES


PARAGRAPH_MODES = ("straddle", "aligned", "packed")


def chunk_text(
    text: str,
    settings: ChunkerSettings,
    count_tokens: Callable[[str], int],
    fits: Callable[[str], bool],
    breaks: Sequence[int] = (),
) -> list[Chunk]:
    """Split `text` into overlapping passages, each a verbatim slice that `fits`.

    `breaks` are offsets no passage may straddle (page starts in a PDF), so that a
    passage's page citation is exact.
    """
    if settings.paragraphs not in PARAGRAPH_MODES:
        raise ValueError(f"paragraphs: {settings.paragraphs!r} is not one of {PARAGRAPH_MODES}")
    units = _units(text, settings.max_tokens, count_tokens, fits)
    sizes = [count_tokens(text[u.start : u.end]) for u in units]
    section = [bisect_right(breaks, u.start) for u in units]
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last = first
        total = sizes[first]
        while last + 1 < len(units):
            nxt = units[last + 1]
            if total + sizes[last + 1] > settings.max_tokens or section[last + 1] != section[last]:
                break
            if nxt.paragraph != units[last].paragraph and not _crosses(
                    text, units, sizes, first, last, total, settings, fits):
                break
            if not fits(text[units[first].start : nxt.end]):
                break
            last += 1
            total += sizes[last]
        chunks.append(_chunk(text, units[first], units[last]))
        if last + 1 >= len(units):
            break
        first = _next_first(units, sizes, first, last, settings.overlap_tokens)
    return chunks


def _crosses(text: str, units: list[Span], sizes: list[int], first: int, last: int,
             total: int, settings: ChunkerSettings, fits: Callable[[str], bool]) -> bool:
    """Whether the passage units[first..last] may go on into the next paragraph."""
    if settings.paragraphs == "straddle":
        return total < settings.max_tokens // 2
    if settings.paragraphs == "aligned":
        return False
    # packed: only a passage of whole paragraphs takes the whole next one, if it fits
    if first > 0 and units[first - 1].paragraph == units[first].paragraph:
        return False
    end = last + 1
    while end + 1 < len(units) and units[end + 1].paragraph == units[last + 1].paragraph:
        end += 1
    return (total + sum(sizes[last + 1 : end + 1]) <= settings.max_tokens
            and fits(text[units[first].start : units[end].end]))


def _next_first(units: list[Span], sizes: list[int], first: int, last: int, overlap: int) -> int:
    """Where the next passage starts: back up over trailing sentences of the same
    paragraph as the next unit, within the overlap budget, always moving forward."""
    nxt = last + 1
    if units[nxt].paragraph != units[last].paragraph:
        return nxt
    start = nxt
    carried = 0
    while start - 1 > first and units[start - 1].paragraph == units[nxt].paragraph:
        carried += sizes[start - 1]
        if carried > overlap:
            break
        start -= 1
    return start


def _chunk(text: str, first: Span, last: Span) -> Chunk:
    return Chunk(first.start, last.end, first.paragraph, text[first.start : last.end])


def _units(
    text: str, max_tokens: int, count_tokens: Callable[[str], int], fits: Callable[[str], bool]
) -> list[Span]:
    """Sentences, with any sentence too long for one passage split into word runs."""
    units: list[Span] = []
    for sent in sentence_spans(text):
        piece = text[sent.start : sent.end]
        if count_tokens(piece) <= max_tokens and fits(piece):
            units.append(sent)
        else:
            units.extend(_split_long(text, sent, max_tokens, count_tokens, fits))
    return units


def _split_long(
    text: str, sent: Span, max_tokens: int, count_tokens: Callable[[str], int],
    fits: Callable[[str], bool],
) -> list[Span]:
    """Cut an over-long sentence at whitespace into runs that fit, greedily."""
    words: list[tuple[int, int]] = []
    pos = sent.start
    while pos < sent.end:
        while pos < sent.end and text[pos].isspace():
            pos += 1
        end = pos
        while end < sent.end and not text[end].isspace():
            end += 1
        if end > pos:
            words.append((pos, end))
        pos = end
    pieces: list[Span] = []
    begin = 0
    while begin < len(words):
        stop = begin + 1
        while stop < len(words):
            candidate = text[words[begin][0] : words[stop][1]]
            if count_tokens(candidate) > max_tokens or not fits(candidate):
                break
            stop += 1
        pieces.append(Span(words[begin][0], words[stop - 1][1], sent.paragraph))
        begin = stop
    return pieces
