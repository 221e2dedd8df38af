"""Acronyms the corpus defines itself: "confidence-building measures (CBMs)".

A question that says "CBMs" should also meet passages that say "confidence-building
measures", and the other way round. No list of acronyms is kept: each document's own
definitions are found when it is indexed, with Schwartz and Hearst's rule (2003): a
short form in parentheses, 2 to 10 characters with a capital letter, whose characters
occur in order in the words just before it, its first character starting the first of
those words. The table lives in the store (`acronyms`, one row per document and
definition), so removing or changing a document drops its definitions with it.

At query time (`AcronymTable.expansion`), the question's short forms bring their long
form's index terms, and long forms it spells out bring their short form's, to the
lexical side only. A short form defined differently in different documents takes the
long form most documents give it. The expansion is behind `settings.ACRONYM_EXPANSION`,
off: measured by bench/acronyms.py, it lowered BM25 alone on SciFact
(docs/retrieval.md, "Acronyms the corpus defines").
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# Bump to have the next update rebuild every document's rows (`AcronymTable.refresh`).
VERSION = "1"
VERSION_KEY = "acronyms_version"  # meta

_DEFINITION = re.compile(r"\(\s*([^\s()]{2,10})\s*\)")
_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
# A long form ends at the start of its sentence or clause: words are taken back to the
# nearest of these, never across them.
_BREAK = re.compile(r"[.;:!?()\[\]]\s")
_SHORT_TOKEN = re.compile(r"[^\W_](?:[\w./-]*[^\W_])?")

# The lexical analyser's terms of a text, in text order (`qa.index.lexical.term_sequence`).
TermSequence = Callable[[str], list[str]]


def _key(short: str) -> str:
    """A short form as looked up: a plural "s" after a capital dropped (CBMs, CBM)."""
    if len(short) > 2 and short.endswith("s") and short[-2].isupper():
        return short[:-1]
    return short


def _is_short_form(candidate: str) -> bool:
    letters = [c for c in candidate if c.isalpha()]
    return (candidate[0].isalnum() and len(letters) >= 2
            and sum(c.isupper() for c in letters) >= 2)


def _long_form(short: str, before: str) -> str | None:
    """Schwartz and Hearst's long form of `short` in the text `before` it, or None."""
    words = list(_WORD.finditer(before))
    limit = min(len(short) + 5, 2 * len(short))
    words = words[-limit:]
    if len(words) < 2:
        return None
    text = before[words[0].start():].lower()
    s = [c for c in short.lower() if c.isalnum()]
    si, li = len(s) - 1, len(text) - 1
    while si >= 0:
        c = s[si]
        # The first character must start a word; the others may sit anywhere.
        while li >= 0 and (text[li] != c or (si == 0 and li > 0 and text[li - 1].isalnum())):
            li -= 1
        if li < 0:
            return None
        si -= 1
        li -= 1
    start = li + 1
    long = before[words[0].start() + start:].strip()
    found = _WORD.findall(long)
    if len(found) < 2 or len(long) <= len(short) or short.lower() in long.lower().split():
        return None
    return " ".join(long.split())


def definitions(text: str) -> Counter[tuple[str, str]]:
    """(short form, long form) pairs a text defines, with how often it does."""
    found: Counter[tuple[str, str]] = Counter()
    for m in _DEFINITION.finditer(text):
        short = m.group(1).strip(".,")
        if not _is_short_form(short):
            continue
        window = text[max(0, m.start() - 300) : m.start()]
        cut = list(_BREAK.finditer(window))
        if cut:
            window = window[cut[-1].end():]
        long = _long_form(short, window)
        if long is not None:
            found[(_key(short), long)] += 1
    return found


@dataclass(frozen=True)
class Expansion:
    """The lookup built from the table: short form to long form's terms, and each long
    form's term sequence (by its first term) to its short form's terms."""

    longs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    by_first: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = field(
        default_factory=dict)

    def groups(self, question: str, analyse: TermSequence) -> list[tuple[str, ...]]:
        """The index terms the question's acronyms and long forms add, a group for each:
        a short form in the question (as written, capitals and all) brings its long
        form's terms (one group: they share one word's weight), a long form spelled out
        brings its short form, as each form a passage may write it ("CBM", "CBMs") in a
        group of its own. Terms the question has, or an earlier group added, are left
        out."""
        sequence = analyse(question)
        found: list[tuple[str, ...]] = []
        for token in _SHORT_TOKEN.findall(question):
            if _key(token) in self.longs:
                found.append(self.longs[_key(token)])
        for i, term in enumerate(sequence):
            for long, forms in self.by_first.get(term, ()):
                if tuple(sequence[i : i + len(long)]) == long:
                    found.extend((form,) for form in forms)
        have = set(sequence)
        out: list[tuple[str, ...]] = []
        for group in found:
            new = tuple(t for t in dict.fromkeys(group) if t not in have)
            have.update(new)
            if new:
                out.append(new)
        return out


class AcronymTable:
    """The `acronyms` table of a store's connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def add(self, doc_id: int, text: str) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO acronyms(doc_id, short, long, n) VALUES (?,?,?,?)",
            [(doc_id, s, lf, n) for (s, lf), n in definitions(text).items()])

    def refresh(self, documents: Iterable[tuple[int, str]]) -> None:
        """Rebuild every row from the stored documents, if they were made by another
        version of the rule (or before the table existed); the caller holds a
        transaction and passes (id, text) of every document, read lazily."""
        self.db.execute("DELETE FROM acronyms")
        for doc_id, text in documents:
            self.add(doc_id, text)
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                        (VERSION_KEY, VERSION))

    def current(self) -> bool:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
        return row is not None and row[0] == VERSION

    def rows(self) -> list[tuple[str, str, int]]:
        """(short form, long form, documents defining it so). Empty for an index made
        before the table existed."""
        try:
            return self.db.execute(
                "SELECT short, long, COUNT(*) FROM acronyms GROUP BY short, long").fetchall()
        except sqlite3.OperationalError:
            return []

    def expansion(self, analyse: TermSequence) -> Expansion:
        """The lookup of `Expansion.groups`. Long forms are compared by their index
        terms ("stem cells" and "stem cell" are one), and a short form gets the one most
        documents give it (ties: the first in sorted order)."""
        votes: Counter[tuple[str, tuple[str, ...]]] = Counter()
        for short, long, n in self.rows():
            long_terms = tuple(analyse(long))
            if len(long_terms) >= 2:
                votes[(short, long_terms)] += n
        best: dict[str, tuple[str, ...]] = {}
        for (short, long_terms), _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
            best.setdefault(short, long_terms)
        by_first: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for short, long_terms in best.items():
            # The index terms a passage may write it as: "CBM" and "CBMs" (the stemmer
            # leaves an "s" after a consonant), each a group of its own.
            forms = tuple(dict.fromkeys(t for form in (short, short + "s")
                                        for t in analyse(form)))
            if forms:
                by_first.setdefault(long_terms[0], []).append((long_terms, forms))
        return Expansion(best, by_first)
