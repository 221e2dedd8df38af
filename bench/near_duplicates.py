"""Where two documents stop being copies: the MinHash threshold, set by measurement.

Usage: .venv/bin/python bench/near_duplicates.py [--shingles 3 5 7] [--repeats 20]

Copies (should group), built from each of the five corpus articles:
  header   another outlet's header lines before the text (republished-from line,
           dateline, photo caption: about 35 words)
  footer   another outlet's footer after it (about 45 words of boilerplate)
  cut      the article's longest paragraph removed (the worst single cut)
  all3     header, footer and the cut together
  seed     the raw web page the article was cleaned from (../shared/seeds/): the
           same article with the site's real clutter, a natural republication
Not copies (must not group): every pair of different articles, which are all on the
same topic (the Armenia-Azerbaijan peace process), each raw seed against every other
article, and the two SQuAD dev articles (../shared/eval/squad-dev/) against them.

For each shingle size it prints the exact Jaccard range of both kinds, the MinHash
estimates (datasketch and rensa, 128 permutations) and the threshold: the middle of
the gap between the lowest copy and the highest non-copy, checked by leave-one-article-
out cross-validation (the threshold fitted without an article's pairs, tested on them).
It then times signing a document with each library and runs the chosen parameters over
the corpus itself. Output saved in docs/near-duplicates-run.txt.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path

import numpy as np

from qa.index import copies, minhash
from qa.ingest.loaders.registry import load_document

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
HEADER = ("Republished with permission from the Caucasus Policy Review. This article first "
          "appeared on our partner's site on Monday morning. Photo: delegations meet at the "
          "border commission, Getty Images. Updated 10:38 AM GMT+03:00")
FOOTER = ("Subscribe to our newsletter for weekly analysis of the region. The views expressed "
          "are the author's own and do not reflect the position of this publication. Comments "
          "are closed. Share this article on X, Facebook and LinkedIn. All rights reserved. "
          "Cookies help us deliver our services.")


def articles() -> dict[str, str]:
    out = {}
    for path in sorted((REPO / "corpus").glob("*.md")):
        out[path.name[:7]] = load_document(path.name, path.read_bytes()).text
    return out


def seeds() -> dict[str, str]:
    """Raw seed pages by the corpus article they became (the seed number -> file)."""
    by_seed = {"003": "2023-12", "001": "2024-02", "002": "2024-12", "004": "2025-03",
               "000": "2025-10"}  # from docs/corpus.md's table
    return {by_seed[p.name[:3]]: p.read_text(encoding="utf-8")
            for p in sorted((SHARED / "seeds").glob("*.txt"))}


def without_longest_paragraph(text: str) -> str:
    paragraphs = text.split("\n\n")
    longest = max(range(len(paragraphs)), key=lambda i: len(paragraphs[i].split()))
    return "\n\n".join(p for i, p in enumerate(paragraphs) if i != longest)


def cases() -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, str, str]]]:
    """(label, article, text a, text b) for copies and for non-copies."""
    docs, raw = articles(), seeds()
    positive, negative = [], []
    for name, text in docs.items():
        cut = without_longest_paragraph(text)
        positive += [
            ("header", name, text, HEADER + "\n\n" + text),
            ("footer", name, text, text + "\n\n" + FOOTER),
            ("cut", name, text, cut),
            ("all3", name, text, HEADER + "\n\n" + cut + "\n\n" + FOOTER),
            ("seed", name, text, raw[name]),
        ]
    for (a, ta), (b, tb) in itertools.combinations(docs.items(), 2):
        negative.append(("articles", f"{a}|{b}", ta, tb))
    for (a, seed), (b, tb) in itertools.product(raw.items(), docs.items()):
        if a != b:
            negative.append(("seed-vs-other", f"{a}|{b}", seed, tb))
    for path in sorted((SHARED / "eval" / "squad-dev" / "corpus").glob("*.md")):
        squad = load_document(path.name, path.read_bytes()).text
        negative += [("squad-vs-article", f"{b}", squad, tb) for b, tb in docs.items()]
    return positive, negative


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


def threshold(pos: list[float], neg: list[float]) -> float:
    return (min(pos) + max(neg)) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shingles", type=int, nargs="+", default=[3, 5, 7])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    import rensa

    positive, negative = cases()
    print(f"{len(positive)} copy pairs, {len(negative)} non-copy pairs"
          f" ({len(articles())} corpus articles)\n")
    for size in args.shingles:
        print(f"== shingles of {size} words ==")
        exact: dict[str, list[float]] = {}
        errors = {"datasketch": [], "rensa": []}
        estimates: dict[str, list[tuple[str, float]]] = {}
        for kind, pairs in (("copy", positive), ("non-copy", negative)):
            for label, article, a, b in pairs:
                sa, sb = minhash.shingles(a, size), minhash.shingles(b, size)
                j = jaccard(sa, sb)
                exact.setdefault(f"{kind}:{label}", []).append(j)
                ds = float(np.mean(minhash.signature(a, size) == minhash.signature(b, size)))
                ra, rb = rensa.RMinHash(copies.NUM_PERM, minhash.SEED), \
                    rensa.RMinHash(copies.NUM_PERM, minhash.SEED)
                ra.update(sorted(sa))
                rb.update(sorted(sb))
                errors["datasketch"].append(abs(ds - j))
                errors["rensa"].append(abs(ra.jaccard(rb) - j))
                estimates.setdefault(kind, []).append((article, ds))
        for key, values in exact.items():
            print(f"  {key:<28} exact Jaccard {min(values):.3f} to {max(values):.3f}")
        for lib, errs in errors.items():
            print(f"  {lib:<10} |estimate - exact|: mean {statistics.mean(errs):.3f},"
                  f" max {max(errs):.3f}")
        pos = [s for _, s in estimates["copy"]]
        neg = [s for _, s in estimates["non-copy"]]
        print(f"  datasketch estimate: lowest copy {min(pos):.3f},"
              f" highest non-copy {max(neg):.3f}, threshold (middle) {threshold(pos, neg):.3f}")
        wrong = 0
        for name in articles():
            fit_pos = [s for a, s in estimates["copy"] if a != name]
            fit_neg = [s for a, s in estimates["non-copy"] if name not in a]
            t = threshold(fit_pos, fit_neg)
            wrong += sum(s < t for a, s in estimates["copy"] if a == name)
            wrong += sum(s >= t for a, s in estimates["non-copy"] if name in a)
        print(f"  leave-one-article-out: {wrong} of {len(pos) + len(neg)} pairs misjudged\n")

    texts = list(articles().values())
    print(f"== signing one document ({args.repeats} rounds over the"
          f" {len(texts)} articles, {copies.SHINGLE_WORDS}-word shingles) ==")
    timings = {"datasketch": [], "rensa": []}
    for _ in range(args.repeats):
        for text in texts:
            started = time.perf_counter()
            minhash.signature(text)
            timings["datasketch"].append(time.perf_counter() - started)
            started = time.perf_counter()
            r = rensa.RMinHash(copies.NUM_PERM, minhash.SEED)
            r.update(sorted(minhash.shingles(text)))
            r.digest()
            timings["rensa"].append(time.perf_counter() - started)
    for lib, values in timings.items():
        print(f"  {lib:<10} median {statistics.median(values) * 1000:.2f} ms per document")

    b, r = minhash.bands_and_rows()
    print(f"\n== chosen: {copies.SHINGLE_WORDS}-word shingles, threshold"
          f" {copies.COPY_THRESHOLD}, LSH {b} bands x {r} rows ==")
    for j in (0.3, copies.COPY_THRESHOLD, 0.5, 0.6, 0.7):
        print(f"  pair at Jaccard {j:.2f} becomes a candidate with probability"
              f" {1 - (1 - j ** r) ** b:.3f}")
    sigs = {name: minhash.signature(text) for name, text in articles().items()}
    pairs = [(float(np.mean(sigs[a] == sigs[b])), a, b)
             for a, b in itertools.combinations(sigs, 2)]
    top = max(pairs)
    grouped = sum(s >= copies.COPY_THRESHOLD for s, _, _ in pairs)
    print(f"  the corpus: {len(pairs)} pairs, highest estimate {top[0]:.3f}"
          f" ({top[1]} vs {top[2]}), {grouped} grouped as copies")


if __name__ == "__main__":
    main()
