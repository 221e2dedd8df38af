"""Indexing on a real Ray cluster: two nodes on this machine (a head and a worker, one
CPU each), started by the tests, on the loopback interface, in the test's tmp dir.

Checked: embedding runs on both nodes; the index equals a local build (documents,
passages, offsets, vectors within 1e-5, answers to the dev questions); bad files are
named and skipped as locally; killing the worker node mid-run still ends in a complete
index; so does killing the driver, and the next run's progress bar counts the passages
it commits; `qa add` runs on the cluster too; files are shipped when asked; a node that
declares a GPU gets the embedding actor, which falls back to the CPU and says so; and
`--ray local` runs with no network at all.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import secrets
import shutil
import signal
import struct
import subprocess
import termios
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import pytest

from qa.errors import QaError
from qa.evaluation.questions import load_questions
from qa.index.distributed.indexer import RayIndexer, RayOptions  # imports no Ray yet
from qa.index.distributed.stages import ModelLoader
from qa.index.layout import ENCODERS_DIR, STORE_FILE, current_generation
from qa.index.store import Store
from qa.index.writer import update_index
from qa.settings import Paths
from tests.conftest import (
    CORPUS,
    DEV_QUESTIONS,
    QA,
    FakeEmbedder,
    assert_one_line_error,
    live,
    run_qa,
    run_qa_process,
)
from tests.support.fake_model import QUERY_ENCODER_STAND_IN, FakeDocumentEmbedder
from tests.support.index_equality import (
    assert_close_vector,
    assert_same_index,
    index_content,
    stored_vectors,
)

# Not importorskip: Ray must first be imported by the cluster fixture, after RAY_ENV is set.
pytestmark = pytest.mark.skipif(find_spec("ray") is None,
                                reason="the `ray` extra is not installed")
# Ray reads these when it is first imported: loopback only, no usage stats, and a
# token for the test cluster held in the environment (Ray would write ~/.ray/auth_token).
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
           "RAY_BACKEND_LOG_LEVEL": "fatal", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32)}
NODE = {"node_ip_address": "127.0.0.1", "num_cpus": 1, "include_dashboard": False}
# The head checks each node every second, not every 3 s: a killed node (its port closed,
# so each check fails at once) is declared dead after 5 failed checks in about 5 s, not
# 15 s of the test spent waiting. A live node still has Ray's 10 s to answer each one.
HEALTH_CHECKS = {"health_check_period_ms": 1000}
BAD_FILES = {"binary.md": b"\x00\x01garbage", "empty.txt": b"",
             "latin1.txt": "caf\xe9 au lait".encode("latin-1"), "image.png": b"\x89PNG\r\n"}


def shipped_fake_embedder(load: ModelLoader, threads: int, device: str) -> FakeEmbedder:
    """The fake embedder, on an actor that must have been shipped the index's model file
    (the driver's stand-in for it): else the run fails, naming what it got."""
    model = load()
    if model != QUERY_ENCODER_STAND_IN:
        raise RuntimeError(f"the actor's model was not shipped: {model!r:.60}")
    return FakeEmbedder()


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A head and a worker node, one CPU each; Ray's files live in a tmp dir (short:
    Ray's socket paths must fit in 107 bytes)."""
    base = tmp_path_factory.mktemp("ray")
    (base / "ray").mkdir()
    with pytest.MonkeyPatch.context() as env:
        for name, value in {**RAY_ENV, "RAY_TMPDIR": str(base)}.items():
            env.setenv(name, value)
        from ray.cluster_utils import Cluster

        cluster = Cluster(initialize_head=True,
                          head_node_args={**NODE, "temp_dir": str(base / "ray"),
                                          "_system_config": HEALTH_CHECKS})
        cluster.add_node(**NODE)
        cluster.wait_for_nodes()
        yield cluster
        cluster.shutdown()


def _corpus(tmp_path: Path, copies: int = 1, bad: bool = False,
            model_of: Paths | None = None) -> Paths:
    """The real corpus (`copies` times, under distinct names), optionally with bad files,
    and an index folder holding only the ONNX model `model_of`'s index exported (so the
    run skips the export: 10 to 15 s of torch, which the local tests pay)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True)
    for n in range(copies):
        for path in sorted(CORPUS.glob("*.md")):
            shutil.copy(path, corpus / (f"c{n}-{path.name}" if n else path.name))
    for name, data in BAD_FILES.items() if bad else ():
        (corpus / name).write_bytes(data)
    if model_of is not None:
        shutil.copytree(model_of.index / ENCODERS_DIR, tmp_path / "index" / ENCODERS_DIR)
    return Paths(corpus, tmp_path / "index")


def _skip_lines(stderr: str) -> set[str]:
    return {line for line in stderr.splitlines() if ": skipped, " in line}


def _dev_questions() -> list[str]:
    return [q.question for q in load_questions(DEV_QUESTIONS)]


@pytest.mark.e2e
def test_two_nodes_embed_and_the_index_equals_a_local_build(ray_cluster, real_index: Paths,
                                                            tmp_path: Path):
    paths = _corpus(tmp_path, bad=True, model_of=real_index)
    ran = run_qa_process(paths, "index", "--ray", ray_cluster.address)
    assert ran.returncode == 4, ran.stderr  # done, some files skipped
    assert "added 5," in ran.stdout and "skipped 4" in ran.stdout

    # bad files: named and skipped exactly as a local update names them
    local = Paths(tmp_path / "local-corpus", tmp_path / "local-index")
    shutil.copytree(paths.corpus, local.corpus)
    report = update_index(local, progress=False, embedder=FakeEmbedder())
    assert _skip_lines(ran.stderr) == {f"qa: {p}: skipped, {why}" for p, why in report.skipped}
    assert len(report.skipped) == 4

    # files were read by path (one machine: shared storage), and both nodes embedded
    assert "workers read files by path (5 read by path, 0 shipped" in ran.stderr
    per_node = re.search(r"passages embedded per node: (.*)", ran.stderr).group(1)
    counts = {node.split("/")[1]: count
              for node, count in (entry.split() for entry in per_node.split(", "))}
    node_ids = {n.node_id[:8] for n in ray_cluster.list_all_nodes()}
    assert set(counts) == node_ids and all(int(c) > 0 for c in counts.values()), per_node
    # with the local writer's ONNX model, on the CPU, each actor on its one CPU's thread
    assert "2 embedding actors on CPU (1 thread each)" in ran.stderr
    assert f"onnxruntime's CPUExecutionProvider {sum(map(int, counts.values()))}" in ran.stderr

    assert_same_index(paths.index, real_index.index, _dev_questions())


@pytest.mark.e2e
def test_a_node_with_a_gpu_gets_the_embedding_actor(ray_cluster, real_index: Paths,
                                                    tmp_path: Path):
    """A node that reports a GPU (declared to Ray: this machine has none) joins: the run
    plans one embedding actor per GPU, Ray places it on that node, and the actor asks
    onnxruntime for CUDA. The `onnxruntime` wheel qa installs has no CUDA provider, so
    the actor runs on the CPU, and the run says so and what to install. The index still
    equals a local build."""
    gpu_node = ray_cluster.add_node(**NODE, num_gpus=1)
    try:
        ray_cluster.wait_for_nodes()
        paths = _corpus(tmp_path, model_of=real_index)
        ran = run_qa_process(paths, "index", "--ray", ray_cluster.address)
    finally:
        ray_cluster.remove_node(gpu_node)
    assert ran.returncode == 0, ran.stderr
    assert "3 nodes, 3 CPUs, 1 GPUs" in ran.stderr
    assert "1 embedding actor on CUDA (1 thread each)" in ran.stderr
    per_node = re.search(r"passages embedded per node: (.*)", ran.stderr).group(1)
    assert per_node.split("/")[1].split()[0] == gpu_node.node_id[:8], per_node
    assert "," not in per_node  # the GPU node's actor embedded everything
    assert re.search(r"onnxruntime's CPUExecutionProvider \d+; some GPU actors ran on the CPU:"
                     r" install onnxruntime-gpu", ran.stderr), ran.stderr
    assert_same_index(paths.index, real_index.index, _dev_questions())


@pytest.mark.e2e
def test_worker_node_killed_mid_run_the_index_still_ends_complete(ray_cluster,
                                                                   real_index: Paths,
                                                                   tmp_path: Path):
    """The worker node (raylet, object store, the actor and tasks on it) is killed once
    it has embedded something and work is still outstanding; Ray reruns what was lost.
    Then a fresh node joins, as an operator (or an autoscaler) would bring one: the
    killed node's actor restarts there with its unfinished blocks. Without it the
    restarted actor waits for a CPU the head's actor holds until Ray Data releases that
    one idle at the end; a lost block whose recomputation needs the restarted actor can
    then wait for ever (`qa.index.distributed.watch`; one CI run in four hung so).
    The corpus is the real one twice over, so each copy must come out equal to the local
    build of the real corpus."""
    paths = _corpus(tmp_path, copies=2, model_of=real_index)
    worker = next(iter(ray_cluster.worker_nodes))
    indexer = RayIndexer(RayOptions(ray_cluster.address), inform=lambda line: None)
    committed_at_kill: list[int] = []

    def kill_once_it_has_worked(done: int, total: int) -> None:
        """Called by the driver after each commit (here, every document)."""
        run = indexer.run
        if not committed_at_kill and run and run.passages_by_node[worker.node_id] > 0:
            committed_at_kill.append(done)
            ray_cluster.remove_node(worker, allow_graceful=False)
            ray_cluster.add_node(**NODE)

    report = update_index(paths, progress=False, embedder=FakeEmbedder(), batch_chunks=1,
                          indexer=indexer, on_progress=kill_once_it_has_worked)
    store = Store(live(paths.index) / STORE_FILE)
    total = store.count("chunks")
    store.close()
    assert committed_at_kill and committed_at_kill[0] < total  # the kill landed mid-run
    assert len(report.added) == 10 and report.chunks_embedded == total

    _assert_copies_of(real_index.index, paths.index, copies=2)


def _assert_copies_of(reference: Path, index: Path, copies: int) -> None:
    """`index` holds the reference's documents `copies` times (copy n named `cN-NAME`,
    copy 0 as it is), each passage and sentence vector within 1e-5 of the reference's."""
    want = index_content(reference, None, [])
    got = index_content(index, None, [])
    assert got["docs"] == sorted((f"c{n}-{p}" if n else p, sha, title)
                                 for n in range(copies) for p, sha, title in want["docs"])
    vectors = stored_vectors(reference)
    for (kind, path, start), vector in stored_vectors(index).items():
        original = vectors[(kind, re.sub(r"^c\d-", "", path), start)]
        assert_close_vector((kind, path, start), vector, original)


