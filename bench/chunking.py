"""Passage boundaries against paragraph breaks: each chunker mode measured on every set.

Usage: .venv/bin/python bench/chunking.py [--root DIR] [--modes straddle aligned packed]
                                          [--reuse STORE ...]

For each mode of `qa.ingest.chunking.PARAGRAPH_MODES`, dev (corpus/) and squad-dev are
indexed by the real pipeline under DIR/<mode>/ (default ~/.cache/qa-bench/chunking),
with the vectors of the other modes' builds reused where the text is the same
(bench/reuse_vectors.py: sentences never change with the mode; `--reuse` adds the
qa.sqlite files of other builds of the same model), and their questions are
scored as `qa eval` scores them, hybrid, BM25 and dense. SciFact's abstracts are chunked
in every mode without embedding: where the passages come out the same, so do its
figures. The fitted reranker and confidence are those of the tree (fitted on the
chunking of their time), the same for every mode; bench/refit.py refits them after.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reuse_vectors import ReusingEmbedder

from qa import settings
from qa.embed import model
from qa.evaluation.questions import QuestionScores, load_questions, score_questions
from qa.index.layout import current_generation, store_path
from qa.index.writer import update_index
from qa.ingest.chunking import PARAGRAPH_MODES, chunk_text
from qa.ingest.pipeline import chunker_settings, embedding_text
from qa.ingest.tokens import count_tokens
from qa.search.searcher import Searcher
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SETS = {"dev": (REPO / "corpus", SHARED / "eval/dev.jsonl"),
        "squad-dev": (SHARED / "eval/squad-dev/corpus",
                      SHARED / "eval/squad-dev/questions.jsonl")}
MODES = ("hybrid", "bm25", "dense")


def build(root: Path, mode: str, name: str, corpus: Path, reuse: list[Path]) -> Path:
    paths = Paths(corpus, root / mode / name)
    others = reuse + [store_path(g) for m in PARAGRAPH_MODES
                      if (g := current_generation(root / m / name)) is not None]
    embedder = ReusingEmbedder(others)
    update_index(paths, progress=sys.stderr.isatty(), embedder=embedder)
    return paths.index


def line(mode: str, name: str, kind: str, s: QuestionScores) -> str:
    return (f"{mode:<9}{name:<10}{kind:<7}{s.rate(s.hit1):>6.3f}{s.rate(s.hit3):>6.3f}"
            f"{s.mrr10:>7.3f}{s.rate(s.top_marked):>7.3f}"
            f"{s.rejected_unanswerable:>5}/{s.unanswerable:<4}{s.rejected_answerable:>4}/"
            f"{s.answerable:<4}" + ("   n/a" if s.auroc is None else f"{s.auroc:>6.3f}"))


def scifact_passages(mode: str) -> tuple[int, int]:
    """(passages, passages holding a paragraph break) of SciFact's abstracts."""
    settings.CHUNK_PARAGRAPHS = mode
    chunks = straddling = 0
    with (SHARED / "benchmarks/scifact/corpus.jsonl").open(encoding="utf-8") as rows:
        for row in map(json.loads, rows):
            text, title = row["text"].strip() or row["title"], row["title"]
            for c in chunk_text(text, chunker_settings(), count_tokens, lambda s, t=title:
                                model.count_wordpieces(embedding_text(t, s))
                                <= model.MAX_WORDPIECES):
                chunks += 1
                straddling += "\n\n" in c.text
    return chunks, straddling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path.home() / ".cache/qa-bench/chunking"))
    parser.add_argument("--modes", nargs="+", default=list(PARAGRAPH_MODES),
                        choices=PARAGRAPH_MODES)
    parser.add_argument("--reuse", nargs="*", default=[], metavar="STORE")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    print(f"{'chunker':<9}{'set':<10}{'mode':<7}{'H@1':>6}{'H@3':>6}{'MRR@10':>7}"
          f"{'marked':>7}{'unans rej':>10}{'ans rej':>9}{'AUROC':>6}", flush=True)
    for chunker in args.modes:
        settings.CHUNK_PARAGRAPHS = chunker
        for name, (corpus, questions) in SETS.items():
            searcher = Searcher(build(root, chunker, name, corpus,
                                           [Path(r) for r in args.reuse]))
            try:
                qs = load_questions(questions)
                passages = searcher.store.count("chunks")
                for kind in MODES:
                    print(line(chunker, name, kind, score_questions(searcher, qs, kind)),
                          flush=True)
            finally:
                searcher.close()
            print(f"{chunker:<9}{name:<10}{passages} passages", flush=True)
    for chunker in args.modes:
        chunks, straddling = scifact_passages(chunker)
        print(f"{chunker:<9}scifact   {chunks} passages of the 5,183 abstracts,"
              f" {straddling} holding a paragraph break", flush=True)


if __name__ == "__main__":
    main()
