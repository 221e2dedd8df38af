"""Passages per second: local `qa index` against `qa index --ray` on this machine.

Usage: .venv/bin/python bench/ray_indexing.py [--copies 4 | --scifact N] [--rounds 3]
                                              [--configs local ray-local ...]

The corpus is the real one copied N times (distinct names and a distinct last line, so
nothing is deduplicated), or with --scifact the first N SciFact abstracts (read from
../shared/benchmarks/scifact into a temporary folder). It is rebuilt with the real model
by real `qa index --rebuild -q` processes, timed end to end (interpreter start, model
load, Ray start-up included; the ONNX export, made once per index, is made beforehand).
Every configuration embeds with the same ONNX model:

  local         qa index                     2 onnxruntime threads (this machine's 2 cores)
  ray-local     qa index --ray local         one node, 2 CPUs: one actor of 2 threads
  ray-local-1t  ... --ray local --ray-threads 1   the same node: two actors of 1 thread
  ray-1w        qa index --ray HEAD:PORT     a head with 0 CPUs + 1 worker node, 1 CPU
  ray-2w        qa index --ray HEAD:PORT     a head with 0 CPUs + 2 worker nodes, 1 CPU each
  ray-local-before  ray-local, with the code of git revision --before REV (its src/ first
                on PYTHONPATH, for the driver and Ray's workers): a change measured side
                by side with what it changed, in the same run
  ray-2w-before ray-2w, with the code of --before REV: on the running cluster the
                workers get that PYTHONPATH from the job's runtime environment
                (RAY_JOB_CONFIG_JSON_ENV_VAR, which ray.init reads), as their raylets
                were started with this process's environment

The two clusters run on the loopback interface, in a temporary RAY_TMPDIR, for the
whole run. Each round runs every configuration once, in a rotated order; medians over
the rounds are quoted, with the spread, since this machine is shared and noisy. The
same is done on a one-document corpus to show the fixed cost of a run (start-up and
model load), and throughput beyond it: passages / (time - fixed cost).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from revisions import checkout

REPO = Path(__file__).resolve().parents[1]
SCIFACT = REPO.parent / "shared" / "benchmarks" / "scifact"
CONFIGS = ("local", "ray-local", "ray-local-1t", "ray-1w", "ray-2w", "ray-local-before",
           "ray-2w-before")
BEFORE = ("ray-local-before", "ray-2w-before")
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


def make_scifact(folder: Path, first: int) -> None:
    """The first `first` SciFact abstracts by file name, as `qa eval --beir` writes them."""
    from scifact_subset import write_first

    write_first(SCIFACT, folder, first)


def start_cluster(workers: int, temp_dir: Path):
    """A head that only hosts the driver (0 CPUs) and `workers` one-CPU worker nodes."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True,
                      head_node_args={**NODE, "num_cpus": 0, "temp_dir": str(temp_dir)})
    for _ in range(workers):
        cluster.add_node(**NODE, num_cpus=1)
    cluster.wait_for_nodes()
    return cluster


