"""Question files in both formats (evidence phrases, gold spans), scored on real files with
the fake embedder: relevance by span containment, marking, AUROC, and the corpus a file
beside a corpus/ folder is asked of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import QaError
from qa.evaluation.questions import (
    QuestionScores,
    eval_paths,
    load_questions,
    questions_table,
    score_questions,
)
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths

BODY = ("Lakes freeze in winter when the air stays below zero for weeks.\n\n"
        "The harbour of Tallinn opened in 1918. Ferries cross to Helsinki every hour.\n")


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _span(text: str) -> list[int]:
    start = BODY.index(text)
    return [start, start + len(text)]


@pytest.fixture
def span_questions(tmp_path: Path) -> Path:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "baltic.md").write_text(f"---\ntitle: Baltic\n---\n{BODY}")
    return _write(tmp_path / "questions.jsonl", [
        {"id": "a", "question": "When did the harbour of Tallinn open?", "doc": "baltic.md",
         "answerable": True, "spans": [_span("1918")], "answers": ["1918"]},
        {"id": "b", "question": "When do lakes freeze?", "doc": "baltic.md",
         "answerable": True, "spans": [_span("in winter")], "answers": ["in winter"]},
        {"id": "c", "question": "When did the harbour of Riga close?", "doc": "baltic.md",
         "answerable": False, "spans": [], "answers": []},
    ])


def test_the_format_is_told_by_the_records(span_questions: Path, tmp_path: Path):
    spans = load_questions(span_questions)
    assert [q.spans for q in spans][:2] == [(tuple(_span("1918")),), (tuple(_span("in winter")),)]
    assert spans[0].doc == "baltic.md" and not spans[2].answerable
    phrases = load_questions(_write(tmp_path / "dev.jsonl", [
        {"id": "q", "question": "Q?", "answerable": True, "evidence": ["harbour"]}]))
    assert phrases[0].evidence == ("harbour",) and phrases[0].spans == ()


@pytest.mark.parametrize("rows, needle", [
    ([{"question": "Q?", "evidence": ["x"]}, {"question": "R?", "doc": "d", "spans": [[0, 1]]}],
     "mixes gold spans and evidence phrases"),
    ([{"question": "Q?", "doc": "d.md", "answerable": True, "spans": [[5, 2]]}], "span"),
    ([{"question": "Q?", "answerable": True, "spans": []}], "needs a doc"),
])
def test_bad_question_files_name_the_line(tmp_path: Path, rows: list[dict], needle: str):
    path = _write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(QaError, match=rf"bad.jsonl:{len(rows)}: .*{needle}"):
        load_questions(path)


def test_span_containment_decides_relevance_and_marking(span_questions: Path, fake_embedder):
    folder = span_questions.parent
    paths = eval_paths(Paths(folder / "elsewhere", folder / "index"), span_questions,
                       corpus_given=False)
    assert paths == Paths(folder / "corpus", folder / "index" / "eval" / folder.name)
    update_index(paths, progress=False, embedder=fake_embedder)
    searcher = Searcher(paths.index, encoder=fake_embedder)
    questions = load_questions(span_questions)
    try:
        scores = score_questions(searcher, questions, "bm25")
        first = searcher.search(questions[0].question, 1, mode="bm25").hits[0]
    finally:
        searcher.close()
    assert questions[0].relevant(first) and questions[0].marked(first)
    assert first.answer == "The harbour of Tallinn opened in 1918."
    assert not questions[1].marked(first)
    assert (scores.answerable, scores.unanswerable, scores.hit1) == (2, 1, 2)
    assert scores.top_marked == 2 and scores.mrr10 == 1.0
    table = questions_table("t", {m: scores for m in ("hybrid", "bm25", "dense")})
    assert "AUROC of the confidence" in table and "2 answerable, 1 unanswerable" in table


def test_an_explicit_corpus_wins_over_the_folder_beside_the_file(span_questions: Path):
    given = Paths(Path("/c"), Path("/i"))
    assert eval_paths(given, span_questions, corpus_given=True) == given


def test_auroc_ranks_answerable_above_unanswerable():
    """One of the two answerable questions is more confident than the unanswerable one."""
    scores = QuestionScores(answerable=2, unanswerable=1,
                            confidences=[(True, 0.9), (True, 0.4), (False, 0.5)])
    assert scores.auroc == 0.5
    assert QuestionScores(answerable=2, confidences=[(True, 0.9), (True, 0.4)]).auroc is None
