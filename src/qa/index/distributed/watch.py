"""Ending a Ray run that cannot progress, with one line that says why, not a silent hang.

When a node dies, Ray reruns what it held: its loading-and-chunking and embedding
actors restart with the blocks they had been given, and a block embedded there but not
yet read by the driver is recomputed by that actor. A restarted embedding actor needs
its CPUs on a live node (a chunking actor needs none). When none has them free (the
cluster lost capacity, and the surviving actors keep theirs until Ray Data releases
them idle), the actor waits, and so does the driver. It
usually ends: a node joins (an operator, or an autoscaler), or the surviving actors run
out of work and are released. When it does not, the run would hang for ever.

So the driver pulls results on a thread and waits for them with a timeout: after
`stall_s` seconds without a result, it asks Ray whether work of this run is waiting for
resources no live node has free (an actor restarting or not yet placed, and a pending
resource demand), and if so stops with a `QaError` naming it. A slow block alone (a big
file, a slow model load) is never stopped: Ray must report unplaceable work.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from qa.errors import QaError

T = TypeVar("T")
DEFAULT_STALL_S = 300.0  # long enough for a cloud autoscaler to bring up a node
POLL_S = 2.0
WAITING_STATES = ("RESTARTING", "PENDING_CREATION")


def watched(items: Iterable[T], stalled: Callable[[], str | None], stall_s: float,
            what: str) -> Iterator[T]:
    """`items`, pulled on a daemon thread, one ahead (backpressure is kept); raises
    QaError("`what`: no progress for N s: <why>") once none has come for `stall_s`
    seconds (not counting the time the caller spends on each) and `stalled()` gives a
    reason. `stall_s` 0 waits for ever. Errors of `items` are raised here."""
    handoff: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)

    def pull() -> None:
        try:
            for item in items:
                handoff.put(("item", item))
            handoff.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            handoff.put(("error", exc))

    threading.Thread(target=pull, daemon=True, name="qa-ray-results").start()
    since = time.monotonic()
    while True:
        try:
            kind, value = handoff.get(timeout=POLL_S)
        except queue.Empty:
            waited = time.monotonic() - since
            if stall_s and waited >= stall_s and (why := stalled()) is not None:
                raise QaError(f"{what}: no progress for {waited:.0f} s: {why}") from None
            continue
        if kind == "end":
            return
        if kind == "error":
            raise value  # type: ignore[misc]
        yield value  # type: ignore[misc]
        since = time.monotonic()


def unplaceable_work() -> str | None:
    """What of this run (this driver's job) Ray cannot place now, or None: its actors
    waiting to start or restart while the cluster reports resource demands it cannot
    meet. Ray's state is read through its developer APIs; if they fail, None (a run is
    never stopped without evidence)."""
    import ray

    try:
        from ray._private import state
        from ray.autoscaler.v2.sdk import get_cluster_status

        context = ray.get_runtime_context()
        actors = state.actors(job_id=ray.JobID.from_hex(context.get_job_id()))
        waiting = Counter(a["State"] for a in actors.values() if a["State"] in WAITING_STATES)
        demands = get_cluster_status(context.gcs_address).resource_demands
        shapes: Counter[str] = Counter()
        for demand in demands.ray_task_actor_demand:
            for request in demand.bundles_by_count:
                shapes[_shape(request.bundle)] += request.count
        free = ray.available_resources().get("CPU", 0)
    except Exception:  # no evidence, no verdict
        return None
    if not waiting or not shapes:
        return None
    actors_text = " and ".join(f"{n} {state.lower().replace('_', ' ')}"
                               for state, n in sorted(waiting.items()))
    wants = ", ".join(f"{n} x {shape}" for shape, n in sorted(shapes.items()))
    return (f"Ray cannot place this run's work (actors: {actors_text}; waiting for"
            f" {wants}; {free:g} CPUs free on the live nodes): after a lost node, add one"
            " to the cluster or free its CPUs, then run again to finish (what was"
            " committed is kept); --ray-stall-timeout sets this wait")


def _shape(bundle: dict[str, float]) -> str:
    """A resource request as Ray's own status prints it, without its internal keys."""
    return "{" + ", ".join(f"{k}: {v:g}" for k, v in sorted(bundle.items())
                           if not k.startswith("node:")) + "}"
