"""Build an index of N passages and print its speed, memory and disk figures on one line.

Usage: .venv/bin/python bench/scale.py --passages N [--cache DIR] [--queries Q]
                                      [--build quick|real]

Prints `passages= build_s= disk_bytes_per_passage= rss_mb= warm_p50_ms= warm_p95_ms=
add_one_s= remove_one_s= recall_at_10=`, then the same for a 1,000-passage index
(`add_one_small_s= remove_one_small_s=`), the time `--optimize` took, and a cold
`qa ask` (a new process; wall and CPU seconds, medians).

The corpus is synthetic, with a realistic vocabulary: words are drawn by their frequency
in SciFact's 5,183 abstracts (a Zipf-shaped vocabulary of ~30,000 words), in sentences of
12 to 25 words and paragraphs of about 90 words, so BM25 sees rare and common words as a
real archive has them (text made from five articles would put every common word in every
document). Bulk vectors come from the tests' hashing embedder: embedding a million
passages with the real model would take days here. The hashing embedder's vectors are
as expensive to search as real ones (same dimension, same index), so the timings hold;
what they cannot show is ranking quality, which is measured on real data by `qa eval`,
nor the approximate index's recall on real vectors (`bench/dense_recall.py`).
`recall_at_10` here compares the dense side's top 10 with an exact search over the
hashing embedder's vectors: data with no cluster structure and near-ties, a worst
case for IVF.
Questions are SciFact's test claims and the dev questions, embedded by the real ONNX
query encoder: a query pays everything a user's does (embedding, both sides, fusion,
answer marking, confidence).

The index is built once into the cache folder (default `index/bench/scale-N-quick`, or
`scale-N` with `--build real`, beside the repository's own index and ignored by git)
and reused; `--rebuild` starts again. The quick build (`QuickIndexer`) still goes
through the real writer; `--build real` also runs the real chunker.
Warm queries run in a child process, so its peak RSS is the query process's own.
Adding and removing one 1,000-word document uses the real model (loaded beforehand, not
timed) and is timed on this index and on a 1,000-passage one, alternately.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from revisions import checkout  # noqa: E402

from qa.index.writer import update_index  # noqa: E402
from qa.settings import Paths  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402

if TYPE_CHECKING:
    from qa.corpus.walk import CorpusFile
    from qa.index.writer import IndexJob
    from qa.ingest.pipeline import PreparedDocument

SCIFACT = REPO.parent / "shared" / "benchmarks" / "scifact"
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"
PASSAGES_PER_DOCUMENT = 5  # documents of ~430 words: about five paragraphs
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


class Vocabulary:
    """SciFact's words with their frequencies, for drawing text."""

    def __init__(self) -> None:
        counts: Counter[str] = Counter()
        with (SCIFACT / "corpus.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                counts.update(w.lower() for w in WORD.findall(row["title"] + " " + row["text"]))
        self.words = [w for w, _ in counts.most_common()]
        self.cumulative = list(accumulate(c for _, c in counts.most_common()))

    def draw(self, rng: random.Random, n: int) -> list[str]:
        total = self.cumulative[-1]
        return [self.words[bisect.bisect(self.cumulative, rng.random() * total)]
                for _ in range(n)]


def document(vocab: Vocabulary, rng: random.Random, words: int, title: str) -> str:
    paragraphs, count = [], 0
    while count < words:
        sentences = []
        for _ in range(rng.randint(4, 6)):
            sentence = vocab.draw(rng, rng.randint(12, 25))
            sentences.append(" ".join(sentence).capitalize() + ".")
            count += len(sentence)
        paragraphs.append(" ".join(sentences))
    return f"---\ntitle: \"{title}\"\n---\n\n" + "\n\n".join(paragraphs) + "\n"


class HashingEmbedder(FakeEmbedder):
    """The tests' hashing embedder (same vectors), with each word's dimension cached:
    bulk vectors for a million passages in minutes, not hours."""

    def __init__(self) -> None:
        self._dimension_of: dict[str, int] = {}

    def _dimension(self, word: str) -> int:
        found = self._dimension_of.get(word)
        if found is None:
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            found = self._dimension_of[word] = int.from_bytes(digest, "little") % self.dimension
        return found

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            dims = [self._dimension(w) for w in re.findall(r"\w+", text.lower())]
            np.add.at(out[row], dims, 1.0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


SENTENCE = re.compile(r"[^.\s][^.]*\.")
PARAGRAPH = re.compile(r"[^\n]+(?:\n[^\n]+)*")


class QuickIndexer:
    """Indexes the synthetic corpus through the real writer (generation, batches of 256
    passages, the commit protocol, vector segments and their merges, tantivy, SQLite)
    but cuts and embeds it the quick way. The corpus is made of plain paragraphs of
    short sentences ending in a full stop, so one passage per paragraph and one
    sentence per full stop is what the chunker would make of most of it, without
    tiktoken, the wordpiece check and the sentence splitter (about 60% of a real
    build's time here). MinHash signing (datasketch, 10 to 40 ms a document) is
    replaced by a random signature of the same size, so the store's size is the same
    and no document is a copy of another."""

    def __init__(self) -> None:
        self.embedder = HashingEmbedder()

    def index_files(self, job: IndexJob) -> None:
        from qa.index import minhash
        from qa.index.batches import EmbeddedDocument, passage_batches
        from qa.ingest.pipeline import read_file

        minhash.signature = _random_signature
        prepared = [self._prepare(work.file, read_file(work.file)) for work in job.work]
        job.committer.start(sum(len(p.chunks) for p in prepared))
        for batch in passage_batches(prepared, job.committer.batch_chunks):
            chunk_vectors = self.embedder.encode([t for p in batch for t in p.embedding_texts])
            sentence_vectors = self.embedder.encode(
                [p.doc.text[a:b] for p in batch for a, b in p.sentences])
            ci = si = 0
            for p in batch:
                job.committer.add(EmbeddedDocument(p, chunk_vectors[ci : ci + len(p.chunks)],
                                                   p.sentences,
                                                   sentence_vectors[si : si + len(p.sentences)]))
                ci += len(p.chunks)
                si += len(p.sentences)

    @staticmethod
    def _prepare(file: CorpusFile, data: bytes) -> PreparedDocument:
        from qa.ingest.chunking import Chunk
        from qa.ingest.loaders.text import load_text
        from qa.ingest.pipeline import PreparedDocument, content_hash

        doc = load_text(file.rel, data)
        chunks, sentences = [], []
        for number, para in enumerate(PARAGRAPH.finditer(doc.text), 1):
            chunks.append(Chunk(para.start(), para.end(), number, para.group()))
            sentences += [(para.start() + m.start(), para.start() + m.end())
                          for m in SENTENCE.finditer(para.group())]
        return PreparedDocument(file, content_hash(data), doc, chunks, [None] * len(chunks),
                                sentences)


def _random_signature(text: str) -> np.ndarray:
    from qa.index.copies import NUM_PERM

    seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).integers(0, 2**32, NUM_PERM, dtype=np.uint32)


def build(paths: Paths, passages: int, vocab: Vocabulary, rebuild: bool,
          quick: bool) -> tuple[float, float]:
    """Write the synthetic corpus, index it, then merge its vector segments into one
    (`qa index --optimize`, as a user would once after a large first build); seconds
    spent indexing and optimizing (as recorded when the cached index was built)."""
    done = paths.index.parent / "built.json"
    if done.exists() and not rebuild:
        built = json.loads(done.read_text())
        return float(built["build_s"]), float(built.get("optimize_s", 0.0))
    shutil.rmtree(paths.corpus, ignore_errors=True)
    shutil.rmtree(paths.index, ignore_errors=True)
    rng = random.Random(passages)
    for n in range(max(1, passages // PASSAGES_PER_DOCUMENT)):
        folder = paths.corpus / f"{n // 1000:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"doc{n:07d}.md").write_text(
            document(vocab, rng, 430, " ".join(vocab.draw(rng, 6)).title()), encoding="utf-8")
    start = time.perf_counter()
    update_index(paths, progress=sys.stderr.isatty(), embedder=FakeEmbedder(),
                 indexer=QuickIndexer() if quick else None)
    build_s = time.perf_counter() - start
    update_index(paths, progress=False, embedder=FakeEmbedder(), optimize=True)
    optimize_s = time.perf_counter() - start - build_s
    install_real_encoder(paths)
    done.write_text(json.dumps({"build_s": build_s, "optimize_s": optimize_s}))
    return build_s, optimize_s


def install_real_encoder(paths: Paths) -> None:
    """Queries are embedded by the real ONNX encoder, whatever built the bulk vectors."""
    from qa.embed.document_embedder import DocumentEmbedder
    from qa.embed.model import fingerprint
    from qa.index.layout import encoder_path

    target = encoder_path(paths.index, fingerprint())
    target.parent.mkdir(parents=True, exist_ok=True)
    DocumentEmbedder().install_query_encoder(target)


def questions() -> list[str]:
    claims = [json.loads(line)["text"] for line in (SCIFACT / "queries.jsonl").open()]
    test = {line.split("\t")[0] for line in (SCIFACT / "qrels" / "test.tsv").open()}
    ids = [json.loads(line)["_id"] for line in (SCIFACT / "queries.jsonl").open()]
    dev = [json.loads(line)["question"] for line in DEV.open()]
    return [c for c, i in zip(claims, ids, strict=True) if i in test] + dev


def query_worker(index: Path, count: int) -> None:
    """Child process: warm up, time `count` questions, print timings, peak RSS and the
    answers (each passage's chunk id, score and marked sentence; the confidence), which
    bench/warm_before.py compares between two codes."""
    from qa.search.searcher import Searcher

    asked = questions()
    searcher = Searcher(index)
    searcher.search("warm up the query model", 5)
    times, answers = [], []
    for n in range(count):
        start = time.perf_counter()
        answer = searcher.search(asked[n % len(asked)], 5)
        times.append(time.perf_counter() - start)
        answers.append([round(answer.confidence, 9)] + [
            [h.passage.chunk_id, round(h.score, 9), h.answer_start, h.answer_end]
            for h in answer.hits])
    print(json.dumps({"times": times, "rss_mb": peak_rss_mb(), "answers": answers}))


def peak_rss_mb() -> float:
    """This process's peak resident set since it started its program: VmHWM, which a new
    program starts afresh (getrusage's maxrss would keep the forking parent's, here the
    benchmark's own, with the whole index it built)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm_queries(index: Path, count: int) -> tuple[float, float, float]:
    out = subprocess.run([sys.executable, __file__, "--query-worker", str(index),
                          "--queries", str(count)], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.splitlines()[-1])
    times = sorted(result["times"])
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return statistics.median(times) * 1000, p95 * 1000, result["rss_mb"]


def cold_asks(paths: Paths, runs: int, before: Path | None = None
              ) -> dict[str, tuple[float, float]]:
    """Median wall and CPU (user + system, children included) seconds of a whole
    `qa ask` process, as a user runs it: start-up, the corpus freshness check, opening
    the index, one answer. The CPU time says what the wall time would be on a machine
    with nothing else to do. With `before` (another revision's src/), its `qa` is timed
    too, the two taking turns, under "before"."""
    qa = str(Path(sys.executable).with_name("qa"))
    codes = {"now": None} if before is None else {"before": str(before), "now": None}
    walls: dict[str, list[float]] = {name: [] for name in codes}
    cpus: dict[str, list[float]] = {name: [] for name in codes}
    for question in questions()[:runs]:
        for name, src in codes.items():
            env = {**os.environ, "PYTHONPATH": src} if src else None
            before_use = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([qa, "ask", "--corpus", str(paths.corpus), "--index",
                            str(paths.index), question], check=True, capture_output=True,
                           env=env)
            walls[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime - before_use.ru_utime
                              + after.ru_stime - before_use.ru_stime)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name]))
            for name in codes}


def add_and_remove(targets: list[Paths], vocab: Vocabulary, repeats: int) -> list[tuple]:
    """Median seconds to add, then remove, one 1,000-word document, for each index;
    alternated between the indexes so the machine's drift weighs on each alike. The
    index is updated for that file alone, as `qa add` and `qa remove` do."""
    from qa.embed.document_embedder import DocumentEmbedder
    from qa.embed.model import fingerprint
    from qa.index.layout import encoder_path

    embedder = DocumentEmbedder()
    embedder.install_query_encoder(encoder_path(targets[0].index, fingerprint()))
    embedder.encode(["load the model before timing"])
    adds: dict[int, list[float]] = {i: [] for i in range(len(targets))}
    removes: dict[int, list[float]] = {i: [] for i in range(len(targets))}
    rng = random.Random(7)
    for r in range(repeats):
        text = document(vocab, rng, 1000, f"Added {r}")
        for i, paths in enumerate(targets):
            new = paths.corpus / f"added-{r}.md"
            new.write_text(text, encoding="utf-8")
            start = time.perf_counter()  # as `qa add` updates: the added file alone
            update_index(paths, progress=False, embedder=embedder, only=[new.name])
            adds[i].append(time.perf_counter() - start)
            new.unlink()
            start = time.perf_counter()
            update_index(paths, progress=False, embedder=embedder, only=[new.name])
            removes[i].append(time.perf_counter() - start)
    return [(statistics.median(adds[i]), statistics.median(removes[i]))
            for i in range(len(targets))]


def recall_at_10(index: Path, count: int = 100) -> float:
    """The dense side's top 10 (approximate once a segment is large) against an exact
    search over the passages' float32 vectors, for the first `count` questions.

    The index keeps no float32 copy of its vectors, so they are computed again: the
    hashing embedder is deterministic. Questions are embedded by the same embedder, so
    their neighbours are the passages sharing their words, as a real question's are the
    passages sharing its meaning (a real-model vector would be a random direction in the
    hashing embedder's space).
    """
    from qa.index.generations import live_store
    from qa.ingest.pipeline import embedding_text
    from qa.search.searcher import Searcher

    with live_store(index) as store:
        rows = store.db.execute(
            "SELECT c.id, d.title, substr(d.text, c.start + 1, c.end - c.start)"
            " FROM chunks c JOIN documents d ON d.id = c.doc_id ORDER BY c.id").fetchall()
    embedder = HashingEmbedder()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    matrix = np.concatenate([
        embedder.encode([embedding_text(t, x) for _, t, x in rows[n : n + 10_000]])
        for n in range(0, len(rows), 10_000)])
    searcher = Searcher(index, encoder=embedder)
    found = []
    for question in questions()[:count]:
        vector = embedder.encode([question])[0]
        approx = searcher.dense.search(vector, 10)
        exact = ids[np.argsort(-(matrix @ vector), kind="stable")[:10]]
        found.append(len(set(approx) & set(exact.tolist())) / 10)
    searcher.close()
    return float(np.mean(found))


def disk_bytes(index: Path) -> int:
    return sum(p.stat().st_size for p in index.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--cache", default=str(REPO / "index" / "bench"))
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", type=int, default=5, help="whole `qa ask` runs timed")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--cold-before", metavar="REV",
                        help="also time cold asks with the code of git revision REV,"
                             " taking turns (cold_ask_before_s=)")
    parser.add_argument("--build", choices=("quick", "real"), default="quick",
                        help="cut and embed the quick way (default; QuickIndexer) or"
                             " through the real chunker")
    parser.add_argument("--query-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.query_worker:
        query_worker(Path(args.query_worker), args.queries)
        return
    vocab = Vocabulary()
    base = Path(args.cache)
    name = f"scale-{args.passages}" + ("-quick" if args.build == "quick" else "")
    paths = Paths(base / name / "corpus", base / name / "index")
    small = Paths(base / "scale-1000" / "corpus", base / "scale-1000" / "index")
    build_s, optimize_s = build(paths, args.passages, vocab, args.rebuild,
                                args.build == "quick")
    build(small, 1000, vocab, rebuild=False, quick=False)
    from qa.index.generations import live_store

    with live_store(paths.index) as store:
        passages = store.count("chunks")
    disk = disk_bytes(paths.index)  # the documents' text is in the store: it counts
    p50, p95, rss = warm_queries(paths.index, args.queries)
    with tempfile.TemporaryDirectory() as scratch:
        before = checkout(args.cold_before, Path(scratch)) if args.cold_before else None
        colds = cold_asks(paths, args.cold, before)
    cold_s, cold_cpu_s = colds["now"]
    (add_s, remove_s), (add_small, remove_small) = add_and_remove([paths, small], vocab,
                                                                  args.repeats)
    print(f"passages={passages} build_s={build_s:.1f}"
          f" disk_bytes_per_passage={disk / passages:.0f} rss_mb={rss:.0f}"
          f" warm_p50_ms={p50:.1f} warm_p95_ms={p95:.1f} add_one_s={add_s:.2f}"
          f" remove_one_s={remove_s:.2f} recall_at_10={recall_at_10(paths.index):.3f}"
          f" add_one_small_s={add_small:.2f} remove_one_small_s={remove_small:.2f}"
          f" optimize_s={optimize_s:.1f} cold_ask_s={cold_s:.2f} cold_ask_cpu_s={cold_cpu_s:.2f}"
          + ("" if "before" not in colds else
             " cold_ask_before_s={:.2f} cold_ask_before_cpu_s={:.2f}".format(*colds["before"])))


if __name__ == "__main__":
    main()
