"""SQLite FTS5 against tantivy for the lexical side, on N synthetic passages.

Usage: .venv/bin/python bench/lexical_engines.py --passages N

Both engines index the same N passages of 120 words drawn by frequency from SciFact's
abstracts (see bench/scale.py), with a title per four passages, and answer the same 100
questions (SciFact test claims). FTS5 runs the query qa used before (any of the words,
`bm25()` with the title weighted 0.3, top 100); tantivy runs qa's query now
(`qa.index.lexical`). Both are timed in one run, one after the other, and the medians
and 95th percentiles of the per-question times are printed with each index's size.
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from scale import Vocabulary, questions  # noqa: E402

from qa.index.lexical import LexicalIndex, LexicalWriter  # noqa: E402


def fts5_query(db: sqlite3.Connection, question: str) -> list:
    terms = sorted({w.lower() for w in re.findall(r"\w+", question)})
    match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
    return db.execute("SELECT rowid, -bm25(f, 0.3, 1.0) AS s FROM f WHERE f MATCH ?"
                      " ORDER BY s DESC LIMIT 100", (match,)).fetchall()


def timed(run, asked: list[str]) -> tuple[float, float]:
    run(asked[0])
    times = []
    for question in asked:
        start = time.perf_counter()
        run(question)
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1000, times[int(0.95 * (len(times) - 1))] * 1000


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() \
        else path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=20_000)
    args = parser.parse_args()
    vocab, rng = Vocabulary(), random.Random(1)
    bodies = [" ".join(vocab.draw(rng, 120)) for _ in range(args.passages)]
    titles = [" ".join(vocab.draw(rng, 6)) for _ in range(args.passages // 4 + 1)]
    asked = questions()[:100]
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "fts.sqlite")
        db.execute("CREATE VIRTUAL TABLE f USING fts5(title, body,"
                   " tokenize = 'porter unicode61 remove_diacritics 2')")
        start = time.perf_counter()
        db.executemany("INSERT INTO f(rowid, title, body) VALUES (?, ?, ?)",
                       ((i + 1, titles[i // 4], body) for i, body in enumerate(bodies)))
        db.commit()
        fts_build = time.perf_counter() - start
        folder = Path(tmp) / "lexical"
        folder.mkdir()
        index = LexicalIndex(folder)
        writer = LexicalWriter(index)
        start = time.perf_counter()
        for i, body in enumerate(bodies):
            writer.add(i + 1, 1, titles[i // 4], body)
        writer.commit()
        writer.close()
        index.refresh()
        tantivy_build = time.perf_counter() - start
        rows = [("fts5", fts_build, size(Path(tmp) / "fts.sqlite"),
                 timed(lambda q: fts5_query(db, q), asked)),
                ("tantivy", tantivy_build, size(folder),
                 timed(lambda q: index.search(q, 100), asked))]
    for name, build, disk, (p50, p95) in rows:
        print(f"{name:8} passages={args.passages} build_s={build:.1f}"
              f" disk_bytes_per_passage={disk / args.passages:.0f}"
              f" top100_p50_ms={p50:.2f} top100_p95_ms={p95:.2f}")


if __name__ == "__main__":
    main()
