"""Run the real indexer in a subprocess with the fake embedder (for the kill test).

Usage: python tests/index_driver.py CORPUS INDEX
Small commit batches make many commits per run, so a kill can land anywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import FakeEmbedder

from qa import indexer
from qa.settings import Paths

if __name__ == "__main__":
    indexer.BATCH_CHUNKS = 8
    print("ready", flush=True)  # imports done: a kill from now on lands in real work
    report = indexer.update_index(Paths(Path(sys.argv[1]), Path(sys.argv[2])), progress=False,
                                  embedder_factory=FakeEmbedder)
    print(report.summary())
