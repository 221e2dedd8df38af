"""The question as typed: words to rank by, plus filters that decide what may be returned.

Syntax (one token per filter; keys are case-insensitive; same key twice means either,
different keys mean both):

    source:"War on the Rocks"   the document's source contains this text
    title:peace                 the document's title contains this text
    in:reports/2024/            the document lies in this corpus folder
    type:pdf                    the file type (md, txt, html, pdf, ...)
    after:2024-01               published in this period or later (YYYY, YYYY-MM, YYYY-MM-DD)
    before:2025-06-30           published in this period or earlier
    "an exact phrase"           the passage contains these words, in this order
    -word  -"a phrase"          the passage does not contain this word or phrase

Text comparisons ignore case, accents aside from NFKC folding, curly quotes and runs of
whitespace (`qa.textnorm`). A quoted phrase also counts as words to rank by. Anything
else, including unknown `key:value` tokens, is question text, so ordinary questions
with colons or hyphens ("Armenia-Azerbaijan", "ratio 3:1") mean what they say.

A small hand-written tokenizer rather than shlex: shlex reads the apostrophe in
"What's" as an opening quote, and loses whether a value was quoted (a quoted word is
a phrase filter, a bare one is a word to rank by).

A little over 250 lines: the whole grammar (its tokens, each filter key, the error
messages that name the bad part) is kept together, so it reads as one specification.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from qa.errors import QaUsageError

KEYS = ("source", "title", "in", "type", "after", "before")
_KEY = re.compile(r"(source|title|in|type|after|before):", re.IGNORECASE)
_PERIOD = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
_QUOTES = {'"': '"', "\u201c": "\u201d"}  # opening quote -> its closing quote


class QuerySyntaxError(QaUsageError):
    """A question whose filter syntax cannot be read: a usage error (exit 2)."""


def next_period(period: str) -> str:
    """The period right after `period`, at the same precision: 2025 -> 2026,
    2025-12 -> 2026-01, 2025-06-30 -> 2025-07-01. ISO strings compare as dates, so
    "published before the end of P" is `published < next_period(P)`."""
    parts = [int(p) for p in period.split("-")]
    if len(parts) == 1:
        return f"{parts[0] + 1:04d}"
    if len(parts) == 2:
        year, month = divmod(parts[0] * 12 + parts[1], 12)  # parts[1] is 1-based
        return f"{year:04d}-{month + 1:02d}"
    return (dt.date(*parts) + dt.timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class Filter:
    """What a search may return. Empty (falsy) when nothing is restricted."""

    sources: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    after: str | None = None  # a period, inclusive: YYYY, YYYY-MM or YYYY-MM-DD
    before: str | None = None  # a period, inclusive
    phrases: tuple[str, ...] = ()  # must appear in the passage
    excluded: tuple[str, ...] = ()  # words or phrases that must not appear

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    @property
    def restricts_documents(self) -> bool:
        """Whether document fields (source, title, folder, type, date) are restricted."""
        return bool(self.sources or self.titles or self.folders or self.types
                    or self.after or self.before)

    def combined(self, other: Filter | None) -> Filter:
        """Both filters at once: values of one key add up (either may match), dates
        narrow to the later `after` and the earlier `before`."""
        if not other:
            return self
        merged = replace(
            self,
            sources=self.sources + other.sources, titles=self.titles + other.titles,
            folders=self.folders + other.folders, types=self.types + other.types,
            phrases=self.phrases + other.phrases, excluded=self.excluded + other.excluded,
            after=max(filter(None, (self.after, other.after)), default=None),
            before=min(filter(None, (self.before, other.before)), key=next_period,
                       default=None),
        )
        _check_dates(merged)
        return merged

    def terms(self) -> list[str]:
        """The filter in the query syntax, one token each: how it is echoed back."""
        out = [f"source:{_quoted(v)}" for v in self.sources]
        out += [f"title:{_quoted(v)}" for v in self.titles]
        out += [f"in:{_quoted(v + '/')}" for v in self.folders]
        out += [f"type:{v}" for v in self.types]
        out += [f"after:{self.after}"] if self.after else []
        out += [f"before:{self.before}"] if self.before else []
        out += [f'"{v}"' for v in self.phrases]
        out += [f"-{_quoted(v)}" for v in self.excluded]
        return out

    def as_json(self) -> dict[str, Any]:
        return {"source": list(self.sources), "title": list(self.titles),
                "in": list(self.folders), "type": list(self.types), "after": self.after,
                "before": self.before, "phrases": list(self.phrases),
                "excluded": list(self.excluded)}


@dataclass(frozen=True)
class Query:
    """A parsed question: `text` is what retrieval ranks by, `filter` what it may return."""

    text: str
    filter: Filter


@dataclass(frozen=True)
class _Token:
    negated: bool
    key: str | None
    value: str
    quoted: bool
    raw: str


def parse_query(question: str) -> Query:
    """Split a question into its text and its filters; QuerySyntaxError if malformed."""
    words: list[str] = []
    values: dict[str, list[str]] = {k: [] for k in (*KEYS, "phrases", "excluded")}
    for token in _tokens(question):
        if token.key is not None:
            if token.negated:
                raise QuerySyntaxError(f"{token.raw}: filters cannot be negated;"
                                       ' only words and phrases can (-word, -"a phrase")')
            values[token.key].append(_filter_value(token.key, token.value, token.raw))
        elif token.negated:
            values["excluded"].append(_phrase(token.value, token.raw))
        elif token.quoted:
            values["phrases"].append(_phrase(token.value, token.raw))
            words.append(token.value.strip())
        else:
            words.append(token.value)
    filt = Filter(
        sources=tuple(values["source"]), titles=tuple(values["title"]),
        folders=tuple(values["in"]), types=tuple(values["type"]),
        after=_one_date(values["after"], "after"), before=_one_date(values["before"], "before"),
        phrases=tuple(values["phrases"]), excluded=tuple(values["excluded"]),
    )
    _check_dates(filt)
    return Query(" ".join(words), filt)


def option_filter(
    *, sources: tuple[str, ...] = (), titles: tuple[str, ...] = (),
    folders: tuple[str, ...] = (), types: tuple[str, ...] = (), after: str | None = None,
    before: str | None = None, phrases: tuple[str, ...] = (), excluded: tuple[str, ...] = (),
) -> Filter:
    """A Filter from command-line options (`--source X`), checked like inline filters."""

    def clean(key: str, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_filter_value(key, v, f"--{key} {v}") for v in values)

    filt = Filter(
        sources=clean("source", sources), titles=clean("title", titles),
        folders=clean("in", folders), types=clean("type", types),
        after=_filter_value("after", after, f"--after {after}") if after else None,
        before=_filter_value("before", before, f"--before {before}") if before else None,
        phrases=tuple(_phrase(p, f"--phrase {p}") for p in phrases),
        excluded=tuple(_phrase(w, f"--exclude {w}") for w in excluded),
    )
    _check_dates(filt)
    return filt


def _tokens(question: str) -> list[_Token]:
    """Whitespace-separated tokens; a double-quoted value may hold spaces."""
    tokens: list[_Token] = []
    i, n = 0, len(question)
    while i < n:
        if question[i].isspace():
            i += 1
            continue
        start = i
        negated = question[i] == "-" and i + 1 < n and (
            question[i + 1].isalnum() or question[i + 1] in _QUOTES
            or _KEY.match(question, i + 1) is not None)
        i += negated
        key_match = _KEY.match(question, i)
        key = key_match.group(1).lower() if key_match else None
        if key_match:
            i = key_match.end()
        if i < n and question[i] in _QUOTES:
            close = question.find(_QUOTES[question[i]], i + 1)
            if close < 0:
                raise QuerySyntaxError(f"{question[start:]}: the quote is never closed;"
                                       ' close it, e.g. "an exact phrase"')
            value, quoted, i = question[i + 1 : close], True, close + 1
            while i < n and not question[i].isspace():  # "a phrase"? or "a phrase",
                if question[i].isalnum():
                    raise QuerySyntaxError(f"{question[start:].split()[0]}: a word right"
                                           " after a closing quote; put a space after it")
                i += 1
        else:
            end = i
            while end < n and not question[end].isspace():
                end += 1
            value, quoted, i = question[i:end], False, end
        tokens.append(_Token(negated, key, value, quoted, question[start:i]))
    return tokens


def _phrase(value: str, raw: str) -> str:
    value = value.strip()
    if not any(c.isalnum() for c in value):
        raise QuerySyntaxError(f"{raw}: no words to match; put words between the quotes")
    return value


def _filter_value(key: str, value: str, raw: str) -> str:
    """A filter's value, checked and in canonical form (dates checked, types lowercase
    without the dot, folders without surrounding slashes)."""
    value = value.strip()
    if not value:
        raise QuerySyntaxError(f"{key}: needs a value, e.g. {_EXAMPLES[key]}")
    if key in ("after", "before"):
        return _period(value, raw)
    if key == "type":
        return value.lower().lstrip(".")
    if key == "in":
        return value.removeprefix("./").strip("/")
    return value


_EXAMPLES = {"source": 'source:"War on the Rocks"', "title": "title:peace",
             "in": "in:reports/", "type": "type:pdf", "after": "after:2024-01",
             "before": "before:2025-06-30"}


def _period(value: str, raw: str) -> str:
    """A date or partial date (YYYY, YYYY-MM, YYYY-MM-DD), checked to exist."""
    ok = _PERIOD.fullmatch(value) is not None
    if ok:
        parts = [int(p) for p in value.split("-")]
        try:
            dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
        except ValueError:
            ok = False
    if not ok:
        raise QuerySyntaxError(f"{raw}: not a date; use YYYY, YYYY-MM or YYYY-MM-DD,"
                               " e.g. after:2024-01")
    return value


def _one_date(values: list[str], key: str) -> str | None:
    """Several `after:` (or `before:`) narrow to the strictest one."""
    if not values:
        return None
    if key == "after":
        return max(values)
    return min(values, key=next_period)


def _check_dates(filt: Filter) -> None:
    if filt.after and filt.before and filt.after >= next_period(filt.before):
        raise QuerySyntaxError(f"after:{filt.after} before:{filt.before}: no date is both;"
                               " swap them or drop one")


def _quoted(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) or not value else value
