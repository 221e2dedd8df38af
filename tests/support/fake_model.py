"""The real `qa` with the tests' fake embedder standing in for the model.

Everything else is real: the CLI, the loaders, the chunker, SQLite, FAISS and the
searcher. Only the two model seams are replaced: the writer's `DocumentEmbedder` and
the reader's `QueryEncoder`. In-process tests use the `fake_model` fixture
(tests/conftest.py); process tests (faults, soak, the crash handler) run
`python -m tests.support.fake_model ARGS...` from the repository root, which is
`qa ARGS...` with the fake model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tests.conftest import FakeEmbedder

QUERY_ENCODER_STAND_IN = b"the fake model encodes questions itself\n"


class FakeDocumentEmbedder(FakeEmbedder):
    """The writer's side: installs a stand-in file where the ONNX encoder would go, so
    the reader finds the index complete."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def install_query_encoder(self, path: Path) -> None:
        if not path.exists():
            path.write_bytes(QUERY_ENCODER_STAND_IN)


class FakeQueryEncoder:
    """The reader's side: embeds questions exactly as FakeEmbedder embeds passages."""

    def __init__(self, path: Path, *args: Any, **kwargs: Any) -> None:
        self._embedder = FakeEmbedder()

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._embedder.encode(texts)


SEAMS = {
    "qa.index.writer.DocumentEmbedder": FakeDocumentEmbedder,
    "qa.embed.query_encoder.QueryEncoder": FakeQueryEncoder,
}


def install() -> None:
    """Replace the model seams for the rest of this process."""
    import importlib

    for target, fake in SEAMS.items():
        module, name = target.rsplit(".", 1)
        setattr(importlib.import_module(module), name, fake)


if __name__ == "__main__":
    install()
    from qa.cli import main

    main()
