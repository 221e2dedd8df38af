"""Word (.docx) loader: headings, paragraphs and tables of the body, in order, with
python-docx.

Each heading, paragraph and table becomes one paragraph of the indexed text (a blank
line between), so a heading is cited as a paragraph of its own and a passage never runs
two blocks together mid-sentence. A table becomes one paragraph, a line per row, cells
separated by " | ". Title, author and creation date come from the document's core
properties (File > Properties in Word). python-docx is imported inside `load_docx`, so
only indexing a Word file pays for it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from qa.ingest.document import Document, UnreadableDocument, brief, normalize_lines
from qa.ingest.loaders.package import open_package

KIND = "DOCX"


def load_docx(path: str, data: bytes) -> Document:
    """The body's text, block by block; title, author and date from core properties."""
    import docx

    open_package(path, data, KIND).close()
    try:
        word = docx.Document(io.BytesIO(data))
        blocks = [text for text in _blocks(word) if text]
        props = word.core_properties
        title, author, created = props.title, props.author, props.created
    except KeyError:  # the archive lacks the parts of a Word document
        raise UnreadableDocument(path, f"not a {KIND} (no Word document inside)") from None
    except Exception as exc:  # python-docx and lxml raise many kinds on damaged input
        raise UnreadableDocument(path, f"not a readable {KIND} ({brief(exc)})") from None
    if not blocks:
        raise UnreadableDocument(path, f"{KIND} holds no text")
    return Document(
        path=path,
        text="\n\n".join(blocks),
        title=_clean(title) or PurePosixPath(path).stem,
        author=_clean(author),
        published=created.date().isoformat() if created else None,
    )


def _blocks(word: Any) -> Iterator[str]:
    """Each top-level paragraph (headings included) and table, as tidy text."""
    from docx.table import Table

    for item in word.iter_inner_content():
        if isinstance(item, Table):
            rows = (" | ".join(_cells(row)) for row in item.rows)
            yield "\n".join(row for row in rows if row.strip(" |"))
        else:  # a paragraph; a manual line break inside it stays a line break
            yield normalize_lines(item.text, keep_blank_lines=False)


def _cells(row: Any) -> Iterator[str]:
    """A row's cells, once each: a merged cell is repeated for each grid column it
    spans, as the same XML element (lxml keeps one proxy while it is referenced)."""
    previous = None
    for cell in row.cells:
        if cell._tc is not previous:
            yield " ".join(cell.text.split())
        previous = cell._tc


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    return " ".join(value.split()) or None
