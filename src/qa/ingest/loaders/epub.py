"""EPUB loader: the book's chapters in reading (spine) order, with ebooklib.

Each spine document that holds text is a chapter, a `Section` of the indexed text, so a
passage is cited as "chapter 3 (The Tin Box)". The chapter's title comes from the
book's table of contents, else from its first heading. The navigation document (the
printed table of contents) is left out: it only repeats chapter titles. Book title,
author, date and publisher come from the package's Dublin Core metadata.

Chapters are XHTML; their text is taken block by block (paragraphs, headings, list
items...), each block a paragraph of the indexed text. A book whose chapters are
encrypted (DRM) is skipped with that reason; obfuscated fonts alone do not matter.
ebooklib and lxml are imported inside `load_epub`.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from qa.ingest.document import (
    CHAPTER,
    Document,
    UnreadableDocument,
    brief,
    join_sections,
    normalize_lines,
)
from qa.ingest.loaders.package import open_package

KIND = "EPUB"
ENCRYPTION_FILE = "META-INF/encryption.xml"
_FONT = re.compile(r"\.(ttf|otf|woff2?)$", re.IGNORECASE)
# Elements whose start and end break a paragraph; everything else is inline.
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})
_HEADINGS = ("h1", "h2", "h3")
_SKIP = frozenset({"head", "script", "style", "svg", "math"})


def load_epub(path: str, data: bytes) -> Document:
    """The chapters' text and spans; title, author, date and publisher."""
    from ebooklib import epub

    with open_package(path, data, KIND) as archive:
        if _chapters_encrypted(archive):
            raise UnreadableDocument(path, f"DRM-protected {KIND} (its chapters are encrypted)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = epub.read_epub(io.BytesIO(data), {"ignore_ncx": False})
        chapters = list(_chapters(book))
    except KeyError as exc:
        raise UnreadableDocument(path, f"not an {KIND} (missing {brief(exc)})") from None
    except Exception as exc:  # ebooklib and lxml raise many kinds on damaged input
        raise UnreadableDocument(path, f"not a readable {KIND} ({brief(exc)})") from None
    if not chapters:
        raise UnreadableDocument(path, f"{KIND} holds no text")
    text, sections = join_sections([body for _, body in chapters],
                                   titles=[title for title, _ in chapters])
    return Document(
        path=path,
        text=text,
        title=_metadata(book, "title") or PurePosixPath(path).stem,
        author=_metadata(book, "creator"),
        source=_metadata(book, "publisher"),
        published=_date(_metadata(book, "date")),
        sections=sections,
        section_kind=CHAPTER,
    )


def _chapters_encrypted(archive: zipfile.ZipFile) -> bool:
    """True when encryption.xml names anything but fonts (fonts are only obfuscated, a
    licensing measure; encrypted chapters are DRM and cannot be read)."""
    from lxml import etree

    try:
        raw = archive.read(ENCRYPTION_FILE)
    except KeyError:
        return False
    try:
        root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return True  # an encryption manifest we cannot read: assume the worst
    uris = [el.get("URI", "") for el in root.iter("{*}CipherReference")]
    return any(not _FONT.search(uri) for uri in uris)


def _chapters(book: Any) -> Iterator[tuple[str | None, str]]:
    """(title, text) of each spine document with text, in reading order."""
    import ebooklib
    import lxml.html
    from ebooklib.epub import EpubNav

    titles = _toc_titles(book.toc)
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or isinstance(item, EpubNav):
            continue
        content = item.get_content()
        if not content.strip():
            continue
        root = lxml.html.fromstring(content)
        body = "\n\n".join(block for block in _blocks(root) if block)
        if body:
            name = item.get_name()
            yield titles.get(name) or titles.get(PurePosixPath(name).name) or _heading(root), body


def _toc_titles(toc: Any) -> dict[str, str]:
    """Chapter file (no #fragment) -> its first title in the table of contents."""
    titles: dict[str, str] = {}
    if not isinstance(toc, list | tuple):  # ebooklib gives a bare Link for an empty NCX
        toc = [toc]
    for entry in toc:
        if isinstance(entry, tuple | list):  # (section, [children])
            section, children = entry[0], entry[1]
            _add_title(titles, section)
            for href, title in _toc_titles(children).items():
                titles.setdefault(href, title)
        else:
            _add_title(titles, entry)
    return titles


def _add_title(titles: dict[str, str], entry: Any) -> None:
    href = (getattr(entry, "href", "") or "").split("#", 1)[0]
    title = " ".join((getattr(entry, "title", "") or "").split())
    if href and title:
        titles.setdefault(href, title)
        titles.setdefault(PurePosixPath(href).name, title)


def _heading(root: Any) -> str | None:
    for element in root.iter(*_HEADINGS):
        text = " ".join(element.text_content().split())
        if text:
            return text
    return None


def _blocks(root: Any) -> list[str]:
    """The text of each block (paragraph, heading, list item...), in order: inline
    whitespace collapsed as a browser would, <br> kept as a line break."""
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = normalize_lines(re.sub(r"[ \t\r\f\v]*\n[ \t\r\f\v]*", "\n", "".join(current)),
                               keep_blank_lines=False)
        if text:
            blocks.append(text)
        current.clear()

    def walk(element: Any) -> None:
        tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        if tag and tag not in _SKIP:
            block = tag in _BLOCKS
            if block:
                flush()
            if tag == "br":
                current.append("\n")
            if element.text:
                current.append(_inline(element.text))
            for child in element:
                walk(child)
            if block:
                flush()
        if element.tail:
            current.append(_inline(element.tail))

    walk(root)
    flush()
    return blocks


def _inline(text: str) -> str:
    """Source line breaks and runs of whitespace are one space in rendered HTML."""
    return re.sub(r"\s+", " ", text)


def _metadata(book: Any, name: str) -> str | None:
    values = book.get_metadata("DC", name)
    if not values:
        return None
    value = " ".join(str(values[0][0]).split())
    return value or None


def _date(raw: str | None) -> str | None:
    """The ISO date at the start of a DC date (2021-04-02, 2021-04 or 2021), if any."""
    match = re.match(r"\d{4}(-\d{2}(-\d{2})?)?", raw or "")
    return match.group(0) if match else None
