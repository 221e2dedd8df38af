"""Question files: Hit@k, MRR, answer marking, abstention and its AUROC.

Two formats, told apart per file by what its records carry:
- evidence phrases (like dev.jsonl): `{"id", "question", "answerable", "evidence"}`; a
  passage is relevant when it contains one of the phrases (normalised);
- gold spans (like squad-dev's questions.jsonl): `{"id", "question", "doc",
  "answerable", "spans", "answers"}`; a passage is relevant when its document is the
  question's and its `[start, end)` contains one of the `[start, end)` spans.

Every table shows the hybrid pipeline next to BM25 alone and dense alone, computed by
the same `Searcher` with only the mode changed, so a gain from fusion is measured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import QaError
from qa.evaluation.table import MODES, side_by_side
from qa.search import fusion
from qa.search.fusion import Fusion
from qa.search.searcher import Hit, Searcher
from qa.settings import Paths
from qa.textnorm import normalise

EVAL_CORPUS_DIR = "corpus"  # a question file beside a folder of this name is asked of it


@dataclass(frozen=True)
class Question:
    """One question with what counts as its answer: evidence phrases, or gold spans in
    one document (corpus-relative path `doc`)."""

    id: str
    question: str
    answerable: bool
    evidence: tuple[str, ...] = ()
    doc: str | None = None
    spans: tuple[tuple[int, int], ...] = ()

    def answered_by(self, passage_text: str) -> bool:
        text = normalise(passage_text)
        return any(normalise(e) in text for e in self.evidence)

    def contains_span(self, doc: str, start: int, end: int) -> bool:
        return doc == self.doc and any(start <= s and e <= end for s, e in self.spans)

    def relevant(self, hit: Hit) -> bool:
        """The hit's passage holds the answer."""
        p = hit.passage
        if self.spans:
            return self.contains_span(p.path, p.start, p.end)
        return self.answered_by(p.text)

    def marked(self, hit: Hit) -> bool:
        """The hit's marked sentence holds the answer."""
        if self.spans:
            return self.contains_span(hit.passage.path, hit.answer_start, hit.answer_end)
        return self.answered_by(hit.answer)


def _question(row: dict, number: int, spans_format: bool) -> Question:
    qid, text = str(row.get("id", number)), row["question"]
    answerable = bool(row.get("answerable", True))
    if not isinstance(text, str):
        raise TypeError("question is not a string")
    if not spans_format:
        return Question(qid, text, answerable, tuple(row.get("evidence", [])))
    spans = tuple((int(s), int(e)) for s, e in row.get("spans", []))
    if any(not 0 <= s < e for s, e in spans):
        raise ValueError("a span is not [start, end) with 0 <= start < end")
    if answerable and not (spans and isinstance(row.get("doc"), str)):
        raise ValueError("an answerable question needs a doc and at least one span")
    return Question(qid, text, answerable, (), row.get("doc"), spans)


