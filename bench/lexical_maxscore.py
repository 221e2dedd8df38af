"""Would an exact MaxScore top 100, in numpy, walk less than tantivy's union at a million
passages, and answer sooner?

Usage: .venv/bin/python bench/lexical_maxscore.py --index DIR [--queries 150]
                                                 [--postings DIR] [--tight]

MaxScore (Turtle and Flood, 1995) walks a question's rarest terms in full and only looks
up the others, for the passages that could still reach the top k: once the k-th best
partial score exceeds what the remaining terms can add at most, a passage none of the
walked terms holds cannot enter the top. It is exact. This builds, once, qa's two BM25
fields (body, and title weighted `TITLE_BOOST`) as plain postings (term -> passage
ordinals and term frequencies, numpy files in --postings, default `postings-maxscore`
beside DIR) from the store of an index `bench/scale.py` built, with qa's analyzer and
passage lengths rounded as tantivy's one-byte fieldnorm stores them, so its BM25 equals
tantivy's. Then the same questions as bench/lexical_pruning.py, warm, taking turns
question by question: tantivy's top 100 (`LexicalIndex.search`, as qa asks) against a
term-at-a-time MaxScore in numpy. A term's bound is BM25's (boost x IDF x (k1 + 1)), or
with --tight the most it gives any passage that holds it. Prints both medians and p95,
their agreement, and the share of the postings MaxScore had to walk in full.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from lexical_pruning import agreement, report, timed  # noqa: E402
from scale import questions  # noqa: E402

from qa.index import lexical  # noqa: E402
from qa.index.impact_base_writer import fieldnorm_lengths  # noqa: E402
from qa.index.layout import LEXICAL_DIR, STORE_FILE, current_generation  # noqa: E402

K = 100
K1, B = 1.2, 0.75
FIELDS = {"body": 1.0, "title": lexical.TITLE_BOOST}
SLICE = 20_000  # chunk ids per analysing task


def analysed(task: tuple[str, int, int]) -> list[tuple[int, list[str], list[str]]]:
    """Chunk ids in [lo, hi): (chunk id, body terms, title terms), in chunk id order."""
    store, lo, hi = task
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    rows = db.execute("SELECT c.id, d.title, d.text, c.start, c.end FROM chunks c "
                      "JOIN documents d ON d.id = c.doc_id WHERE c.id >= ? AND c.id < ? "
                      "ORDER BY c.id", (lo, hi)).fetchall()
    db.close()
    return [(cid, lexical.term_sequence(text[start:end]), lexical.term_sequence(title))
            for cid, title, text, start, end in rows]


def build(store: Path, folder: Path) -> None:
    """Write the postings of every live passage into `folder` (two processes analyse)."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    lo, hi = db.execute("SELECT min(id), max(id) FROM chunks").fetchone()
    db.close()
    vocab: dict[str, int] = {}
    chunk_ids: list[int] = []
    pairs: dict[str, tuple[list[int], list[int], list[int]]] = {
        f: ([], [], []) for f in FIELDS}  # term ids, ordinals, lengths
    tasks = [(str(store), a, a + SLICE) for a in range(lo, hi + 1, SLICE)]
    with Pool(2) as pool:
        for rows in pool.imap(analysed, tasks):
            for cid, *fields in rows:
                ordinal = len(chunk_ids)
                chunk_ids.append(cid)
                for (term_ids, ordinals, lengths), found in zip(pairs.values(), fields,
                                                                 strict=True):
                    lengths.append(len(found))
                    term_ids.extend(vocab.setdefault(t, len(vocab)) for t in found)
                    ordinals.extend([ordinal] * len(found))
    folder.mkdir(parents=True, exist_ok=True)
    n = len(chunk_ids)
    np.save(folder / "chunk_ids.npy", np.array(chunk_ids, dtype=np.int64))
    np.save(folder / "terms.npy", np.array(sorted(vocab, key=vocab.__getitem__)))
    for field, (term_ids, ordinals, lengths) in pairs.items():
        key = np.array(term_ids, dtype=np.int64) * n + np.array(ordinals, dtype=np.int64)
        pair, tf = np.unique(key, return_counts=True)
        offsets = np.searchsorted(pair // n, np.arange(len(vocab) + 1))
        np.save(folder / f"{field}_offsets.npy", offsets)
        np.save(folder / f"{field}_ordinals.npy", (pair % n).astype(np.int32))
        np.save(folder / f"{field}_tf.npy", tf.astype(np.float32))
        np.save(folder / f"{field}_lengths.npy", np.array(lengths, dtype=np.int64))


def postings_of(index: Path, folder: Path | None) -> tuple[Path, Path]:
    """The index's live generation and its postings folder (default `postings-maxscore`
    beside the index), built first if missing."""
    generation = current_generation(index)
    if generation is None:
        sys.exit(f"--index {index}: no index there; build one with bench/scale.py")
    folder = folder or index.parent / "postings-maxscore"
    if not (folder / "chunk_ids.npy").exists():
        build(generation / STORE_FILE, folder)
    return generation, folder


class Field:
    """One field's postings, with BM25's length part per passage (tantivy's rounding)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.offsets = np.load(folder / f"{name}_offsets.npy")
        self.ordinals = np.load(folder / f"{name}_ordinals.npy")
        self.tf = np.load(folder / f"{name}_tf.npy")
        lengths = np.load(folder / f"{name}_lengths.npy")
        table = fieldnorm_lengths()
        stored = table[np.searchsorted(table, lengths, side="right") - 1]
        self.norm = (K1 * (1 - B + B * stored / lengths.mean())).astype(np.float32)
        part = self.tf / (self.tf + self.norm[self.ordinals])
        held = self.offsets[:-1] < self.offsets[1:]
        self.most = np.zeros(len(self.offsets) - 1, dtype=np.float32)
        self.most[held] = np.maximum.reduceat(part, self.offsets[:-1][held])


class MaxScore:
    """Exact top k by term-at-a-time MaxScore over numpy postings."""

    def __init__(self, folder: Path, tight: bool) -> None:
        self.chunk_ids = np.load(folder / "chunk_ids.npy")
        self.vocab = {t: i for i, t in enumerate(np.load(folder / "terms.npy").tolist())}
        self.fields = {name: Field(folder, name) for name in FIELDS}
        self.tight = tight
        n = len(self.chunk_ids)
        self.score = np.zeros(n, dtype=np.float32)
        self.seen = np.zeros(n, dtype=bool)
        self.walked: list[float] = []  # per question: postings walked in full / all

    def clauses(self, question: str) -> list[tuple[float, float, Field, int, int]]:
        """(bound, weight, field, start, end) per clause, the highest bound first."""
        n = len(self.chunk_ids)
        out = []
        for term in lexical.terms(question):
            tid = self.vocab.get(term)
            for name, boost in FIELDS.items():
                field = self.fields[name]
                if tid is None or field.offsets[tid] == field.offsets[tid + 1]:
                    continue
                start, end = int(field.offsets[tid]), int(field.offsets[tid + 1])
                df = end - start
                weight = boost * math.log(1 + (n - df + 0.5) / (df + 0.5)) * (K1 + 1)
                bound = weight * (float(field.most[tid]) if self.tight else 1.0)
                out.append((bound, weight, field, start, end))
        return sorted(out, key=lambda c: -c[0])

    def search(self, question: str) -> list[tuple[int, float]]:
        clauses = self.clauses(question)
        if not clauses:
            return []
        rest = np.concatenate([np.cumsum([c[0] for c in clauses][::-1])[::-1], [0.0]])
        score, seen = self.score, self.seen
        candidates = np.empty(0, dtype=np.int64)
        threshold, i, walked = 0.0, 0, 0
        while i < len(clauses) and rest[i] >= threshold:  # walk in full
            _, weight, field, start, end = clauses[i]
            held, tf = field.ordinals[start:end], field.tf[start:end]
            score[held] += weight * tf / (tf + field.norm[held])
            fresh = held[~seen[held]]
            seen[fresh] = True
            candidates = np.concatenate([candidates, fresh])
            walked += end - start
            i += 1
            if len(candidates) >= K:
                threshold = float(np.partition(score[candidates], -K)[-K])
        alive = np.sort(candidates[score[candidates] + rest[i] >= threshold])
        for j in range(i, len(clauses)):  # look up the alive ones only
            _, weight, field, start, end = clauses[j]
            held = field.ordinals[start:end]
            at = np.minimum(np.searchsorted(held, alive), len(held) - 1)
            hit = held[at] == alive
            ordinals, tf = alive[hit], field.tf[start:end][at[hit]]
            score[ordinals] += weight * tf / (tf + field.norm[ordinals])
            alive = alive[score[alive] + rest[j + 1] >= threshold]
        best = alive[np.argsort(-score[alive], kind="stable")[:K]]
        found = [(int(self.chunk_ids[o]), float(score[o])) for o in best]
        self.walked.append(walked / sum(c[4] - c[3] for c in clauses))
        score[candidates] = 0.0
        seen[candidates] = False
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--postings", type=Path)
    parser.add_argument("--tight", action="store_true")
    args = parser.parse_args()
    generation, folder = postings_of(args.index, args.postings)
    engine = MaxScore(folder, args.tight)
    index = lexical.LexicalIndex(generation / LEXICAL_DIR)
    asked = questions()[: args.queries]
    for question in asked:  # warm both
        index.search(question, K)
        engine.search(question)
    engine.walked.clear()
    times: dict[str, list[float]] = {}
    ours, theirs = [], []
    for i, question in enumerate(asked):
        turns = [("tantivy, top 100", lambda q=question: index.search(q, K), ours),
                 ("numpy MaxScore, top 100", lambda q=question: engine.search(q), theirs)]
        for key, work, out in turns if i % 2 else turns[::-1]:
            out.append(timed(times, key, work))
    print(f"passages={len(engine.chunk_ids)} questions={len(asked)} "
          f"bound={'tight' if args.tight else 'bm25'}")
    report(times)
    agreement("numpy MaxScore", ours, theirs)
    print(f"walked in full: median share of the postings {np.median(engine.walked):.3f}")


if __name__ == "__main__":
    main()
