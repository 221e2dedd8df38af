"""`qa eval --beir` on malformed folders: one line naming the file (and line) and the
fix, exit 1, never a JSONDecodeError or KeyError traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import EXIT_ERROR
from qa.settings import Paths
from tests.conftest import assert_one_line_error, run_qa

GOOD_CORPUS = "".join(json.dumps({"_id": f"d{n}", "title": f"Doc {n}",
                                  "text": f"Document {n} is about harbour cranes."}) + "\n"
                      for n in range(3))
GOOD_QUERIES = json.dumps({"_id": "q1", "text": "harbour cranes"}) + "\n"
GOOD_QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\n"

# name -> (file to spoil, its content, what the line must say)
MALFORMED = {
    "not JSON": ("corpus.jsonl", GOOD_CORPUS + "{not json\n", "corpus.jsonl:4: not valid JSON"),
    "no _id": ("corpus.jsonl", '{"title": "x", "text": "y"}\n',
               'corpus.jsonl:1: a BEIR row is a JSON object with an "_id"'),
    "a list, not an object": ("queries.jsonl", "[1, 2]\n", "queries.jsonl:1: a BEIR row"),
    "text not a string": ("corpus.jsonl", '{"_id": "d", "text": 5}\n',
                          'corpus.jsonl:1: "title" and "text" must be strings'),
    "not UTF-8": ("queries.jsonl", b'{"_id": "q1", "text": "caf\xe9"}\n', "not UTF-8 text"),
    "no queries file": ("queries.jsonl", None, "queries.jsonl: not found; is"),
    "no corpus file": ("corpus.jsonl", None, "corpus.jsonl: not found; is"),
    "short qrels row": ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\n",
                        "test.tsv:2: expected query-id, corpus-id and a whole number score"),
    "qrels score not a number": ("qrels/test.tsv", "q1\td1\t1\nq1\td2\thigh\n",
                                 "test.tsv:2: expected"),
    "qrels with a header only": ("qrels/test.tsv", "query-id\tcorpus-id\tscore\n",
                                 "test.tsv: no relevance judgements"),
}


def _beir_folder(root: Path, spoil: str, content: str | bytes | None) -> Path:
    folder = root / "bench"
    (folder / "qrels").mkdir(parents=True)
    files = {"corpus.jsonl": GOOD_CORPUS, "queries.jsonl": GOOD_QUERIES,
             "qrels/test.tsv": GOOD_QRELS}
    files[spoil] = content
    for name, text in files.items():
        if text is not None:
            path = folder / name
            path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return folder


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_beir_folder_is_one_line(fake_model: None, tmp_path: Path, kind: str):
    spoil, content, needle = MALFORMED[kind]
    folder = _beir_folder(tmp_path, spoil, content)
    paths = Paths(tmp_path / "corpus", tmp_path / "index")
    result = run_qa(paths, "eval", "--beir", str(folder))
    assert result.returncode == EXIT_ERROR, result.stderr
    assert_one_line_error(result, needle)


def test_a_well_formed_folder_still_scores(fake_model: None, tmp_path: Path):
    folder = _beir_folder(tmp_path, "qrels/test.tsv", GOOD_QRELS)
    result = run_qa(Paths(tmp_path / "corpus", tmp_path / "index"), "eval", "--beir",
                    str(folder))
    assert result.returncode == 0, result.stderr
    assert "bench test: 1 queries" in result.stdout and "nDCG@10" in result.stdout