def _chunks(paths: Paths) -> int:
    store = Store(live(paths.index) / STORE_FILE)
    try:
        return store.count("chunks")
    finally:
        store.close()


BAR = re.compile(r"Indexing: (\d+)chunk")  # tqdm's bar when the total is not known


def _on_a_terminal(command: list[str], env: dict[str, str],
                   kill_when: Callable[[str], bool] = lambda written: False) -> tuple[int, str]:
    """Run `command` with its stderr on a pseudo-terminal of 100 columns, where qa shows
    its progress bar, killing it once `kill_when(what it wrote)`; its exit status and
    what it wrote there."""
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=side)
    os.close(side)
    written = b""
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: every writer has closed its end
            break
        if not data:
            break
        written += data
        if proc.poll() is None and kill_when(written.decode(errors="replace")):
            proc.kill()
    os.close(main)
    return proc.wait(timeout=300), written.decode(errors="replace")


def _bar_count(written: str) -> int:
    counts = BAR.findall(written)
    return int(counts[-1]) if counts else 0


def _notes(corpus: Path, count: int) -> list[str]:
    """`count` short notes (a title and twelve words of the real corpus each, one passage
    apiece) written into `corpus`: many passages that are cheap to embed."""
    words = " ".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.md"))).split()
    names = []
    for n in range(count):
        names.append(f"note-{n:03d}.md")
        (corpus / names[-1]).write_text(
            f"# Note {n}\n\n{' '.join(words[n * 12:(n + 1) * 12])}\n", encoding="utf-8")
    return names


