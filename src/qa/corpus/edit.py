"""`qa add` and `qa remove`: change the corpus folder safely, then let the indexer catch up.

Adding never overwrites: a name that exists with different content is refused, and
content already somewhere in the corpus (same SHA-256) is reported and skipped. A
source that cannot be read (permissions, an unlistable folder) is refused by name, and
the other sources are still added. Folders
are copied with their layout; symlinks are not followed out of the given tree. Each
file is copied to a temporary name and linked into place (`qa.atomic.new_file_path`),
so the corpus never holds half a file, and a file created meanwhile under the same
name is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from qa.atomic import new_file_path
from qa.corpus.walk import scan_corpus
from qa.errors import QaError
from qa.hashing import file_sha256


@dataclass
class AddResult:
    """Outcome per source file: corpus-relative destination, or why it was not copied."""

    copied: list[str] = field(default_factory=list)
    identical: list[tuple[str, str]] = field(default_factory=list)  # (source, existing rel)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)


def _sources(arg: str) -> list[tuple[Path, str]]:
    """(file, destination relative path) for a file or every file of a folder; OSError
    if the folder cannot be listed."""
    src = Path(arg)
    if not src.exists() and not src.is_symlink():
        raise QaError(f"{arg}: no such file or folder")
    if src.is_file():
        return [(src, src.name)]
    os.scandir(src).close()  # an unlistable folder is refused, not silently empty
    # The corpus walk's rules serve a source tree too: no hidden files, no link that
    # leaves the given tree, no linked folder entered.
    root = src.resolve()
    return [(f.path, f"{root.name}/{f.rel}") for f in scan_corpus(root)]


def _corpus_hashes(corpus: Path, sizes: set[int]) -> dict[str, str]:
    """SHA-256 -> relative path, for corpus files whose size matches a candidate's."""
    hashes: dict[str, str] = {}
    for f in scan_corpus(corpus):
        if f.size in sizes:
            with contextlib.suppress(OSError):  # an unreadable corpus file matches nothing
                hashes.setdefault(file_sha256(f.path), f.rel)
    return hashes


def _unreadable(exc: OSError) -> str:
    return f"cannot be read ({exc.strerror or exc}); check its permissions"


def add_to_corpus(corpus: Path, args: list[str]) -> AddResult:
    """Copy files and folders into `corpus` without ever overwriting."""
    if not corpus.is_dir():
        raise QaError(f"{corpus}: corpus folder not found (set --corpus or QA_CORPUS)")
    corpus = corpus.resolve()
    result = AddResult()
    candidates: list[tuple[Path, str, str]] = []  # (source, destination, SHA-256)
    for arg in args:
        try:
            sources = _sources(arg)
        except OSError as exc:
            result.refused.append((arg, _unreadable(exc)))
            continue
        for src, rel in sources:
            try:
                candidates.append((src, rel, file_sha256(src)))
            except OSError as exc:
                result.refused.append((str(src), _unreadable(exc)))
    existing = _corpus_hashes(corpus, {src.stat().st_size for src, _, _ in candidates})
    for src, rel, sha in candidates:
        if src.resolve().is_relative_to(corpus):
            result.identical.append((str(src), src.resolve().relative_to(corpus).as_posix()))
            continue
        dest = corpus / rel
        if sha in existing:
            result.identical.append((str(src), existing[sha]))
        elif dest.exists() or not _copy_new(src, dest):
            result.refused.append(
                (str(src), f"corpus already has a different file named {rel}; rename it first"))
        else:
            existing[sha] = rel
            result.copied.append(rel)
    return result


def _copy_new(src: Path, dest: Path) -> bool:
    """Copy `src` to the new name `dest`; False if `dest` appeared meanwhile."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with new_file_path(dest) as tmp:
            shutil.copyfile(src, tmp)
    except FileExistsError:
        return False
    return True


def remove_from_corpus(corpus: Path, args: list[str]) -> list[str]:
    """Delete the given corpus files or folders; return the removed relative paths."""
    corpus = corpus.resolve()
    targets = []
    for arg in args:
        path = Path(arg)
        path = path if path.is_absolute() else (corpus / path if (corpus / path).exists()
                                                else Path.cwd() / path)
        if not path.exists():
            raise QaError(f"{arg}: not in the corpus ({corpus})")
        resolved = path.resolve() if not path.is_symlink() else path.parent.resolve() / path.name
        if not resolved.is_relative_to(corpus) or resolved == corpus:
            raise QaError(f"{arg}: outside the corpus ({corpus}); nothing removed")
        targets.append(resolved)
    removed = []
    for path in _outermost(targets):
        if path.is_dir() and not path.is_symlink():
            removed.extend(p.relative_to(corpus).as_posix() for p in sorted(path.rglob("*"))
                           if p.is_file())
            shutil.rmtree(path)
        else:
            removed.append(path.relative_to(corpus).as_posix())
            path.unlink()
    return removed


def _outermost(paths: list[Path]) -> list[Path]:
    """The given paths without repeats and without those inside another given folder,
    so that `qa remove sub sub/a.md` removes `sub` once."""
    unique = sorted(set(paths), key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in unique:
        if not any(path.is_relative_to(k) for k in kept if k.is_dir()):
            kept.append(path)
    return kept