def load_questions(path: str | Path) -> list[Question]:
    """Read a question file; its first record's keys choose the format for the file."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QaError(f"{path}: cannot read question file ({exc})") from None
    questions = []
    spans_format: bool | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if spans_format is None:
                spans_format = "spans" in row
            elif ("spans" in row) != spans_format:
                raise ValueError("mixes gold spans and evidence phrases in one file")
            questions.append(_question(row, number, spans_format))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise QaError(f"{path}:{number}: not a question record ({exc})") from None
    if not questions:
        raise QaError(f"{path}: no questions")
    return questions


def eval_paths(paths: Paths, questions_file: str | Path, corpus_given: bool) -> Paths:
    """The corpus and index a question file is asked of.

    With `--corpus`, the folders given. Otherwise a question file that sits beside a
    `corpus/` folder (like squad-dev) is asked of that corpus, indexed inside the index
    folder under `eval/<folder name>/` (as BEIR benchmarks are), so that
    `qa eval ../shared/eval/squad-dev/questions.jsonl` needs nothing else.
    """
    folder = Path(questions_file).resolve().parent
    if corpus_given or not (folder / EVAL_CORPUS_DIR).is_dir():
        return paths
    return Paths(folder / EVAL_CORPUS_DIR, paths.index / "eval" / folder.name)


@dataclass
class QuestionScores:
    """Retrieval, marking and abstention figures for one mode over a question file."""

    answerable: int = 0
    unanswerable: int = 0
    hit1: int = 0
    hit3: int = 0
    hit5: int = 0
    mrr10: float = 0.0
    rejected_unanswerable: int = 0
    rejected_answerable: int = 0
    top_marked: int = 0  # answerable questions whose top passage's marked sentence holds it
    evidence_passages: int = 0  # top-5 passages holding the answer
    evidence_sentences: int = 0  # ... whose marked sentence holds it too
    confidences: list[tuple[bool, float]] = field(default_factory=list)

    def rate(self, count: float) -> float:
        return count / self.answerable if self.answerable else 0.0

    @property
    def auroc(self) -> float | None:
        """AUROC of the confidence, answerable against unanswerable (None without both)."""
        if not (self.answerable and self.unanswerable):
            return None
        from sklearn.metrics import roc_auc_score

        labels, scores = zip(*self.confidences, strict=True)
        return float(roc_auc_score(labels, scores))


def score_questions(
    searcher: Searcher, questions: Iterable[Question], mode: str,
    fusion_method: Fusion = fusion.DEFAULT,
) -> QuestionScores:
    scores = QuestionScores()
    for q in questions:
        answer = searcher.search(q.question, 10, mode=mode, fusion_method=fusion_method)
        scores.confidences.append((q.answerable, answer.confidence))
        if not q.answerable:
            scores.unanswerable += 1
            scores.rejected_unanswerable += not answer.answered
            continue
        scores.answerable += 1
        scores.rejected_answerable += not answer.answered
        if answer.hits:
            scores.top_marked += q.marked(answer.hits[0])
        for hit in answer.hits[:5]:
            if q.relevant(hit):
                scores.evidence_passages += 1
                scores.evidence_sentences += q.marked(hit)
        first = next((h.rank for h in answer.hits if q.relevant(h)), None)
        if first is not None:
            scores.hit1 += first <= 1
            scores.hit3 += first <= 3
            scores.hit5 += first <= 5
            scores.mrr10 += 1.0 / first
    scores.mrr10 = scores.rate(scores.mrr10)
    return scores


def questions_table(title: str, table: dict[str, QuestionScores]) -> str:
    """The side-by-side table of `score_questions` results, one column per mode."""
    a = table["hybrid"].answerable
    u = table["hybrid"].unanswerable
    rows = [
        ("Hit@1", lambda s: f"{s.rate(s.hit1):.3f}"),
        ("Hit@3", lambda s: f"{s.rate(s.hit3):.3f}"),
        ("Hit@5", lambda s: f"{s.rate(s.hit5):.3f}"),
        ("MRR@10", lambda s: f"{s.mrr10:.3f}"),
        ("top passage's marked sentence holds it", lambda s: f"{s.rate(s.top_marked):.3f}"),
        ("marked sentence holds it (top-5 passages)",
         lambda s: f"{s.evidence_sentences}/{s.evidence_passages}"),
        ("unanswerable rejected", lambda s: f"{s.rejected_unanswerable}/{u}"),
        ("answerable wrongly rejected", lambda s: f"{s.rejected_answerable}/{a}"),
        ("AUROC of the confidence",
         lambda s: "n/a" if s.auroc is None else f"{s.auroc:.3f}"),
    ]
    return side_by_side(f"{title}: {a} answerable, {u} unanswerable questions", rows, table)


def run_questions(paths: Paths, questions_file: str) -> str:
    questions = load_questions(questions_file)
    searcher = Searcher(paths.index)
    try:
        table = {mode: score_questions(searcher, questions, mode) for mode in MODES}
    finally:
        searcher.close()
    return questions_table(questions_file, table)
