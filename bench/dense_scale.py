"""The dense side alone at N vectors: build time, bytes per vector, search time, recall@10.

Usage: .venv/bin/python bench/dense_scale.py --vectors N [--queries Q]

What `bench/scale.py` cannot reach in a session here: a million passages through the
writer take hours, but the dense side's own figures do not need the text. Bulk vectors
are the tests' hashing embedder's (a bag of hashed words, 384 dimensions, unit length)
for passages of 120 words drawn by frequency from SciFact's abstracts, as in
`bench/scale.py`'s corpus, generated directly as counts so that a million take
seconds. Questions are SciFact's test claims, embedded by the same embedder. The
segment is built as `qa index --optimize` builds it (`segment_writer.build_index`: an
HNSW graph over 8-bit codes from APPROXIMATE_FROM vectors), written to a file and mapped
back as a reader maps it, and searched as a query does (`qa.index.vectors.Segment.search`,
one thread, depth 100). recall@10 compares the first 10 of those 100 with an exact
search over the float32 vectors; it is also printed with a search four times as deep
(efSearch 400), to separate what the graph walk misses from what the codes lose.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from scale import HashingEmbedder, Vocabulary, questions  # noqa: E402

from qa.embed.model import DIMENSION  # noqa: E402
from qa.index import segment_writer, vectors  # noqa: E402
from qa.index.vectors import Segment, segment_ids  # noqa: E402

WORDS = 120  # words a passage


def bulk_vectors(vocab: Vocabulary, n: int, seed: int = 0) -> np.ndarray:
    """n unit vectors, each the hashing embedder's vector of WORDS words drawn by
    frequency (the same as embedding such a passage's text, without the text)."""
    dims = np.array([int.from_bytes(hashlib.blake2b(w.encode(), digest_size=4).digest(),
                                    "little") % DIMENSION for w in vocab.words])
    cumulative = np.array(vocab.cumulative, dtype=np.float64)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, 50_000):
        rows = min(50_000, n - start)
        words = np.searchsorted(cumulative, rng.random((rows, WORDS)) * cumulative[-1],
                                side="right")
        cells = (np.arange(rows)[:, None] * DIMENSION + dims[words]).ravel()
        counts = np.bincount(cells, minlength=rows * DIMENSION).reshape(rows, DIMENSION)
        block = counts.astype(np.float32)
        out[start : start + rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Each query's k best rows by inner product over the float32 vectors."""
    out = []
    for query in queries:
        scores = matrix @ query
        best = np.argpartition(-scores, k)[:k]
        out.append(best[np.argsort(-scores[best], kind="stable")])
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    vocab = Vocabulary()
    matrix = bulk_vectors(vocab, args.vectors)
    ids = np.arange(len(matrix), dtype=np.int64)
    queries = HashingEmbedder().encode(questions()[: args.queries])
    truth = exact_top(matrix, queries)
    start = time.perf_counter()
    index, approximate = segment_writer.build_index(ids, matrix)
    build_s = time.perf_counter() - start  # with FAISS's threads: both cores
    faiss.omp_set_num_threads(1)  # a query process searches one question at a time
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "segment.faiss"
        faiss.write_index(index, str(path))
        size = path.stat().st_size
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
    segment = Segment("bench", index, segment_ids(index), approximate)
    none = np.zeros(0, dtype=np.int64)
    times, found = [], []
    for query, want in zip(queries, truth, strict=True):
        begin = time.perf_counter()
        hits = segment.search(query, 100, None, none)
        times.append(time.perf_counter() - begin)
        found.append(len(set(_top10(hits)) & set(want.tolist())) / 10)
    times.sort()
    line = (f"vectors={len(matrix)} approximate={approximate} build_s={build_s:.1f}"
            f" bytes_per_vector={size / len(matrix):.0f} search_p50_ms="
            f"{statistics.median(times) * 1000:.2f} search_p95_ms="
            f"{times[int(0.95 * len(times))] * 1000:.2f} recall_at_10={np.mean(found):.3f}")
    if approximate:
        deep = vectors.search_parameters(index, None, 400)
        codes_only = np.mean([len(set(index.search(q[None], 10, params=deep)[1][0].tolist())
                                  & set(w.tolist())) / 10 for q, w in zip(queries, truth,
                                                                          strict=True)])
        line += f" recall_at_10_efsearch_400={codes_only:.3f}"
    print(line)


def _top10(hits: dict[int, float]) -> list[int]:
    return sorted(hits, key=hits.__getitem__, reverse=True)[:10]


if __name__ == "__main__":
    main()
