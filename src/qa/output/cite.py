"""The cited passages as a bibliography: BibTeX, CSL-JSON or Markdown (`qa ask --cite`).

One entry per cited passage, since each carries its own location (paragraph, or page
for PDFs) and its character span; a passage cited by several questions appears once.
Keys are built from the document and the location, so citing the same passage again
gives the same key. Only what the index knows is written: no guessed URL or publisher.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from qa.index.catalog import dated

if TYPE_CHECKING:
    from qa.index.records import Passage
    from qa.search.searcher import Answer, Hit

FORMATS = ("bibtex", "csl-json", "markdown")
_BIBTEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%",
                   "$": r"\$", "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}",
                   "^": r"\textasciicircum{}"}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|])")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def citations(answers: Iterable[Answer], fmt: str) -> str:
    """Every hit of `answers`, once each, in the format named (one of FORMATS)."""
    hits: dict[tuple[str, int, int], Hit] = {}
    for answer in answers:
        for hit in answer.hits:
            p = hit.passage
            hits.setdefault((p.path, p.start, p.end), hit)
    keyed = _keys(list(hits.values()))
    if fmt == "bibtex":
        return "\n".join(_bibtex(key, hit) for key, hit in keyed)
    if fmt == "csl-json":
        return json.dumps([_csl(key, hit) for key, hit in keyed], ensure_ascii=False,
                          indent=2) + "\n"
    if fmt == "markdown":
        return "".join(_markdown(n, hit) for n, (_, hit) in enumerate(keyed, 1))
    raise ValueError(f"unknown citation format {fmt!r}")


def location(p: Passage) -> str:
    return f"page {p.page}" if p.page else f"paragraph {p.paragraph}"


def authors(author: str | None) -> list[str]:
    """Names in a metadata author string: "A B, C D" or "A B and C D" is two people,
    "Smith, John" (single words around the comma) one."""
    if not author:
        return []
    parts = [p.strip() for p in re.split(r",|\band\b|;", author) if p.strip()]
    if len(parts) > 1 and all(len(p.split()) > 1 for p in parts):
        return parts
    return [author.strip()]


def _keys(hits: list[Hit]) -> list[tuple[str, Hit]]:
    """A stable, distinct BibTeX/CSL key per passage: name, year, title word, location."""
    out, seen = [], set()
    for hit in hits:
        p = hit.passage
        names = authors(p.author)
        who = names[0].split()[-1] if names else (p.source or "anon").split()[0]
        year = p.published[:4] if dated(p.published) else ""
        word = next((w for w in re.findall(r"\w+", p.title) if len(w) > 3), "untitled")
        where = f"p{p.page}" if p.page else f"para{p.paragraph}"
        base = _ascii(f"{who}{year}{word}").lower() + f"-{where}"
        key, n = base, 1
        while key in seen:
            n += 1
            key = f"{base}-{n}"
        seen.add(key)
        out.append((key, hit))
    return out


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", text) or "x"


def _note(p: Passage) -> str:
    return f"{location(p)}; {p.path}, chars {p.start}-{p.end}"


def _bibtex(key: str, hit: Hit) -> str:
    p = hit.passage
    fields = [("title", p.title)]
    if p.author:
        fields.append(("author", " and ".join(authors(p.author))))
    if p.source:
        fields.append(("howpublished", p.source))
    if dated(p.published):
        assert p.published is not None
        fields.append(("year", p.published[:4]))
        if len(p.published) >= 7:
            fields.append(("month", _MONTHS[int(p.published[5:7]) - 1]))
        fields.append(("date", p.published[:10]))
    if p.page:
        fields.append(("pages", str(p.page)))
    fields.append(("note", _note(p)))
    body = ",\n".join(f"  {name} = {{{_bibtex_escape(value)}}}" if name != "month"
                      else f"  month = {value}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def _bibtex_escape(text: str) -> str:
    return "".join(_BIBTEX_SPECIAL.get(c, c) for c in text)


def _csl(key: str, hit: Hit) -> dict[str, object]:
    """A CSL-JSON item (CSL 1.0 input data); `locator` is the paragraph or page."""
    p = hit.passage
    item: dict[str, object] = {"id": key, "type": "document", "title": p.title}
    if p.author:
        item["author"] = [{"literal": name} for name in authors(p.author)]
    if p.source:
        item["container-title"] = p.source
    if dated(p.published):
        assert p.published is not None
        item["issued"] = {"date-parts": [[int(x) for x in p.published[:10].split("-")]]}
    item["locator"] = str(p.page or p.paragraph)
    item["note"] = _note(p)
    return item


def _markdown(number: int, hit: Hit) -> str:
    p = hit.passage
    parts = [", ".join(authors(p.author))] if p.author else []
    parts.append(f"\u201c{_md(p.title)}\u201d")
    if p.source:
        parts.append(f"*{_md(p.source)}*")
    if p.published:
        parts.append(_md(p.published))
    parts.append(location(p))
    quote = " ".join(hit.answer.split())
    return (f"{number}. {', '.join(parts)}. `{p.path}`, chars {p.start}-{p.end}\n"
            f"   > {_md(quote)}\n")


def _md(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
