"""A Filter resolved against the index: the one set of chunk ids both retrieval sides use.

This is the seam between what the user asked for (`qa.search.query_syntax.Filter`) and
the engines: the dense side (FAISS, through an ID selector) and the lexical side
(tantivy, through a chunk-id restriction) both receive `Scope.chunk_ids`, and nothing else about the
filter. Replacing either engine means honouring `within=` there, not re-reading filters.

Document fields (source, title, folder, type, date) are checked in Python over the
documents table: one row per document, so this stays cheap at the scale a folder of
documents reaches. Phrases and excluded words are checked on passage text: the lexical
index proposes the passages that may hold the words, and the exact normalised text
decides (`qa.textnorm`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from qa.index.catalog import dated
from qa.search.query_syntax import Filter, next_period
from qa.textnorm import contains_phrase, normalise

if TYPE_CHECKING:
    from qa.index.lexical import LexicalIndex
    from qa.index.records import DocumentFields
    from qa.index.store import Store

# File types that more than one suffix spells.
_SUFFIXES = {"md": ("md", "markdown"), "markdown": ("md", "markdown"),
             "html": ("html", "htm"), "htm": ("html", "htm")}


@dataclass(frozen=True)
class Scope:
    """What a filter leaves of the index. `undated_excluded`: documents that matched
    every other filter but were left out because a date filter needs a date they lack."""

    filter: Filter
    chunk_ids: np.ndarray  # sorted int64; both retrieval sides search only these
    documents: int
    undated_excluded: int

    @property
    def passages(self) -> int:
        return len(self.chunk_ids)


def resolve(store: Store, lexical: LexicalIndex, filt: Filter) -> Scope:
    """The chunks that `filt` allows, and how many documents they come from."""
    undated = 0
    doc_ids: list[int] | None = None
    if filt.restricts_documents:
        doc_ids = []
        for doc in store.document_fields():
            if not _fields_match(doc, filt):
                continue
            if (filt.after or filt.before) and not dated(doc.published):
                undated += 1
            elif _date_matches(doc.published, filt):
                doc_ids.append(doc.id)
    chunk_ids = store.chunk_ids(doc_ids)
    if filt.phrases or filt.excluded:
        chunk_ids = _text_matches(store, lexical, chunk_ids, filt)
    return Scope(filt, chunk_ids, store.documents_of(chunk_ids), undated)


def _fields_match(doc: DocumentFields, filt: Filter) -> bool:
    """Source, title, folder and type: each key that is set must match one of its values."""
    if filt.sources and not _contains_any(doc.source, filt.sources):
        return False
    if filt.titles and not _contains_any(doc.title, filt.titles):
        return False
    if filt.folders and not any(doc.path.startswith(f + "/") for f in filt.folders):
        return False
    if filt.types:
        suffix = PurePosixPath(doc.path).suffix.lower().lstrip(".")
        if not any(suffix in _SUFFIXES.get(t, (t,)) for t in filt.types):
            return False
    return True


def _contains_any(field: str | None, values: tuple[str, ...]) -> bool:
    text = normalise(field or "")
    return any(normalise(v) in text for v in values)


def _date_matches(published: str | None, filt: Filter) -> bool:
    """Inclusive periods: after:2024-01 keeps January 2024 on; before:2025 keeps 2025."""
    if not (filt.after or filt.before):
        return True
    assert published is not None
    if filt.after and published < filt.after:
        return False
    return not (filt.before and published >= next_period(filt.before))


def _text_matches(store: Store, lexical: LexicalIndex, chunk_ids: np.ndarray,
                  filt: Filter) -> np.ndarray:
    """Keep chunks holding every phrase and none of the excluded words or phrases.

    Only passages the lexical index proposes are read: those that may hold each
    phrase, and, of the rest, those that may hold an excluded word.
    """
    allowed = set(chunk_ids.tolist())
    for phrase in filt.phrases:
        allowed &= lexical.phrase_candidates(phrase)
    suspects = allowed & set().union(
        *(lexical.phrase_candidates(w) for w in filt.excluded))
    to_read = allowed if filt.phrases else suspects
    texts = {cid: normalise(p.text) for cid, p in store.passages(sorted(to_read)).items()}

    def passes(cid: int) -> bool:
        text = texts.get(cid)
        if text is None:  # not read: holds no excluded word (or, with phrases, vanished)
            return not filt.phrases
        return all(contains_phrase(text, p) for p in filt.phrases) and not any(
            contains_phrase(text, w) for w in filt.excluded)

    return np.array(sorted(c for c in allowed if passes(c)), dtype=np.int64)
