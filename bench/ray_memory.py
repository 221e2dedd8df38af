"""Peak memory of the indexing driver as the corpus grows: Ray streams, local collects.

Usage: .venv/bin/python bench/ray_memory.py [--sizes 1000 4000 16000] [--writers local ray]
                                            [--cap-mb MB]

Synthetic corpora of ~1,000-word documents (sentences drawn from the real articles,
as in bench/add_one.py) are indexed from scratch, each in a fresh process, and that
process's peak resident set is reported (ru_maxrss; Ray's workers are other
processes), and apart from it the peak of its private memory (RssAnon, sampled every
50 ms). The two differ for the Ray driver: the blocks it reads are pages of Ray's
shared-memory object store mapped into it, which count in its resident set as it
touches them, but belong to the object store, whose size is fixed (it spills to disk
beyond that). Embedding uses the tests' deterministic hashing embedder, as
the real model would take hours here; this figure is about what the driver holds, not
about the model. `local` is today's writer, which chunks every file before embedding;
`ray` is `--ray local` on this machine (2 CPUs), which streams.

Private memory is split in two phases: while documents are committed batch by batch
(each batch's vectors are written as a segment file and dropped), and during the merge
of those segments that ends a build from scratch (`SegmentWriter.optimize`), which
reads them one at a time but holds the HNSW graph it builds, up to MAX_SEGMENT_VECTORS
vectors (`qa.index.segment_writer`).

`--cap-mb MB` runs each driver in a memory cgroup of its own, limited to MB (the machine
has no swap, so the limit is hard: a driver that needs more is killed by the kernel).
The Ray cluster is then started by this script, outside the cgroup (a head with 2 CPUs,
which hosts the embedding actor and the object store), and the driver joins it by
address: the cap is the driver's alone. A corpus whose text and vectors together exceed
the cap is one "larger than RAM would allow to hold at once" for that driver: it can
only finish by streaming. The cgroup's own peak (which also counts the page cache of
the files the driver writes, reclaimed under the limit) is reported beside RssAnon,
with the size of the float32 vectors the driver received and of the index it wrote.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from add_one import REPO, document, sentences

RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_BACKEND_LOG_LEVEL": "fatal"}


def fake_embedder(load, threads: int, device: str):
    """Each actor's embedder: the hashing one; the model file is never loaded."""
    from tests.conftest import FakeEmbedder

    return FakeEmbedder()


class AnonPeak:
    """The peak of this process's RssAnon, sampled every `every` seconds in a thread."""

    def __init__(self, every: float = 0.05) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while True:
            self.sample()
            if self._stop.wait(every):
                return

    def sample(self) -> None:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def restart(self) -> int:
        """The peak so far in MB; the next phase's peak starts from now."""
        self.sample()
        peak, self.peak_kb = self.peak_kb, 0
        self.sample()
        return peak // 1024

    def stop(self) -> int:
        """Stop sampling; the peak since the last restart in MB."""
        self._stop.set()
        self._thread.join()
        return self.restart()


@contextmanager
def memory_cgroup(limit_mb: int) -> Iterator[Path]:
    """A new memory cgroup limited to `limit_mb` (cgroup v2, else v1's memory
    controller), removed at the end; the processes put in it must have ended by then."""
    v2 = Path("/sys/fs/cgroup/cgroup.controllers")
    if v2.exists() and "memory" in v2.read_text():
        folder, limit_file = Path(f"/sys/fs/cgroup/qa-bench-{os.getpid()}"), "memory.max"
    else:
        folder = Path(f"/sys/fs/cgroup/memory/qa-bench-{os.getpid()}")
        limit_file = "memory.limit_in_bytes"
    try:
        folder.mkdir()
    except OSError as exc:
        raise SystemExit(f"--cap-mb: cannot make a memory cgroup at {folder}"
                         f" ({exc.strerror}); run as root on a host that allows it") from None
    try:
        (folder / limit_file).write_text(str(limit_mb * 2**20))
        yield folder
    finally:
        folder.rmdir()


def cgroup_peak_mb(folder: Path) -> int:
    for name in ("memory.peak", "memory.max_usage_in_bytes"):
        if (folder / name).exists():
            return int((folder / name).read_text()) // 2**20
    return -1


