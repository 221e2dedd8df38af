"""Rebuilds go into a new generation and switch with one atomic rename of CURRENT.

A rebuild never touches the live generation: killed at any moment it leaves the old
index answering, and the next run finishes the job. Readers keep the generation they
opened until they notice the switch; an old generation is removed only once no reader
holds it.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from qa.errors import IndexIncompatible
from qa.index.generations import building
from qa.index.layout import BUILDING_FILE, CURRENT_FILE, current_generation
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.conftest import CORPUS, REPO, FakeEmbedder, assert_one_line_error, live, run_qa
from tests.support.index_equality import index_content

QUESTION = "why did Baku reject mediators?"


def _build(paths: Paths, **kwargs: object) -> None:
    update_index(paths, progress=False, embedder=FakeEmbedder(), **kwargs)  # type: ignore[arg-type]


def _answers(paths: Paths) -> list[tuple[str, int]]:
    searcher = Searcher(paths.index, encoder=FakeEmbedder())
    try:
        return [(h.passage.path, h.passage.start) for h in searcher.search(QUESTION, 3).hits]
    finally:
        searcher.close()


def _generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.glob("gen-*"))


def test_rebuild_writes_a_new_generation_and_removes_the_old(corpus_copy: Paths):
    _build(corpus_copy)
    first = live(corpus_copy.index)
    manifest_before = (first / "manifest.json").read_text()
    _build(corpus_copy, rebuild=True)
    second = live(corpus_copy.index)
    assert second != first
    assert _generations(corpus_copy.index) == [second.name]
    assert not (corpus_copy.index / BUILDING_FILE).exists()
    assert (second / "manifest.json").read_text() == manifest_before


def test_a_reader_keeps_its_generation_then_follows_the_switch(corpus_copy: Paths):
    _build(corpus_copy)
    reader = Searcher(corpus_copy.index, encoder=FakeEmbedder())
    old = reader.generation
    expected = [(h.passage.path, h.passage.start) for h in reader.search(QUESTION, 3).hits]
    _build(corpus_copy, rebuild=True)
    assert old.exists(), "removed while a reader held it"
    assert reader.generation == old
    assert [(h.passage.path, h.passage.start)
            for h in reader.search(QUESTION, 3).hits] == expected
    assert reader.generation == live(corpus_copy.index)  # the search reopened on the new one
    reader.close()
    _build(corpus_copy)  # the next writer removes what no reader holds any more
    assert not old.exists()


def _kill_rebuild_at_random(paths: Paths, rng: random.Random) -> bool:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.index_driver", str(paths.corpus),
         str(paths.index), "--rebuild"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(rng.uniform(0.0, 1.5))  # a random moment, not synchronisation
    landed = proc.poll() is None
    proc.kill()
    proc.communicate()
    return landed


def test_killed_rebuilds_leave_the_old_index_answering_and_the_next_run_finishes(
    corpus_copy: Paths, record_property: Any,
):
    for copy in range(3):  # enough text for many commits, on a quiet machine too
        for n, src in enumerate(sorted(CORPUS.glob("*.md"))):
            shutil.copy(src, corpus_copy.corpus / f"copy-{copy}-{n}.md")
    _build(corpus_copy)
    before = live(corpus_copy.index)
    expected = _answers(corpus_copy)
    manifest = (before / "manifest.json").read_text()
    rng = random.Random(11)
    landed = sum(_kill_rebuild_at_random(corpus_copy, rng) for _ in range(6))
    assert landed >= 3, "too few kills landed mid-rebuild"
    record_property("kills", landed)  # bench/faults.py reports it
    # A complete generation answers, the same, whatever the kills left behind: the first
    # one, or one a rebuild finished before its kill; never the one still being built.
    assert live(corpus_copy.index) != building(corpus_copy.index)
    assert live(corpus_copy.index) == before or not (before / "qa.sqlite").exists()
    assert _answers(corpus_copy) == expected
    assert (live(corpus_copy.index) / "manifest.json").read_text() == manifest
    _build(corpus_copy)  # the next run finishes the job
    assert not (corpus_copy.index / BUILDING_FILE).exists()
    assert _generations(corpus_copy.index) == [live(corpus_copy.index).name]
    clean = Paths(corpus_copy.corpus, corpus_copy.index.parent / "clean")
    _build(clean)
    questions = [QUESTION, "prisoners released"]
    assert index_content(corpus_copy.index, FakeEmbedder(), questions) == index_content(
        clean.index, FakeEmbedder(), questions)


# A rebuild killed at each step of the switch itself, by a SIGKILL the child sends
# itself there (the random kills above seldom land in so short a window).
DIE_AT_SWITCH = """
import os, signal, sys
from pathlib import Path
from qa.index import generations

