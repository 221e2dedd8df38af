"""Question files with evidence phrases (like dev.jsonl): Hit@k, MRR, abstention.

Every table shows the hybrid pipeline next to BM25 alone and dense alone, computed by
the same `Searcher` with only the mode changed, so a gain from fusion is measured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QaError
from qa.evaluation.table import MODES, side_by_side
from qa.search import fusion
from qa.search.fusion import Fusion
from qa.search.searcher import Searcher
from qa.settings import Paths
from qa.textnorm import normalise


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answerable: bool
    evidence: tuple[str, ...]

    def answered_by(self, passage_text: str) -> bool:
        text = normalise(passage_text)
        return any(normalise(e) in text for e in self.evidence)


def load_questions(path: str | Path) -> list[Question]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QaError(f"{path}: cannot read question file ({exc})") from None
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(str(row.get("id", number)), row["question"],
                                      bool(row.get("answerable", True)),
                                      tuple(row.get("evidence", []))))
        except (ValueError, KeyError, TypeError) as exc:
            raise QaError(f"{path}:{number}: not a question record ({exc})") from None
    if not questions:
        raise QaError(f"{path}: no questions")
    return questions


@dataclass
class QuestionScores:
    """Retrieval and abstention figures for one mode over a question file."""

    answerable: int = 0
    unanswerable: int = 0
    hit1: int = 0
    hit3: int = 0
    hit5: int = 0
    mrr10: float = 0.0
    rejected_unanswerable: int = 0
    rejected_answerable: int = 0
    evidence_passages: int = 0  # top-5 passages holding evidence
    evidence_sentences: int = 0  # ... whose marked answer sentence holds it too


def score_questions(
    searcher: Searcher, questions: Iterable[Question], mode: str,
    fusion_method: Fusion = fusion.DEFAULT,
) -> QuestionScores:
    scores = QuestionScores()
    for q in questions:
        answer = searcher.search(q.question, 10, mode=mode, fusion_method=fusion_method)
        if not q.answerable:
            scores.unanswerable += 1
            scores.rejected_unanswerable += not answer.answered
            continue
        scores.answerable += 1
        scores.rejected_answerable += not answer.answered
        for hit in answer.hits[:5]:
            if q.answered_by(hit.passage.text):
                scores.evidence_passages += 1
                scores.evidence_sentences += q.answered_by(hit.answer)
        first = next((h.rank for h in answer.hits if q.answered_by(h.passage.text)), None)
        if first is not None:
            scores.hit1 += first <= 1
            scores.hit3 += first <= 3
            scores.hit5 += first <= 5
            scores.mrr10 += 1.0 / first
    if scores.answerable:
        scores.mrr10 /= scores.answerable
    return scores


def run_questions(paths: Paths, questions_file: str) -> str:
    questions = load_questions(questions_file)
    searcher = Searcher(paths.index)
    try:
        table = {mode: score_questions(searcher, questions, mode) for mode in MODES}
    finally:
        searcher.close()
    a = table["hybrid"].answerable
    u = table["hybrid"].unanswerable
    rows = [
        (f"Hit@1 (of {a})", lambda s: f"{s.hit1}"),
        (f"Hit@3 (of {a})", lambda s: f"{s.hit3}"),
        (f"Hit@5 (of {a})", lambda s: f"{s.hit5}"),
        ("MRR@10", lambda s: f"{s.mrr10:.3f}"),
        (f"unanswerable rejected (of {u})", lambda s: f"{s.rejected_unanswerable}"),
        (f"answerable wrongly rejected (of {a})", lambda s: f"{s.rejected_answerable}"),
        ("marked sentence holds evidence",
         lambda s: f"{s.evidence_sentences}/{s.evidence_passages}"),
    ]
    return side_by_side(f"{questions_file}: {a} answerable, {u} unanswerable questions",
                  rows, table)
