"""Republished copies in results: the earliest copy ranks, the others are named with it.

Groups of copies come from the index (`qa.index.copies`, found at index time). Among
the copies that reach the results, the earliest keeps its passages: the one published
first, undated ones after dated ones, then by file name. The passages of the others
give way to it, and every copy of a shown document is listed as "also published by",
so none is dropped silently; `--all-copies` shows them as results of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from qa.index.catalog import earliest_first

if TYPE_CHECKING:
    from qa.index.records import DocumentFields, Passage
    from qa.index.store import Store


def folded_documents(passages: Iterable[Passage], groups: list[frozenset[int]]) -> set[int]:
    """Documents whose passages give way to an earlier copy among the same passages."""
    present: dict[int, Passage] = {}
    for p in passages:
        present.setdefault(p.doc_id, p)
    folded: set[int] = set()
    for group in groups:
        here = [present[d] for d in group if d in present]
        if len(here) > 1:
            keep = min(here, key=earliest_first).doc_id
            folded.update(p.doc_id for p in here if p.doc_id != keep)
    return folded


def copies_of(store: Store, doc_ids: set[int],
              groups: list[frozenset[int]]) -> dict[int, tuple[DocumentFields, ...]]:
    """For each of `doc_ids` that has copies: the other documents of its group,
    earliest first."""
    wanted = [g for g in groups if g & doc_ids]
    if not wanted:
        return {}
    fields = {d.id: d for d in store.document_fields(set().union(*wanted))}
    out = {}
    for group in wanted:
        for doc in group & doc_ids:
            others = [fields[d] for d in group if d != doc and d in fields]
            out[doc] = tuple(sorted(others, key=earliest_first))
    return out
