"""What filters cost, and that they return k passages, on synthetic indexes.

Usage: .venv/bin/python bench/filters.py [--sizes 1000 3000] [--searches 15]

Synthetic corpora of ~300-word documents made of the real articles' sentences, spread
over 20 sources, 2 folders and the years 2020-2025 (one in ten undated), indexed with
the tests' hashing embedder (the real model would take hours at this size; the
question is embedded by the same fake, so what is timed is everything but the ONNX
encoder, about 5 ms). For each filter: how many passages it allows, the median time of
`Searcher.search` (k=10) against the unfiltered search, and whether k passages came back
whenever k were allowed. The filters are timed in turn, round after round, so a change
in the machine's load falls on all of them alike. Output saved in docs/filters-run.txt.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.add_one import document, sentences  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402

QUESTION = "why did Baku reject mediators?"
FILTERS = [
    ("none", ""),
    ("one source (5%)", 'source:"Source 07"'),
    ("one folder (50%)", "in:b/"),
    ("a year", "after:2023 before:2023"),
    ("one document", "title:\"Synthetic 00042\""),
    ("a phrase", '"peace treaty"'),
    ("excluded word", "-Russia"),
    ("source + year + -word", 'source:"Source 03" after:2024 -Pashinyan'),
]


def build(base: Path, size: int, rng: random.Random, pool: list[str]) -> Paths:
    corpus = base / "corpus"
    for folder in ("a", "b"):
        (corpus / folder).mkdir(parents=True)
    for n in range(size):
        text = document(rng, pool, 300, f"Synthetic {n:05d}")
        year = 2020 + n % 6
        date = "" if n % 10 == 9 else f'published: "{year}-{1 + n % 12:02d}-15"\n'
        text = text.replace("---\n\n", f'source: "Source {n % 20:02d}"\n{date}---\n\n', 1)
        (corpus / ("a" if n % 2 else "b") / f"doc{n:05d}.md").write_text(text, encoding="utf-8")
    paths = Paths(corpus, base / "index")
    update_index(paths, progress=False, embedder=FakeEmbedder())
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--searches", type=int, default=15)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    pool, rng = sentences(), random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            started = time.perf_counter()
            paths = build(Path(tmp) / str(size), size, rng, pool)
            print(f"== {size} documents (built in {time.perf_counter() - started:.0f} s) ==")
            searcher = Searcher(paths.index, encoder=FakeEmbedder())
            searcher.search(QUESTION, args.k)  # warm: FAISS loaded
            print(f"  {'filter':<24}{'passages':>9}{'median ms':>11}{'vs none':>9}  k back")
            times: dict[str, list[float]] = {label: [] for label, _ in FILTERS}
            answers = {}
            for _ in range(args.searches):  # round robin: a load swing hits every filter
                for label, syntax in FILTERS:
                    t = time.perf_counter()
                    answers[label] = searcher.search(f"{syntax} {QUESTION}".strip(), args.k)
                    times[label].append(time.perf_counter() - t)
            base_ms = statistics.median(times["none"]) * 1000
            for label, _ in FILTERS:
                ms, answer = statistics.median(times[label]) * 1000, answers[label]
                allowed = answer.scope.passages if answer.scope else searcher.store.count(
                    "chunks")
                ok = len(answer.hits) == min(args.k, allowed)
                print(f"  {label:<24}{allowed:>9}{ms:>11.1f}{ms / base_ms:>8.1f}x  "
                      f"{'yes' if ok else 'NO'} ({len(answer.hits)})")
            searcher.close()


if __name__ == "__main__":
    main()
