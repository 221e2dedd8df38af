"""Passages per second: local `qa index` against `qa index --ray` on this machine.

Usage: .venv/bin/python bench/ray_indexing.py [--copies 4] [--rounds 3]

The real corpus is copied N times (distinct names and a distinct last line, so nothing
is deduplicated) and rebuilt with the real model by real `qa index --rebuild -q`
processes, timed end to end (interpreter start, model load, Ray start-up included):

  local       qa index                       2 torch threads (this machine's 2 cores)
  ray-local   qa index --ray local           one node, 2 CPUs: 2 one-thread actors
  ray-1w      qa index --ray HEAD:PORT       a head with 0 CPUs + 1 worker node, 1 CPU
  ray-2w      qa index --ray HEAD:PORT       a head with 0 CPUs + 2 worker nodes, 1 CPU each

The two clusters run on the loopback interface, in a temporary RAY_TMPDIR, for the
whole run. Each round runs every configuration once, in a rotated order; medians over
the rounds are quoted, with the spread, since this machine is shared and noisy. The
same is done on a one-document corpus to show the fixed cost of a run (start-up and
model load), and throughput beyond it: passages / (time - fixed cost).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
           "RAY_BACKEND_LOG_LEVEL": "fatal"}
NODE = {"node_ip_address": "127.0.0.1", "include_dashboard": False}


def make_corpus(folder: Path, copies: int) -> None:
    folder.mkdir(parents=True)
    for n in range(copies):
        for path in sorted((REPO / "corpus").glob("*.md")):
            text = path.read_text(encoding="utf-8")
            (folder / f"{n:03d}-{path.name}").write_text(text + f"\nCopy {n}.\n",
                                                         encoding="utf-8")


def start_cluster(workers: int, temp_dir: Path):
    """A head that only hosts the driver (0 CPUs) and `workers` one-CPU worker nodes."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True,
                      head_node_args={**NODE, "num_cpus": 0, "temp_dir": str(temp_dir)})
    for _ in range(workers):
        cluster.add_node(**NODE, num_cpus=1)
    cluster.wait_for_nodes()
    return cluster


def timed_index(corpus: Path, index: Path, ray: str | None) -> tuple[float, int]:
    """Seconds for one `qa index --rebuild`, and the passages it embedded."""
    command = [sys.executable, "-m", "qa", "index", "--rebuild", "-q",
               "--corpus", str(corpus), "--index", str(index)]
    if ray:
        command += ["--ray", ray]
    start = time.perf_counter()
    done = subprocess.run(["nice", "-n", "10", *command], capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    from qa.index.layout import STORE_FILE
    from qa.index.store import Store

    store = Store(index / STORE_FILE)
    passages = store.count("chunks")
    store.close()
    return elapsed, passages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-ray-") as tmp:
        base = Path(tmp)
        os.environ.update({**RAY_ENV, "RAY_TMPDIR": str(base)})
        (base / "ray").mkdir()
        make_corpus(base / "big", args.copies)
        make_corpus(base / "one", 1)
        for extra in sorted((base / "one").glob("*.md"))[1:]:
            extra.unlink()
        one_worker = start_cluster(1, base / "ray")
        two_workers = start_cluster(2, base / "ray")
        configs = {"local": None, "ray-local": "local", "ray-1w": one_worker.address,
                   "ray-2w": two_workers.address}
        times: dict[tuple[str, str], list[float]] = {}
        passages: dict[str, int] = {}
        names = list(configs)
        for round_no in range(args.rounds):
            order = names[round_no % len(names):] + names[:round_no % len(names)]
            for name in order:
                for corpus in ("big", "one"):
                    index = base / f"index-{name}-{corpus}"
                    shutil.rmtree(index, ignore_errors=True)
                    seconds, n = timed_index(base / corpus, index, configs[name])
                    times.setdefault((name, corpus), []).append(seconds)
                    passages[corpus] = n
                    print(f"round {round_no + 1} {name:9} {corpus:3}: {seconds:6.1f} s",
                          flush=True)
        two_workers.shutdown()
        one_worker.shutdown()
    report(times, passages, args)


def report(times: dict[tuple[str, str], list[float]], passages: dict[str, int],
           args: argparse.Namespace) -> None:
    big = passages["big"]
    print(f"\n{args.copies * 5} documents, {big} passages (plus their sentences);"
          f" {args.rounds} rounds, medians (min-max)")
    print(f"{'':10} {'end to end':>22} {'passages/s':>11} {'vs local':>9}"
          f" {'fixed cost':>12} {'beyond it':>10} {'vs local':>9}")
    local_rate = local_marginal = None
    for name in ("local", "ray-local", "ray-1w", "ray-2w"):
        run, fixed = times[(name, "big")], times[(name, "one")]
        seconds, fixed_s = statistics.median(run), statistics.median(fixed)
        rate = big / seconds
        marginal = (big - passages["one"]) / max(seconds - fixed_s, 1e-9)
        local_rate = local_rate or rate
        local_marginal = local_marginal or marginal
        print(f"{name:10} {seconds:6.1f} s ({min(run):5.1f}-{max(run):5.1f}) {rate:11.1f}"
              f" {rate / local_rate:9.2f} {fixed_s:10.1f} s {marginal:10.1f}"
              f" {marginal / local_marginal:9.2f}")
    rates = {name: big / statistics.median(times[(name, "big")])
             for name in ("ray-1w", "ray-2w")}
    print(f"speed-up from a second 1-CPU worker node: {rates['ray-2w'] / rates['ray-1w']:.2f}x"
          " (end to end)")


if __name__ == "__main__":
    main()
