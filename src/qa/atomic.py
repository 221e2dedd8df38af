"""Replace a file atomically: readers see the old file or the new one, never a torn one.

Every file qa replaces (manifest, FAISS vectors, the ONNX encoder, TUI history) goes
through `atomic_path`. It yields a temporary path in the target's own directory (so the
rename cannot cross filesystems), and on success fsyncs the file, renames it over the
target, and fsyncs the directory so the rename itself is durable. On failure the
temporary file is removed. `new_file_path` is the same for a file that must not exist
yet (`qa add`): it links instead of renaming, and a link never overwrites, even when
another process creates the name in between.

Written here rather than taken from `atomicwrites` (archived by its author, and it only
hands out file objects): FAISS and the ONNX exporter write to a path they are given.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(
    target: Path, *, temp: Path | None = None, mode: int = 0o644
) -> Iterator[Path]:
    """A temporary path to write; on a clean exit it replaces `target` durably.

    `temp` fixes the temporary file's name, for a protocol that must find it again
    after a kill (the FAISS commit); by default the name is unique.
    """
    with _temporary(Path(target), temp, mode) as tmp:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, target)
        fsync_dir(Path(target).parent)


@contextlib.contextmanager
def new_file_path(target: Path, *, mode: int = 0o644) -> Iterator[Path]:
    """Like `atomic_path`, but `target` must not exist: FileExistsError if it does by the
    time the file is complete, and then nothing is changed."""
    with _temporary(Path(target), None, mode) as tmp:
        yield tmp
        fsync_file(tmp)
        os.link(tmp, target)  # atomic, and never replaces an existing name
        fsync_dir(Path(target).parent)


@contextlib.contextmanager
def _temporary(target: Path, temp: Path | None, mode: int) -> Iterator[Path]:
    """A temporary file beside `target`, removed on the way out whatever happens."""
    if temp is None:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    else:
        tmp = temp
        tmp.write_bytes(b"")
    try:
        tmp.chmod(mode)  # mkstemp makes it owner-only; index files are readable like peers
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: Path, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename or a new name in `path` durable (a no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
