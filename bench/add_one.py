"""Cost of adding one ~1,000-word document to indexes of 100, 1,000 and 10,000 documents.

Usage: .venv/bin/python bench/add_one.py [--sizes 100 1000 10000] [--repeats 3]

Synthetic corpora are made of sentences drawn from the real articles (about 300 words a
document). Each base index is built with the tests' deterministic hashing embedder, as
embedding 10,000 documents with the real model would take hours on 2 cores. What is
timed is adding ONE new 1,000-word document with the REAL model, already loaded:
`update_index` end to end (scan, hash, chunk, embed, SQLite commit, FAISS write), median
of the repeats, beside the time to embed that document's passages and sentences alone.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qa.chunking import chunk_text
from qa.documents import load_document
from qa.embedder import DocumentEmbedder
from qa.indexer import chunker_settings, embedding_text, update_index
from qa.model import MAX_WORDPIECES, count_wordpieces
from qa.sentences import sentence_spans
from qa.settings import Paths
from qa.tokens import count_tokens

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import FakeEmbedder  # noqa: E402


def sentences() -> list[str]:
    out = []
    for path in sorted((REPO / "corpus").glob("*.md")):
        text = path.read_text(encoding="utf-8").split("---", 2)[2]
        out.extend(text[s.start : s.end] for s in sentence_spans(text))
    return out


def document(rng: random.Random, pool: list[str], words: int, title: str) -> str:
    body, count = [], 0
    while count < words:
        paragraph = " ".join(rng.choice(pool) for _ in range(4))
        body.append(paragraph)
        count += len(paragraph.split())
    return f"---\ntitle: \"{title}\"\n---\n\n" + "\n\n".join(body) + "\n"


def embedding_time(embedder: DocumentEmbedder, path: Path) -> float:
    """Time to embed one document's passages and sentences, as the indexer does."""
    doc = load_document(path.name, path.read_bytes())
    fits = lambda s: count_wordpieces(embedding_text(doc.title, s)) <= MAX_WORDPIECES  # noqa: E731
    chunks = chunk_text(doc.text, chunker_settings(), count_tokens, fits)
    start = time.perf_counter()
    embedder.encode([embedding_text(doc.title, c.text) for c in chunks])
    embedder.encode([doc.text[s.start : s.end] for s in sentence_spans(doc.text)])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pool = sentences()
    rng = random.Random(0)
    real = DocumentEmbedder()
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "corpus"
            corpus.mkdir()
            for n in range(size):
                (corpus / f"doc{n:05d}.md").write_text(
                    document(rng, pool, 300, f"Synthetic {n}"), encoding="utf-8")
            paths = Paths(corpus, Path(tmp) / "index")
            start = time.perf_counter()
            update_index(paths, progress=False, embedder_factory=FakeEmbedder)
            base = time.perf_counter() - start
            adds, embeds = [], []
            for r in range(args.repeats):
                new = corpus / f"added{r}.md"
                new.write_text(document(rng, pool, 1000, f"Added {r}"), encoding="utf-8")
                start = time.perf_counter()
                report = update_index(paths, progress=False, embedder_factory=lambda: real)
                adds.append(time.perf_counter() - start)
                assert report.added == [new.name], report.summary()
                embeds.append(embedding_time(real, new))
            rows.append((size, base, statistics.median(adds), statistics.median(embeds)))
            print(f"{size:>6} documents: base built in {base:.1f} s; add one: median"
                  f" {rows[-1][2]:.2f} s (embedding that document alone: {rows[-1][3]:.2f} s)",
                  flush=True)
    print(f"growth of add-one time from {rows[0][0]} to {rows[-1][0]} documents:"
          f" {rows[-1][2] / rows[0][2]:.2f}x")


if __name__ == "__main__":
    main()