@pytest.mark.e2e
def test_the_driver_killed_mid_run_loses_nothing_and_its_bar_counts_passages(
        ray_cluster, index_copy: Paths, real_index: Paths, tmp_path: Path):
    """`qa index --ray` (a real process, the real model) embeds 300 new short notes (two
    batches of passages) and is killed once its progress bar shows the first batch
    committed: that batch stays in the index, which answers. The next run commits the
    rest, its bar counting exactly the passages it adds, and every passage of the notes
    has the vectors of a local build of them."""
    notes = _notes(index_copy.corpus, 300)
    env = {**os.environ, "QA_CORPUS": str(index_copy.corpus),
           "QA_INDEX": str(index_copy.index)}
    command = [*QA, "index", "--ray", ray_cluster.address]
    before = _chunks(index_copy)
    status, written = _on_a_terminal(command, env, kill_when=lambda w: _bar_count(w) > 0)
    assert status == -signal.SIGKILL, f"the run ended before the kill: {written}"
    shown = _bar_count(written)
    assert before + shown <= _chunks(index_copy) < before + len(notes), written  # some, not all
    answer = run_qa(index_copy, "ask", "--no-update", "--json", "why did Baku reject mediators?")
    assert answer.returncode == 0 and json.loads(answer.stdout)["results"], answer.stderr

    committed = _chunks(index_copy)
    status, written = _on_a_terminal(command, env)
    assert status == 0, written
    assert _bar_count(written) == _chunks(index_copy) - committed > 0, written
    assert _chunks(index_copy) == before + len(notes)

    local = _corpus(tmp_path / "local", copies=0, model_of=real_index)
    for name in notes:
        shutil.copy(index_copy.corpus / name, local.corpus / name)
    update_index(local, progress=False)
    got = stored_vectors(index_copy.index)
    for key, want in stored_vectors(local.index).items():
        assert_close_vector(key, got[key], want)


