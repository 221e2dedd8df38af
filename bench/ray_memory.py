"""Peak memory of the indexing driver as the corpus grows: Ray streams, local collects.

Usage: .venv/bin/python bench/ray_memory.py [--sizes 1000 4000 16000] [--writers local ray]

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


def drive(corpus: Path, index: Path, mode: str) -> None:
    """In the measured process: one update, then its peak RSS, the peaks of its private
    memory while committing and in the final merge, and its passage count."""
    from qa.index.generations import live_store
    from qa.index.segment_writer import SegmentWriter
    from qa.index.writer import update_index
    from qa.settings import Paths
    from tests.support.fake_model import FakeDocumentEmbedder

    indexer = None
    if mode == "ray":
        from qa.index.distributed.indexer import RayIndexer, RayOptions

        indexer = RayIndexer(RayOptions("local"), fake_embedder, inform=lambda line: None)
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
    parser.add_argument("--drive", nargs=3, metavar=("CORPUS", "INDEX", "MODE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(Path(args.drive[0]), Path(args.drive[1]), args.drive[2])
        return
    pool = sentences()
    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-ray-") as tmp:
        env = {**os.environ, **RAY_ENV, "RAY_TMPDIR": tmp,
               "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
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
                done = subprocess.run(
                    ["nice", "-n", "10", sys.executable, __file__, "--drive", str(corpus),
                     str(index), mode], capture_output=True, text=True, env=env, check=False)
                if done.returncode != 0:
                    raise SystemExit(done.stderr)
                peak_mb, committing_mb, merge_mb, passages = map(int, done.stdout.split()[-4:])
                rows.append((size, text_bytes / 2**20, mode, passages, peak_mb, committing_mb,
                             merge_mb))
                print(f"{size} documents, {mode}: peak {peak_mb} MB, private {committing_mb} MB"
                      f" committing, {merge_mb} MB in the final merge", flush=True)
                shutil.rmtree(index)
            shutil.rmtree(corpus)
    print(f"\n{'documents':>9} {'corpus':>8} {'writer':>6} {'passages':>8} {'peak RSS':>9}"
          f" {'private: committing':>20} {'final merge':>12}")
    for size, corpus_mb, mode, passages, peak_mb, committing_mb, merge_mb in rows:
        print(f"{size:9} {corpus_mb:6.1f} MB {mode:>6} {passages:8} {peak_mb:6} MB"
              f" {committing_mb:17} MB {merge_mb:9} MB")


if __name__ == "__main__":
    main()
