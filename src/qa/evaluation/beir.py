"""BEIR benchmarks (SciFact): nDCG@10 and Recall@100 through the user's own pipeline.

The benchmark's documents are written as Markdown files and indexed by the same writer
`qa index` uses, inside the index folder. Scores use trec_eval (pytrec_eval), as BEIR
does, with documents as the unit: a document scores as its best chunk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qa.errors import QaError
from qa.evaluation.table import MODES, side_by_side
from qa.search import fusion
from qa.search.fusion import Fusion
from qa.search.searcher import Searcher
from qa.search.terms import QueryTerms
from qa.settings import Paths


def beir_paths(paths: Paths, beir_dir: Path) -> Paths:
    """Where a BEIR corpus is materialised and indexed: inside the index folder."""
    base = paths.index / "beir" / beir_dir.name
    return Paths(base / "corpus", base / "index")


def materialise_beir_corpus(beir_dir: Path, corpus_dir: Path) -> None:
    """Write each BEIR document as a Markdown file with its title in front matter, so
    the benchmark runs through exactly the pipeline users get."""
    source = beir_dir / "corpus.jsonl"
    if not source.is_file():
        raise QaError(f"{source}: not found; {_hint(beir_dir)}")
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for row in _rows(source):
        path = corpus_dir / f"{_safe_name(row['_id'])}.md"
        body = row["text"].strip() or row["title"]
        content = f"---\ntitle: {json.dumps(row['title'] or row['_id'])}\n---\n\n{body}\n"
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a BEIR JSON Lines file, each with a string `_id`, `title` and `text`
    (empty when absent); a QaError naming the file and line for anything else."""
    hint = _hint(path.parent)
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise QaError(f"{path}: not found; {hint}") from None
    with handle:
        try:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield _row(path, number, line, hint)
        except UnicodeDecodeError:
            raise QaError(f"{path}: not UTF-8 text; {hint}") from None


def _hint(folder: Path) -> str:
    return f"is {folder} a BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv)?"


def _row(path: Path, number: int, line: str, hint: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise QaError(f"{path}:{number}: not valid JSON ({exc}); {hint}") from None
    if not isinstance(row, dict) or not isinstance(row.get("_id"), str | int):
        raise QaError(f"{path}:{number}: a BEIR row is a JSON object with an \"_id\"; {hint}")
    fields = {key: row.get(key) or "" for key in ("title", "text")}
    if not all(isinstance(value, str) for value in fields.values()):
        raise QaError(f"{path}:{number}: \"title\" and \"text\" must be strings; {hint}")
    return {"_id": str(row["_id"]), **fields}


def _safe_name(doc_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", doc_id)


def load_beir_queries(
    beir_dir: Path, split: str
) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    qrels_path = beir_dir / "qrels" / f"{split}.tsv"
    if not qrels_path.exists():
        raise QaError(f"{qrels_path}: no such split")
    try:
        lines = qrels_path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise QaError(f"{qrels_path}: not UTF-8 text") from None
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(lines, 1):
        parts = line.split("\t")
        if number == 1 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # header
        if not line.strip():
            continue
        if len(parts) < 3 or not parts[2].strip().lstrip("-").isdigit():
            raise QaError(f"{qrels_path}:{number}: expected query-id, corpus-id and a whole"
                          " number score, separated by tabs")
        qrels.setdefault(parts[0], {})[_safe_name(parts[1])] = int(parts[2])
    if not qrels:
        raise QaError(f"{qrels_path}: no relevance judgements (query-id, corpus-id, score)")
    queries = {row["_id"]: row["text"] for row in _rows(beir_dir / "queries.jsonl")
               if row["_id"] in qrels}
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
        terms = QueryTerms.of(queries[qid], searcher.lexical)
        for name, (mode, fusion_method) in fusions.items():
            ids, scores = searcher.ranking(pool, terms, mode, fusion_method)
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
    from qa.index.writer import update_index

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
    rows = [("nDCG@10", lambda r: f"{r[0]:.4f}"), ("Recall@100", lambda r: f"{r[1]:.4f}")]
    return side_by_side(
        f"{beir_dir.name} {split}: {len(qrels)} queries, documents scored by best chunk",
        rows, results)