@pytest.mark.e2e
def test_qa_add_runs_on_the_cluster_named_by_qa_ray_address(ray_cluster, index_copy: Paths,
                                                            tmp_path: Path):
    """`qa add FILE` with QA_RAY_ADDRESS set (a real process, the real model): the
    file is copied into the corpus, embedded on the cluster by one actor (one file, one
    block: a second actor would only cost its start), and answers a question."""
    note = tmp_path / "ray-note.md"
    note.write_text("# Survey note\n\nThe joint commission mapped the ceasefire line with"
                    " drones over eleven days in March.\n", encoding="utf-8")
    ran = run_qa_process(index_copy, "add", str(note),
                         env={"QA_RAY_ADDRESS": ray_cluster.address})
    assert ran.returncode == 0, ran.stderr
    assert "qa: ray: 1 embedding actor on CPU (1 thread each)" in ran.stderr
    assert "added 1, updated 0, removed 0, unchanged 0" in ran.stdout
    answer = run_qa(index_copy, "ask", "--no-update", "--json",
                    "how long did the commission take to map the ceasefire line?")
    assert json.loads(answer.stdout)["results"][0]["doc"] == "ray-note.md", answer.stdout


@pytest.mark.e2e
def test_a_run_whose_work_cannot_be_placed_stops_with_one_line(ray_cluster,
                                                               index_copy: Paths):
    """While a placement group holds every CPU of the cluster, `qa index --ray` (a real
    process) cannot place its embedding actors: it stops after --ray-stall-timeout with
    one line naming why, instead of waiting for ever, and the index is left as it was."""
    import ray

    (index_copy.corpus / "new.md").write_text("# New\n\nA new document.\n", encoding="utf-8")
    before = current_generation(index_copy.index)
    ray.init(address=ray_cluster.address, log_to_driver=False)
    try:
        cpus = int(ray.cluster_resources()["CPU"])
        hold = ray.util.placement_group([{"CPU": 1}] * cpus, strategy="SPREAD")
        ray.get(hold.ready(), timeout=60)
        ran = run_qa_process(index_copy, "index", "--ray", ray_cluster.address,
                             env={"QA_RAY_STALL_TIMEOUT": "5"})
        ray.util.remove_placement_group(hold)
    finally:
        ray.shutdown()
    assert ran.returncode not in (0, 4) and "Traceback" not in ran.stderr, ran.stderr
    errors = [line for line in ran.stderr.splitlines()
              if line.startswith("qa: ") and not line.startswith("qa: ray: ")]
    assert len(errors) == 1, ran.stderr
    assert errors[0].startswith(f"qa: --ray {ray_cluster.address}: no progress for "), errors[0]
    assert "Ray cannot place this run's work" in errors[0]
    assert "pending creation" in errors[0] and "{CPU: 1}" in errors[0], errors[0]
    assert "INFO" not in ran.stderr  # Ray Data's plan and timings stay in its log file
    assert current_generation(index_copy.index) == before


