"""Shared fixtures: a tiny deterministic fake embedder for fast unit tests, and the
real model's index of the real corpus (built once per session) for end-to-end tests.

Tests that use the real model are marked `e2e` here, by the fixtures they ask for (and
explicitly where they start the real model another way), and so are the tests that run
whole processes, clusters or long loops on purpose (also marked `slow`), so
`pytest -m "not e2e"` is the fast unit run. No test writes into the repository's
corpus/ or index/: everything lives in tmp dirs.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from qa.embed.pooling import PassageEmbeddings
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

    def embed(self, texts: list[str],
              sentence_spans: Sequence[Sequence[tuple[int, int]]]) -> PassageEmbeddings:
        """The writer's call: each text, and each of its sentence spans on its own."""
        sentences = [text[s:e] for text, spans in zip(texts, sentence_spans, strict=True)
                     for s, e in spans]
        return PassageEmbeddings(self.encode(texts), self.encode(sentences))

    def install_query_encoder(self, path: Path) -> None:
        """Nothing to install: tests hand this embedder to the searcher for questions."""


def live(index_dir: Path) -> Path:
    """The live generation folder of an index (where its store and vectors are)."""
    from qa.index.layout import current_generation

    generation = current_generation(index_dir)
    assert generation is not None, f"{index_dir} has no live generation"
    return generation


def indexed_documents(paths: Paths) -> set[str]:
    """The corpus-relative paths the live generation holds."""
    from qa.index.generations import live_store

    with live_store(paths.index) as store:
        return set(store.documents())


REAL_MODEL_FIXTURES = frozenset({"real_index", "real_searcher", "index_copy", "tui_index"})


# Modules whose tests start processes, clusters or long loops on purpose (kills, faults,
# fuzzing, the soak, Ray): end to end by nature, so marked `e2e`, and `slow` besides, so
# `-m "e2e and not slow"` runs the real-model tests alone.
SLOW_MODULES = frozenset({"test_crash_safety.py", "test_generations.py", "test_soak.py",
                          "test_distributed.py", "test_faults.py", "test_fuzz_cli.py",
                          "test_fuzz_corpus.py", "test_fuzz_loaders.py", "test_watch.py",
                          "test_incremental_property.py", "test_real_terminal.py"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a real-model fixture `e2e`, and those of the slow
    modules `e2e` and `slow`."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """`qa` commands in this test use the fake embedder instead of the model."""
    from tests.support.fake_model import SEAMS

    for target, fake in SEAMS.items():
        monkeypatch.setattr(target, fake)


@pytest.fixture(scope="session")
def fake_index_once(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The real corpus indexed with the fake model, once per session."""
    from qa.index.writer import update_index
    from tests.support.fake_model import FakeDocumentEmbedder

    base = tmp_path_factory.mktemp("fake")
    shutil.copytree(CORPUS, base / "corpus")
    paths = Paths(base / "corpus", base / "index")
    update_index(paths, progress=False, embedder=FakeDocumentEmbedder())
    return paths


@pytest.fixture
def fake_index(fake_model: None, fake_index_once: Paths, tmp_path: Path) -> Paths:
    """A private copy of the real corpus and its fake-model index, free to change; `qa`
    commands in the test use the fake model."""
    shutil.copytree(fake_index_once.corpus, tmp_path / "corpus")
    shutil.copytree(fake_index_once.index, tmp_path / "index")
    return Paths(tmp_path / "corpus", tmp_path / "index")


def run_fake_qa(paths: Paths, *args: str, env: dict[str, str] | None = None,
                **options: Any) -> Ran:
    """Run `qa ARGS` as a real process with the fake model (tests/support/fake_model.py);
    `options` go to subprocess.run (a preexec_fn that drops privileges, say)."""
    full_env = {**os.environ, "QA_CORPUS": str(paths.corpus), "QA_INDEX": str(paths.index),
                **(env or {})}
    done = subprocess.run([sys.executable, "-m", "tests.support.fake_model", *args],
                          cwd=REPO, capture_output=True, text=True, env=full_env,
                          timeout=300, check=False, **options)
    return Ran(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Paths:
    """A private copy of the real corpus and an empty index folder."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return Paths(corpus, tmp_path / "index")


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The real corpus indexed with the real model (once per test session)."""
    from qa.index.writer import update_index

    base = tmp_path_factory.mktemp("real")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    paths = Paths(corpus, base / "index")
    update_index(paths, progress=False)
    return paths


@pytest.fixture(scope="session")
def real_searcher(real_index: Paths):
    from qa.search.searcher import Searcher

    searcher = Searcher(real_index.index)
    yield searcher
    searcher.close()


QA = [sys.executable, "-m", "qa"]


@dataclass(frozen=True)
class Ran:
    """What a `qa` command did: exit status, stdout, stderr, and any exception that
    escaped the command (which a user would have seen as a traceback)."""

    returncode: int
    stdout: str
    stderr: str
    escaped: BaseException | None = None


def run_qa(paths: Paths, *args: str, stdin: str | None = None,
           env: dict[str, str] | None = None) -> Ran:
    """Run `qa ARGS` in this process with click's CliRunner (fast: no interpreter start,
    and the model stays loaded between commands)."""
    from qa.cli import cli

    result = CliRunner().invoke(
        cli, list(args), input=stdin, catch_exceptions=True,
        env={"QA_CORPUS": str(paths.corpus), "QA_INDEX": str(paths.index), **(env or {})},
    )
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    return Ran(result.exit_code, result.stdout, result.stderr, escaped)


def run_qa_process(paths: Paths, *args: str, stdin: str | None = None,
                   env: dict[str, str] | None = None) -> Ran:
    """Run `qa ARGS` as a real process, the way a user does."""
    full_env = {**os.environ, "QA_CORPUS": str(paths.corpus), "QA_INDEX": str(paths.index),
                **(env or {})}
    done = subprocess.run([*QA, *args], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=300, check=False)
    return Ran(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Ran, *needles: str) -> None:
    assert result.returncode != 0
    assert result.escaped is None, repr(result.escaped)
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
