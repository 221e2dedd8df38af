"""Indexing throughput (chunks per second) and peak memory, on a copy of the corpus.

Usage: .venv/bin/python bench/indexing.py [--corpus DIR] [--copies N]

The corpus is copied N times (distinct file names, so nothing is deduplicated) into a
temporary folder and indexed from scratch with the real model. Throughput counts
passages; each passage's sentences are embedded too (for answer marking), so texts/s
is also shown. Peak memory is this process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from qa.index.generations import live_store
from qa.index.writer import update_index
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO / "corpus"))
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for n in range(args.copies):
            for path in sorted(Path(args.corpus).glob("*.md")):
                text = path.read_text(encoding="utf-8")
                (corpus / f"{n:03d}-{path.name}").write_text(text + f"\nCopy {n}.\n",
                                                              encoding="utf-8")
        paths = Paths(corpus, Path(tmp) / "index")
        update_index(paths, progress=False)  # imports torch and exports ONNX once
        start = time.perf_counter()
        report = update_index(paths, rebuild=True, progress=False)
        elapsed = time.perf_counter() - start
        with live_store(paths.index) as store:
            docs, chunks, sentences = (store.count(t)
                                       for t in ("documents", "chunks", "sentences"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"indexed {docs} documents, {chunks} chunks, {sentences} sentences"
          f" in {elapsed:.1f} s (a --rebuild, including loading the model)")
    print(f"throughput: {report.chunks_embedded / elapsed:.1f} chunks/s,"
          f" {(chunks + sentences) / elapsed:.1f} texts/s (chunks + sentences)")
    print(f"peak memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
