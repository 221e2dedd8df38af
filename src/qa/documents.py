"""Documents as the index sees them, and the loaders that read each file format.

Every loader turns raw bytes into one `Document`: the text that passages are cut from
(offsets and citations refer to it) and the citation metadata. New formats add a loader
to `LOADERS`; nothing else changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

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


# HTML and PDF loaders live in their own modules and import trafilatura / pypdf only
# when called: `qa.documents` is on the query path, which must stay fast to start.
def load_html(path: str, data: bytes) -> Document:
    """A saved web page: its article text and metadata (see `qa.loaders_html`)."""
    from qa.loaders_html import load_html as load

    return load(path, data)


def load_pdf(path: str, data: bytes) -> Document:
    """A PDF with a text layer, page by page (see `qa.loaders_pdf`)."""
    from qa.loaders_pdf import load_pdf as load

    return load(path, data)


LOADERS: dict[str, Callable[[str, bytes], Document]] = {
    ".md": load_text,
    ".markdown": load_text,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
}


def load_document(path: str, data: bytes) -> Document:
    """Load `data` read from corpus-relative `path` with the loader for its suffix."""
    suffix = PurePosixPath(path).suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise UnreadableDocument(path, f"unsupported file type '{suffix or '(none)'}'")
    return loader(path, data)
