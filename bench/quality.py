"""Answer quality on every set at once: dev, squad-dev and SciFact test, as users get it.

Usage: .venv/bin/python bench/quality.py [--index DIR] [--scifact-index DIR] [--scifact-only]

1. `qa eval ../shared/eval/dev.jsonl` (the project's corpus/) and
   `qa eval ../shared/eval/squad-dev/questions.jsonl`, as real `qa` processes, with DIR
   as the index folder (squad-dev is indexed inside it, under eval/squad-dev/).
2. SciFact test nDCG@10 two ways, which should agree: as `qa eval --beir` computes it
   (documents ranked by their best chunk), and through one real `qa ask --json -k 100 -`
   process over the abstracts as files (each abstract ranked by its first passage).
   The SciFact index is DIR/beir/scifact/ (what `qa eval --beir` builds), or the one
   given. When it holds only some abstracts, only the claims all of whose relevant
   abstracts it holds are scored, and the output says it is a SUBSET.
Run it with the code of a commit on the path to get that commit's figures.
`--scifact-only` skips step 1 (SciFact's full set takes long to embed, and is often
measured apart, once its index is built).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from qa.evaluation.beir import beir_paths, beir_runs, load_beir_queries, trec_scores
from qa.search import fusion
from qa.search.searcher import Searcher
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def qa(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "qa", *args], input=stdin,
                          capture_output=True, text=True, check=True, cwd=REPO)
    return done.stdout


def scifact(index: Path, corpus: Path, beir: Path) -> list[str]:
    queries, qrels = load_beir_queries(beir, "test")
    searcher = Searcher(index)
    try:
        held = {Path(p).stem for p in searcher.store.chunk_paths().values()}
        qids = [q for q in queries if set(qrels[q]) <= held]
        best_chunk = beir_runs(searcher, {q: queries[q] for q in qids},
                               {"hybrid": ("hybrid", fusion.DEFAULT)})["hybrid"]
    finally:
        searcher.close()
    qrels = {q: qrels[q] for q in qids}
    scope = (f"{len(qids)} claims, {len(held)} abstracts" if len(qids) == len(queries) else
             f"SUBSET: {len(held)} of the abstracts, the {len(qids)} of {len(queries)} claims"
             " whose relevant abstracts are all among them")
    out = qa("ask", "--json", "-k", "100", "--no-update", "--corpus", str(corpus),
             "--index", str(index), "-",
             stdin="".join(queries[q].replace("\n", " ") + "\n" for q in qids))
    first_passage: dict[str, dict[str, float]] = {}
    for qid, line in zip(qids, out.splitlines(), strict=True):
        docs: dict[str, float] = {}
        for result in json.loads(line)["results"]:
            docs.setdefault(Path(result["doc"]).stem, -float(result["rank"]))
        first_passage[qid] = docs
    return [f"scifact test ({scope})",
            f"nDCG@10 by best chunk (qa eval --beir):           "
            f"{trec_scores(qrels, best_chunk)[0]:.4f}",
            f"nDCG@10 by first passage in qa ask --json -k 100: "
            f"{trec_scores(qrels, first_passage)[0]:.4f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=str(REPO / "index"))
    parser.add_argument("--scifact-index", help="a SciFact index folder (its corpus beside it)")
    parser.add_argument("--scifact-only", action="store_true", help="skip dev and squad-dev")
    args = parser.parse_args()
    index = Path(args.index).resolve()
    beir = SHARED / "benchmarks" / "scifact"
    for questions in () if args.scifact_only else ("dev.jsonl", "squad-dev/questions.jsonl"):
        print(f"$ qa eval ../shared/eval/{questions}", flush=True)
        print(qa("eval", f"../shared/eval/{questions}", "--index", str(index)), flush=True)
    sci = (Paths(Path(args.scifact_index).resolve().parent / "corpus",
                 Path(args.scifact_index).resolve()) if args.scifact_index
           else beir_paths(Paths(REPO / "corpus", index), beir))
    if sci.index.exists():
        print("\n".join(scifact(sci.index, sci.corpus, beir)))
    else:
        print(f"scifact: no index at {sci.index}; run qa eval --beir {beir} --index {index}")


if __name__ == "__main__":
    main()
