"""The worker side of a Ray update: an actor that loads and chunks blocks of files, and
an actor that embeds them with a model it loads once: the index's own ONNX model, with
onnxruntime, exactly as a local update embeds (`qa.embed.document_embedder`).

Loading and chunking run in long-lived actors (0 CPUs each), not in Ray tasks: a node
keeps at most as many idle task workers as it has CPUs, and kills the others after about
a second idle, so on a node whose CPUs the embedding actor holds (a 1-CPU worker node,
or the head with 0 CPUs) nearly every task started a new Python process, which imports
Ray, pyarrow and qa (seconds of CPU each) beside the embedding actors
(docs/ray-indexing-run14.txt: 13 tasks ran in 9 processes). Side by side with tasks,
nothing else changed, on two 1-CPU worker nodes: 13 tasks in 8 processes, 0.66x a
local update's rate against 0.85x with these actors (docs/ray-tasks-run.txt).

Rows carry one pickled `Outcome` each: Arrow has no type for a prepared document with
its ragged vectors, and Ray's own fallback would pickle it anyway (warning per block).
The pickles live only in the object store, for the length of the run.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.corpus.walk import CorpusFile
from qa.index.batches import EmbeddedDocument, embed_documents
from qa.index.distributed.files import fetch, fetch_model
from qa.index.preparation import FileWork, prepare_work
from qa.ingest.document import UnreadableDocument

if TYPE_CHECKING:
    import pyarrow as pa

    from qa.embed.document_embedder import Embedder
    from qa.ingest.pipeline import PreparedDocument

# Where an actor's model comes from: the ONNX file's path, or its bytes (shipped).
ModelLoader = Callable[[], Path | bytes]
# Makes the embedder an actor uses, given its model, onnxruntime threads and device.
EmbedderFactory = Callable[[ModelLoader, int, str], "Embedder"]
OUTCOME = "outcome"


@dataclass(frozen=True)
class Outcome:
    """What became of one file: prepared, then embedded (on `node`, by onnxruntime's
    `provider` there, or a test's embedder: None), or unreadable
    (`reason`), or neither when its content is what the index already holds."""

    work: FileWork
    shipped: bool = False
    prepared: PreparedDocument | None = None
    reason: str | None = None
    embedded: EmbeddedDocument | None = None
    node: str | None = None
    provider: str | None = None


def work_rows(work: list[FileWork]) -> list[dict[str, Any]]:
    """The Dataset's input: plain columns, one row per file."""
    return [{"rel": w.file.rel, "abspath": w.file.abspath, "size": w.file.size,
             "mtime_ns": w.file.mtime_ns, "stored_sha256": w.stored_sha256} for w in work]


class ChunkActor:
    """Ray actor: reads (`qa.index.distributed.files`), loads and chunks every block of
    files it is given, in one process for the whole run."""

    def __init__(self, server: Any, mode: str) -> None:
        self.server = server
        self.mode = mode

    def __call__(self, block: pa.Table) -> pa.Table:
        return prepare_block(block, self.server, self.mode)


def prepare_block(block: pa.Table, server: Any, mode: str) -> pa.Table:
    """Read (`qa.index.distributed.files`), load and chunk each file of a block."""
    outcomes = []
    for row in block.to_pylist():
        work = FileWork(CorpusFile(row["rel"], row["abspath"], row["size"], row["mtime_ns"]),
                        row["stored_sha256"])
        try:
            data, shipped = fetch(work.file, server, mode)
        except UnreadableDocument as exc:
            outcomes.append(Outcome(work, reason=exc.reason))
            continue
        try:
            outcomes.append(Outcome(work, shipped, prepared=prepare_work(work, data)))
        except UnreadableDocument as exc:
            outcomes.append(Outcome(work, shipped, reason=exc.reason))
    return _table(outcomes)


@dataclass(frozen=True)
class ActorSpec:
    """What each embedding actor is given: how to make its embedder, the index's ONNX
    model as the driver sees it (`qa.index.distributed.files.fetch_model`), and the
    threads (the CPUs it was given) and device it embeds with."""

    make_embedder: EmbedderFactory
    model: CorpusFile
    server: Any
    mode: str
    threads: int
    device: str


class EmbedActor:
    """Ray actor: loads the model once, then embeds every block it is given."""

    def __init__(self, spec: ActorSpec) -> None:
        import ray

        load = partial(fetch_model, spec.model, spec.server, spec.mode)
        self.embedder = spec.make_embedder(load, spec.threads, spec.device)
        self.node = ray.get_runtime_context().get_node_id()
        self.provider = getattr(self.embedder, "provider", None)

    def __call__(self, block: pa.Table) -> pa.Table:
        outcomes = read_outcomes(block)
        embedded = iter(embed_documents(
            self.embedder, [o.prepared for o in outcomes if o.prepared is not None]))
        return _table([
            replace(o, prepared=None, embedded=next(embedded), node=self.node,
                    provider=self.provider)
            if o.prepared is not None else o
            for o in outcomes
        ])


def read_outcomes(block: pa.Table) -> list[Outcome]:
    return [pickle.loads(b) for b in block.column(OUTCOME).to_pylist()]


def _table(outcomes: list[Outcome]) -> pa.Table:
    import pyarrow as pa

    return pa.table({OUTCOME: pa.array([pickle.dumps(o) for o in outcomes],
                                       type=pa.large_binary())})


def real_embedder(load: ModelLoader, threads: int, device: str) -> Embedder:
    """The local writer's ONNX embedder on the index's model, its session opened now,
    while the first files are still being chunked."""
    from qa.embed.document_embedder import DocumentEmbedder

    embedder = DocumentEmbedder(threads, load(), device)
    embedder.open()
    return embedder
