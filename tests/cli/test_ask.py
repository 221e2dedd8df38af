"""End to end: the real model, the real FAISS index, the real corpus, the real `qa` CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from qa.evaluation import questions as evaluation
from qa.ingest.loaders.registry import load_document
from qa.settings import Paths
from tests.conftest import DEV_QUESTIONS, QA, assert_one_line_error, live, run_qa, run_qa_process

EXAMPLE = "why did Baku reject mediators?"


def test_example_question_has_evidence_in_top_3(real_searcher):
    q = next(q for q in evaluation.load_questions(DEV_QUESTIONS) if q.question == EXAMPLE)
    answer = real_searcher.search(EXAMPLE, 5)
    assert answer.answered
    assert any(q.answered_by(h.passage.text) for h in answer.hits[:3])


def test_dev_targets_hold(real_searcher):
    questions = evaluation.load_questions(DEV_QUESTIONS)
    s = evaluation.score_questions(real_searcher, questions, "hybrid")
    assert s.hit1 >= 12 and s.hit3 >= 12, s  # as main: 12 of 13 first
    assert s.mrr10 >= 0.92, s  # achieved 0.923 (docs/quality-before-after.txt)
    assert s.top_marked >= 9, s  # the top passage's marked sentence: 10 of 13
    assert s.evidence_sentences >= 14, s  # marked in the top-5 passages holding it: 15 of 17
    assert s.rejected_unanswerable == s.unanswerable
    assert s.rejected_answerable == 0


def test_json_shape_offsets_and_answer(real_index: Paths):
    result = run_qa_process(real_index, "ask", "--json", "-k", "4", EXAMPLE)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["question"] == EXAMPLE and obj["answered"] is True
    assert len(obj["results"]) == 4
    types = {"rank": int, "score": float, "doc": str, "title": str, "paragraph": int,
             "start": int, "end": int, "text": str, "answer": str, "citation": str}
    for n, r in enumerate(obj["results"], 1):
        assert r["rank"] == n
        for key, kind in types.items():
            assert isinstance(r[key], kind), key
        assert r["source"] is None or isinstance(r["source"], str)
        assert r["published"] is None or isinstance(r["published"], str)
        path = real_index.corpus / r["doc"]
        doc = load_document(r["doc"], path.read_bytes())
        assert r["text"] == doc.text[r["start"] : r["end"]]
        assert r["answer"] in r["text"]
        assert r["title"] in r["citation"] and f"paragraph {r['paragraph']}" in r["citation"]
        # the body is verbatim from the file: the slice is in the file itself
        assert r["text"] in path.read_text(encoding="utf-8")
    scores = [r["score"] for r in obj["results"]]
    assert scores == sorted(scores, reverse=True)


def test_results_do_not_crowd_with_overlapping_passages(real_searcher):
    for q in evaluation.load_questions(DEV_QUESTIONS):
        hits = real_searcher.search(q.question, 10).hits
        for i, a in enumerate(hits):
            for b in hits[i + 1 :]:
                pa, pb = a.passage, b.passage
                if pa.doc_id == pb.doc_id:
                    assert pa.end + 2 < pb.start or pb.end + 2 < pa.start


def test_several_questions_and_stdin_give_jsonl_in_order(real_index: Paths):
    questions = [EXAMPLE, "When is Armenia's next parliamentary election?"]
    by_args = run_qa(real_index, "ask", "--json", "-k", "2", *questions)
    by_stdin = run_qa(real_index, "ask", "--json", "-k", "2", "-",
                      stdin="\n".join(questions) + "\n\n")
    for result in (by_args, by_stdin):
        assert result.returncode == 0, result.stderr
        objs = [json.loads(line) for line in result.stdout.splitlines()]
        assert [o["question"] for o in objs] == questions
        assert all(len(o["results"]) == 2 for o in objs)


def test_text_output_marks_the_answer(real_index: Paths):
    result = run_qa_process(real_index, "ask", "-k", "2", EXAMPLE)
    assert result.returncode == 0
    assert result.stdout.startswith(f"Q: {EXAMPLE}")
    assert result.stdout.count("**") >= 4  # answer emphasised in each passage (no tty)
    assert "1. score" in result.stdout and "2. score" in result.stdout


def test_unanswerable_question_is_flagged(real_index: Paths):
    result = run_qa(real_index, "ask", "--json", "How do I reset my router password?")
    obj = json.loads(result.stdout)
    assert obj["answered"] is False
    assert obj["results"] and all(r["weak"] for r in obj["results"])
    text = run_qa(real_index, "ask", "How do I reset my router password?").stdout
    assert "No confident answer in the corpus" in text and "(weak)" in text


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_is_refused(real_index: Paths, question: str):
    assert_one_line_error(run_qa(real_index, "ask", question), "question", "empty")


def test_missing_corpus_is_refused(real_index: Paths, tmp_path: Path):
    paths = Paths(tmp_path / "nowhere", tmp_path / "index")
    assert_one_line_error(run_qa(paths, "ask", EXAMPLE), "nowhere", "corpus folder not found")
    assert_one_line_error(run_qa(paths, "index"), "corpus folder not found")


def test_empty_corpus_is_refused(tmp_path: Path):
    (tmp_path / "corpus").mkdir()
    paths = Paths(tmp_path / "corpus", tmp_path / "index")
    assert_one_line_error(run_qa(paths, "ask", EXAMPLE), "corpus is empty")


def test_corrupt_store_is_explained_and_nothing_is_lost(index_copy: Paths):
    store = live(index_copy.index) / "qa.sqlite"
    store.write_bytes(b"garbage" * 1000)
    assert_one_line_error(run_qa(index_copy, "ask", EXAMPLE), "index is damaged", "--rebuild")
    assert all(p.exists() for p in index_copy.corpus.glob("*.md"))


def test_index_from_another_model_is_explained(index_copy: Paths):
    manifest = live(index_copy.index) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["model"]["dimension"] = 768
    manifest.write_text(json.dumps(data))
    result = run_qa(index_copy, "ask", EXAMPLE)
    assert_one_line_error(result, "model.dimension = 768", "384", "qa index --rebuild")
    assert result.returncode == 3


def test_stale_corpus_is_updated_or_warned(index_copy: Paths):
    note = index_copy.corpus / "2026-01-01-note.md"
    note.write_text("---\ntitle: \"A note\"\n---\n\nThe lavash recipe uses flour, water"
                    " and salt, baked on the wall of a tandoor oven.\n", encoding="utf-8")
    warned = run_qa(index_copy, "ask", "--no-update", "--json", "What goes into lavash?")
    assert warned.returncode == 0
    assert "1 new" in warned.stderr and "--no-update" in warned.stderr
    assert "2026-01-01-note.md" not in warned.stdout
    updated = run_qa(index_copy, "ask", "--json", "What goes into lavash?")
    assert updated.returncode == 0, updated.stderr
    assert "corpus changed since the last index (1 new); updating" in updated.stderr
    assert json.loads(updated.stdout)["results"][0]["doc"] == "2026-01-01-note.md"
    status = run_qa(index_copy, "status")
    assert "documents   6" in status.stdout and "up to date" in status.stdout


def test_no_index_yet_is_built_first(real_index: Paths, tmp_path: Path):
    shutil.copytree(real_index.corpus, tmp_path / "corpus")
    paths = Paths(tmp_path / "corpus", tmp_path / "index")
    result = run_qa(paths, "ask", "--json", "-k", "1", EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert "no index at" in result.stderr and "building it" in result.stderr
    assert json.loads(result.stdout)["results"]


def test_eval_prints_the_side_by_side_table(real_index: Paths):
    result = run_qa(real_index, "eval", str(DEV_QUESTIONS))
    assert result.returncode == 0, result.stderr
    for label in ("Hit@1", "Hit@3", "Hit@5", "MRR@10", "unanswerable rejected",
                  "answerable wrongly rejected", "hybrid", "bm25", "dense"):
        assert label in result.stdout


def test_answer_is_marked_even_when_no_word_matches(real_searcher):
    """Marking uses sentence vectors, so a paraphrase with no shared word still works."""
    question = "How many POWs were freed?"
    hits = real_searcher.search(question, 5, mode="dense").hits
    hit = next(h for h in hits if "release 32 Armenian military servicemen" in h.passage.text)
    assert "release 32 Armenian military servicemen" in hit.answer
    words = lambda text: {w.lower() for w in re.findall(r"\w+", text)}  # noqa: E731
    assert not words(question) & words(hit.answer)


def test_nothing_is_written_outside_corpus_and_index(real_index: Paths, tmp_path: Path):
    """A first build (model, ONNX export, tiktoken) and a question touch no home folder."""
    shutil.copytree(real_index.corpus, tmp_path / "corpus")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "QA_CORPUS": str(tmp_path / "corpus"), "QA_INDEX": str(tmp_path / "index")}
    for var in ("HF_HOME", "TIKTOKEN_CACHE_DIR", "TRANSFORMERS_CACHE"):
        env.pop(var, None)
    result = subprocess.run([*QA, "ask", "-k", "1", EXAMPLE], env=env, capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert list(home.rglob("*")) == []
    generation = live(tmp_path / "index")
    assert {p.name for p in generation.iterdir()} >= {"qa.sqlite", "vectors",
                                                      "manifest.json"}
    assert list((tmp_path / "index" / "encoders").glob("*.onnx"))