point, replace = sys.argv[3], os.replace

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def replace_then_maybe_die(src, dst, *args, **kwargs):
    if Path(dst).name == "CURRENT" and point == "before-rename":
        die()  # the new CURRENT is written and synced, not yet renamed into place
    replace(src, dst, *args, **kwargs)
    if Path(dst).name == "CURRENT" and point == "after-rename":
        die()  # switched, BUILDING not yet removed

os.replace = replace_then_maybe_die
if point == "before-cleanup":
    generations.remove_unused = lambda *args, **kwargs: die()

from tests.support.index_driver import main
main(sys.argv[1:3] + ["--rebuild"])
"""


@pytest.mark.parametrize("point", ["before-rename", "after-rename", "before-cleanup"])
def test_a_rebuild_killed_during_the_switch(corpus_copy: Paths, point: str,
                                            record_property: Any):
    _build(corpus_copy)
    old = live(corpus_copy.index)
    expected = _answers(corpus_copy)
    killed = subprocess.run(
        [sys.executable, "-c", DIE_AT_SWITCH, str(corpus_copy.corpus),
         str(corpus_copy.index), point],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert killed.returncode == -9, killed.stderr
    record_property("kills", 1)
    new = old.with_name(old.name.replace("1", "2"))
    assert new.exists()
    assert live(corpus_copy.index) == (old if point == "before-rename" else new)
    assert old.exists()  # nothing removed it yet: the kill came first
    assert (corpus_copy.index / BUILDING_FILE).exists() == (point != "before-cleanup")
    assert _answers(corpus_copy) == expected

    _build(corpus_copy)  # the next run finishes the job
    assert live(corpus_copy.index) == new
    assert _generations(corpus_copy.index) == [new.name]
    assert not (corpus_copy.index / BUILDING_FILE).exists()
    assert [p.name for p in corpus_copy.index.iterdir() if p.name.endswith(".tmp")] == []
    assert _answers(corpus_copy) == expected
    clean = Paths(corpus_copy.corpus, corpus_copy.index.parent / "clean")
    _build(clean)
    assert index_content(corpus_copy.index, FakeEmbedder(), [QUESTION]) == index_content(
        clean.index, FakeEmbedder(), [QUESTION])
    _build(corpus_copy, rebuild=True)  # a rebuild still builds beside the live one
    assert live(corpus_copy.index) not in (old, new)
    assert _generations(corpus_copy.index) == [live(corpus_copy.index).name]


def test_a_killed_first_build_is_resumed(corpus_copy: Paths):
    rng = random.Random(3)
    for n, src in enumerate(sorted(CORPUS.glob("*.md"))):
        shutil.copy(src, corpus_copy.corpus / f"copy-{n}.md")
    while not _kill_rebuild_at_random(corpus_copy, rng):
        shutil.rmtree(corpus_copy.index)
    assert current_generation(corpus_copy.index) is None
    building = (corpus_copy.index / BUILDING_FILE).read_text().strip()
    _build(corpus_copy)
    assert live(corpus_copy.index).name == building  # resumed, not started again
    assert _answers(corpus_copy)


def test_an_index_of_the_first_format_asks_for_a_rebuild(corpus_copy: Paths):
    _build(corpus_copy)
    generation = live(corpus_copy.index)
    for path in generation.iterdir():  # lay it out as the first format did
        shutil.move(path, corpus_copy.index / path.name)
    (corpus_copy.index / CURRENT_FILE).unlink()
    generation.rmdir()
    with pytest.raises(IndexIncompatible, match=r"older format.*qa index --rebuild"):
        Searcher(corpus_copy.index, encoder=FakeEmbedder())
    with pytest.raises(IndexIncompatible, match="older format"):
        _build(corpus_copy)
    _build(corpus_copy, rebuild=True)
    assert _answers(corpus_copy)
    assert not (corpus_copy.index / "qa.sqlite").exists()


def test_another_model_version_asks_for_a_rebuild(corpus_copy: Paths):
    _build(corpus_copy)
    path = live(corpus_copy.index) / "manifest.json"
    data = json.loads(path.read_text())
    data["model"]["fingerprint"] = "0" * 16
    path.write_text(json.dumps(data))
    result = run_qa(corpus_copy, "status")
    assert result.returncode == 3
    assert_one_line_error(result, "model.fingerprint", "qa index --rebuild")
    with pytest.raises(IndexIncompatible, match=r"model\.fingerprint.*--rebuild"):
        Searcher(corpus_copy.index, encoder=FakeEmbedder())
