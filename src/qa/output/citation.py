"""The citation of a passage: what a reader needs to find and check a quote.

Light on purpose (no numpy, FAISS or SQLite): the TUI imports it at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.index.records import Passage


def citation(p: Passage) -> str:
    """`Title`, source, date, place (page, chapter or paragraph), then the file and
    character span."""
    parts = [f"\u201c{p.title}\u201d"]
    if p.source:
        parts.append(p.source)
    if p.published:
        parts.append(p.published)
    parts.append(place(p))
    return ", ".join(parts) + f" [{p.path}, chars {p.start}-{p.end}]"


def place(p: Passage) -> str:
    """Where the passage is: "page 3" ("page 3, OCR" when the page was read by OCR, so
    a reader knows its words may be misread), "chapter 2 (The Storm)", or "paragraph 4"
    for documents without pages or chapters."""
    if p.section is None:
        return f"paragraph {p.paragraph}"
    where = f"{p.section_kind or 'section'} {p.section}"
    if p.section_title:
        where += f" ({p.section_title})"
    if p.ocr:
        where += ", OCR"
    return where
