"""SciFact's passages and test claims as real-model vectors, computed once and cached.

Usage: .venv/bin/python bench/real_vectors.py [--cache DIR]   (computes and caches)

The passages are what `qa index` makes of SciFact's 5,183 abstracts (the same loader,
chunker and title prefix), embedded by the real model (sentence-transformers); the
claims are SciFact's claims (809 train, 300 test), embedded the same way. Embedding 14,000 passages
takes minutes here, so the vectors are cached in `~/.cache/qa-bench/` (the user's cache
folder; nothing of SciFact goes into the repository).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCIFACT = REPO.parent / "shared" / "benchmarks" / "scifact"
CACHE = Path.home() / ".cache" / "qa-bench"


def passage_texts(scifact: Path) -> list[str]:
    """What qa embeds for each SciFact passage, through qa's own ingest pipeline."""
    from qa.corpus.walk import scan_corpus
    from qa.evaluation.beir import materialise_beir_corpus
    from qa.index.preparation import FileWork, prepare_work
    from qa.ingest.pipeline import read_file

    texts: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        materialise_beir_corpus(scifact, corpus)
        for f in scan_corpus(corpus):
            prepared = prepare_work(FileWork(f, None), read_file(f))
            if prepared is not None:
                texts.extend(prepared.embedding_texts)
    return texts


def claims(scifact: Path, split: str) -> list[str]:
    """The claims of a split (`train` or `test`) that have relevance judgements."""
    judged = {line.split("\t")[0] for line in (scifact / "qrels" / f"{split}.tsv").open()}
    rows = [json.loads(line) for line in (scifact / "queries.jsonl").open()]
    return [r["text"] for r in rows if r["_id"] in judged]


def _cached(target: Path, texts: Callable[[], list[str]]) -> np.ndarray:
    """The real model's vectors of `texts()`, computed once into `target`."""
    if target.exists():
        return np.load(target)["vectors"]
    from qa.embed.reference_embedder import SentenceTransformerEmbedder

    found = texts()
    print(f"embedding {len(found)} texts into {target}", file=sys.stderr)
    vectors = SentenceTransformerEmbedder().encode(found)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.npz")
    np.savez(partial, vectors=vectors)
    partial.replace(target)
    return vectors


def scifact_vectors(cache: Path = CACHE, scifact: Path = SCIFACT
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """SciFact's passages and its claims by split, as unit-length float32 rows."""
    passages = _cached(cache / "scifact-passages-minilm.npz", lambda: passage_texts(scifact))
    return passages, {split: _cached(cache / f"scifact-{split}-claims-minilm.npz",
                                     lambda split=split: claims(scifact, split))
                      for split in ("train", "test")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=str(CACHE))
    args = parser.parse_args()
    passages, by_split = scifact_vectors(Path(args.cache))
    print(f"passages={len(passages)} train_claims={len(by_split['train'])}"
          f" test_claims={len(by_split['test'])} cache={args.cache}")


if __name__ == "__main__":
    main()
