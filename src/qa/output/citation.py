"""The citation of a passage: what a reader needs to find and check a quote.

Light on purpose (no numpy, FAISS or SQLite): the TUI imports it at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.index.records import Passage


def citation(p: Passage) -> str:
    """`Title`, source, date, paragraph or page, then the file and character span."""
    parts = [f"\u201c{p.title}\u201d"]
    if p.source:
        parts.append(p.source)
    if p.published:
        parts.append(p.published)
    parts.append(f"page {p.page}" if p.page else f"paragraph {p.paragraph}")
    return ", ".join(parts) + f" [{p.path}, chars {p.start}-{p.end}]"
