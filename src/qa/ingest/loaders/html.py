"""HTML loader: the main text of a saved web page (a news article, typically).

trafilatura finds the article and drops menus, cookie banners, ads, comments and
footers; its metadata extraction gives title, author, date and site name. It runs
offline on the given bytes only: no URL is passed and no fetching function is called.
trafilatura (~0.15 s to import) is imported inside `load_html`, so only indexing of
HTML pays for it, never a query.

Control characters: lxml refuses to store a C0 control other than tab, newline and CR
in an element ("All strings must be XML compatible"), yet its HTML parser puts them in
the tree from character references like `&#27;`. trafilatura rewrites text in the tree
as it works, hits that ValueError, and returns nothing for the whole page. So the page
is parsed here first, and each such control (raw or referenced) becomes its Unicode
Control Picture (ESC as U+241B), the same picture qa shows on screen for a control
character in any document, before trafilatura sees the tree.
"""

from __future__ import annotations

import codecs
import logging
import re
import warnings
from pathlib import PurePosixPath
from typing import Any

from qa.ingest.document import Document, UnreadableDocument, normalize_lines

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
# <meta charset="x">, <meta http-equiv="Content-Type" content="text/html; charset=x">,
# or an XML declaration's encoding="x", looked for in the first 4 KB like browsers do.
_DECLARED = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)"""
    rb"""|<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
# WHATWG: a page declaring Latin-1 or ASCII is decoded as windows-1252.
_WHATWG_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTAINERS = frozenset({"body", "div", "section", "article", "main"})
_QUIET_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext", "readability")
# C0 controls that XML (and so lxml) refuses, to their Control Pictures U+2400..U+241F.
_XML_INVALID = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\t\n\r"}
# Fewer words than this is a page without an article: trafilatura then falls back to
# whatever text there is ("Home News We use cookies."), which is not worth indexing.
MIN_ARTICLE_WORDS = 12


def load_html(path: str, data: bytes) -> Document:
    """The article text of a saved page, one paragraph per block, blank line between."""
    html = decode_html(path, data)
    extracted = _extract(html)
    if extracted is None:
        raise UnreadableDocument(path, "no article text found in HTML")
    text = "\n\n".join(_blocks(_field(extracted, "body")))
    if len(text.split()) < MIN_ARTICLE_WORDS:
        raise UnreadableDocument(path, "no article text found in HTML")
    published = _field(extracted, "date")
    return Document(
        path=path,
        text=text,
        title=_clean(_field(extracted, "title")) or PurePosixPath(path).stem,
        source=_clean(_field(extracted, "sitename")) or _clean(_field(extracted, "hostname")),
        published=published[:10] if published and _ISO_DATE.match(published) else None,
        author=_clean(_field(extracted, "author")),
    )


def decode_html(path: str, data: bytes) -> str:
    """Bytes to text: a BOM, else the page's declared charset if the bytes fit it,
    else UTF-8, else charset_normalizer's guess (via trafilatura)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data[:8192]:
        raise UnreadableDocument(path, "binary content, not HTML")
    if not data.strip():
        raise UnreadableDocument(path, "empty")
    html = None
    for encoding in (_declared_encoding(data[:4096]), "utf-8"):
        if encoding:
            try:
                html = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue  # a wrong declaration (or none): try UTF-8, then guess
    if html is None:
        from trafilatura.utils import decode_file  # charset_normalizer's guess

        html = decode_file(data)
    head = html[:8192]
    junk = sum(1 for c in head if (c < " " and c not in "\t\n\r\f") or c == "\ufffd")
    if junk > len(head) // 20:
        raise UnreadableDocument(path, "binary content, not HTML")
    return html


def _declared_encoding(head: bytes) -> str | None:
    match = _DECLARED.search(head)
    if match is None:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii").lower()
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name.startswith("utf-16") or name.startswith("utf-32"):
        return "utf-8"  # bytes without a BOM that say UTF-16 are ASCII-compatible: a lie
    return _WHATWG_ALIASES.get(name, name)


def _extract(html: str) -> Any:
    import datetime as dt

    import trafilatura
    from trafilatura.utils import load_html as parse_html

    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = parse_html(html.translate(_XML_INVALID))
        if tree is None:
            return None
        _picture_controls(tree)
        return trafilatura.bare_extraction(
            tree,
            url=None,  # never a URL: nothing may be fetched or resolved
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            include_formatting=False,
            deduplicate=False,
            # Dates from the page's markup only (meta tags, JSON-LD, <time>): the
            # extensive search also guesses from any date-like text, e.g. a year in a
            # table, and a wrong date in a citation is worse than none.
            date_extraction_params={
                "original_date": True,
                "extensive_search": False,
                "max_date": dt.date.today().isoformat(),
            },
        )


def _picture_controls(tree: Any) -> None:
    """Replace the controls that character references put into the parsed tree, in
    text, tails and attribute values (a <meta> author or title), by their pictures."""
    for element in tree.iter():
        for name in ("text", "tail"):
            value = getattr(element, name)
            if value and value != value.translate(_XML_INVALID):
                setattr(element, name, value.translate(_XML_INVALID))
        attributes = getattr(element, "attrib", {})
        for key, value in attributes.items():
            if value != value.translate(_XML_INVALID):
                attributes[key] = value.translate(_XML_INVALID)


def _blocks(body: Any) -> list[str]:
    """Text of each block element (paragraph, heading, list, quote, table) of the
    extracted body, in order; lines inside a block stay single-spaced."""
    if body is None:
        return []
    from trafilatura.xml import xmltotxt

    out = []
    if body.text and body.text.strip():
        out.append(normalize_lines(body.text))
    for child in body:
        if child.tag in _CONTAINERS and len(child):
            out.extend(_blocks(child))
            if child.tail and child.tail.strip():
                out.append(normalize_lines(child.tail))
            continue
        block = normalize_lines(xmltotxt(child, False), keep_blank_lines=False)
        if block:
            out.append(block)
    return out


def _field(extracted: Any, name: str) -> Any:
    """A field of trafilatura's result, a Document object (2.x) or a dict (1.x)."""
    if isinstance(extracted, dict):
        return extracted.get(name)
    return getattr(extracted, name, None)


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    value = " ".join(str(value).split())
    return value or None
