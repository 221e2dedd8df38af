"""Shared fixtures: a tiny deterministic fake embedder for fast unit tests, and the
real model's index of the real corpus (built once per session) for end-to-end tests.

No test writes into the repository's corpus/ or index/: everything lives in tmp dirs.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"
DEV_QUESTIONS = SHARED / "eval" / "dev.jsonl"


class FakeEmbedder:
    """Bag of hashed words, 384 dims, unit length: same text, same vector; shared words,
    similar vectors. Fast and deterministic, for tests of indexing logic."""

    dimension = 384

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Paths:
    """A private copy of the real corpus and an empty index folder."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return Paths(corpus, tmp_path / "index")


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The real corpus indexed with the real model (once per test session)."""
    from qa.indexer import update_index

    base = tmp_path_factory.mktemp("real")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    paths = Paths(corpus, base / "index")
    update_index(paths, progress=False)
    return paths


@pytest.fixture(scope="session")
def real_searcher(real_index: Paths):
    from qa.search import Searcher

    searcher = Searcher(real_index.index)
    yield searcher
    searcher.close()


QA = [sys.executable, "-m", "qa"]


def run_qa(paths: Paths, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "QA_CORPUS": str(paths.corpus), "QA_INDEX": str(paths.index)}
    return subprocess.run([*QA, *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("qa: ")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def index_copy(real_index: Paths, tmp_path: Path) -> Paths:
    """A private copy of the session's real index and corpus, free to damage."""
    shutil.copytree(real_index.corpus, tmp_path / "corpus")
    shutil.copytree(real_index.index, tmp_path / "index")
    return Paths(tmp_path / "corpus", tmp_path / "index")
