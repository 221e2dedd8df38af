"""An 8-bit query encoder: how much faster, and what it does to the answers.

Usage: .venv/bin/python bench/query_encoder_int8.py --dev-index DIR --squad-index DIR
           [--queries 200] [--rounds 3]

The question's embedding is 5 to 10 ms of every warm query (docs/scale.md), the ONNX
MiniLM in float32 on one thread. onnxruntime's dynamic quantization (int8 weights, per
output channel, activations quantised on the fly) makes a copy of the index's encoder;
the passages' and sentences' vectors stay as indexed, in float32. This prints:
- the time to embed one question, float32 and int8 taking turns question by question
  (dev and squad-dev questions, one thread, as `qa ask` runs it), medians and p95 of
  each round; and the cosine of each int8 question vector to its float32 one;
- `qa eval` of dev and squad-dev on each index as it is and on a copy whose encoder is
  the int8 one (copied with its files' times, so nothing is re-indexed): the hybrid
  rows side by side.
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

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "eval"
QA = str(Path(sys.executable).with_name("qa"))

from qa.embed.model import fingerprint  # noqa: E402
from qa.embed.query_encoder import QueryEncoder  # noqa: E402
from qa.index.layout import encoder_path  # noqa: E402


def quantized(encoder: Path, folder: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = folder / "int8.onnx"
    quantize_dynamic(str(encoder), str(target), weight_type=QuantType.QInt8,
                     per_channel=True)
    return target


def questions(limit: int) -> list[str]:
    found = []
    for path in (SHARED / "dev.jsonl", SHARED / "squad-dev" / "questions.jsonl"):
        with path.open(encoding="utf-8") as lines:
            found += [json.loads(line)["question"] for line in lines if line.strip()]
    return found[:limit]


def timings(encoders: dict[str, QueryEncoder], asked: list[str], rounds: int) -> None:
    for encoder in encoders.values():
        encoder.encode(asked[:5])  # first runs allocate
    for r in range(rounds):
        spent: dict[str, list[float]] = {name: [] for name in encoders}
        for i, question in enumerate(asked):
            order = list(encoders) if (i + r) % 2 == 0 else list(reversed(encoders))
            for name in order:
                start = time.perf_counter()
                encoders[name].encode([question])
                spent[name].append((time.perf_counter() - start) * 1000)
        print(f"round {r + 1}: " + "  ".join(
            f"{name} p50_ms={statistics.median(ms):.2f} p95_ms={np.percentile(ms, 95):.2f}"
            for name, ms in spent.items()), flush=True)
    exact = encoders["float32"].encode(asked)
    approx = encoders["int8"].encode(asked)
    cosines = (exact * approx).sum(axis=1)
    print(f"cosine of int8 to float32 question vectors: median {np.median(cosines):.4f}"
          f" min {cosines.min():.4f} ({len(asked)} questions)", flush=True)


def evaluate(questions_file: Path, index: Path, corpus: Path | None) -> list[str]:
    command = [QA, "eval", str(questions_file), "--index", str(index)]
    if corpus is not None:
        command += ["--corpus", str(corpus)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO)
    return [line for line in done.stdout.splitlines() if line.strip()]


def side_by_side(name: str, questions_file: Path, index: Path, corpus: Path | None,
                 int8: Path, scratch: Path) -> None:
    copy = scratch / name
    shutil.copytree(index, copy, copy_function=shutil.copy2)  # times kept: no re-index
    shutil.copy2(int8, encoder_path(copy, fingerprint()))
    before = evaluate(questions_file, index, corpus)
    after = evaluate(questions_file, copy, corpus)
    print(f"\n{name}: hybrid, float32 questions | int8 questions")
    for line, other in zip(before[2:], after[2:], strict=True):
        label = line[:45].rstrip()
        print(f"  {label:45} {line[45:].split()[0]:>9} | {other[45:].split()[0]:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev-index", required=True, help="an index of corpus/")
    parser.add_argument("--squad-index", required=True,
                        help="an index of ../shared/eval/squad-dev/corpus")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    dev_index, squad_index = Path(args.dev_index), Path(args.squad_index)
    encoder = encoder_path(dev_index, fingerprint())
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        int8 = quantized(encoder, scratch)
        print(f"encoder {encoder.stat().st_size:,} bytes float32,"
              f" {int8.stat().st_size:,} bytes int8", flush=True)
        timings({"float32": QueryEncoder(encoder), "int8": QueryEncoder(int8)},
                questions(args.queries), args.rounds)
        side_by_side("dev", SHARED / "dev.jsonl", dev_index, None, int8, scratch)
        side_by_side("squad-dev", SHARED / "squad-dev" / "questions.jsonl", squad_index,
                     SHARED / "squad-dev" / "corpus", int8, scratch)


if __name__ == "__main__":
    main()
