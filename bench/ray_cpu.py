"""Where the CPU goes: local `qa index` against `qa index --ray local`, process by process.

Usage: .venv/bin/python bench/ray_cpu.py [--scifact 400] [--rounds 2]
                                         [--configs local ray-local] [--env NAME=VALUE ...]

Each configuration rebuilds the first N SciFact abstracts with a real
`qa index --rebuild -q` process (as bench/ray_indexing.py does). While it runs, every
process descended from it (Ray's GCS, raylet, workers, actors) is sampled every 0.1 s
from /proc, and its CPU seconds (user + system) are summed by kind: the driver, the
embedding actor, the loading-and-chunking task workers, Ray's daemons, the rest. On a
2-core machine the run's wall time is bounded below by its CPU seconds / 2, so a CPU
second more than local's is, roughly, half a second of wall time more; this shows which
process spends them. `--env` sets variables for the timed processes only (for a
side-by-side comparison of a setting). Medians over the rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from ray_indexing import RAY_ENV, make_scifact, seed_encoder  # bench/ is on sys.path

TICK = os.sysconf("SC_CLK_TCK")
CONFIGS = {"local": [], "ray-local": ["--ray", "local"]}


def kind(pid: int, root: int) -> str:
    """What a process is, from its command line."""
    if pid == root:
        return "driver"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    first = cmd[0].decode(errors="replace")
    if first.startswith("ray::"):
        name = first[5:]
        if "EmbedActor" in name:
            return "embedding actor"
        if "ChunkActor" in name:
            return "loading-and-chunking actors"
        if "prepare_block" in name or name == "IDLE":  # tasks, before the ChunkActor
            return "task workers (load, chunk)"
        return f"ray::{name.split('(')[0].split('.')[0]}"
    return Path(first).name or "?"


def cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1]
                           .split()[1])
            except (OSError, IndexError):
                continue
            children[ppid].append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def profile(command: list[str], env: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Wall seconds of `command`, and CPU seconds of it and its descendants, by kind."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    seen: dict[int, tuple[str, int]] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for pid in descendants(proc.pid):
                ticks = cpu_ticks(pid)
                if ticks is not None:
                    label = kind(pid, proc.pid)  # workers rename themselves ray::...
                    if label in ("?", "python") and pid in seen:  # exiting: keep its name
                        label = seen[pid][0]
                    seen[pid] = (label, max(ticks, seen.get(pid, ("", 0))[1]))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr}")
    by_kind: dict[str, float] = defaultdict(float)
    for label, ticks in seen.values():
        by_kind[label] += ticks / TICK
    return wall, dict(by_kind)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=int, default=400, metavar="N")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS),
                        default=list(CONFIGS))
    parser.add_argument("--env", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory(prefix="qa-raycpu-") as tmp:
        base = Path(tmp)
        make_scifact(base / "corpus", args.scifact)
        env = {**os.environ, **RAY_ENV, "RAY_TMPDIR": str(base), **extra}
        seed_encoder([base / f"index-{name}" for name in args.configs])
        walls: dict[str, list[float]] = defaultdict(list)
        cpus: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for round_no in range(args.rounds):
            order = args.configs[round_no % 2:] + args.configs[:round_no % 2]
            for name in order:
                command = [sys.executable, "-m", "qa", "index", "--rebuild", "-q",
                           "--corpus", str(base / "corpus"),
                           "--index", str(base / f"index-{name}"), *CONFIGS[name]]
                wall, by_kind = profile(command, env)
                walls[name].append(wall)
                for label, seconds in by_kind.items():
                    cpus[name][label].append(seconds)
                print(f"round {round_no + 1} {name:10} {wall:6.1f} s wall,"
                      f" {sum(by_kind.values()):6.1f} CPU s", flush=True)
    print(f"\n{args.scifact} SciFact abstracts; {args.rounds} rounds, medians;"
          f" env {extra or 'unchanged'}")
    for name in args.configs:
        total = sum(statistics.median(v) for v in cpus[name].values())
        print(f"{name}: {statistics.median(walls[name]):.1f} s wall, {total:.1f} CPU s")
        for label, values in sorted(cpus[name].items(), key=lambda kv: -statistics.median(kv[1])):
            if statistics.median(values) >= 0.05:
                print(f"  {label:32} {statistics.median(values):7.1f} CPU s")


if __name__ == "__main__":
    main()
