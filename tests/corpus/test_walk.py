"""The corpus walk behind every freshness check: walked by two processes, it must find
exactly what one process finds, and a sibling that dies must cost time, never files."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from qa.corpus import walk
from qa.corpus.walk import corpus_stats

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the split walk forks")


def _corpus(root: Path) -> Path:
    """Files at the top and in nested folders, hidden ones, and links in and out."""
    corpus = root / "corpus"
    for i in range(7):
        (corpus / f"folder-{i}" / "inner").mkdir(parents=True)
        for j in range(3):
            (corpus / f"folder-{i}" / f"note-{j}.md").write_text(f"{i} {j}\n" * (j + 1))
        (corpus / f"folder-{i}" / "inner" / "deep.txt").write_text(f"deep {i}\n")
    for i in range(5):
        (corpus / f"top-{i}.md").write_text("top\n" * (i + 1))
    (corpus / ".hidden.md").write_text("never walked\n")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "HEAD").write_text("ref\n")
    outside = root / "outside.md"
    outside.write_text("outside the corpus\n")
    (corpus / "link-out.md").symlink_to(outside)
    (corpus / "link-in.md").symlink_to(corpus / "top-0.md")
    (corpus / "linked-folder").symlink_to(corpus / "folder-0", target_is_directory=True)
    return corpus


@pytest.mark.parametrize("processes", [2, 3, 40])
def test_several_walkers_find_what_one_finds(tmp_path: Path, processes: int):
    corpus = _corpus(tmp_path)
    alone = corpus_stats(corpus)
    assert len(alone) == 7 * 4 + 5 + 1  # link-in.md counts; link-out and the folder link do not
    assert "folder-3/inner/deep.txt" in alone and "link-in.md" in alone
    assert corpus_stats(corpus, processes=processes) == alone


def test_a_corpus_inside_one_folder_is_shared_out_beneath_it(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    archive = tmp_path / "corpus" / "leak" / "2024"
    archive.mkdir(parents=True)
    for i in range(6):
        (archive / f"memo-{i}.md").write_text(f"memo {i}\n")
    shared = tmp_path / "shared"  # written by the sibling: its memory is its own
    stats_of = walk._stats_of

    def recorded(root, folder, fd, entries, prefix):
        shared.write_text(" ".join(prefix + e.name for e in entries))
        return stats_of(root, folder, fd, entries, prefix)

    monkeypatch.setattr(walk, "_stats_of", recorded)
    found = corpus_stats(tmp_path / "corpus", processes=2)
    assert sorted(found) == [f"leak/2024/memo-{i}.md" for i in range(6)]
    theirs = shared.read_text().split()  # every second entry of the listing, beneath it
    assert len(theirs) == 3 and set(theirs) < set(found)


def test_half_the_corpus_is_walked_by_a_forked_sibling(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    corpus = _corpus(tmp_path)
    walkers = tmp_path / "walkers"
    walkers.mkdir()
    stats_of = walk._stats_of

    def recorded(*args):  # the sibling's share of the work, as it runs
        (walkers / str(os.getpid())).touch()
        return stats_of(*args)

    monkeypatch.setattr(walk, "_stats_of", recorded)
    assert corpus_stats(corpus, processes=2) == corpus_stats(corpus)
    assert [int(p.name) for p in walkers.iterdir()] != [os.getpid()]
    assert len(list(walkers.iterdir())) == 1


@pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL as the OOM killer sends it")
def test_a_sibling_killed_mid_walk_costs_time_not_files(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    corpus = _corpus(tmp_path)
    parent = os.getpid()
    stats_of = walk._stats_of

    def dies_in_the_sibling(*args):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return stats_of(*args)

    monkeypatch.setattr(walk, "_stats_of", dies_in_the_sibling)
    assert corpus_stats(corpus, processes=2) == corpus_stats(corpus)


def test_no_process_to_spare_means_the_caller_walks_it_all(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    corpus = _corpus(tmp_path)
    alone = corpus_stats(corpus)

    def cannot_fork() -> int:  # as at the user's process limit
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(walk.os, "fork", cannot_fork)
    assert corpus_stats(corpus, processes=2) == alone
