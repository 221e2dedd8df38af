"""Which layout of PISA's index gives qa's BM25 top 100 fastest at a million passages?

Usage: .venv/bin/python bench/lexical_pisa_layouts.py --index DIR [--queries 150]
                                                       [--postings DIR]

PISA (pyterrier-pisa's compiled module) searches an inverted index whose lists carry
either term frequencies (scored by PISA's own BM25) or precomputed scores ("impacts",
its `quantized` scorer). Three layouts, built from the plain postings of
bench/lexical_maxscore.py (in --postings, built first if missing) into folders beside
DIR:
- `pisa-bm25-body`: term frequencies of the body alone, PISA's BM25 (k1 1.2, b 0.75;
  its IDF is ln((N - df + 0.5) / (df + 0.5)), floored near zero, and lengths are exact):
  not qa's ranking, the speed of a plain BM25;
- `impacts-two-lists`: qa's BM25 as tantivy computes it (`qa.index.impact_base_writer`),
  the title's terms as lists of their own;
- `impacts-one-list`: the same, each passage's body and title contributions to a term
  summed into one list per term (what qa's lexical base builds).
For each, PISA's MaxScore, block-max MaxScore, block-max WAND and its exhaustive
`ranked_or`, against tantivy's top 100 as qa asks it, taking turns question by question:
medians, p95, and the overlap of each top 100 with tantivy's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from lexical_maxscore import K1, Field, postings_of  # noqa: E402
from lexical_pruning import agreement, report, timed  # noqa: E402
from scale import questions  # noqa: E402

from qa.index import lexical  # noqa: E402
from qa.index.impact_base import IMPACT_SCALE, pisa  # noqa: E402
from qa.index.impact_base_writer import write_sequence  # noqa: E402
from qa.index.layout import LEXICAL_DIR  # noqa: E402

K = 100
ALGORITHMS = ("maxscore", "block_max_maxscore", "block_max_wand", "ranked_or")
LAYOUTS = ("pisa-bm25-body", "impacts-two-lists", "impacts-one-list")
TITLE = "title:"  # prefix of the title's own lists in `impacts-two-lists`


def impacts(postings: Path, name: str, boost: float) -> np.ndarray:
    """qa's BM25 contribution of each posting of one field, scaled as the base's are."""
    field = Field(postings, name)
    n, df = len(field.norm), np.diff(field.offsets)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    part = field.tf / (field.tf + field.norm[field.ordinals])
    return np.rint(np.repeat(boost * idf * (K1 + 1), df) * part * IMPACT_SCALE)


def lists(postings: Path, layout: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each term's (passage ordinals, values) in the layout."""
    terms = np.load(postings / "terms.npy").tolist()
    fields = {"body": 1.0} if layout == "pisa-bm25-body" else {
        "body": 1.0, "title": lexical.TITLE_BOOST}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    merged: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for name, boost in fields.items():
        offsets = np.load(postings / f"{name}_offsets.npy")
        ordinals = np.load(postings / f"{name}_ordinals.npy")
        values = (np.load(postings / f"{name}_tf.npy") if layout == "pisa-bm25-body"
                  else impacts(postings, name, boost))
        for tid, term in enumerate(terms):
            a, b = offsets[tid], offsets[tid + 1]
            if a == b:
                continue
            if layout == "impacts-one-list":
                merged.setdefault(tid, []).append((ordinals[a:b], values[a:b]))
            else:
                out[term if name == "body" else TITLE + term] = (ordinals[a:b], values[a:b])
    for tid, parts in merged.items():
        ords = np.concatenate([p[0] for p in parts])
        vals = np.concatenate([p[1] for p in parts])
        unique, inverse = np.unique(ords, return_inverse=True)
        out[terms[tid]] = (unique, np.bincount(inverse, weights=vals))
    return out


