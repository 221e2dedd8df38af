"""Any failure as one line for the user; an unexpected one's traceback goes to a log.

A bug in qa must not greet the user with forty lines of traceback (which may quote
document text), yet the traceback is what a bug report needs. It is appended to
`error.log` in the index folder when that folder exists and takes the write (the log
then travels with the index it concerns), else in the user's cache folder
(platformdirs: `~/.cache/qa/error.log` on Linux). Nowhere else: qa writes nothing
outside the corpus, the index and that cache folder. The log is started afresh once
it passes LOG_LIMIT bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import traceback
from pathlib import Path

from qa.errors import InternalError, QaError, as_user_error

LOG_NAME = "error.log"
LOG_LIMIT = 1_000_000


def explain(exc: BaseException, index_dir: Path | None) -> QaError:
    """`exc` as the error to show: the user's own, or the system's with its fix
    (`qa.errors.as_user_error`), or, for a bug, a line naming the log of its traceback.
    The CLI prints it on stderr; the TUI shows it as a notice."""
    known = as_user_error(exc, index_dir)
    if known is not None:
        return known
    log = write_crash_log(exc, index_dir)
    where = (f"the traceback is in {log}" if log is not None else
             "no log could be written; run again with QA_DEBUG=1 to see the traceback")
    brief = " ".join(str(exc).split())[:120]
    return InternalError(f"internal error ({type(exc).__name__}{': ' + brief if brief else ''});"
                         f" this is a bug in qa, {where}")


def log_folders(index_dir: Path | None) -> list[Path]:
    """Candidate folders for the log, best first."""
    import platformdirs

    folders = [index_dir] if index_dir is not None and index_dir.is_dir() else []
    return [*folders, Path(platformdirs.user_cache_dir("qa"))]


def write_crash_log(exc: BaseException, index_dir: Path | None) -> Path | None:
    """Append `exc`'s traceback to the first log that can be written; its path, or None."""
    entry = _entry(exc)
    for folder in log_folders(index_dir):
        path = folder / LOG_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fresh = not path.exists() or path.stat().st_size > LOG_LIMIT
            with path.open("w" if fresh else "a", encoding="utf-8") as log:
                log.write(entry)
        except OSError:
            continue
        return path
    return None


def _entry(exc: BaseException) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        qa_version = version("qa")
    except PackageNotFoundError:
        qa_version = "unknown"
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    head = (f"=== {when} qa {qa_version}, Python {sys.version.split()[0]}, pid {os.getpid()}\n"
            f"command: {' '.join(sys.argv)}\n")
    return head + "".join(traceback.format_exception(exc)) + "\n"