def drive(corpus: Path, index: Path, mode: str) -> None:
    """In the measured process: one update, then its peak RSS, the peaks of its private
    memory while committing and in the final merge, and its passage count. `mode` is
    local, ray (a cluster started by the driver) or ray@ADDRESS (one to join)."""
    from qa.index.generations import live_store
    from qa.index.segment_writer import SegmentWriter
    from qa.index.writer import update_index
    from qa.settings import Paths
    from tests.support.fake_model import FakeDocumentEmbedder

    indexer = None
    if mode.startswith("ray"):
        from qa.index.distributed.indexer import RayIndexer, RayOptions

        address = mode.partition("@")[2] or "local"
        indexer = RayIndexer(RayOptions(address), fake_embedder, inform=lambda line: None)
    # The fake document embedder puts a stand-in where the ONNX export goes, so neither
    # writer imports torch to export the real model.
    anon = AnonPeak()
    committing: list[int] = []
    optimize = SegmentWriter.optimize

    def measured(writer: SegmentWriter) -> None:
        committing.append(anon.restart())
        optimize(writer)

    SegmentWriter.optimize = measured  # type: ignore[method-assign]
    update_index(Paths(corpus, index), progress=False, embedder=FakeDocumentEmbedder(),
                 indexer=indexer)
    with live_store(index) as store:
        passages = store.count("chunks")
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, committing[0],
          anon.stop(), passages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--writers", nargs="+", choices=("local", "ray"),
                        default=["local", "ray"])
    parser.add_argument("--cap-mb", type=int,
                        help="run each driver in a memory cgroup of this many MB (ray only)")
    parser.add_argument("--drive", nargs=3, metavar=("CORPUS", "INDEX", "MODE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(Path(args.drive[0]), Path(args.drive[1]), args.drive[2])
        return
    if args.cap_mb and args.writers != ["ray"]:
        parser.error("--cap-mb: with --writers ray only (the local writer holds every"
                     " prepared document by design)")
    pool = sentences()
    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-ray-") as tmp:
        env = {**os.environ, **RAY_ENV, "RAY_TMPDIR": tmp,
               "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
        cluster = start_cluster(Path(tmp), env) if args.cap_mb else None
        for size in args.sizes:
            corpus = Path(tmp) / f"corpus-{size}"
            corpus.mkdir()
            rng = random.Random(size)
            text_bytes = 0
            for n in range(size):
                text = document(rng, pool, 1000, f"Synthetic {n}")
                (corpus / f"doc-{n:05d}.md").write_text(text, encoding="utf-8")
                text_bytes += len(text.encode())
            for mode in args.writers:
                index = Path(tmp) / f"index-{size}-{mode}"
                command = ["nice", "-n", "10", sys.executable, __file__, "--drive",
                           str(corpus), str(index),
                           f"ray@{cluster.address}" if cluster else mode]
                if args.cap_mb:
                    with memory_cgroup(args.cap_mb) as group:
                        done = subprocess.run(command, capture_output=True, text=True,
                                              env=env, check=False,
                                              preexec_fn=lambda g=group: join(g))
                        group_mb = cgroup_peak_mb(group)
                else:
                    done = subprocess.run(command, capture_output=True, text=True, env=env,
                                          check=False)
                    group_mb = -1
                if done.returncode != 0:
                    raise SystemExit(f"{size} documents, {mode}: the driver failed (exit"
                                     f" {done.returncode}; -9 is the kernel's OOM kill)\n"
                                     + done.stderr[-3000:])
                peak_mb, committing_mb, merge_mb, passages = map(int, done.stdout.split()[-4:])
                index_mb = sum(f.stat().st_size for f in index.rglob("*") if f.is_file())
                rows.append((size, text_bytes / 2**20, mode, passages, peak_mb, committing_mb,
                             merge_mb, group_mb, index_mb / 2**20))
                print(f"{size} documents, {mode}: peak {peak_mb} MB, private {committing_mb} MB"
                      f" committing, {merge_mb} MB in the final merge", flush=True)
                shutil.rmtree(index)
            shutil.rmtree(corpus)
        if cluster:
            cluster.shutdown()
    report(rows, args.cap_mb)


def start_cluster(temp_dir: Path, env: dict[str, str]):
    """A one-node cluster (2 CPUs) started by this process, outside the driver's cgroup."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("RAY_")})
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={
        "node_ip_address": "127.0.0.1", "include_dashboard": False, "num_cpus": 2,
        "temp_dir": str(temp_dir / "ray")})
    cluster.wait_for_nodes()
    return cluster


def join(group: Path) -> None:
    """In the driver's process before it runs: move it into the cgroup."""
    (group / "cgroup.procs").write_text(str(os.getpid()))


def report(rows: list[tuple], cap_mb: int | None) -> None:
    print(f"\n{'documents':>9} {'corpus':>8} {'writer':>6} {'passages':>8} {'peak RSS':>9}"
          f" {'private: committing':>20} {'final merge':>12}"
          + (f" {'vectors':>9} {'index':>9} {'cgroup peak':>12}" if cap_mb else ""))
    for (size, corpus_mb, mode, passages, peak_mb, committing_mb, merge_mb, group_mb,
         index_mb) in rows:
        line = (f"{size:9} {corpus_mb:6.1f} MB {mode:>6} {passages:8} {peak_mb:6} MB"
                f" {committing_mb:17} MB {merge_mb:9} MB")
        if cap_mb:  # float32 vectors of 384 dimensions, as the driver receives them
            line += (f" {passages * 384 * 4 / 2**20:6.0f} MB {index_mb:6.0f} MB"
                     f" {group_mb:9} MB")
        print(line)
    if cap_mb:
        print(f"each driver ran in a memory cgroup of {cap_mb} MB (no swap)")


if __name__ == "__main__":
    main()
