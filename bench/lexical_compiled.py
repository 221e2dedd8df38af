"""The whole warm query with a compiled lexical side: bm25s's numba loop in place of
tantivy, inside `Searcher.search`, against qa as shipped.

Usage: .venv/bin/pip install -e ".[bench]"     (bm25s and numba; not qa's dependencies)
       .venv/bin/python bench/lexical_compiled.py --index DIR [--queries 150] [--rounds 2]
                                                  [--backends numba numpy]

bench/lexical_bm25s.py timed the lexical side alone (bm25s with numba: a median 5.2 ms
at a million passages against tantivy's 24.8) and bench/lexical_floor.py the whole
query with the lexical side free. This puts the two together: on an index
`bench/scale.py` built (DIR), it builds bm25s's body and title indexes from the store
as lexical_bm25s.py does (qa's analyzer; passage lengths rounded as tantivy stores
them, so the scores equal tantivy's), then answers `LexicalIndex.search` (the top of
the pool, one numba thread, in the searcher's worker thread beside the embedding, as
tantivy's runs) and `LexicalIndex.scores` (BM25 of the dense side's other candidates:
a lookup of each term's stored scores) from them. Each question is asked as shipped
and with bm25s (numba, or also its numpy backend: no compiler, no JIT to load in a cold
`qa ask`), taking turns, warm, in one process. Prints the medians and p95 (ms), and how
often each returns the same top 5 as qa as shipped.

It is a measurement, not an engine: bm25s's index is static (built here once), it
answers no filter (`within`) and no acronym terms (off by default,
`settings.ACRONYM_EXPANSION`); a question that needs either would go to tantivy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from lexical_bm25s import (  # noqa: E402
    K1,
    build,
    engine,
    joined,
    passages,
    round_lengths_as_tantivy,
)
from lexical_floor import print_times, use  # noqa: E402
from scale import questions  # noqa: E402

from qa.index import lexical  # noqa: E402
from qa.index.layout import STORE_FILE, current_generation  # noqa: E402
from qa.index.lexical import LexicalIndex  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402


class CompiledSide:
    """qa's lexical query (each term on the body, and on the title at TITLE_BOOST)
    answered by bm25s over one score matrix, on tantivy's scale (bm25s's "lucene"
    leaves out tantivy's constant factor k1 + 1)."""

    def __init__(self, generation: Path, backends: Sequence[str]) -> None:
        round_lengths_as_tantivy()
        chunk_ids, bodies, titles, body_vocab, title_vocab = passages(generation / STORE_FILE)
        self.matrix = joined(build(bodies, body_vocab), build(titles, title_vocab),
                             lexical.TITLE_BOOST)
        self.vocab = {**{f"b:{t}": i for t, i in body_vocab.items()},
                      **{f"t:{t}": len(body_vocab) + i for t, i in title_vocab.items()}}
        self.engines = {name: engine(self.matrix, self.vocab, name) for name in backends}
        self.chunk_ids = chunk_ids
        self.row_of = {int(c): row for row, c in enumerate(chunk_ids)}

    def columns(self, question: str) -> list[str]:
        found = lexical.terms(question)
        return [f"{f}:{t}" for t in found for f in ("b", "t") if f"{f}:{t}" in self.vocab]

    def search(self, question: str, limit: int, backend: str) -> list[tuple[int, float]]:
        tokens = self.columns(question)
        if not tokens:
            return []
        rows, values = self.engines[backend].retrieve([tokens], k=limit, show_progress=False,
                                            n_threads=0)
        return [(int(c), float(s) * (K1 + 1)) for c, s in
                zip(self.chunk_ids[rows[0]], values[0], strict=True) if s > 0]

    def scores(self, question: str, chunk_ids: Sequence[int]) -> dict[int, float]:
        """BM25 of given passages: each term's stored scores, looked up by row."""
        wanted = np.array([self.row_of[c] for c in chunk_ids if c in self.row_of],
                          dtype=np.int64)
        if not len(wanted):
            return {}
        order = np.argsort(wanted)
        rows = wanted[order]
        total = np.zeros(len(rows), dtype=np.float64)
        indptr, indices, data = (self.matrix[k] for k in ("indptr", "indices", "data"))
        for token in self.columns(question):
            column = self.vocab[token]
            held = indices[indptr[column]:indptr[column + 1]]
            at = np.searchsorted(held, rows).clip(0, max(len(held) - 1, 0))
            hit = held[at] == rows if len(held) else np.zeros(len(rows), dtype=bool)
            total[hit] += data[indptr[column] + at[hit]]
        return {int(self.chunk_ids[r]): float(s) * (K1 + 1)
                for r, s in zip(rows, total, strict=True) if s > 0}


def patched(side: CompiledSide, backend: str) -> dict[str, Callable[..., Any]]:
    """LexicalIndex methods answered by `side`'s `backend` (filters and acronyms go to
    tantivy)."""
    shipped_search, shipped_scores = LexicalIndex.search, LexicalIndex.scores

    def search(self: LexicalIndex, question: str, limit: int, within: Any = None,
               extra: Sequence[Sequence[str]] = ()) -> list[tuple[int, float]]:
        if within is not None or extra:
            return shipped_search(self, question, limit, within, extra)
        return side.search(question, limit, backend)

    def scores(self: LexicalIndex, question: str, chunk_ids: list[int],
               extra: Sequence[Sequence[str]] = ()) -> dict[int, float]:
        if extra:
            return shipped_scores(self, question, chunk_ids, extra)
        return side.scores(question, chunk_ids)

    return {"search": search, "scores": scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=["numba"], choices=["numba", "numpy"])
    args = parser.parse_args()
    generation = current_generation(args.index)
    if generation is None:
        sys.exit(f"--index {args.index}: no index there; build one with bench/scale.py")
    start = time.perf_counter()
    side = CompiledSide(generation, args.backends)
    print(f"bm25s indexes built from the store in {time.perf_counter() - start:.0f} s",
          flush=True)
    asked = questions()[: args.queries]
    searcher = Searcher(args.index)
    codes = {"tantivy (as shipped)": {"search": LexicalIndex.search,
                                      "scores": LexicalIndex.scores},
             **{f"bm25s {backend}": patched(side, backend) for backend in args.backends}}

    tops: dict[str, list[list[int]]] = {name: [] for name in codes}
    for name in codes:  # warm: numba compiles, the pages of both come in
        use(codes[name])
        for question in asked:
            answer = searcher.search(question, 5)
            tops[name].append([h.passage.chunk_id for h in answer.hits])
    times: dict[str, list[float]] = {name: [] for name in codes}
    for round_no in range(args.rounds):
        for n, question in enumerate(asked):
            turn = (n + round_no) % len(codes)
            names = list(codes)[turn:] + list(codes)[:turn]
            for name in names:
                use(codes[name])
                begin = time.perf_counter()
                searcher.search(question, 5)
                times[name].append(time.perf_counter() - begin)
    print_times(times)
    shipped_name, *others = codes
    shipped = statistics.median(times[shipped_name])
    for name in others:
        same = sum(a == b for a, b in zip(tops[shipped_name], tops[name], strict=True))
        print(f"{name}: median {statistics.median(times[name]) / shipped:.2f}x as shipped;"
              f" the same top 5 for {same} of {len(asked)} questions ({args.rounds}"
              " rounds, taking turns)")


if __name__ == "__main__":
    main()
