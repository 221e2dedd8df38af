"""Answer marking with sentence vectors pooled from their passage's forward pass or from a
separate pass, and what each storage format costs, against the base commit.

Usage: nice -n 10 .venv/bin/python bench/sentence_vectors.py [--base-commit 81caede]
                       [--skip-base] [--variants-only] [--storage int8 int4 ...]

1. `qa eval` as a user runs it, on ../shared/eval/dev.jsonl over corpus/ and on
   ../shared/eval/squad-dev, by this tree and by the base commit (its src/ extracted
   with `git archive` into a temporary folder): the whole tables, before and after.
2. In this process, on the same two question sets (hybrid mode): marking figures for
   sentence vectors from a separate pass or pooled, each stored as float32, float16 or
   int8 or 4-bit codes, with the bytes of sentence vectors per passage. The real model embeds each
   corpus once (passages, pooled sentences and the separate sentence pass); every
   variant's index is then built from those vectors, and the float formats swap the
   store's codec (`qa.index.sentence_codec`) for the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
from base_commit import extract_source

from qa import settings
from qa.embed.document_embedder import DocumentEmbedder
from qa.embed.pooling import PassageEmbeddings
from qa.evaluation.questions import load_questions, score_questions
from qa.index import sentence_codec
from qa.index.generations import live_store
from qa.index.layout import current_generation
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SETS = {  # name: (questions, corpus)
    "dev": (SHARED / "eval" / "dev.jsonl", REPO / "corpus"),
    "squad-dev": (SHARED / "eval" / "squad-dev" / "questions.jsonl",
                  SHARED / "eval" / "squad-dev" / "corpus"),
}
MARKING_ROWS = ("top passage's marked sentence", "marked sentence holds it",
                "unanswerable rejected", "answerable wrongly rejected", "AUROC")


def qa_eval(src: Path, questions: Path, corpus: Path, index: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-m", "qa", "eval",
                           str(questions), "--corpus", str(corpus), "--index", str(index)],
                          capture_output=True, text=True, env=env, check=True)
    return done.stdout


class Replay:
    """The real model, run once per batch of passages: passage vectors, the pooled
    sentence vectors and a separate pass over the sentences' own text, all kept; each
    build then takes the sentence vectors of `source`."""

    def __init__(self, encoder: Path) -> None:
        self.encoder = encoder
        self.model = DocumentEmbedder()
        self.model.install_query_encoder(encoder)
        self.source = "pooled"
        self._seen: dict[tuple, tuple[PassageEmbeddings, np.ndarray]] = {}

    def install_query_encoder(self, path: Path) -> None:
        if not path.exists():
            shutil.copyfile(self.encoder, path)  # not re-exported for every variant

    def embed(self, texts: list[str], spans) -> PassageEmbeddings:
        key = (tuple(texts), tuple(tuple(s) for s in spans))
        if key not in self._seen:
            saved, settings.SENTENCE_VECTORS = settings.SENTENCE_VECTORS, "pooled"
            try:
                pooled = self.model.embed(texts, spans)
            finally:
                settings.SENTENCE_VECTORS = saved
            separate = self.model.encode([t[s:e] for t, ss in zip(texts, spans, strict=True)
                                          for s, e in ss])
            self._seen[key] = (pooled, separate)
        pooled, separate = self._seen[key]
        if self.source == "pooled":
            return pooled
        return PassageEmbeddings(pooled.passages, separate)


def _float_codec(dtype: type) -> tuple[Callable, Callable]:
    def encode(vectors: np.ndarray) -> list[tuple[float, bytes]]:
        return [(1.0, np.asarray(v, dtype=dtype).tobytes()) for v in vectors]

    def decode(rows: list[tuple[float, bytes]]) -> np.ndarray:
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        flat = np.frombuffer(b"".join(r[1] for r in rows), dtype=dtype)
        return flat.reshape(len(rows), -1).astype(np.float32)

    return encode, decode


CODECS = {"float32": _float_codec(np.float32), "float16": _float_codec(np.float16),
          "int8": (partial(sentence_codec.encode, bits=8), sentence_codec.decode),
          "int4": (partial(sentence_codec.encode, bits=4), sentence_codec.decode)}


@contextmanager
def codec(name: str) -> Iterator[None]:
    saved = sentence_codec.encode, sentence_codec.decode
    sentence_codec.encode, sentence_codec.decode = CODECS[name]
    try:
        yield
    finally:
        sentence_codec.encode, sentence_codec.decode = saved


def variant_line(replay: Replay, questions: Path, corpus: Path, index: Path) -> str:
    shutil.rmtree(index, ignore_errors=True)
    paths = Paths(corpus, index)
    update_index(paths, progress=False, embedder=replay)
    with live_store(index) as store:
        passages = store.count("chunks")
        sentences = store.count("sentences")
        vector_bytes = store.db.execute(
            "SELECT sum(length(vector)) + 8 * count(*) FROM sentences").fetchone()[0]
    generation = current_generation(index)
    folder_bytes = sum(f.stat().st_size for f in generation.rglob("*") if f.is_file())
    searcher = Searcher(index)
    try:
        s = score_questions(searcher, load_questions(questions), "hybrid")
    finally:
        searcher.close()
    auroc = "n/a" if s.auroc is None else f"{s.auroc:.3f}"
    return (f"top marked {s.rate(s.top_marked):.3f}  marked in top-5"
            f" {s.evidence_sentences}/{s.evidence_passages}  unanswerable rejected"
            f" {s.rejected_unanswerable}/{s.unanswerable}  answerable rejected"
            f" {s.rejected_answerable}/{s.answerable}  AUROC {auroc}  sentences"
            f" {sentences / passages:.2f}/passage  sentence vectors"
            f" {vector_bytes / passages:,.0f} B/passage  generation"
            f" {folder_bytes / passages:,.0f} B/passage")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-commit", default="81caede")
    parser.add_argument("--skip-base", action="store_true",
                        help="only this tree's qa eval (part 1) and the variants")
    parser.add_argument("--variants-only", action="store_true", help="part 2 only")
    parser.add_argument("--storage", nargs="+", choices=list(CODECS), default=list(CODECS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        trees = {"this tree": REPO / "src"} if not args.variants_only else {}
        if not args.skip_base and not args.variants_only:
            trees[f"base {args.base_commit} (separate pass, float32)"] = extract_source(
                args.base_commit, tmp / "base")
        print("== 1. qa eval (all modes), before and after ==", flush=True)
        for name, (questions, corpus) in SETS.items():
            for n, (label, src) in enumerate(trees.items()):
                out = qa_eval(src, questions, corpus, tmp / f"eval-{n}-{name}")
                print(f"-- {name}, {label}\n{out.rstrip()}", flush=True)
        print("\n== 2. hybrid marking by sentence-vector source and storage ==", flush=True)
        encoder = tmp / "encoder.onnx"
        replay = Replay(encoder)
        for name, (questions, corpus) in SETS.items():
            for source in ("separate", "pooled"):
                for storage in args.storage:
                    replay.source = source
                    with codec(storage):
                        line = variant_line(replay, questions, corpus, tmp / "variant")
                    print(f"{name:9} {source:8} {storage:7} {line}", flush=True)


if __name__ == "__main__":
    main()
