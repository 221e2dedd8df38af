"""Finding the documents in the corpus folder, by a walk that costs one stat per file.

Hidden files and folders are ignored (editor swap files, `.git`). A symlinked file is
read only when it resolves inside the corpus, so a link cannot pull in files from
elsewhere; symlinked folders are not entered (a link to a parent would loop).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterable, Sized
from functools import partial
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


def corpus_stats(corpus: Path, processes: int = 1) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every non-hidden file under `corpus`, by corpus-relative
    posix path: all that the freshness check of every `qa ask` needs, compared with the
    index's as two dicts (`qa.index.staleness`).

    One stat per file, made relative to its folder's descriptor (`dir_fd`), so the
    kernel resolves a name, not the whole path; no object per file beyond its tuple.
    At 200,000 files this is most of a cold `qa ask`: 0.74 s of CPU against 1.1 s for
    the walk that built a record per file (docs/scale.md).

    With `processes` above 1 where the platform forks, the walk is shared out: the
    first folder holding more than one entry (the corpus folder itself, or the one
    folder it holds, and so on) is listed once, and each of `processes` - 1 forked
    siblings walks every n-th entry (and all beneath it) and sends its part back, so
    the stats, syscalls and Python both, run on several cores (docs/scale.md, "The
    cold `qa ask`"). Call it so only from a process with a single thread, as the
    freshness check's own child is.
    """
    require_corpus_folder(corpus)
    root = corpus.resolve()
    folder, prefix = str(root), ""
    found: dict[str, tuple[int, int]] = {}
    fd = _open_folder(folder)
    if fd is None:
        return found
    try:
        entries = _listing(fd)
        while len(entries) == 1 and entries[0].is_dir(follow_symlinks=False):
            inner = _open_folder(f"{folder}/{entries[0].name}")
            if inner is None:
                break
            os.close(fd)
            folder, prefix, fd = f"{folder}/{entries[0].name}", f"{prefix}{entries[0].name}/", inner
            entries = _listing(fd)
        if not hasattr(os, "fork"):
            processes = 1
        shares = [entries[i::processes] for i in range(max(1, min(processes, len(entries))))]
        waits = [_in_sibling(partial(_stats_of, root, folder, fd, share, prefix))
                 for share in shares[1:]]
        _scan_entries(root, folder, fd, shares[0], prefix, found)
        for share, wait in zip(shares[1:], waits, strict=True):
            theirs = wait()
            found.update(_stats_of(root, folder, fd, share, prefix) if theirs is None else theirs)
    finally:
        os.close(fd)
    return found


def scan_corpus(corpus: Path) -> list[CorpusFile]:
    """Every non-hidden file under `corpus`, sorted by relative path."""
    root = str(corpus.resolve())
    return [CorpusFile(rel, f"{root}/{rel}", size, mtime)
            for rel, (size, mtime) in sorted(corpus_stats(corpus).items())]


def _scan(root: Path, folder: str, prefix: str, found: dict[str, tuple[int, int]]) -> None:
    fd = _open_folder(folder)
    if fd is None:
        return
    try:
        _scan_entries(root, folder, fd, _listing(fd), prefix, found)
    finally:
        os.close(fd)


def _open_folder(folder: str) -> int | None:
    try:
        return os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None  # a folder that vanished or cannot be listed


def _listing(fd: int) -> list[os.DirEntry[str]]:
    """A folder's non-hidden entries (none if it cannot be listed)."""
    try:
        return [entry for entry in os.scandir(fd) if not entry.name.startswith(".")]
    except OSError:
        return []


def _scan_entries(root: Path, folder: str, fd: int, entries: Iterable[os.DirEntry[str]],
                  prefix: str, found: dict[str, tuple[int, int]]) -> None:
    for entry in entries:
        name = entry.name
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


def _stats_of(root: Path, folder: str, fd: int, entries: Iterable[os.DirEntry[str]],
              prefix: str) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    _scan_entries(root, folder, fd, entries, prefix, found)
    return found


def _in_sibling(work: Callable[[], dict[str, tuple[int, int]]]
                ) -> Callable[[], dict[str, tuple[int, int]] | None]:
    """Run `work` in a forked copy of this process; return a call that waits for its
    result, or None when the sibling gave none (never started: no process or descriptor
    to spare; killed; failed): the caller then does the work itself, so a lost sibling
    costs time, never files."""
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return lambda: None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return lambda: None
    if pid == 0:  # the sibling: send the result, and leave without the parent's cleanup
        status = 1
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as sink:
                pickle.dump(work(), sink, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)

    def result() -> dict[str, tuple[int, int]] | None:
        try:
            with os.fdopen(read_end, "rb") as source:
                return pickle.load(source)  # written by our own fork
        except (EOFError, OSError, pickle.UnpicklingError):
            return None
        finally:
            os.waitpid(pid, 0)

    return result


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