def test_shipped_files_incremental_updates_and_bad_files(ray_cluster, corpus_copy: Paths,
                                                         tmp_path: Path):
    """Orchestration with the fake embedder (injected through RayIndexer's public
    seam): with `ship`, every file and the model are read on the driver's node and
    shipped; a second run embeds only what changed, records a touched file's stat,
    drops a removed file, skips a bad one, and still equals a local update."""
    def ray_update() -> tuple:
        indexer = RayIndexer(RayOptions(ray_cluster.address, files="ship"),
                             shipped_fake_embedder, inform=lambda line: None)
        return update_index(corpus_copy, progress=False, embedder=FakeDocumentEmbedder(),
                            indexer=indexer), indexer.run

    local = Paths(tmp_path / "local-corpus", tmp_path / "local-index")

    def local_update() -> None:
        shutil.rmtree(local.corpus, ignore_errors=True)
        shutil.copytree(corpus_copy.corpus, local.corpus)
        update_index(local, progress=False, embedder=FakeEmbedder())

    report, run = ray_update()
    assert (run.shipped, run.read_by_path) == (5, 0) and len(report.added) == 5
    local_update()
    questions = ["why did Baku reject mediators?", "peace treaty"]
    assert index_content(corpus_copy.index, FakeEmbedder(), questions) == index_content(
        local.index, FakeEmbedder(), questions)

    files = sorted(corpus_copy.corpus.glob("*.md"))
    os.utime(files[0], ns=(1, 1))  # same content, new stat
    files[1].write_text(files[1].read_text(encoding="utf-8") + "\nOne more line.\n",
                        encoding="utf-8")
    files[2].unlink()
    (corpus_copy.corpus / "binary.md").write_bytes(BAD_FILES["binary.md"])
    report, run = ray_update()
    assert report.updated == [files[1].name] and report.removed == [files[2].name]
    assert files[0].name in report.unchanged
    assert report.skipped == [("binary.md", "binary content (NUL bytes)")]
    assert report.chunks_embedded > 0 and run.shipped == 2  # the edited and the touched file
    local_update()
    store = Store(live(corpus_copy.index) / STORE_FILE)
    assert list(store.skipped.all()) == ["binary.md"]
    store.close()
    # the local index was built fresh, the Ray one updated: contents must still agree
    assert index_content(corpus_copy.index, FakeEmbedder(), questions) == index_content(
        local.index, FakeEmbedder(), questions)


