"""The one place that maps a file suffix to its loader.

Loaders are named, not imported: each format's module (and its library: trafilatura,
pypdf, python-docx, ebooklib, the OCR engine) is imported only when a file of that format
is loaded. A new format adds one module and one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import PurePosixPath

from qa.ingest.document import Document, UnreadableDocument

# suffix -> (module, function): each function takes (corpus-relative path, bytes).
LOADERS: dict[str, tuple[str, str]] = {
    ".md": ("qa.ingest.loaders.text", "load_text"),
    ".markdown": ("qa.ingest.loaders.text", "load_text"),
    ".txt": ("qa.ingest.loaders.text", "load_text"),
    ".html": ("qa.ingest.loaders.html", "load_html"),
    ".htm": ("qa.ingest.loaders.html", "load_html"),
    ".pdf": ("qa.ingest.loaders.pdf", "load_pdf"),
    ".docx": ("qa.ingest.loaders.docx", "load_docx"),
    ".epub": ("qa.ingest.loaders.epub", "load_epub"),
}


def loader_for(path: str) -> Callable[[str, bytes], Document]:
    """The loader for `path`'s suffix, or UnreadableDocument naming the unsupported type."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix not in LOADERS:
        raise UnreadableDocument(path, f"unsupported file type '{suffix or '(none)'}'")
    module, function = LOADERS[suffix]
    loader: Callable[[str, bytes], Document] = getattr(importlib.import_module(module), function)
    return loader


def load_document(path: str, data: bytes) -> Document:
    """Load `data` read from corpus-relative `path` with the loader for its suffix."""
    return loader_for(path)(path, data)
