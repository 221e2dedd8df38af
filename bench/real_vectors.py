"""SciFact's passages and test claims as real-model vectors, computed once and cached.

Usage: .venv/bin/python bench/real_vectors.py [--cache DIR]   (computes and caches)

The passages are what `qa index` makes of SciFact's 5,183 abstracts (the same loader,
chunker and title prefix), embedded by the real model (sentence-transformers); the
claims are SciFact's 300 test claims, embedded the same way. Embedding 14,000 passages
takes minutes here, so the vectors are cached in `~/.cache/qa-bench/` (the user's cache
folder; nothing of SciFact goes into the repository).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
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


def test_claims(scifact: Path) -> list[str]:
    test = {line.split("\t")[0] for line in (scifact / "qrels" / "test.tsv").open()}
    rows = [json.loads(line) for line in (scifact / "queries.jsonl").open()]
    return [r["text"] for r in rows if r["_id"] in test]


def scifact_vectors(cache: Path = CACHE, scifact: Path = SCIFACT
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(passages, claims): unit-length float32 rows, from the cache when present."""
    target = cache / "scifact-minilm.npz"
    if target.exists():
        data = np.load(target)
        return data["passages"], data["claims"]
    from qa.embed.document_embedder import DocumentEmbedder

    embedder = DocumentEmbedder()
    texts = passage_texts(scifact)
    print(f"embedding {len(texts)} SciFact passages (cached in {target})", file=sys.stderr)
    passages = embedder.encode(texts, batch_size=64)
    claims = embedder.encode(test_claims(scifact))
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.npz")
    np.savez(partial, passages=passages, claims=claims)
    partial.replace(target)
    return passages, claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=str(CACHE))
    args = parser.parse_args()
    passages, claims = scifact_vectors(Path(args.cache))
    print(f"passages={len(passages)} claims={len(claims)} cache={args.cache}")


if __name__ == "__main__":
    main()
