"""A document as the index sees it: the text passages are cut from, and its citation data.

Every loader (`qa.ingest.loaders`) turns raw bytes into one `Document`, or raises
`UnreadableDocument` saying why in a few words. This module imports no loader, so the
loaders can import it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qa.errors import QaError


@dataclass(frozen=True)
class Document:
    """A loaded document. `path` is relative to the corpus, with forward slashes."""

    path: str
    text: str
    title: str
    source: str | None = None
    published: str | None = None
    author: str | None = None
    # For paged formats: (start, end) character span of each page, page 1 first.
    pages: tuple[tuple[int, int], ...] = field(default=())


class UnreadableDocument(QaError):
    """A file that cannot be indexed; `reason` says why, in a few words."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: skipped, {reason}")
        self.path = path
        self.reason = reason


def normalize_lines(text: str, *, keep_blank_lines: bool = True) -> str:
    """Extracted text tidied for paragraph splitting: Unix newlines, no trailing spaces,
    no NULs, at most one blank line in a row (none with `keep_blank_lines=False`)."""
    lines = [line.rstrip() for line in
             text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (keep_blank_lines and out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
