"""Finding the documents in the corpus folder, by a walk that costs one stat per file.

Hidden files and folders are ignored (editor swap files, `.git`). A symlinked file is
read only when it resolves inside the corpus, so a link cannot pull in files from
elsewhere; symlinked folders are not entered (a link to a parent would loop).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sized
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


def corpus_stats(corpus: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every non-hidden file under `corpus`, by corpus-relative
    posix path: all that the freshness check of every `qa ask` needs, compared with the
    index's as two dicts (`qa.index.staleness`).

    One stat per file, made relative to its folder's descriptor (`dir_fd`), so the
    kernel resolves a name, not the whole path; no object per file beyond its tuple.
    At 200,000 files this is most of a cold `qa ask`: 0.74 s of CPU against 1.1 s for
    the walk that built a record per file (docs/scale.md).
    """
    require_corpus_folder(corpus)
    root = corpus.resolve()
    found: dict[str, tuple[int, int]] = {}
    _scan(root, str(root), "", found)
    return found


def scan_corpus(corpus: Path) -> list[CorpusFile]:
    """Every non-hidden file under `corpus`, sorted by relative path."""
    root = str(corpus.resolve())
    return [CorpusFile(rel, f"{root}/{rel}", size, mtime)
            for rel, (size, mtime) in sorted(corpus_stats(corpus).items())]


def _scan(root: Path, folder: str, prefix: str, found: dict[str, tuple[int, int]]) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return  # a folder that vanished or cannot be listed
    try:
        for entry in list(os.scandir(fd)):
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_file(follow_symlinks=False) or (
                        entry.is_symlink() and entry.is_file()
                        and not _outside(root, f"{folder}/{name}")):
                    stat = os.stat(name, dir_fd=fd)
                    found[prefix + name] = (stat.st_size, stat.st_mtime_ns)
                elif entry.is_dir(follow_symlinks=False):  # a linked folder could loop
                    _scan(root, f"{folder}/{name}", f"{prefix}{name}/", found)
            except OSError:
                continue  # vanished between listing and stat
    except OSError:
        return
    finally:
        os.close(fd)


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
            if not path.is_file() or (path.is_symlink() and _outside(root, str(path))):
                continue
            stat = path.stat()
        except OSError:
            continue
        found.append(CorpusFile(rel, str(path), stat.st_size, stat.st_mtime_ns))
    return found


def _outside(root: Path, link: str) -> bool:
    """A link that resolves outside the corpus: never followed."""
    return not Path(link).resolve().is_relative_to(root)


def require_corpus_folder(corpus: Path) -> None:
    if not corpus.is_dir():
        raise QaError(f"{corpus}: corpus folder not found (set --corpus or QA_CORPUS)")


def require_documents(corpus: Path, files: Sized) -> None:
    if not files:
        raise QaError(f"{corpus}: corpus is empty; add documents with `qa add PATH`")
