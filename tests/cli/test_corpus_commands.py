"""`qa add`, `qa remove`, `qa status`, the indexer lock and edited documents, through
the real CLI with the real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

from qa.settings import Paths
from tests.cli.test_ask import EXAMPLE
from tests.conftest import assert_one_line_error, run_qa

NOTE = ("---\ntitle: \"Field note\"\n---\n\nThe lavash recipe uses flour, water and salt,"
        " baked on the wall of a tandoor oven.\n")


def test_add_identical_clash_remove_and_status(index_copy: Paths, tmp_path: Path):
    outside = tmp_path / "outside"
    (outside / "folder name with spaces").mkdir(parents=True)
    note = outside / "folder name with spaces" / "nöte ünïcode.md"
    note.write_text(NOTE, encoding="utf-8")
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: secret\n---\n\nOutside the tree.\n", encoding="utf-8")
    (outside / "folder name with spaces" / "link.md").symlink_to(secret)

    added = run_qa(index_copy, "add", str(outside / "folder name with spaces"))
    assert added.returncode == 0, added.stderr
    rel = "folder name with spaces/nöte ünïcode.md"
    assert f"added {rel}" in added.stdout
    # `qa add` updates the index for what it copied alone: the other five are not looked at
    assert "added 1, updated 0, removed 0, unchanged 0" in added.stdout
    assert not (index_copy.corpus / "folder name with spaces" / "link.md").exists()

    again = run_qa(index_copy, "add", str(note))
    assert again.returncode == 0
    assert f"identical content already in the corpus as {rel}; skipped" in again.stderr

    clash = outside / "2024-02-armenia-azerbaijan-going-it-alone.md"
    clash.write_text(NOTE.replace("Field note", "Other"), encoding="utf-8")
    before = (index_copy.corpus / clash.name).read_text(encoding="utf-8")
    refused = run_qa(index_copy, "add", str(clash))
    assert refused.returncode == 1
    assert "refused, corpus already has a different file named" in refused.stderr
    assert (index_copy.corpus / clash.name).read_text(encoding="utf-8") == before

    answer = json.loads(run_qa(index_copy, "ask", "--json", "-k", "1",
                               "What goes into lavash?").stdout)
    assert answer["results"][0]["doc"] == rel

    status = run_qa(index_copy, "status")
    assert "documents   6" in status.stdout
    assert "all-MiniLM-L6-v2 (384 dimensions)" in status.stdout
    assert "up to date" in status.stdout

    removed = run_qa(index_copy, "remove", rel)
    assert removed.returncode == 0, removed.stderr
    assert "removed 1" in removed.stdout
    assert not (index_copy.corpus / rel).exists()
    outside_rm = run_qa(index_copy, "remove", str(secret))
    assert_one_line_error(outside_rm, "outside the corpus")
    assert secret.exists()


def test_status_names_skipped_and_stale_files(index_copy: Paths):
    (index_copy.corpus / "scan.pdf").write_bytes(b"%PDF-1.4 truncated")
    (index_copy.corpus / "notes.pptx").write_bytes(b"PK\x03\x04 not supported")
    result = run_qa(index_copy, "index")
    assert result.returncode == 4
    assert "qa: notes.pptx: skipped, unsupported file type '.pptx'" in result.stderr
    assert "skipped 2" in result.stdout
    edited = index_copy.corpus / "2025-03-17-armenia-azerbaijan-major-step-forward.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nAn added line.\n",
                      encoding="utf-8")
    status = run_qa(index_copy, "status").stdout
    assert "skipped     2" in status and "notes.pptx: unsupported file type" in status
    assert f"changed: {edited.name}" in status


def test_edited_document_is_flagged_with_no_update(index_copy: Paths):
    edited = index_copy.corpus / "2024-02-armenia-azerbaijan-going-it-alone.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("mediators", "brokers"),
                      encoding="utf-8")
    result = run_qa(index_copy, "ask", "--no-update", "--json", EXAMPLE)
    assert "1 changed" in result.stderr
    results = json.loads(result.stdout)["results"]
    flagged = [r for r in results if r["doc"] == edited.name]
    assert flagged and all(r["stale"] for r in flagged)
    assert not any(r["stale"] for r in results if r["doc"] != edited.name)


def test_second_indexer_waits_then_gives_up_while_ask_still_answers(index_copy: Paths):
    (index_copy.corpus / "new.md").write_text(NOTE, encoding="utf-8")
    env = {**os.environ, "QA_CORPUS": str(index_copy.corpus), "QA_INDEX": str(index_copy.index),
           "QA_LOCK_TIMEOUT": "1"}
    with FileLock(index_copy.index / ".lock"):
        blocked = subprocess.run([sys.executable, "-m", "qa", "index"], env=env,
                                 capture_output=True, text=True, timeout=120, check=False)
        answered = run_qa(index_copy, "ask", "--no-update", "--json", EXAMPLE)
    assert blocked.returncode == 1
    assert "another qa is updating this index; waiting" in blocked.stderr
    assert "another indexer still holds the lock after 1 s" in blocked.stderr
    assert "Traceback" not in blocked.stderr
    assert answered.returncode == 0 and json.loads(answered.stdout)["results"]
