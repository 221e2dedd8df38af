"""Kill a real indexing subprocess at random moments; the index must stay usable and
the next run must finish the job, ending equal to a clean rebuild."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from qa.index.layout import LEXICAL_DIR, STORE_FILE, VECTORS_DIR, current_generation
from qa.index.lexical import LexicalIndex
from qa.index.store import Store
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.conftest import CORPUS, QA, REPO, FakeEmbedder, live, run_qa
from tests.support.index_equality import assert_segments_committed, index_content

QUESTIONS = ["why did Baku reject mediators?", "What happened to the prisoners?",
             "Turkey border with Armenia"]
KILLS = 20
MAX_ROUNDS = 80


def _mutate(corpus: Path, rng: random.Random, round_no: int) -> None:
    """Add, edit and remove a few documents, built from the real articles' text."""
    sources = sorted(CORPUS.glob("*.md"))
    for n in range(rng.randint(1, 4)):
        src = rng.choice(sources)
        text = src.read_text(encoding="utf-8")
        (corpus / f"r{round_no:02d}-{n}-{src.name}").write_text(
            text + f"\nRound {round_no} copy {n}.\n", encoding="utf-8")
    docs = sorted(corpus.glob("*.md"))
    for path in rng.sample(docs, k=min(2, len(docs))):
        path.write_text(path.read_text(encoding="utf-8") + f"\nEdited in round {round_no}.\n",
                        encoding="utf-8")
    docs = sorted(corpus.glob("*.md"))
    if len(docs) > 6:
        rng.choice(docs).unlink()


def _assert_consistent(index_dir: Path, embedder: FakeEmbedder) -> None:
    """What `qa ask` needs: a store whose every chunk has text, a lexical entry and
    exactly one live vector, in segment files that are whole and the ones committed.
    The lexical index may also hold what a killed writer left for the next one to clean:
    passages of an uncommitted batch (ids above every committed one) and committed
    deletions not yet applied; the vectors folder may hold files no commit names."""
    if current_generation(index_dir) is None:
        return  # killed before the first build finished: nothing to answer from yet
    assert_segments_committed(live(index_dir))
    store = Store(live(index_dir) / STORE_FILE)
    chunk_ids = {r[0] for r in store.db.execute("SELECT id FROM chunks")}
    pending = set(store.pending_lexical_deletes())
    store.close()
    lexical_ids = LexicalIndex(live(index_dir) / LEXICAL_DIR).chunk_ids()
    assert chunk_ids <= lexical_ids
    top = max(chunk_ids | pending, default=0)
    assert all(i in pending or i > top for i in lexical_ids - chunk_ids)
    searcher = Searcher(index_dir, encoder=embedder)
    ids, _ = searcher.dense.all_vectors()
    assert sorted(ids.tolist()) == sorted(chunk_ids)
    assert searcher.dense.count == len(chunk_ids)
    for q in QUESTIONS:
        for hit in searcher.search(q, 3).hits:
            text = searcher.store.document_text(hit.passage.doc_id)
            assert hit.passage.text == text[hit.passage.start : hit.passage.end]
    searcher.close()


def test_sigkill_at_random_moments_never_breaks_the_index(tmp_path: Path,
                                                         record_property: Any):
    rng = random.Random(1234)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    paths = Paths(corpus, tmp_path / "index")
    embedder = FakeEmbedder()
    landed = 0
    for round_no in range(MAX_ROUNDS):
        _mutate(corpus, rng, round_no)
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.index_driver",
                                 str(corpus), str(paths.index)], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is None:
            proc.kill()
            landed += 1
        proc.communicate()
        _assert_consistent(paths.index, embedder)
        if landed >= KILLS:
            break
    assert landed >= KILLS, f"only {landed} kills landed mid-run"
    record_property("kills", landed)  # bench/faults.py reports it
    update_index(paths, progress=False, embedder=FakeEmbedder())
    _assert_consistent(paths.index, embedder)
    incremental = index_content(paths.index, embedder, QUESTIONS)

    clean = tmp_path / "clean"
    update_index(Paths(corpus, clean), progress=False, embedder=FakeEmbedder())
    assert incremental == index_content(clean, embedder, QUESTIONS)
    # the finished writer left no file that no commit names
    store = Store(live(paths.index) / STORE_FILE)
    named = {r.name for r in store.vector_segments()}
    store.close()
    assert {p.name for p in (live(paths.index) / VECTORS_DIR).iterdir()} == named



