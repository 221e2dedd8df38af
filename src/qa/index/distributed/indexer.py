"""RayIndexer: the files of an update become a Ray Dataset; the driver commits results.

    files needing work -> from_items -> map_batches(ChunkActor)      actor pool, 0 CPUs
                                     -> map_batches(EmbedActor)      actor pool
                                     -> iter_batches on the driver   -> BatchCommitter

Streamed, not collected: the driver holds the list of files to do (paths and stats),
the batch being committed and Ray's small prefetch; Ray Data's backpressure keeps the
rest in the cluster's object stores. Ray retries the work of a worker or node that
dies (its actors are restarted and their lost blocks recomputed), so the index
ends complete. Each embedded document is committed through `job.committer`, exactly as
a local update commits it.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qa.corpus.walk import CorpusFile
from qa.embed.document_embedder import export_once
from qa.errors import QaError
from qa.index.distributed import cluster, files, watch
from qa.index.distributed.stages import (
    ActorSpec,
    ChunkActor,
    EmbedActor,
    EmbedderFactory,
    Outcome,
    read_outcomes,
    real_embedder,
    work_rows,
)
from qa.ingest.document import UnreadableDocument
from qa.ingest.pipeline import check_size

if TYPE_CHECKING:
    from pathlib import Path

    from qa.index.preparation import FileWork
    from qa.index.writer import IndexJob

MAX_DOCS_PER_BLOCK = 32  # a block is one call of each actor pool
BLOCKS_PER_ACTOR = 4  # at least this many blocks per actor, for load balancing
ACTOR_START_TIMEOUT_S = 600  # for the embedding actors to start and load the model
MAX_ACTOR_THREADS = 2  # onnxruntime threads (and CPUs) per embedding actor


@dataclass(frozen=True)
class RayOptions:
    """`address`: auto, local or HOST:PORT; `files`: auto (by path where workers see the
    corpus, else shipped) or ship (always shipped from the driver's node); `threads`:
    CPUs (onnxruntime threads) per embedding actor, None for `_plan`'s choice;
    `stall_s`: how long a run may go without a result while Ray reports work it cannot
    place before it stops (`qa.index.distributed.watch`), 0 for ever."""

    address: str
    files: str = files.AUTO
    threads: int | None = None
    stall_s: float = watch.DEFAULT_STALL_S


@dataclass
class RayRun:
    """What a Ray update did, for the user and the tests."""

    cluster: cluster.Cluster
    actors: int
    device: str
    threads: int  # each actor's CPUs, and its onnxruntime intra-op threads
    chunkers: int  # loading-and-chunking actors (blocks chunked at a time)
    read_by_path: int = 0
    shipped: int = 0

    passages_by_node: Counter[str] = field(default_factory=Counter)
    providers: Counter[str] = field(default_factory=Counter)  # passages per provider

    def describe_files(self) -> str:
        how = ("shared storage: workers read files by path" if not self.shipped
               else "shipped from the driver" if not self.read_by_path
               else "partly shared storage")
        return (f"ray: files: {how} ({self.read_by_path} read by path,"
                f" {self.shipped} shipped from the driver)")

    def describe_nodes(self) -> str:
        """Passages per node, each named by its address and the start of its id."""
        per_node = ", ".join(
            f"{self.cluster.node_addresses.get(node, '?')}/{node[:8]} {n}"
            for node, n in sorted(self.passages_by_node.items()))
        return f"ray: passages embedded per node: {per_node or 'none'}"

    def describe_providers(self) -> str | None:
        """What ran the model, when it is onnxruntime; and a warning when actors given
        a GPU ran on the CPU (their node's onnxruntime has no CUDA provider)."""
        if not self.providers:
            return None
        line = "ray: passages embedded by onnxruntime's " + ", ".join(
            f"{name} {n}" for name, n in sorted(self.providers.items()))
        from qa.embed.onnx_model import CUDA

        if self.device == "cuda" and set(self.providers) != {CUDA}:
            line += ("; some GPU actors ran on the CPU: install onnxruntime-gpu, in place"
                     " of onnxruntime, on the GPU nodes")
        return line


class RayIndexer:
    """An `Indexer` (see `qa.index.writer`) that loads, chunks and embeds on Ray.

    `make_embedder(threads, device)` builds each actor's embedder (the real model by
    default; tests pass a small deterministic one). `inform` receives a few lines about
    the run: the cluster, how files travelled, which nodes embedded.
    """

    def __init__(self, options: RayOptions, make_embedder: EmbedderFactory = real_embedder,
                 inform: Callable[[str], None] | None = None) -> None:
        if options.files not in files.MODES:
            raise QaError(f"--ray-files {options.files}: expected one of"
                          f" {', '.join(files.MODES)}")
        self.loopback = cluster.check_address(options.address)
        self.options = options
        self.make_embedder = make_embedder
        self.inform = inform or (lambda line: print(line, file=sys.stderr))
        self.run: RayRun | None = None

    def index_files(self, job: IndexJob) -> None:
        work = []
        for w in job.work:
            try:
                check_size(w.file)  # the driver's QA_MAX_FILE_BYTES, before anything is read
            except UnreadableDocument as exc:
                job.unreadable(w, exc.reason)
                continue
            work.append(w)
        if not work:
            return
        with cluster.connected(self.options.address, self.loopback) as joined:
            self.run = run = _plan(joined, self.options, len(work))
            self.inform(joined.describe())
            self.inform(f"ray: {run.actors} embedding actor{'s' * (run.actors != 1)}"
                        f" on {run.device.upper()} ({run.threads} thread"
                        f"{'s' * (run.threads != 1)} each), each loading the model once")
            export_once(job.encoder)  # the driver's embedder normally has
            job.committer.start(None)
            for outcome in self._outcomes(work, run, job.encoder):
                if outcome.reason is None:
                    run.shipped += outcome.shipped
                    run.read_by_path += not outcome.shipped
                if outcome.reason is not None:
                    job.unreadable(outcome.work, outcome.reason)
                elif outcome.embedded is not None:
                    run.passages_by_node[outcome.node or "?"] += outcome.embedded.passages
                    if outcome.provider:
                        run.providers[outcome.provider] += outcome.embedded.passages
                    job.committer.add(outcome.embedded)
                else:
                    job.unchanged(outcome.work)
            job.committer.flush()
        self.inform(run.describe_files())
        self.inform(run.describe_nodes())
        if (providers := run.describe_providers()) is not None:
            self.inform(providers)

    def _outcomes(self, work: list[FileWork], run: RayRun, encoder: Path
                  ) -> Iterator[Outcome]:
        """Outcomes as the cluster finishes them, in no particular order."""
        import ray
        from ray.data import DataContext

        context = DataContext.get_current()
        context.enable_progress_bars = False  # the committed-passages bar is ours
        context.wait_for_min_actors_s = ACTOR_START_TIMEOUT_S
        per_block = max(1, min(MAX_DOCS_PER_BLOCK, len(work) // (run.actors * BLOCKS_PER_ACTOR)))
        dataset = ray.data.from_items(work_rows(largest_first(work)),
                                      override_num_blocks=math.ceil(len(work) / per_block))
        server = files.start_file_server()
        stat = encoder.stat()
        model = CorpusFile(encoder.name, str(encoder), stat.st_size, stat.st_mtime_ns)
        spec = ActorSpec(self.make_embedder, model, server, self.options.files, run.threads,
                         run.device)
        dataset = dataset.map_batches(
            ChunkActor, fn_constructor_args=(server, self.options.files),
            batch_size=None, batch_format="pyarrow", num_cpus=0,
            compute=ray.data.ActorPoolStrategy(size=run.chunkers),
        ).map_batches(
            # A block at a time; Ray Data asks actors given GPUs for a batch size in rows,
            # and a block holds at most `per_block` documents.
            EmbedActor, fn_constructor_args=(spec,),
            batch_size=per_block if run.device == "cuda" else None, batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(
                size=run.actors, max_tasks_in_flight_per_actor=_blocks_in_flight(run)),
            num_cpus=run.threads, num_gpus=1 if run.device == "cuda" else 0,
        )
        blocks = dataset.iter_batches(batch_size=None, batch_format="pyarrow")
        try:
            for block in watch.watched(blocks, watch.unplaceable_work, self.options.stall_s,
                                       f"--ray {self.options.address}"):
                yield from read_outcomes(block)
        except ray.exceptions.GetTimeoutError:
            raise QaError(f"--ray {self.options.address}: the cluster did not start"
                          f" {run.actors} embedding actors within {ACTOR_START_TIMEOUT_S} s"
                          " (are its CPUs taken by other work?)") from None
        except ray.exceptions.RayError as exc:  # e.g. workers without qa installed
            last = str(exc).strip().splitlines()[-1]
            raise QaError(f"--ray {self.options.address}: the run failed on the cluster:"
                          f" {last}") from None


def largest_first(work: list[FileWork]) -> list[FileWork]:
    """The files by size, largest first, so that the blocks that end the run are the
    cheapest: the last block embeds alone while the other actors have nothing left, and
    the smaller it is, the shorter that tail (longest-processing-time-first)."""
    return sorted(work, key=lambda w: w.file.size, reverse=True)


def _blocks_in_flight(run: RayRun) -> int | None:
    """Blocks Ray Data may give a CPU embedding actor at once: one. A CPU actor takes
    seconds per block, so a second one queued behind it gains nothing, and it waits
    there while another actor is idle (Ray Data prefers the actor on the node holding
    the block, up to this limit): at the start, and at the end of the run. GPU actors
    keep Ray Data's default (two), their blocks being short enough that dispatching
    the next one only when the last is done would leave the GPU waiting."""
    return None if run.device == "cuda" else 1


def _plan(joined: cluster.Cluster, options: RayOptions, files: int) -> RayRun:
    """One embedding actor per GPU when the cluster has GPUs (one CPU each), else actors
    of `threads` CPUs each, as many as the nodes' CPUs hold. `threads` defaults to the
    smallest node's CPUs, up to MAX_ACTOR_THREADS, so that every CPU is used and each
    actor loads the model once for as many CPUs as it uses well.

    On CPUs, one loading-and-chunking actor per embedding actor: it chunks
    a block many times faster than an actor embeds it, and more of them at once only
    take CPU from the actors (bench/ray_indexing.py, docs/ray-indexing-run7.txt). With
    GPUs the CPUs left beside the GPU actors all load and chunk: a GPU embeds a block
    far faster than a CPU core chunks it (an expectation: this machine has no GPU).

    Never more actors of either kind than the run has `files`: a block holds at least
    one file, so the others would never get one, and each costs its start (a process
    that imports Ray, and loads the model): `qa add --ray` of one file starts one of each."""
    if joined.gpus:
        return RayRun(joined, min(joined.gpus, files), "cuda", 1,
                      min(max(1, joined.cpus - joined.gpus), files))
    sizes = [n for n in joined.node_cpus if n > 0] or [1]
    threads = options.threads or min(min(sizes), MAX_ACTOR_THREADS)
    actors = sum(n // threads for n in sizes)
    if not actors:
        raise QaError(f"--ray-threads {threads}: no node of the cluster has {threads} CPUs"
                      f" (the largest has {max(sizes)})")
    actors = min(actors, files)
    return RayRun(joined, actors, "cpu", threads, actors)
