"""The last-resort handler and the settings, through the real CLI: every failure is one
line on stderr with a documented exit code, an unexpected one names the log that holds
its traceback, and a bad QA_* number breaks only the command that needs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.crash_log import LOG_NAME
from qa.errors import EXIT_ERROR, EXIT_INTERNAL
from qa.settings import Paths
from tests.conftest import REPO, assert_one_line_error, run_qa

BUG = "a bug planted by the test"


def _plant_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `qa status` fail the way a bug would: an exception no code expects."""

    def broken(paths: Paths) -> str:
        raise ZeroDivisionError(BUG)

    monkeypatch.setattr("qa.index.status.status_text", broken)


def _log_named_in(stderr: str) -> Path:
    line = stderr.strip().splitlines()[-1]
    return Path(line.split("the traceback is in ", 1)[1])


def test_a_bug_is_one_line_naming_a_log_in_the_index(fake_index: Paths, monkeypatch):
    _plant_bug(monkeypatch)
    result = run_qa(fake_index, "status")
    assert result.returncode == EXIT_INTERNAL
    assert_one_line_error(result, "internal error (ZeroDivisionError: " + BUG,
                          "this is a bug in qa")
    log = _log_named_in(result.stderr)
    assert log == fake_index.index / LOG_NAME
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and f"ZeroDivisionError: {BUG}" in text


def test_without_an_index_folder_the_log_goes_to_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    _plant_bug(monkeypatch)
    paths = Paths(tmp_path / "corpus", tmp_path / "no-index")
    result = run_qa(paths, "status", env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert result.returncode == EXIT_INTERNAL
    assert _log_named_in(result.stderr) == tmp_path / "cache" / "qa" / LOG_NAME
    assert not paths.index.exists()  # the log does not create an index folder


def test_a_bug_in_a_real_process_prints_no_traceback_unless_qa_debug(fake_index: Paths):
    plant = ("import qa.index.status as s\n"
             f"def broken(paths): raise ZeroDivisionError({BUG!r})\n"
             "s.status_text = broken\n"
             "from qa.cli import main\nmain()\n")
    env = {**os.environ, "QA_CORPUS": str(fake_index.corpus),
           "QA_INDEX": str(fake_index.index)}
    quiet = subprocess.run([sys.executable, "-c", plant, "status"], env=env, cwd=REPO,
                           capture_output=True, text=True, timeout=120, check=False)
    assert quiet.returncode == EXIT_INTERNAL, quiet.stderr
    assert "Traceback" not in quiet.stderr and len(quiet.stderr.splitlines()) == 1
    debug = subprocess.run([sys.executable, "-c", plant, "status"],
                           env={**env, "QA_DEBUG": "1"}, cwd=REPO, capture_output=True,
                           text=True, timeout=120, check=False)
    assert "Traceback (most recent call last)" in debug.stderr
    assert f"ZeroDivisionError: {BUG}" in debug.stderr


@pytest.mark.parametrize(("variable", "command"), [("QA_LOCK_TIMEOUT", "index"),
                                                   ("QA_MAX_FILE_BYTES", "index")])
@pytest.mark.parametrize("value", ["abc", "-5", "nan", "1e400"])
def test_a_bad_number_in_the_environment_names_the_variable(
    fake_index: Paths, variable: str, command: str, value: str
):
    (fake_index.corpus / "new.md").write_text("A new note about Baku.\n", encoding="utf-8")
    result = run_qa(fake_index, command, env={variable: value})
    assert result.returncode == EXIT_ERROR
    assert_one_line_error(result, f"{variable}={value!r}: not valid", "or unset it")


def test_a_bad_number_breaks_neither_help_nor_commands_that_do_not_use_it(fake_index: Paths):
    """Before settings were read lazily, `QA_LOCK_TIMEOUT=abc qa status` (and every other
    command, --help included) died at import with a ValueError traceback."""
    env = {**os.environ, "QA_CORPUS": str(fake_index.corpus), "QA_INDEX": str(fake_index.index),
           "QA_LOCK_TIMEOUT": "abc", "QA_MAX_FILE_BYTES": "abc"}
    for args in (["--help"], ["status"], ["index", "--help"]):
        done = subprocess.run([sys.executable, "-m", "qa", *args], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert "documents   5" in run_qa(fake_index, "status", env={"QA_LOCK_TIMEOUT": "abc"}).stdout
