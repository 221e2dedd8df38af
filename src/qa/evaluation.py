"""Measure retrieval: dev-style question files and BEIR benchmarks, side by side.

Every table shows the hybrid pipeline next to BM25 alone and dense alone, computed by
the same `Searcher` with only the mode changed, so a gain from fusion is measured.
BEIR scores use trec_eval (pytrec_eval), as BEIR does, with documents as the unit: a
document scores as its best chunk.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa import fusion
from qa.errors import QaError
from qa.fusion import Fusion
from qa.search import Searcher
from qa.settings import Paths

MODES = ("hybrid", "bm25", "dense")
_ASCII = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2032": "'",
                        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                        "\u2014": "-", "\u2015": "-", "\u2212": "-"})
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC, curly quotes and dashes to ASCII, whitespace collapsed, lowercase."""
    text = unicodedata.normalize("NFKC", text).translate(_ASCII)
    return _SPACE.sub(" ", text).strip().lower()


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
    return _table(f"{questions_file}: {a} answerable, {u} unanswerable questions",
                  rows, table)


def _table(title: str, rows: list, table: dict) -> str:
    width = max(len(r[0]) for r in rows) + 2
    out = [title, "".ljust(width) + "".join(m.rjust(9) for m in MODES)]
    for label, cell in rows:
        out.append(label.ljust(width) + "".join(cell(table[m]).rjust(9) for m in MODES))
    return "\n".join(out)


# -- BEIR --------------------------------------------------------------------------------

def beir_paths(paths: Paths, beir_dir: Path) -> Paths:
    """Where a BEIR corpus is materialised and indexed: inside the index folder."""
    base = paths.index / "beir" / beir_dir.name
    return Paths(base / "corpus", base / "index")


def materialise_beir_corpus(beir_dir: Path, corpus_dir: Path) -> None:
    """Write each BEIR document as a Markdown file with its title in front matter, so
    the benchmark runs through exactly the pipeline users get."""
    source = beir_dir / "corpus.jsonl"
    if not source.exists():
        raise QaError(f"{source}: not found; is {beir_dir} a BEIR folder?")
    corpus_dir.mkdir(parents=True, exist_ok=True)
    with source.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            path = corpus_dir / f"{_safe_name(row['_id'])}.md"
            body = row.get("text", "").strip() or row.get("title", "")
            content = f"---\ntitle: {json.dumps(row.get('title') or row['_id'])}\n---\n\n{body}\n"
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                path.write_text(content, encoding="utf-8")


def _safe_name(doc_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", doc_id)


def load_beir_queries(
    beir_dir: Path, split: str
) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    qrels_path = beir_dir / "qrels" / f"{split}.tsv"
    if not qrels_path.exists():
        raise QaError(f"{qrels_path}: no such split")
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines()):
        parts = line.split("\t")
        if number == 0 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # header
        qid, did, rel = parts[0], parts[1], int(parts[2])
        qrels.setdefault(qid, {})[_safe_name(did)] = rel
    queries = {}
    with (beir_dir / "queries.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["_id"] in qrels:
                queries[row["_id"]] = row["text"]
    return queries, qrels


def beir_runs(
    searcher: Searcher, queries: dict[str, str], fusions: dict[str, tuple[str, Fusion]],
    depth: int = 300,
) -> dict[str, dict[str, dict[str, float]]]:
    """For each named (mode, fusion), a trec run: query id -> {doc id: best chunk score}."""
    doc_of = {cid: Path(path).stem for cid, path in searcher.store.chunk_paths().items()}
    qids = list(queries)
    vectors = searcher.encoder.encode([queries[q] for q in qids])
    runs: dict[str, dict[str, dict[str, float]]] = {name: {} for name in fusions}
    for qid, vec in zip(qids, vectors, strict=True):
        pool = searcher.candidates(queries[qid], vec, depth)
        for name, (mode, fusion_method) in fusions.items():
            ids, scores = fusion.ranking(pool, mode, fusion_method)
            docs: dict[str, float] = {}
            for cid, score in zip(ids.tolist(), scores.tolist(), strict=True):
                did = doc_of[cid]
                if did not in docs:
                    docs[did] = float(score)
            runs[name][qid] = dict(list(docs.items())[:100])
    return runs


def trec_scores(qrels: dict, run: dict) -> tuple[float, float]:
    """Mean nDCG@10 and Recall@100 over the queries in qrels (missing runs count 0)."""
    import pytrec_eval

    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"})
    per_query = evaluator.evaluate(run)
    n = len(qrels)
    ndcg = sum(v["ndcg_cut_10"] for v in per_query.values()) / n
    recall = sum(v["recall_100"] for v in per_query.values()) / n
    return ndcg, recall


def run_beir(paths: Paths, beir_dir_arg: str, split: str) -> str:
    from qa.indexer import update_index

    beir_dir = Path(beir_dir_arg).resolve()
    bpaths = beir_paths(paths, beir_dir)
    materialise_beir_corpus(beir_dir, bpaths.corpus)
    update_index(bpaths)
    queries, qrels = load_beir_queries(beir_dir, split)
    searcher = Searcher(bpaths.index)
    try:
        runs = beir_runs(searcher, queries, {m: (m, fusion.DEFAULT) for m in MODES})
    finally:
        searcher.close()
    results = {m: trec_scores(qrels, runs[m]) for m in MODES}
    width = 14
    lines = [f"{beir_dir.name} {split}: {len(qrels)} queries, documents scored by best chunk",
             "".ljust(width) + "".join(m.rjust(9) for m in MODES)]
    lines.append("nDCG@10".ljust(width) + "".join(f"{results[m][0]:.4f}".rjust(9) for m in MODES))
    lines.append("Recall@100".ljust(width)
                 + "".join(f"{results[m][1]:.4f}".rjust(9) for m in MODES))
    return "\n".join(lines)
