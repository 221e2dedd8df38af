"""Faults made real (tests/support/faults.py): a full disk, a read-only index and a
damaged SQLite page. Each failure is one line with the fix and a documented exit code,
and the index that was there still answers.

Most runs are real `qa` processes with the fake model (tests/support/fake_model.py);
the first build on a full disk uses the real model, whose ONNX export used to end in
an `OSError: [Errno 28]` traceback.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.errors import EXIT_REBUILD, EXIT_SYSTEM
from qa.index.layout import STORE_FILE
from qa.index.store import Store
from qa.settings import Paths
from tests.conftest import CORPUS, FakeEmbedder, assert_one_line_error, live, run_fake_qa, run_qa
from tests.support.faults import (
    damage_table,
    file_size_limit,
    fill,
    read_only_mount,
    small_filesystem,
)
from tests.support.index_equality import index_content
from tests.support.privileges import permissions_apply

QUESTION = "why did Baku reject mediators?"


def _answers(paths: Paths, **options: object) -> list[tuple[str, int, str]]:
    result = run_fake_qa(paths, "ask", "--no-update", "--json", QUESTION, **options)
    assert result.returncode == 0, result.stderr
    return [(r["doc"], r["start"], r["text"]) for r in json.loads(result.stdout)["results"]]


def _add_documents(corpus: Path, count: int) -> None:
    source = sorted(CORPUS.glob("*.md"))[1].read_text(encoding="utf-8")
    for n in range(count):
        (corpus / f"copy-{n}.md").write_text(source + f"\nCopy number {n}.\n",
                                             encoding="utf-8")


def test_a_full_disk_fails_the_update_in_one_line_and_the_old_index_answers(tmp_path: Path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    disk = tmp_path / "disk"
    with small_filesystem(disk, 8192) as mounted:
        paths = Paths(corpus, disk / "index")
        assert run_fake_qa(paths, "index").returncode == 0
        before = _answers(paths)
        _add_documents(corpus, 9)
        if mounted:
            fill(disk, leave_kb=300)
            options = {}
        else:  # no mounting here: a file size limit makes the store's growth fail
            store_size = (live(paths.index) / STORE_FILE).stat().st_size
            options = {"preexec_fn": file_size_limit(store_size + 64 * 1024)}
        failed = run_fake_qa(paths, "index", **options)
        assert failed.returncode == EXIT_SYSTEM, failed.stderr
        assert_one_line_error(failed, str(paths.index), "the index still answers")
        if mounted:
            assert "disk full (no space left on device); free some space" in failed.stderr
        # Batches commit one by one, each writing only its own vector segment, so the
        # batches that fit before the disk filled stay committed: the index answers, and
        # holds every document it held before (the new ones may be there in part).
        assert _answers(paths)
        store = Store(live(paths.index) / STORE_FILE)
        held = set(store.db.execute(
            "SELECT d.path, c.start FROM chunks c JOIN documents d ON d.id = c.doc_id"))
        store.close()
        assert {(doc, start) for doc, start, _ in before} <= held
        if mounted:
            (disk / "filler").unlink()
        finished = run_fake_qa(paths, "index")
        assert finished.returncode == 0, finished.stderr
        clean = Paths(corpus, tmp_path / "clean")
        assert run_fake_qa(clean, "index").returncode == 0
        embedder = FakeEmbedder()
        assert index_content(paths.index, embedder, [QUESTION]) == index_content(
            clean.index, embedder, [QUESTION])


def _read_only_files(index: Path, writable: bool) -> None:
    for path in [index, *index.rglob("*")]:
        path.chmod((0o755 if path.is_dir() else 0o644) if writable else
                   (0o555 if path.is_dir() else 0o444))


def test_a_read_only_index_answers_and_an_update_says_why(fake_index: Paths):
    before = _answers(fake_index)
    _add_documents(fake_index.corpus, 1)
    _read_only_files(fake_index.index, writable=False)
    try:
        unprivileged = permissions_apply()
        assert _answers(fake_index, preexec_fn=unprivileged) == before
        failed = run_fake_qa(fake_index, "index", preexec_fn=unprivileged)
        status = run_fake_qa(fake_index, "status", preexec_fn=unprivileged)
    finally:
        _read_only_files(fake_index.index, writable=True)
    assert failed.returncode == EXIT_SYSTEM, failed.stderr
    assert_one_line_error(failed, str(fake_index.index))
    assert "permission" in failed.stderr and "use another folder" in failed.stderr
    assert status.returncode == 0 and "1 new" in status.stdout
    assert run_fake_qa(fake_index, "index").returncode == 0  # writable again: it catches up


def test_a_read_only_mount_answers_and_an_update_says_why(fake_index: Paths):
    before = _answers(fake_index)
    _add_documents(fake_index.corpus, 1)
    with read_only_mount(fake_index.index) as mounted:
        if not mounted:
            pytest.skip("cannot mount here (not root, or no mount permission)")
        assert _answers(fake_index) == before
        failed = run_fake_qa(fake_index, "index")
    assert failed.returncode == EXIT_SYSTEM, failed.stderr
    assert_one_line_error(failed, str(fake_index.index))
    assert "read-only file system" in failed.stderr


@pytest.mark.parametrize(("table", "commands"), [
    ("documents", [("ask", QUESTION), ("status",), ("index",)]),  # read by every command
    ("chunks", [("ask", QUESTION)]),  # read when passages are fetched
])
def test_a_damaged_page_is_detected_with_the_fix(
    fake_index: Paths, table: str, commands: list[tuple[str, ...]]
):
    damage_table(live(fake_index.index) / STORE_FILE, table)
    for command in commands:
        damaged = run_fake_qa(fake_index, *command)
        assert damaged.returncode == EXIT_REBUILD, (command, damaged.stderr)
        assert_one_line_error(damaged, str(fake_index.index),
                              "the index is damaged (database disk image is malformed);"
                              " rebuild it with `qa index --rebuild`")
    rebuilt = run_qa(fake_index, "index", "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert run_qa(fake_index, "ask", QUESTION).returncode == 0


@pytest.mark.e2e
def test_first_build_on_a_full_disk_with_the_real_model(tmp_path: Path):
    """The issue's case: `qa index` into a 3 MB tmpfs, where the ONNX export of the
    query encoder ran out of space and ended in an `OSError: [Errno 28]` traceback."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.md").write_text("Baku rejected mediators in 2024 and talked directly.\n",
                                    encoding="utf-8")  # little to embed: the export fails
    with small_filesystem(tmp_path / "disk", 3072) as mounted:
        if not mounted:
            pytest.skip("cannot mount a tmpfs here (not root, or no mount permission)")
        paths = Paths(corpus, tmp_path / "disk" / "index")
        failed = run_qa(paths, "index")
        assert failed.returncode == EXIT_SYSTEM, failed.stderr
        assert_one_line_error(failed, "disk full (no space left on device)")
        assert not list(paths.index.rglob("*.onnx"))
        assert not [p.name for p in paths.index.iterdir() if p.name.endswith(".tmp")]
