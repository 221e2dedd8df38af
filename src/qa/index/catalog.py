"""What the index holds by source and by folder: the values filters can take.

`qa sources` prints it, and the TUI offers its names to complete `source:` and `in:`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.index.records import DocumentFields, Passage
    from qa.index.store import Store


@dataclass(frozen=True)
class Group:
    """Documents sharing a source (or lying under a folder), with their date range."""

    name: str  # "" for documents without a source, or at the corpus top level
    documents: int
    first: str | None  # earliest `published` among the dated ones
    last: str | None
    undated: int


@dataclass(frozen=True)
class Catalog:
    sources: list[Group]
    folders: list[Group]  # every folder, nested ones too, as "a/b"


def dated(published: str | None) -> bool:
    """Whether `published` starts with an ISO date (YYYY, YYYY-MM or YYYY-MM-DD): the
    dates that date filters and date ranges can compare."""
    if not published:
        return False
    return published[:4].isdigit() and (len(published) == 4 or published[4] == "-")


def earliest_first(doc: DocumentFields | Passage) -> tuple[bool, str, str]:
    """Sort key of republished copies: dated before undated, earlier before later,
    then by path (file names often start with the date)."""
    published = doc.published if dated(doc.published) else None
    return (published is None, published or "", doc.path)


def catalog(store: Store) -> Catalog:
    docs = store.document_fields()
    return Catalog(
        sources=_groups(docs, lambda d: [d.source or ""]),
        folders=_groups(docs, _folders),
    )


def _folders(doc: DocumentFields) -> list[str]:
    """Every folder a document lies under ("" for the top level)."""
    parents = PurePosixPath(doc.path).parents
    return [str(p) if str(p) != "." else "" for p in parents]


def _groups(docs: Iterable[DocumentFields],
            names: Callable[[DocumentFields], list[str]]) -> list[Group]:
    members: dict[str, list[DocumentFields]] = {}
    for doc in docs:
        for name in names(doc):
            members.setdefault(name, []).append(doc)
    out = []
    for name in sorted(members, key=lambda n: (n == "", n.casefold())):
        dates = sorted(d.published for d in members[name] if dated(d.published))
        out.append(Group(name, len(members[name]), dates[0] if dates else None,
                         dates[-1] if dates else None, len(members[name]) - len(dates)))
    return out
