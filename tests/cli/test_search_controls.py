"""Filters, republished copies and citations from the command line, on the real model
and the real corpus."""

from __future__ import annotations

import json
import re

from qa.ingest.loaders.registry import load_document
from qa.settings import Paths
from tests.conftest import run_qa, run_qa_process

QUESTION = "why did Baku reject mediators?"
RESULT_KEYS = {"rank", "score", "doc", "title", "source", "published", "author", "paragraph",
               "page", "start", "end", "text", "answer", "answer_start", "answer_end",
               "citation", "weak", "stale"}


def test_inline_filters_are_echoed_in_json_and_every_key_is_kept(real_index: Paths):
    result = run_qa(real_index, "ask", "--json", "-k", "3",
                    f'source:"war on the rocks" {QUESTION}')
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["question"] == f'source:"war on the rocks" {QUESTION}'
    assert obj["filters"]["source"] == ["war on the rocks"]
    assert obj["filters"]["documents"] == 1 and obj["filters"]["passages"] > 3
    assert len(obj["results"]) == 3
    for r in obj["results"]:
        assert set(r) >= RESULT_KEYS
        assert r["source"] == "War on the Rocks"
    plain = json.loads(run_qa(real_index, "ask", "--json", "-k", "1", QUESTION).stdout)
    assert plain["filters"] is None


def test_options_and_dates_in_text_output(real_index: Paths):
    result = run_qa_process(real_index, "ask", "-k", "2", "--after", "2025-03",
                            "--exclude", "Pashinyan", QUESTION)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"Filters: after:2025-03 -Pashinyan \(2 documents, \d+ passages\);"
                        r" 3 undated documents left out by the date filter", lines[1])
    cited = [line for line in lines if line[:3] in ("1. ", "2. ")]
    assert len(cited) == 2 and all("2025-" in line for line in cited)


def test_cite_prints_a_bibliography_of_the_cited_passages(real_index: Paths):
    import bibtexparser

    result = run_qa(real_index, "ask", "-k", "3", "--cite", "bibtex",
                    f"source:carnegie {QUESTION}")
    assert result.returncode == 0, result.stderr
    library = bibtexparser.parse_string(result.stdout)
    assert not library.failed_blocks and len(library.entries) == 3
    for entry in library.entries:
        assert entry.key.startswith("carnegie2025armenia-para")
        assert entry.fields_dict["date"].value == "2025-03-17"
        assert entry.fields_dict["note"].value.startswith("paragraph ")


def test_a_republished_copy_is_listed_under_the_earliest(index_copy: Paths):
    original = "2024-02-armenia-azerbaijan-going-it-alone.md"
    body = load_document(original, (index_copy.corpus / original).read_bytes()).text
    (index_copy.corpus / "wire.md").write_text(
        '---\ntitle: "Going it alone"\nsource: "Caucasus Wire"\npublished: "2024-02-03"\n'
        "---\n\nReprinted with permission. Photo: the border commission.\n\n" + body,
        encoding="utf-8")
    grouped = run_qa(index_copy, "ask", "--json", "-k", "5", QUESTION)  # indexes wire.md
    assert grouped.returncode == 0, grouped.stderr
    results = json.loads(grouped.stdout)["results"]
    docs = [r["doc"] for r in results]
    assert "wire.md" in docs and original not in docs
    for r in results:
        if r["doc"] == "wire.md":
            assert [c["doc"] for c in r["also_published"]] == [original]
        else:
            assert r["also_published"] == []
    every = json.loads(run_qa(index_copy, "ask", "--json", "--all-copies", "-k", "10",
                              QUESTION).stdout)["results"]
    assert {"wire.md", original} <= {r["doc"] for r in every}
    status = run_qa(index_copy, "status").stdout
    assert f"  wire.md = {original}" in status.splitlines()
