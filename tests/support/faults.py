"""Faults made real for the tests: a damaged SQLite page, a full disk, a read-only index.

A full disk is a small tmpfs mounted for the test when the tests may mount (CI runs as
root); otherwise a file size limit (RLIMIT_FSIZE) in the child process, which makes
writes fail with EFBIG instead of ENOSPC. A read-only index is a read-only bind mount
(EROFS) where mounting works, and mode bits with root's override dropped (EACCES).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path


def damage_table(store: Path, table: str) -> None:
    """Overwrite the root page of `table`'s b-tree with garbage, as a bad sector would:
    the next read of that table fails with "database disk image is malformed"."""
    db = sqlite3.connect(store)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                          (table,)).fetchone()[0]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    finally:
        db.close()
    with store.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * 64)


def _mount(*args: str) -> bool:
    if shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def small_filesystem(path: Path, size_kb: int) -> Iterator[bool]:
    """Mount a tmpfs of `size_kb` KB at `path`; yields whether it could (else `path` is
    a plain folder and the caller limits file sizes instead)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = _mount("-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path))
    try:
        yield mounted
    finally:
        if mounted:
            _umount(path)


def fill(folder: Path, leave_kb: int) -> None:
    """Fill the file system holding `folder` until `leave_kb` KB are left."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with contextlib.suppress(OSError):  # ENOSPC: full
            while os.write(fd, b"\0" * 65536):
                pass
        os.ftruncate(fd, max(os.fstat(fd).st_size - leave_kb * 1024, 0))
    finally:
        os.close(fd)


def file_size_limit(limit_bytes: int) -> Callable[[], None]:
    """A preexec_fn: writes past `limit_bytes` fail with EFBIG (the signal ignored)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return limit


@contextlib.contextmanager
def read_only_mount(folder: Path) -> Iterator[bool]:
    """Make `folder` a read-only bind mount of itself; yields whether it could."""
    mounted = _mount("--bind", str(folder), str(folder))
    if mounted and not _mount("-o", "remount,ro,bind", str(folder)):
        _umount(folder)
        mounted = False
    try:
        yield mounted
    finally:
        if mounted:
            _umount(folder)