def _wait_for_model_runtime(pid: int, timeout: float = 60.0) -> None:
    """Block until the process has onnxruntime mapped (Linux /proc): it is imported when
    the first batch is about to be embedded, so loading and chunking are over."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        maps = Path(f"/proc/{pid}/maps")
        if maps.exists() and "onnxruntime" in maps.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError("qa index never loaded onnxruntime")


def test_real_qa_index_killed_mid_run_then_qa_ask_answers(index_copy: Paths,
                                                          record_property: Any):
    """The same guarantee through the real CLI and the real model: `qa index` is killed
    while it embeds, and `qa ask` still answers from the last complete index."""
    rng = random.Random(7)
    env = {**os.environ, "QA_CORPUS": str(index_copy.corpus), "QA_INDEX": str(index_copy.index)}
    for round_no in range(3):
        # Three copies of the corpus a round: embedding them outlasts the kill's 3 s
        # even on a quiet machine (one copy took under 3 s once indexing pooled its
        # sentence vectors).
        for copy in range(3):
            for n, src in enumerate(sorted(CORPUS.glob("*.md"))):
                (index_copy.corpus / f"k{round_no}-{copy}-{n}.md").write_text(
                    src.read_text(encoding="utf-8") + f"\nKill round {round_no}.\n",
                    encoding="utf-8")
        proc = subprocess.Popen([*QA, "index"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        _wait_for_model_runtime(proc.pid)  # chunking done: the model loads, then embeds
        time.sleep(rng.uniform(0.5, 3.0))
        assert proc.poll() is None, "the update finished before the kill"
        proc.kill()
        proc.communicate()
        answer = run_qa(index_copy, "ask", "--no-update", "--json", QUESTIONS[0])
        assert answer.returncode == 0, answer.stderr
        results = json.loads(answer.stdout)["results"]
        assert results
        for r in results:
            text = (index_copy.corpus / r["doc"]).read_text(encoding="utf-8")
            assert r["text"] in text
    record_property("kills", 3)
    finished = run_qa(index_copy, "index")
    assert finished.returncode == 0, finished.stderr
    status = run_qa(index_copy, "status").stdout
    assert "documents   50" in status and "up to date" in status


MERGE_STEPS = ("written", "renamed", "committing", "committed")


def test_killed_merges_leave_the_index_answering_as_before(tmp_path: Path):
    """A real process running `qa index --optimize` is SIGKILLed at each step of its
    merge (tests/support/merge_driver.py): the merged file written, renamed into
    place, being committed, committed with the replaced files still there. After each
    kill the index answers exactly as before the merge, and the next run finishes it."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    base = Paths(corpus, tmp_path / "base")
    update_index(base, progress=False, embedder=FakeEmbedder(), batch_chunks=8)
    sorted(corpus.glob("*.md"))[0].unlink()  # a deletion set for the merge to apply
    update_index(base, progress=False, embedder=FakeEmbedder())
    before = index_content(base.index, FakeEmbedder(), QUESTIONS)
    for step in MERGE_STEPS:
        index_dir = tmp_path / step
        shutil.copytree(base.index, index_dir)
        proc = subprocess.run([sys.executable, "-m", "tests.support.merge_driver",
                               str(corpus), str(index_dir), step], cwd=REPO,
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == -9, (step, proc.stdout, proc.stderr)
        _assert_consistent(index_dir, FakeEmbedder())
        assert index_content(index_dir, FakeEmbedder(), QUESTIONS) == before, step
        update_index(Paths(corpus, index_dir), progress=False, embedder=FakeEmbedder(),
                     optimize=True)
        store = Store(live(index_dir) / STORE_FILE)
        rows = store.vector_segments()
        assert len(rows) == 1 and not len(store.vector_deletes())
        store.close()
        assert {p.name for p in (live(index_dir) / VECTORS_DIR).iterdir()} == {rows[0].name}
        assert index_content(index_dir, FakeEmbedder(), QUESTIONS) == before, step