def timed_index(corpus: Path, index: Path, ray: list[str],
                env: dict[str, str] | None = None) -> tuple[float, int]:
    """Seconds for one `qa index --rebuild` (with the `ray` options, and `env` added to
    the environment), and the passages it embedded."""
    command = [sys.executable, "-m", "qa", "index", "--rebuild", "-q",
               "--corpus", str(corpus), "--index", str(index), *ray]
    start = time.perf_counter()
    done = subprocess.run(["nice", "-n", "10", *command], capture_output=True, text=True,
                          check=False, env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    from qa.index.generations import live_store

    with live_store(index) as store:
        return elapsed, store.count("chunks")


def seed_encoder(indexes: list[Path]) -> None:
    """Export the ONNX model once, into each index folder: every timed run is then a
    rebuild of an existing index (which keeps its export), not a first build (whose
    export imports torch, the same fixed cost for every configuration)."""
    from qa.embed.document_embedder import export_once
    from qa.embed.model import fingerprint
    from qa.index.layout import encoder_path

    first = encoder_path(indexes[0], fingerprint())
    export_once(first)
    for index in indexes[1:]:
        target = encoder_path(index, fingerprint())
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(first, target)


def before_envs(src: Path) -> dict[str, dict[str, str]]:
    """The environment of each -before config: `src` first on the driver's PYTHONPATH,
    and on its Ray workers' (a cluster it starts inherits the driver's environment; the
    workers of a running one get it from the job's runtime environment)."""
    job = {"runtime_env": {"env_vars": {"PYTHONPATH": str(src)}}}
    return {"ray-local-before": {"PYTHONPATH": str(src)},
            "ray-2w-before": {"PYTHONPATH": str(src),
                              "RAY_JOB_CONFIG_JSON_ENV_VAR": json.dumps(job)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--scifact", type=int, metavar="N",
                        help="the first N SciFact abstracts instead of copies of corpus/")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--configs", nargs="+", choices=CONFIGS,
                        default=[c for c in CONFIGS if c not in BEFORE])
    parser.add_argument("--before", metavar="REV",
                        help="the git revision the -before configs run (e.g. HEAD~1)")
    args = parser.parse_args()
    if args.configs[0] != "local":
        parser.error("--configs: the first must be local (the ratios are against it)")
    if bool(set(BEFORE) & set(args.configs)) != bool(args.before):
        parser.error("--before REV and a -before config go together")
    with tempfile.TemporaryDirectory(prefix="qa-ray-") as tmp:
        base = Path(tmp)
        os.environ.update({**RAY_ENV, "RAY_TMPDIR": str(base)})
        (base / "ray").mkdir()
        if args.scifact:
            make_scifact(base / "big", args.scifact)
            make_scifact(base / "one", 1)
        else:
            make_corpus(base / "big", args.copies)
            make_corpus(base / "one", 1)
            for extra in sorted((base / "one").glob("*.md"))[1:]:
                extra.unlink()
        clusters = {workers: start_cluster(workers, base / "ray")
                    for workers, name in ((1, "ray-1w"), (2, "ray-2w"))
                    if {name, f"{name}-before"} & set(args.configs)}
        envs = before_envs(checkout(args.before, base)) if args.before else {}
        known = {"local": [], "ray-local": ["--ray", "local"],
                 "ray-local-before": ["--ray", "local"],
                 "ray-local-1t": ["--ray", "local", "--ray-threads", "1"],
                 **{f"ray-{n}w": ["--ray", c.address] for n, c in clusters.items()},
                 **{f"ray-{n}w-before": ["--ray", c.address] for n, c in clusters.items()}}
        configs = {name: known[name] for name in args.configs}
        times: dict[tuple[str, str], list[float]] = {}
        passages: dict[str, int] = {}
        names = list(configs)
        seed_encoder([base / f"index-{name}-{corpus}" for name in names
                      for corpus in ("big", "one")])
        for round_no in range(args.rounds):
            order = names[round_no % len(names):] + names[:round_no % len(names)]
            for name in order:
                for corpus in ("big", "one"):
                    index = base / f"index-{name}-{corpus}"
                    seconds, n = timed_index(base / corpus, index, configs[name],
                                             envs.get(name))
                    times.setdefault((name, corpus), []).append(seconds)
                    passages[corpus] = n
                    print(f"round {round_no + 1} {name:12} {corpus:3}: {seconds:6.1f} s",
                          flush=True)
        for cluster in clusters.values():
            cluster.shutdown()
        documents = len(list((base / "big").iterdir()))
    report(times, passages, documents, args)


def report(times: dict[tuple[str, str], list[float]], passages: dict[str, int],
           documents: int, args: argparse.Namespace) -> None:
    big = passages["big"]
    print(f"\n{documents} documents, {big} passages (plus their sentences);"
          f" {args.rounds} rounds, medians (min-max)")
    print(f"{'':12} {'end to end':>22} {'passages/s':>11} {'vs local':>9}"
          f" {'fixed cost':>12} {'beyond it':>10} {'vs local':>9}")
    local_rate = local_marginal = None
    marginals: dict[str, float] = {}
    for name in args.configs:
        run, fixed = times[(name, "big")], times[(name, "one")]
        seconds, fixed_s = statistics.median(run), statistics.median(fixed)
        rate = big / seconds
        marginal = (big - passages["one"]) / max(seconds - fixed_s, 1e-9)
        local_rate = local_rate or rate
        local_marginal = local_marginal or marginal
        marginals[name] = marginal
        print(f"{name:12} {seconds:6.1f} s ({min(run):5.1f}-{max(run):5.1f}) {rate:11.1f}"
              f" {rate / local_rate:9.2f} {fixed_s:10.1f} s {marginal:10.1f}"
              f" {marginal / local_marginal:9.2f}")
    if {"ray-1w", "ray-2w"} <= set(args.configs):
        rates = {name: big / statistics.median(times[(name, "big")])
                 for name in ("ray-1w", "ray-2w")}
        print(f"one 1-CPU worker node embeds {marginals['ray-1w']:.1f} passages/s beyond"
              f" the fixed cost ({marginals['ray-1w'] / local_marginal:.2f}x local on 2"
              " cores)")
        print("speed-up from a second 1-CPU worker node:"
              f" {marginals['ray-2w'] / marginals['ray-1w']:.2f}x beyond the fixed cost,"
              f" {rates['ray-2w'] / rates['ray-1w']:.2f}x end to end")


if __name__ == "__main__":
    main()
