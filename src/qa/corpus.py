"""Finding the documents in the corpus folder, by a walk that costs one stat per file.

Hidden files and folders are ignored (editor swap files, `.git`). Symlinks are followed
only when they resolve inside the corpus, so a link cannot pull in files from elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QaError


@dataclass(frozen=True)
class CorpusFile:
    """A file in the corpus: its corpus-relative posix path and its stat."""

    rel: str
    path: Path
    size: int
    mtime_ns: int


def scan_corpus(corpus: Path) -> list[CorpusFile]:
    """Every non-hidden file under `corpus`, sorted by relative path."""
    if not corpus.is_dir():
        raise QaError(f"{corpus}: corpus folder not found (set --corpus or QA_CORPUS)")
    root = corpus.resolve()
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                continue
            try:
                stat = path.stat()
            except OSError:
                continue  # vanished between listing and stat
            rel = path.relative_to(root).as_posix()
            found.append(CorpusFile(rel, path, stat.st_size, stat.st_mtime_ns))
    found.sort(key=lambda f: f.rel)
    return found


def require_documents(corpus: Path, files: list[CorpusFile]) -> None:
    if not files:
        raise QaError(f"{corpus}: corpus is empty; add documents with `qa add PATH`")
