"""Run the real indexer in a subprocess with the fake embedder (for the kill test).

Usage: python -m tests.support.index_driver CORPUS INDEX [--rebuild] (from the repo root)
Small commit batches make many commits per run, so a kill can land anywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

from qa.index.writer import update_index
from qa.settings import Paths
from tests.conftest import FakeEmbedder


def main(argv: list[str]) -> None:
    print("ready", flush=True)  # imports done: a kill from now on lands in real work
    report = update_index(Paths(Path(argv[0]), Path(argv[1])), progress=False,
                          embedder=FakeEmbedder(), batch_chunks=8,
                          rebuild="--rebuild" in argv[2:])
    print(report.summary())


if __name__ == "__main__":
    main(sys.argv[1:])
