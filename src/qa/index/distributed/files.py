"""How a corpus file reaches the worker that loads it: by path, or shipped by the driver.

With shared storage (NFS, a cluster filesystem, or one machine) a worker sees the
corpus at the driver's path and reads it there. A worker checks that the file it sees
has the size and mtime the driver's scan recorded; if not (no shared storage, or a
different copy), or when `ship` is asked for, the bytes come from a `FileServer` actor
pinned to the driver's node, which reads them there. The server reads one file per
request, so nothing is collected: the driver never holds more than the files in flight.
The index's ONNX model reaches the embedding actors the same way (`fetch_model`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qa.corpus.walk import CorpusFile
from qa.ingest.document import UnreadableDocument
from qa.ingest.pipeline import read_file

AUTO = "auto"  # by path where the worker sees the same file, else shipped
SHIP = "ship"  # always shipped from the driver's node
MODES = (AUTO, SHIP)
SERVER_THREADS = 4  # concurrent reads on the driver's node


class FileServer:
    """Reads corpus files on the driver's node for workers that cannot see them."""

    def read(self, f: CorpusFile) -> bytes | str:
        """The file's bytes, or why it cannot be read (an exception would arrive
        wrapped in Ray's own)."""
        try:
            return read_file(f)
        except UnreadableDocument as exc:
            return exc.reason

    def read_model(self, path: str) -> bytes:
        """The index's ONNX model, whole: not a corpus file, so QA_MAX_FILE_BYTES does
        not apply (it is about 90 MB)."""
        return Path(path).read_bytes()


def start_file_server() -> Any:
    """A FileServer actor on this (the driver's) node, taking no CPU from the embedders."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    actor = ray.remote(num_cpus=0, max_concurrency=SERVER_THREADS, max_restarts=-1,
                       max_task_retries=-1, scheduling_strategy=here)(FileServer)
    return actor.remote()


def fetch(f: CorpusFile, server: Any, mode: str) -> tuple[bytes, bool]:
    """The file's bytes and whether they were shipped. Raises UnreadableDocument."""
    if mode == AUTO and _visible(f):
        return read_file(f), False
    import ray

    got = ray.get(server.read.remote(f))
    if isinstance(got, str):
        raise UnreadableDocument(f.rel, got)
    return got, True


def _visible(f: CorpusFile) -> bool:
    """Whether this worker sees the file the driver scanned (same path, size, mtime)."""
    try:
        st = os.stat(f.abspath)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == (f.size, f.mtime_ns)


def fetch_model(f: CorpusFile, server: Any, mode: str) -> Path | bytes:
    """The index's ONNX model for an embedding actor: its path where this node sees the
    same file, else its bytes, shipped once per actor."""
    if mode == AUTO and _visible(f):
        return f.path
    import ray

    return ray.get(server.read_model.remote(f.abspath))
