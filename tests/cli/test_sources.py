"""`qa sources`: sources and folders with counts and date ranges, on real files."""

from __future__ import annotations

import json
import shutil

from qa.index.writer import update_index
from qa.settings import Paths
from tests.conftest import CORPUS, FakeEmbedder, assert_one_line_error, run_qa

NOTE = ('---\ntitle: "Note {n}"\nsource: "Carnegie Endowment for International Peace"\n'
        '{date}---\n\nBaku and Yerevan met again.\n')


def test_sources_and_folders_with_counts_and_date_ranges(corpus_copy: Paths):
    nested = corpus_copy.corpus / "notes" / "2024"
    nested.mkdir(parents=True)
    (nested / "a.md").write_text(NOTE.format(n=1, date='published: "2024-02-01"\n'))
    (nested / "b.md").write_text(NOTE.format(n=2, date=""))
    (corpus_copy.corpus / "notes" / "c.md").write_text(NOTE.format(n=3, date='published: "2023"\n'))
    update_index(corpus_copy, progress=False, embedder=FakeEmbedder())

    text = run_qa(corpus_copy, "sources")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    carnegie = next(line for line in lines if "Carnegie" in line)
    assert carnegie.split()[:4] == ["4", "documents", "2023", "to"]
    assert "2025-03-17, 1 undated" in carnegie
    assert any(line.endswith("  notes/2024/") and "2 documents" in line for line in lines)
    assert any(line.endswith("  notes/") and "2023 to 2024-02-01, 1 undated" in line
               for line in lines)

    found = json.loads(run_qa(corpus_copy, "sources", "--json").stdout)
    by_name = {g["name"]: g for g in found["sources"]}
    assert by_name["War on the Rocks"] == {"name": "War on the Rocks", "documents": 1,
                                           "first": None, "last": None, "undated": 1}
    assert {g["name"] for g in found["folders"]} == {"", "notes", "notes/2024"}
    assert sum(g["documents"] for g in found["sources"]) == 8


def test_sources_without_an_index_is_one_line(tmp_path):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    paths = Paths(tmp_path / "corpus", tmp_path / "index")
    assert_one_line_error(run_qa(paths, "sources"), "no index yet", "qa index")
