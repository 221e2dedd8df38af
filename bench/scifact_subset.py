"""Index a fixed SUBSET of SciFact: its first N abstracts by file name.

Usage: .venv/bin/python bench/scifact_subset.py [--first 1531] [--reuse STORE ...] [--root DIR]

The whole of SciFact (5,183 abstracts) takes 30 minutes to embed on an idle 2-core
machine, and hours when it is shared. The subset is the first N abstracts, as
`qa eval --beir` writes them (one Markdown file per abstract, sorted by name), indexed by
the real pipeline into DIR/corpus and DIR/index (default index/bench/scifact-first-N).
`--reuse` names qa.sqlite files of earlier builds of the same model and chunker whose
vectors are used instead of embedding the same text again (bench/reuse_vectors.py).
bench/quality.py --scifact-index DIR/index then scores the test claims whose relevant
abstracts are all in the subset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reuse_vectors import ReusingEmbedder

from qa.evaluation.beir import materialise_beir_corpus
from qa.index.writer import update_index
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]


def write_first(beir: Path, corpus: Path, first: int) -> None:
    """The first `first` abstracts of the BEIR set at `beir`, by file name, as
    `qa eval --beir` writes them, into `corpus` (the subset every SciFact bench uses)."""
    materialise_beir_corpus(beir, corpus)
    for extra in sorted(corpus.iterdir())[first:]:
        extra.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=1531)
    parser.add_argument("--reuse", nargs="*", default=[], metavar="STORE")
    parser.add_argument("--root", help="default: index/bench/scifact-first-N")
    parser.add_argument("--beir", default=str(REPO.parent / "shared/benchmarks/scifact"))
    args = parser.parse_args()
    root = Path(args.root or REPO / "index" / "bench" / f"scifact-first-{args.first}")
    paths = Paths(root / "corpus", root / "index")
    write_first(Path(args.beir), paths.corpus, args.first)
    if not args.reuse:  # the real model, as `qa index` embeds
        update_index(paths, progress=sys.stderr.isatty())
        print(f"{root}: first {args.first} abstracts")
        return
    embedder = ReusingEmbedder([Path(s) for s in args.reuse])
    update_index(paths, progress=sys.stderr.isatty(), embedder=embedder)
    print(f"{root}: first {args.first} abstracts; {embedder.embedded} texts embedded,"
          f" {embedder.reused} reused")


if __name__ == "__main__":
    main()
