"""The exceptions the CLI turns into a single line on stderr, and the exit codes.

Anything the user can cause (a bad path, an empty question, a broken index) raises
`QaError` with a message that names the file or argument and says what to do. The CLI
prints it and exits with the error's code; it never shows a traceback for these.
Failures that come from the machine rather than from qa (a full disk, a read-only
folder, a damaged SQLite page) arrive as `OSError` or `sqlite3.Error` from deep inside
a library; `as_user_error` turns the ones a user can fix into a `QaError` with the fix.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

# Exit codes, documented in README ("Errors and safety").
EXIT_OK = 0
EXIT_ERROR = 1  # bad input or state: the message says what to change
EXIT_USAGE = 2  # click: unknown option, missing argument
EXIT_REBUILD = 3  # the index was built with other settings, or is damaged
EXIT_SKIPPED = 4  # done, but some files could not be indexed
EXIT_SYSTEM = 5  # the system refused: disk full, read-only, permission, I/O error
EXIT_INTERNAL = 70  # a bug in qa (sysexits' EX_SOFTWARE); the traceback is in a log file
EXIT_INTERRUPTED = 130  # Ctrl+C


class QaError(Exception):
    """A user-facing failure: the message is shown as is, on one line."""

    exit_code = EXIT_ERROR


class IndexIncompatible(QaError):
    """The index on disk was built with other settings; the fix is a rebuild."""

    exit_code = EXIT_REBUILD


class QaUsageError(QaError):
    """Options or syntax that cannot be read as given: a usage error."""

    exit_code = EXIT_USAGE


class IndexDamaged(IndexIncompatible):
    """The index's SQLite file is corrupt; the fix is a rebuild from the corpus, as for
    an index built with other settings (so the exit code is the same)."""


class InternalError(QaError):
    """A bug in qa: the message names the log file that holds the traceback."""

    exit_code = EXIT_INTERNAL


class SystemRefused(QaError):
    """The operating system refused a read or write; the fix is outside qa."""

    exit_code = EXIT_SYSTEM


_FIXES = {
    errno.ENOSPC: "disk full (no space left on device); free some space there and run"
                  " the command again",
    errno.EDQUOT: "disk quota exceeded; free some space there and run the command again",
    errno.EFBIG: "file size limit reached; raise the limit (ulimit -f) and run the command"
                 " again",
    errno.EROFS: "read-only file system; use a writable folder (--index DIR or QA_INDEX,"
                 " --corpus DIR or QA_CORPUS)",
    errno.EACCES: "permission denied; give this user access to it (chmod, chown), or use"
                  " another folder (--index DIR, --corpus DIR)",
    errno.EIO: "input/output error (a failing disk or a lost network mount?); check the"
               " device and run the command again",
}
_FIXES[errno.EPERM] = _FIXES[errno.EACCES]
_UNCHANGED = "; the index still answers from its last complete update"

# SQLite's primary result codes (https://sqlite.org/rescode.html), to the fix: SQLite
# errors carry no errno, and SQLITE_READONLY covers both a read-only mount and a folder
# this user may not write.
_SQLITE_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_CANNOT_WRITE = ("cannot be written (a read-only file system, or no write permission); make"
                 " it writable for this user, or use another folder (--index DIR or QA_INDEX)")
_SQLITE_FIXES = {13: _FIXES[errno.ENOSPC] + _UNCHANGED, 8: _CANNOT_WRITE + _UNCHANGED,
                 3: _FIXES[errno.EACCES], 23: _FIXES[errno.EACCES], 14: _FIXES[errno.EACCES],
                 10: _FIXES[errno.EIO]}  # FULL, READONLY, PERM, AUTH, CANTOPEN, IOERR
_SQLITE_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_IOERR, _SQLITE_FULL = 10, 13


def as_user_error(exc: BaseException, index_dir: Path | None = None) -> QaError | None:
    """The one-line, fixable form of a failure the system caused, or None for a bug.

    `index_dir` is named when the failure carries no file name of its own (SQLite's
    errors never do; an ONNX export on a full disk does not either).
    """
    if isinstance(exc, QaError):
        return exc
    if isinstance(exc, OSError):
        return _os_error(exc, index_dir)
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        return _sqlite_error(exc, index_dir)
    code = _errno_in_message(exc)
    if code is not None:  # FAISS: "... write error in F: 0 != 1 (No space left on device)"
        return _os_error(OSError(code, os.strerror(code)), index_dir)
    return None


def _errno_in_message(exc: BaseException) -> int | None:
    """The errno whose text a library (FAISS, ONNX) put in its own exception's message."""
    message = str(exc)
    return next((code for code in _FIXES if f"({os.strerror(code)})" in message), None)


def _file_size_limited() -> bool:
    """Whether this process runs under a file size limit (`ulimit -f`): SQLite reports a
    write past it as a "disk I/O error" too."""
    try:
        import resource
    except ImportError:  # not a Unix
        return False
    return resource.getrlimit(resource.RLIMIT_FSIZE)[0] != resource.RLIM_INFINITY


def _nearly_full(folder: Path | None) -> bool:
    """Whether the file system holding `folder` has less than 1 MB left: SQLite reports a
    full disk as a "disk I/O error" when it cannot grow its shared-memory file."""
    try:
        stats = os.statvfs(folder) if folder is not None else None
    except OSError:
        return False
    return stats is not None and stats.f_bavail * stats.f_frsize < 1_000_000


def _os_error(exc: OSError, index_dir: Path | None) -> QaError:
    where = exc.filename if exc.filename is not None else index_dir
    fix = _FIXES.get(exc.errno or 0)
    if fix is None:
        fix = (exc.strerror or str(exc) or type(exc).__name__).lower()
    writing = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)
    return SystemRefused(f"{where or 'qa'}: {fix}" + (_UNCHANGED if writing else ""))


def _sqlite_error(exc: BaseException, index_dir: Path | None) -> QaError | None:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    where = index_dir or "index"
    if primary in _SQLITE_CORRUPT or "malformed" in str(exc):
        return IndexDamaged(f"{where}: the index is damaged ({exc}); rebuild it with"
                            " `qa index --rebuild`")
    if primary == _SQLITE_IOERR and _nearly_full(index_dir):
        primary = _SQLITE_FULL
    elif primary == _SQLITE_IOERR and _file_size_limited():
        return SystemRefused(f"{where}: {_FIXES[errno.EFBIG]}{_UNCHANGED} (SQLite: {exc})")
    if primary in _SQLITE_FIXES:
        return SystemRefused(f"{where}: {_SQLITE_FIXES[primary]} (SQLite: {exc})")
    if primary in _SQLITE_BUSY:
        return QaError(f"{where}: the index is locked by another process ({exc}); try again"
                       " when it finishes")
    return None
