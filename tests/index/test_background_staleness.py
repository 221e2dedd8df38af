"""The freshness check of `qa ask` runs in a forked child while the index opens: its
verdict must be the in-process one, its errors the parent's, and a child that dies
must not leave `qa ask` without an answer."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from qa.errors import QaError
from qa.index import staleness as staleness_module
from qa.index.staleness import Staleness, check_in_background, corpus_staleness
from qa.settings import Paths


@pytest.mark.skipif(sys.platform != "linux", reason="the check forks on Linux only")
def test_the_verdict_comes_from_a_child_and_equals_the_check_made_here(
        fake_index: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    files = sorted(fake_index.corpus.glob("*.md"))
    (fake_index.corpus / "new.md").write_text("A new document.\n", encoding="utf-8")
    files[0].write_text(files[0].read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    files[1].unlink()
    checker = tmp_path / "checked-by"

    def recorded(paths: Paths, processes: int = 1) -> Staleness:
        checker.write_text(f"{os.getpid()} {processes}")
        return corpus_staleness(paths, processes)

    monkeypatch.setattr(staleness_module, "corpus_staleness", recorded)
    verdict = check_in_background(fake_index)()
    pid, walkers = map(int, checker.read_text().split())
    assert pid != os.getpid()
    assert walkers == min(staleness_module.WALKERS, len(os.sched_getaffinity(0)))
    assert verdict == corpus_staleness(fake_index)
    assert (verdict.new, verdict.changed, verdict.removed) == (
        ["new.md"], [files[0].name], [files[1].name])



def test_without_core_affinity_the_machine_s_cores_set_the_walkers(
        fake_index: Paths, monkeypatch: pytest.MonkeyPatch):
    """macOS has no `os.sched_getaffinity`: the check must still run, one walker a core."""
    monkeypatch.delattr(staleness_module.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(staleness_module.os, "cpu_count", lambda: 3)
    assert staleness_module._walkers() == 3
    monkeypatch.setattr(staleness_module.os, "cpu_count", lambda: None)
    assert staleness_module._walkers() == 1

def test_an_empty_corpus_is_the_parent_s_one_line_error(fake_index: Paths):
    for path in fake_index.corpus.iterdir():
        path.unlink()
    wait = check_in_background(fake_index)
    with pytest.raises(QaError, match="corpus is empty"):
        wait()


@pytest.mark.skipif(sys.platform != "linux", reason="the check forks on Linux only")
def test_a_child_killed_before_answering_means_the_check_is_made_here(
        fake_index: Paths, monkeypatch: pytest.MonkeyPatch):
    (fake_index.corpus / "new.md").write_text("A new document.\n", encoding="utf-8")

    def die(paths: Paths, send) -> None:  # the child is killed, as by the OOM killer
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(staleness_module, "_check_and_send", die)
    verdict = check_in_background(fake_index)()
    assert verdict.new == ["new.md"]