@pytest.mark.e2e
def test_ray_local_runs_with_no_network_and_writes_only_its_tmp_dir(
        real_index: Paths, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """`qa index --ray local` in a network namespace that has only a loopback interface,
    with an empty HOME: it works, and Ray's files stay in RAY_TMPDIR. (The model's ONNX
    export, skipped here, is checked offline in tests/embed/test_embedding.py.)"""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-n", "true"], capture_output=True, check=False).returncode:
        pytest.skip("needs unshare -n (a network namespace)")
    paths = _corpus(tmp_path, model_of=real_index)
    home = tmp_path / "home"
    home.mkdir()
    ray_tmp = tmp_path_factory.mktemp("rt")  # short: Ray's socket paths must fit 107 bytes
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_")},
           "HOME": str(home), "RAY_TMPDIR": str(ray_tmp),
           "QA_CORPUS": str(paths.corpus), "QA_INDEX": str(paths.index)}
    command = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
               *QA, "index", "--ray", "local"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "started a local cluster: 1 node" in done.stderr
    assert "added 5," in done.stdout
    assert list(home.iterdir()) == []
    assert [p.name for p in ray_tmp.iterdir()] == ["ray"]  # sessions, logs, sockets


def test_bad_ray_addresses_are_one_line_errors(corpus_copy: Paths):
    closed = run_qa(corpus_copy, "index", "--ray", "127.0.0.1:1")
    assert_one_line_error(closed, "--ray 127.0.0.1:1", "cannot reach a Ray head")
    new = corpus_copy.corpus.parent / "new.md"
    new.write_text("# New\n\nA new document.\n", encoding="utf-8")
    client = run_qa(corpus_copy, "add", str(new), env={"QA_RAY_ADDRESS": "ray://head:10001"})
    assert_one_line_error(client, "Ray Client addresses are not supported")
    assert not (corpus_copy.corpus / "new.md").exists()  # refused before copying
    garbled = run_qa(corpus_copy, "index", "--ray", "head-without-port")
    assert_one_line_error(garbled, "expected auto, local or HOST:PORT")
    assert current_generation(corpus_copy.index) is None  # nothing was indexed



def test_more_threads_per_actor_than_any_node_has_is_refused(ray_cluster,
                                                             corpus_copy: Paths):
    """Actors that no node could hold would never start: refused at once, by name."""
    indexer = RayIndexer(RayOptions(ray_cluster.address, threads=4), shipped_fake_embedder,
                         inform=lambda line: None)
    with pytest.raises(QaError, match=r"^--ray-threads 4: no node of the cluster has 4 CPUs"):
        update_index(corpus_copy, progress=False, embedder=FakeDocumentEmbedder(),
                     indexer=indexer)


def test_a_run_starts_no_more_actors_than_it_has_files():
    """Each actor would cost its start and could never get a block beyond the files'."""
    from qa.index.distributed.cluster import Cluster
    from qa.index.distributed.indexer import _plan

    def plan(gpus: int, node_cpus: tuple[int, ...], files: int) -> tuple[int, int, str]:
        joined = Cluster("auto", False, len(node_cpus), sum(node_cpus), gpus, {}, node_cpus)
        run = _plan(joined, RayOptions("auto"), files)
        return run.actors, run.chunkers, run.device

    assert plan(0, (16, 16), 1000) == (16, 16, "cpu")  # 2 threads each, every CPU used
    assert plan(0, (16, 16), 3) == (3, 3, "cpu")
    assert plan(0, (1, 1), 1) == (1, 1, "cpu")
    assert plan(4, (32,), 1000) == (4, 28, "cuda")  # the other CPUs load and chunk
    assert plan(4, (32,), 2) == (2, 2, "cuda")