def write(postings: Path, folder: Path, layout: str) -> None:
    """PISA's inverted files for the layout, then its wand data and compressed index."""
    folder.mkdir(parents=True, exist_ok=True)
    found = lists(postings, layout)
    n = len(np.load(postings / "chunk_ids.npy"))
    names = sorted(found, key=lambda t: t.encode("utf-8"))
    with open(folder / "inv.docs", "wb") as docs, open(folder / "inv.freqs", "wb") as freqs:
        write_sequence(docs, np.array([n]))
        for term in names:
            write_sequence(docs, found[term][0])
            write_sequence(freqs, np.maximum(found[term][1], 1))
    sizes = np.load(postings / "body_lengths.npy")
    with open(folder / "inv.sizes", "wb") as out:
        write_sequence(out, np.maximum(sizes, 1))
    (folder / "terms.txt").write_text("".join(f"{t}\n" for t in names), encoding="utf-8")
    pisa().build_binlex(str(folder / "terms.txt"), str(folder / "fwd.termlex"))
    (folder / "docnos.txt").write_text("".join(f"{i}\n" for i in range(n)), encoding="utf-8")
    pisa().build_binlex(str(folder / "docnos.txt"), str(folder / "fwd.doclex"))


class Layout:
    """One layout's PISA index, searched with a given algorithm."""

    def __init__(self, postings: Path, folder: Path, layout: str) -> None:
        if not (folder / "fwd.doclex").exists():
            write(postings, folder, layout)
        self.layout = layout
        self.chunk_ids = np.load(postings / "chunk_ids.npy")
        self.context = pisa().RetrievalContext()
        scorer = "bm25" if layout == "pisa-bm25-body" else "quantized"
        pisa().prepare_index(self.context, str(folder), "block_simdbp", scorer, "",
                             bm25_k1=1.2, bm25_b=0.75)

    def search(self, question: str, algorithm: str) -> list[tuple[int, float]]:
        terms = lexical.terms(question)
        weights = dict.fromkeys(terms, 1.0)
        if self.layout == "impacts-two-lists":
            weights |= dict.fromkeys((TITLE + t for t in terms), 1.0)
        docnos = np.empty(K, dtype=object)
        scores = np.zeros(K, dtype=np.float32)
        got = pisa().retrieve(self.context, algorithm, [(0, weights)], k=K, threads=1,
                              pretokenised=1, query_weighted=1,
                              result_qidxs=np.zeros(K, dtype=np.int32), result_docnos=docnos,
                              result_ranks=np.zeros(K, dtype=np.int32), result_scores=scores)
        return [(int(self.chunk_ids[int(d)]), float(s))
                for d, s in zip(docnos[:got], scores[:got], strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--postings", type=Path)
    args = parser.parse_args()
    generation, postings = postings_of(args.index, args.postings)
    layouts = {name: Layout(postings, args.index.parent / f"pisa-{name}", name)
               for name in LAYOUTS}
    index = lexical.LexicalIndex(generation / LEXICAL_DIR)
    asked = questions()[: args.queries]
    for question in asked:  # warm every layout and tantivy
        index.search(question, K)
        for layout in layouts.values():
            layout.search(question, "maxscore")
    times: dict[str, list[float]] = {}
    tops: dict[str, list[list[tuple[int, float]]]] = {}
    for i, question in enumerate(asked):
        turns = [("tantivy", lambda q=question: index.search(q, K))]
        turns += [(f"{name} {algorithm}",
                   lambda q=question, lay=layout, a=algorithm: lay.search(q, a))
                  for name, layout in layouts.items() for algorithm in ALGORITHMS]
        for key, work in turns if i % 2 else turns[::-1]:
            tops.setdefault(key, []).append(timed(times, key, work))  # type: ignore[arg-type]
    print(f"passages={len(layouts['impacts-one-list'].chunk_ids)} questions={len(asked)}")
    report(times)
    for name in LAYOUTS:
        agreement(name, tops["tantivy"], tops[f"{name} maxscore"])


if __name__ == "__main__":
    main()
