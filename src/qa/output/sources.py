"""`qa sources`: the sources and folders of the index, with counts and date ranges."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.index.catalog import Catalog, Group


def catalog_text(found: Catalog) -> str:
    lines = ["Sources (filter with source:\"...\")"]
    lines += [_row(g, g.name or "(no source)") for g in found.sources]
    lines += ["", "Folders (filter with in:folder/)"]
    lines += [_row(g, f"{g.name}/" if g.name else "(all documents)")
              for g in found.folders]
    return "\n".join(lines)


def catalog_json(found: Catalog) -> dict[str, Any]:
    return {"sources": [asdict(g) for g in found.sources],
            "folders": [asdict(g) for g in found.folders]}


def _row(group: Group, label: str) -> str:
    noun = "document" if group.documents == 1 else "documents"
    dates = "undated"
    if group.first:
        dates = group.first if group.first == group.last else f"{group.first} to {group.last}"
        if group.undated:
            dates += f", {group.undated} undated"
    return f"  {group.documents:>4} {noun:<9}  {dates:<32}  {label}"
