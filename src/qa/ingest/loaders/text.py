"""Markdown and plain text, with optional YAML front matter (title, source, published, author).

The body after the front matter is kept verbatim: offsets in citations refer to it, and a
user can find every quoted passage in the file itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePosixPath

from qa.ingest.document import Document, UnreadableDocument


def _decode_text(path: str, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableDocument(path, "binary content (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(path, f"not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise UnreadableDocument(path, "empty")
    return text


def _split_front_matter(path: str, text: str) -> tuple[dict[str, object], str]:
    """Return the YAML front matter (or {}) and the body, which is kept verbatim."""
    if not text.startswith("---\n") and not text.startswith("---\r\n"):
        return {}, text
    first_nl = text.index("\n") + 1
    pos = first_nl
    while pos < len(text):
        nl = text.find("\n", pos)
        line_end = len(text) if nl == -1 else nl
        if text[pos:line_end].rstrip("\r") in ("---", "..."):
            import yaml

            try:
                meta = yaml.safe_load(text[first_nl:pos]) or {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" (line {mark.line + 2})" if mark else ""
                raise UnreadableDocument(path, f"invalid YAML front matter{where}") from None
            if not isinstance(meta, dict):
                raise UnreadableDocument(path, "front matter is not a YAML mapping")
            return meta, text[line_end + 1 :] if nl != -1 else ""
        if nl == -1:
            break
        pos = nl + 1
    return {}, text


def _meta_str(meta: dict[str, object], key: str) -> str | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def load_text(path: str, data: bytes) -> Document:
    """Markdown or plain text, with optional YAML front matter (title, source, ...)."""
    meta, body = _split_front_matter(path, _decode_text(path, data))
    if not body.strip():
        raise UnreadableDocument(path, "no text after the front matter")
    return Document(
        path=path,
        text=body,
        title=_meta_str(meta, "title") or PurePosixPath(path).stem,
        source=_meta_str(meta, "source"),
        published=_meta_str(meta, "published") or _meta_str(meta, "date"),
        author=_meta_str(meta, "author"),
    )
