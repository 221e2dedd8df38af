"""`qa add` and `qa remove` where they used to break: a folder removed with a file inside
it, a name taken while the copy runs, and sources that cannot be read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa.errors import EXIT_ERROR
from qa.settings import Paths
from tests.conftest import indexed_documents, run_fake_qa, run_qa
from tests.support.privileges import permissions_apply

NOTE = "---\ntitle: Field note\n---\n\nThe lavash recipe uses flour, water and salt.\n"


def test_removing_a_folder_and_a_file_inside_it_removes_each_once(fake_index: Paths):
    """`qa remove sub sub/a.md` ended in a FileNotFoundError traceback: the folder went
    first, then the file inside it could not be unlinked."""
    sub = fake_index.corpus / "sub"
    sub.mkdir()
    for name in ("a.md", "b.md"):
        (sub / name).write_text(NOTE.replace("Field", name), encoding="utf-8")
    assert run_qa(fake_index, "index").returncode == 0
    assert {"sub/a.md", "sub/b.md"} <= indexed_documents(fake_index)

    result = run_qa(fake_index, "remove", "sub", "sub/a.md")
    assert result.returncode == 0, result.stderr
    assert result.escaped is None and "Traceback" not in result.stderr
    assert result.stdout.count("removed sub/a.md") == 1
    assert result.stdout.count("removed sub/b.md") == 1
    assert "removed 2" in result.stdout
    assert not sub.exists()
    assert not {"sub/a.md", "sub/b.md"} & indexed_documents(fake_index)


def test_add_never_overwrites_a_file_created_while_it_copies(
    fake_index: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`qa add` checked that the name was free, then renamed its copy over it: a file
    created in between was lost. Here another writer takes the name mid-copy."""
    source = tmp_path / "outside" / "note.md"
    source.parent.mkdir()
    source.write_text(NOTE, encoding="utf-8")
    destination = fake_index.corpus / "note.md"
    theirs = "Written by another program while qa was copying.\n"
    copy = shutil.copyfile

    def copy_while_someone_takes_the_name(src: str, dst: str) -> str:
        if Path(src) == source:
            destination.write_text(theirs, encoding="utf-8")
        return copy(src, dst)

    monkeypatch.setattr(shutil, "copyfile", copy_while_someone_takes_the_name)
    result = run_qa(fake_index, "add", str(source))
    assert result.returncode == EXIT_ERROR
    assert "refused, corpus already has a different file named note.md" in result.stderr
    assert destination.read_text(encoding="utf-8") == theirs
    assert not list(fake_index.corpus.glob(".note.md*")), "a temporary copy was left behind"


def test_unreadable_sources_are_refused_by_name_and_the_others_added(
    fake_index: Paths, tmp_path: Path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "readable.md").write_text(NOTE, encoding="utf-8")
    secret = outside / "secret.md"
    secret.write_text(NOTE.replace("lavash", "secret"), encoding="utf-8")
    locked = outside / "locked"
    locked.mkdir()
    (locked / "inside.md").write_text(NOTE.replace("lavash", "locked"), encoding="utf-8")
    secret.chmod(0)
    locked.chmod(0)
    try:
        result = run_fake_qa(fake_index, "add", str(secret), str(outside / "readable.md"),
                             str(locked), preexec_fn=permissions_apply())
    finally:
        locked.chmod(0o755)
    assert result.returncode == EXIT_ERROR, result.stderr
    assert "Traceback" not in result.stderr
    assert f"qa: {secret}: refused, cannot be read (Permission denied)" in result.stderr
    assert f"qa: {locked}: refused, cannot be read (Permission denied)" in result.stderr
    assert "added readable.md" in result.stdout
    assert "readable.md" in indexed_documents(fake_index)
