"""Building the lexical base (`qa.index.impact_base`) from the store, crash-safely.

Every passage is analysed again with the lexical index's own chain (tantivy's analyzer,
`qa.index.lexical.term_sequence`), as tantivy exposes no postings to Python, and each
(term, passage) pair gets qa's BM25 contribution as tantivy computes it: IDF
ln(1 + (N - df + 0.5) / (df + 0.5)) per field, term frequency saturated with k1 = 1.2 and
b = 0.75 against the passage's length as tantivy's one-byte fieldnorm stores it, the title
weighted `TITLE_BOOST`; a pair's body and title contributions are summed, so that one
posting list per term carries both fields (a list per field made PISA's MaxScore 1.7
times slower: bench/lexical_pisa_layouts.py). PISA's inverted-index files are written directly,
then `prepare_index` computes the block maxima and compresses.

Crash safety: the base is written under a name no folder has, then named in the store's
meta in one transaction; a kill before that leaves a folder nothing names, and a kill
after it leaves the previous base unnamed; `remove_unnamed` deletes either on the next
build. Readers that mapped a base keep their mapping when its folder is removed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import secrets
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from qa import atomic
from qa.index import lexical
from qa.index.impact_base import (
    BASE_KEY,
    BASE_PREFIX,
    BLOCK_SIZE,
    ENCODING,
    IMPACT_SCALE,
    INFO_FILE,
    SCORER,
    pisa,
)
from qa.index.store import Store

K1, B = 1.2, 0.75  # tantivy's BM25 (fixed there)
RUN_IDS = 20_000  # chunk ids per run of passages analysed together
TEMPORARY_FILES = ("inv.docs", "inv.freqs", "inv.sizes", "terms.txt", "docnos.txt")


def fieldnorm_lengths() -> np.ndarray:
    """The lengths tantivy's one-byte fieldnorm can hold, ascending: 0 to 39 exactly,
    then 3 significant bits (Lucene's SmallFloat `intToByte4`; tantivy's
    `fieldnorm/code.rs`). A length is stored as the largest of these not above it."""
    def decoded(code: int) -> int:
        if code < 24:
            return code
        bits, shift = (code - 24) & 7, (code - 24) >> 3
        return 24 + (bits if shift == 0 else (bits | 8) << (shift - 1))
    return np.array([decoded(code) for code in range(256)], dtype=np.int64)


Pairs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # terms, ordinals, tf, lengths


def pairs_of(term_ids: list[list[int]]) -> Pairs:
    """One field of a run of passages, given each passage's term ids (repeats kept):
    its distinct (term, passage ordinal in the run) pairs with their counts, and each
    passage's length."""
    lengths = np.array([len(t) for t in term_ids], dtype=np.int64)
    flat = np.fromiter((t for terms in term_ids for t in terms), dtype=np.int64,
                       count=int(lengths.sum()))
    local = np.repeat(np.arange(len(term_ids), dtype=np.int64), lengths)
    width = max(len(term_ids), 1)
    pair, tf = np.unique(flat * width + local, return_counts=True)
    return ((pair // width).astype(np.int32), (pair % width).astype(np.int32),
            tf.astype(np.int32), lengths.astype(np.int32))


@dataclass
class AnalysedRun:
    """The passages of one range of chunk ids, analysed: the run's own term ids."""

    chunk_ids: np.ndarray
    terms: list[str]  # by the run's term id
    fields: dict[str, Pairs]


def analyse_run(task: tuple[Path, int, int]) -> AnalysedRun:
    """Analyse the passages with chunk ids from `low` to `high` (in a worker process:
    it opens the store itself, read-only)."""
    path, low, high = task
    store = Store(path)
    try:
        rows = store.passage_fields(low, high)
    finally:
        store.close()
    vocabulary: dict[str, int] = {}
    fields = {field: pairs_of([[vocabulary.setdefault(t, len(vocabulary))
                                for t in lexical.term_sequence(text)] for text in texts])
              for field, texts in (("body", [r[2] for r in rows]),
                                   ("title", [r[1] for r in rows]))}
    return AnalysedRun(np.array([r[0] for r in rows], dtype=np.int64), list(vocabulary),
                       fields)


class FieldPairs:
    """One field's (term, passage) pairs with their counts, gathered run by run."""

    def __init__(self) -> None:
        self.runs: list[Pairs] = []

    def add_run(self, first: int, to_global: np.ndarray, pairs: Pairs) -> None:
        """A run's pairs, its passages numbered from `first`, its term ids mapped by
        `to_global`."""
        terms, ordinals, tf, lengths = pairs
        self.runs.append((to_global[terms], ordinals + first, tf, lengths))

    def lengths(self) -> np.ndarray:
        return np.concatenate([run[3] for run in self.runs])

    def impacts(self, passages: int, vocabulary: int, boost: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term id, passage ordinal, BM25 contribution) of every pair."""
        terms = np.concatenate([run[0] for run in self.runs])
        ordinals = np.concatenate([run[1] for run in self.runs])
        tf = np.concatenate([run[2] for run in self.runs]).astype(np.float64)
        lengths = self.lengths()
        table = fieldnorm_lengths()
        stored = table[np.searchsorted(table, lengths, side="right") - 1]
        norm = K1 * (1 - B + B * stored / max(lengths.mean(), 1e-9))
        df = np.bincount(terms, minlength=vocabulary)
        idf = np.log(1 + (passages - df + 0.5) / (df + 0.5))
        score = boost * idf[terms] * (K1 + 1) * tf / (tf + norm[ordinals])
        return terms, ordinals, score


def build(store: Store) -> None:
    """Build a base of every passage in the store and make it the live one."""
    generation = store.path.parent
    name = f"{BASE_PREFIX}{secrets.token_hex(4)}"
    folder = generation / f"{name}.tmp"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    chunk_ids = _write_inverted(store, folder)
    with _spawned(1) as pool:
        pool.submit(compress, folder).result()
    for temporary in TEMPORARY_FILES:
        (folder / temporary).unlink()
    atomic.write_text(folder / INFO_FILE, json.dumps(
        {"passages": len(chunk_ids), "max_chunk_id": int(chunk_ids.max(initial=0))}))
    for path in folder.iterdir():
        atomic.fsync_file(path)
    folder.rename(generation / name)
    atomic.fsync_dir(generation)
    with store.transaction():
        store.name_lexical_base(name)
    remove_unnamed(store)


def remove_unnamed(store: Store) -> None:
    """Delete every base folder of the generation that the store does not name."""
    live = store.get_meta(BASE_KEY)
    for path in store.path.parent.glob(f"{BASE_PREFIX}*"):
        if path.name != live:
            shutil.rmtree(path, ignore_errors=True)


def _write_inverted(store: Store, folder: Path) -> np.ndarray:
    """PISA's inverted-index files for every passage; returns the passages' chunk ids
    (the base's document ordinals, in order)."""
    vocabulary: dict[str, int] = {}
    fields = {"body": FieldPairs(), "title": FieldPairs()}
    runs: list[np.ndarray] = []
    for run in _analysed_runs(store):
        to_global = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in run.terms],
                             dtype=np.int32)
        first = sum(len(r) for r in runs)
        runs.append(run.chunk_ids)
        for field, pairs in run.fields.items():
            fields[field].add_run(first, to_global, pairs)
    chunk_ids = np.concatenate(runs) if runs else np.zeros(0, dtype=np.int64)
    n, v = len(chunk_ids), len(vocabulary)
    parts = [fields["body"].impacts(n, v, 1.0),
             fields["title"].impacts(n, v, lexical.TITLE_BOOST)]
    key = np.concatenate([p[0].astype(np.int64) * n + p[1] for p in parts])
    score = np.concatenate([p[2] for p in parts])
    del parts
    order = np.argsort(key, kind="stable")
    key, score = key[order], score[order]
    del order
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    impact = np.maximum(1, np.rint(np.add.reduceat(score, starts) * IMPACT_SCALE))
    key = key[starts]
    term_of, ordinal = key // n, (key % n).astype(np.uint32)
    bounds = np.searchsorted(term_of, np.arange(v + 1))
    # PISA finds a term by binary search in its lexicon: lists go in the terms' order.
    names = sorted(vocabulary, key=lambda t: t.encode("utf-8"))
    with open(folder / "inv.docs", "wb") as docs, open(folder / "inv.freqs", "wb") as freqs:
        write_sequence(docs, np.array([n]))
        for term in names:
            a, b = bounds[vocabulary[term]], bounds[vocabulary[term] + 1]
            write_sequence(docs, ordinal[a:b])
            write_sequence(freqs, impact[a:b])
    lengths = fields["body"].lengths() + fields["title"].lengths()
    with open(folder / "inv.sizes", "wb") as sizes:  # unused by the quantized scorer
        write_sequence(sizes, np.maximum(lengths, 1))
    (folder / "terms.txt").write_text("".join(f"{t}\n" for t in names), encoding="utf-8")
    pisa().build_binlex(str(folder / "terms.txt"), str(folder / "fwd.termlex"))
    (folder / "docnos.txt").write_text("".join(f"{i}\n" for i in chunk_ids.tolist()),
                                       encoding="utf-8")
    pisa().build_binlex(str(folder / "docnos.txt"), str(folder / "fwd.doclex"))
    return chunk_ids


