"""Cost of adding one ~1,000-word document to indexes of 100, 1,000 and 10,000 documents.

Usage: .venv/bin/python bench/add_one.py [--sizes 100 1000 10000] [--repeats 3]

Synthetic corpora are made of sentences drawn from the real articles (about 300 words a
document). Each base index is built with the tests' deterministic hashing embedder, as
embedding 10,000 documents with the real model would take hours on 2 cores. What is
timed is adding ONE new 1,000-word document with the REAL model, already loaded:
`update_index` end to end (scan, hash, chunk, embed, SQLite commit, FAISS write), median
of the repeats, and what it costs beyond embedding that document (re-embedded right
after, timed alone): the part that could grow with the index.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qa.corpus.walk import CorpusFile
from qa.embed.document_embedder import DocumentEmbedder
from qa.embed.model import fingerprint
from qa.index.batches import embed_documents
from qa.index.layout import encoder_path
from qa.index.preparation import fits_model
from qa.index.writer import update_index
from qa.ingest.pipeline import prepare
from qa.ingest.sentences import sentence_spans
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.conftest import FakeEmbedder  # noqa: E402


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
    stat = path.stat()
    prepared = prepare(CorpusFile(path.name, str(path), stat.st_size, stat.st_mtime_ns),
                       path.read_bytes(), fits_model)
    start = time.perf_counter()
    embed_documents(embedder, [prepared])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pool = sentences()
    rng = random.Random(0)
    real = DocumentEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        encoder = Path(tmp) / "encoder.onnx"
        real.install_query_encoder(encoder)  # the export (torch) is not timed
        embedding_time(real, sorted((REPO / "corpus").glob("*.md"))[0])  # warm-up
        bases = {}
        for size in args.sizes:
            corpus = Path(tmp) / str(size) / "corpus"
            corpus.mkdir(parents=True)
            for n in range(size):
                (corpus / f"doc{n:05d}.md").write_text(
                    document(rng, pool, 300, f"Synthetic {n}"), encoding="utf-8")
            bases[size] = Paths(corpus, Path(tmp) / str(size) / "index")
            start = time.perf_counter()
            update_index(bases[size], progress=False, embedder=FakeEmbedder())
            target = encoder_path(bases[size].index, fingerprint())
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(encoder, target)  # as a real build leaves it
            print(f"{size:>6} documents: base built in {time.perf_counter() - start:.1f} s",
                  flush=True)
        adds: dict[int, list[float]] = {size: [] for size in args.sizes}
        overheads: dict[int, list[float]] = {size: [] for size in args.sizes}
        # Interleaved, so that the machine's speed drifting (it does, on a shared VM)
        # weighs on every size alike; the same document is added to each index.
        for r in range(args.repeats):
            text = document(rng, pool, 1000, f"Added {r}")
            for size in args.sizes:
                new = bases[size].corpus / f"added{r}.md"
                new.write_text(text, encoding="utf-8")
                start = time.perf_counter()
                report = update_index(bases[size], progress=False,
                                      embedder=real)
                elapsed = time.perf_counter() - start
                assert report.added == [new.name], report.summary()
                adds[size].append(elapsed)
                overheads[size].append(elapsed - embedding_time(real, new))
    for size in args.sizes:
        print(f"{size:>6} documents: add one, median {statistics.median(adds[size]):.2f} s;"
              f" beyond embedding that document: {statistics.median(overheads[size]):.2f} s")
    first, last = args.sizes[0], args.sizes[-1]
    growth = statistics.median(adds[last]) / statistics.median(adds[first])
    print(f"growth of add-one time from {first} to {last} documents: {growth:.2f}x")


if __name__ == "__main__":
    main()
