"""Finding the documents in the corpus folder, by a walk that costs one stat per file.

Hidden files and folders are ignored (editor swap files, `.git`). A symlinked file is
read only when it resolves inside the corpus, so a link cannot pull in files from
elsewhere; symlinked folders are not entered (a link to a parent would loop).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from qa.errors import QaError


class CorpusFile(NamedTuple):
    """A file in the corpus: its corpus-relative posix path, absolute path and stat.

    A named tuple: every `qa ask` makes one per corpus file, 200,000 for a large
    archive, and a tuple is built in a third of a frozen dataclass's time."""

    rel: str
    abspath: str  # a str: building 10,000 Path objects per scan is measurable
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(self.abspath)


def scan_corpus(corpus: Path) -> list[CorpusFile]:
    """Every non-hidden file under `corpus`, sorted by relative path.

    `os.scandir` rather than pathlib: the entry's type comes with the listing, so a
    plain file costs exactly one stat (measured: 0.40 s -> ~0.05 s for 10,000 files).
    """
    require_corpus_folder(corpus)
    root = corpus.resolve()
    found: list[CorpusFile] = []
    _scan(root, root, "", found)
    found.sort(key=lambda f: f.rel)
    return found


def _scan(root: Path, folder: Path | str, prefix: str, found: list[CorpusFile]) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return  # a folder that vanished or cannot be listed
    for entry in entries:
        if entry.name.startswith("."):
            continue
        rel = prefix + entry.name
        try:
            if entry.is_dir(follow_symlinks=False):  # a linked folder could loop
                _scan(root, entry.path, rel + "/", found)
            elif entry.is_file() and (file := _corpus_file(root, rel, entry.path,
                                                           entry.is_symlink())):
                found.append(file)
        except OSError:
            continue  # vanished between listing and stat


def stat_files(corpus: Path, rels: Iterable[str]) -> list[CorpusFile]:
    """The given corpus-relative files that exist, as `scan_corpus` would list them,
    sorted: what a targeted update looks at."""
    require_corpus_folder(corpus)
    root = corpus.resolve()
    found = []
    for rel in sorted(set(rels)):
        path = root / rel
        if any(part.startswith(".") for part in Path(rel).parts):
            continue
        try:
            if path.is_file() and (file := _corpus_file(root, rel, str(path),
                                                        path.is_symlink())):
                found.append(file)
        except OSError:
            continue
    return found


def _corpus_file(root: Path, rel: str, path: str, is_link: bool) -> CorpusFile | None:
    """A file the walk lists (one stat), or None for a link out of the corpus, which is
    never followed."""
    if is_link and not Path(path).resolve().is_relative_to(root):
        return None
    stat = os.stat(path)
    return CorpusFile(rel, path, stat.st_size, stat.st_mtime_ns)


def require_corpus_folder(corpus: Path) -> None:
    if not corpus.is_dir():
        raise QaError(f"{corpus}: corpus folder not found (set --corpus or QA_CORPUS)")


def require_documents(corpus: Path, files: list[CorpusFile]) -> None:
    if not files:
        raise QaError(f"{corpus}: corpus is empty; add documents with `qa add PATH`")
