"""How the corpus stands against the index, judged by stat alone (cheap enough for every
`qa ask`): files new to the index, changed since, or removed."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection

from qa.corpus.walk import corpus_stats
from qa.errors import QaError
from qa.index.store import Store
from qa.settings import Paths

# At most this many processes walk the corpus (`corpus_stats`). A cap, not a measured
# optimum: each walker is a fork and a part of the stats to send back, and stats share
# one file system; only two walkers were measured here (2 cores, docs/scale.md).
WALKERS = 4


@dataclass(frozen=True)
class Staleness:
    """Corpus files that differ from the index."""

    new: list[str]
    changed: list[str]
    removed: list[str]

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.removed)

    def describe(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in
                 (("new", self.new), ("changed", self.changed), ("removed", self.removed)) if v]
        return ", ".join(parts)


def staleness(paths: Paths, store: Store,
              stats: Mapping[str, tuple[int, int]] | None = None) -> Staleness:
    """Compare the corpus (or its `corpus_stats`, already taken) with the store by stat
    alone. A skipped file counts as new only once its stat moves: it is retried then.

    The usual answer, nothing changed, comes from comparing two dicts in C; the lists
    are built only when they differ (at 200,000 files, a loop over them cost 0.5 s).
    """
    current = corpus_stats(paths.corpus) if stats is None else stats
    stored = store.document_stats()
    skipped = store.skipped.all()
    if skipped:  # a skipped file is left out until its stat moves
        current = {rel: stat for rel, stat in current.items()
                   if skipped.get(rel, (None, None, None))[1:] != stat}
    if current == stored:
        return Staleness([], [], [])
    return Staleness(
        sorted(current.keys() - stored.keys()),
        sorted(rel for rel in current.keys() & stored.keys() if current[rel] != stored[rel]),
        sorted(stored.keys() - current.keys()))


def corpus_staleness(paths: Paths, processes: int = 1) -> Staleness:
    """The whole freshness check of a `qa ask`: walk the corpus (it must hold documents)
    in `processes` processes (`corpus_stats`), and compare it with the live generation's
    store."""
    from qa.corpus.walk import require_documents
    from qa.index.generations import live_store

    stats = corpus_stats(paths.corpus, processes)
    require_documents(paths.corpus, stats)
    with live_store(paths.index) as store:
        return staleness(paths, store, stats)


def check_in_background(paths: Paths) -> Callable[[], Staleness]:
    """Start `corpus_staleness` in a forked child; return a call that waits for its
    verdict (or raises its error).

    At 200,000 files the check is a stat per file, about a second of CPU, and opening
    the index for the question (the ONNX encoder, the segments) is about half a second
    more: in a child, the two overlap on a machine with two cores, and a cold `qa ask`
    waits for the longer one, not for both (bench/scale.py's cold_ask_s). Where fork is
    not the platform's safe default (Windows, macOS), the check runs here, before returning.
    """
    if sys.platform != "linux":
        verdict = corpus_staleness(paths)
        return lambda: verdict
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_check_and_send, args=(paths, send), daemon=True)
    child.start()
    send.close()

    def wait() -> Staleness:
        try:
            outcome, value = receive.recv()
        except EOFError:  # the child died before answering (killed): check here instead
            outcome, value = "verdict", corpus_staleness(paths)
        finally:
            receive.close()
            child.join()
        if outcome == "error":
            raise value
        return value

    return wait


def _walkers() -> int:
    """How many processes walk the corpus in the child: one per core this process may
    run on, up to WALKERS. The parent opens the index meanwhile, so on two cores three
    processes share them: side by side at 200,000 files a cold `qa ask` still took 0.94x
    to 0.95x the wall time it took with one walker (`bench/scale.py --cold-before`,
    docs/scale-walkers-run.txt). Where the platform cannot say which cores the process
    may use (macOS has no `sched_getaffinity`), the machine's count stands in."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return max(1, min(WALKERS, cores))


def _check_and_send(paths: Paths, send: Connection) -> None:
    """The child's whole work. Ctrl+C is the parent's to handle (it ends the child as a
    daemon), so the child ignores it rather than print a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        send.send(("verdict", corpus_staleness(paths, _walkers())))
    except Exception as exc:  # any failure is the parent's to report
        try:
            send.send(("error", exc))
        except Exception:  # one that cannot be pickled
            send.send(("error", QaError(f"{paths.corpus}: {exc}")))
    finally:
        send.close()