def _analysed_runs(store: Store) -> Iterator[AnalysedRun]:
    """Every passage analysed, in runs of `RUN_IDS` chunk ids, in chunk id order: in one
    worker process per core when there is more than one run (tantivy's analyzer holds
    the GIL; at a million passages the analysis is most of a base's build)."""
    low, high = store.chunk_id_bounds()
    tasks = [(store.path, a, min(a + RUN_IDS - 1, high)) for a in range(low, high + 1, RUN_IDS)]
    if len(tasks) <= 1:
        yield from map(analyse_run, tasks)
        return
    with _spawned(min(len(os.sched_getaffinity(0)), len(tasks))) as pool:
        yield from pool.map(analyse_run, tasks)


def _spawned(workers: int) -> ProcessPoolExecutor:
    """Worker processes started afresh (spawn): the writer may run in a thread of a
    process that has others (the terminal UI, the watcher), which forking would copy
    mid-flight."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def write_sequence(out: BinaryIO, values: np.ndarray) -> None:
    """One sequence of PISA's binary collections: its length, then its values (uint32)."""
    out.write(np.array([len(values)], dtype=np.uint32).tobytes())
    out.write(np.asarray(values, dtype=np.uint32).tobytes())


def compress(folder: Path) -> None:
    """PISA's block maxima and compressed lists from the inverted files in `folder`. Run
    in a process of its own: PISA logs and draws progress bars straight onto file
    descriptors 1 and 2, which that process sends to /dev/null, not the writer's (the
    terminal UI draws on them)."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    pisa().prepare_index(pisa().RetrievalContext(), str(folder), ENCODING, SCORER, "",
                         block_size=BLOCK_SIZE)
