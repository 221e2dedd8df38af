"""Generations of an index: pinning one for reading, switching, and removing old ones.

A reader pins the generation it opened with a shared lock on the generation's
`.readers` file, and keeps answering from it until it notices that `CURRENT` moved.
The writer removes a superseded generation only when it can take that lock exclusively,
that is, when no reader holds it; otherwise the next writer tries again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from qa import atomic
from qa.errors import IndexIncompatible, QaError
from qa.index import manifest
from qa.index.layout import (
    BUILDING_FILE,
    CURRENT_FILE,
    ENCODERS_DIR,
    LEGACY_FILES,
    READERS_FILE,
    STORE_FILE,
    current_generation,
    generation_name,
    generation_named_in,
    generation_number,
    is_legacy,
    store_path,
)
from qa.index.store import Store


class GenerationGone(Exception):
    """The generation was removed before it could be pinned: read CURRENT again."""


class Pin:
    """A shared lock on a generation, held while a reader uses it."""

    def __init__(self, generation: Path) -> None:
        self.generation = generation
        self._fd: int | None = _open_readers_file(generation)
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_SH)
        if not (generation / STORE_FILE).exists():  # removed while we waited for the lock
            self.release()
            raise GenerationGone(generation)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def _open_readers_file(generation: Path) -> int | None:
    """The generation's readers' lock file, opened for locking. None for an index this
    user cannot write at all (a read-only copy or mount): no writer can remove that
    generation either, so there is nothing to pin it against."""
    if not generation.is_dir():
        raise GenerationGone(generation)
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
        try:
            return os.open(generation / READERS_FILE, flags, 0o644)
        except FileNotFoundError:
            if not generation.is_dir():
                raise GenerationGone(generation) from None
        except OSError:
            continue
    return None


def building(index_dir: Path) -> Path | None:
    """The generation a killed build left unfinished, if any."""
    return generation_named_in(index_dir / BUILDING_FILE)


def start_building(index_dir: Path) -> Path:
    """A new, empty generation folder, recorded as being built."""
    numbers = [n for p in index_dir.iterdir() if (n := generation_number(p)) is not None]
    folder = index_dir / generation_name(max(numbers, default=0) + 1)
    folder.mkdir()
    (folder / READERS_FILE).touch()
    atomic.write_text(index_dir / BUILDING_FILE, folder.name + "\n")
    return folder


def switch_to(index_dir: Path, generation: Path) -> None:
    """Make `generation` the live one: one atomic rename of CURRENT."""
    atomic.write_text(index_dir / CURRENT_FILE, generation.name + "\n")
    (index_dir / BUILDING_FILE).unlink(missing_ok=True)
    atomic.fsync_dir(index_dir)


def remove_unused(index_dir: Path, keep_encoder: Path | None = None) -> None:
    """Remove generations that are neither live, nor being built, nor pinned by a reader;
    the files of the first, generation-less format; temporary pointer files a kill left
    (only writers, under the writer lock, write pointers); and encoders of other models."""
    live, pending = current_generation(index_dir), building(index_dir)
    for folder in index_dir.iterdir():
        if generation_number(folder) is None or folder in (live, pending):
            continue
        _remove_if_unpinned(folder)
    if live is not None:
        for name in LEGACY_FILES:
            (index_dir / name).unlink(missing_ok=True)
    for name in (CURRENT_FILE, BUILDING_FILE):  # a new pointer a kill cut short
        for stale in index_dir.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)
    if keep_encoder is not None:
        for encoder in (index_dir / ENCODERS_DIR).glob("*.onnx"):
            if encoder != keep_encoder:
                encoder.unlink(missing_ok=True)


def _remove_if_unpinned(folder: Path) -> None:
    """Delete `folder` while holding its readers' lock exclusively, so that no reader
    can pin it meanwhile; leave it when a reader holds it."""
    try:
        fd = os.open(folder / READERS_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        shutil.rmtree(folder, ignore_errors=True)
    except BlockingIOError:
        pass  # a reader still answers from it; the next writer tries again
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


def open_live(index_dir: Path) -> tuple[Path, Pin, Store]:
    """Pin the live generation, check its manifest and open its store."""
    for _ in range(5):  # a generation removed between reading CURRENT and pinning it
        generation = current_generation(index_dir)
        if generation is None:
            if is_legacy(index_dir):
                raise IndexIncompatible(
                    f"{index_dir}: index in an older format; run `qa index --rebuild`")
            raise QaError(f"{index_dir}: no index here; run `qa index`")
        try:
            pin = Pin(generation)
        except GenerationGone:
            continue
        try:
            manifest.check_manifest(generation)
            return generation, pin, Store(store_path(generation))
        except BaseException:
            pin.release()
            raise
    raise QaError(f"{index_dir}: the index keeps changing under this reader; try again")


@contextlib.contextmanager
def live_store(index_dir: Path) -> Iterator[Store]:
    """The live generation's store, pinned and open for the duration of a short read."""
    _, pin, store = open_live(index_dir)
    try:
        yield store
    finally:
        store.close()
        pin.release()
