"""Building the lexical base (`qa.index.impact_base`) from the store, crash-safely.

Every passage is analysed again with the lexical index's own chain (tantivy's analyzer,
`qa.index.lexical.term_sequence`), as tantivy exposes no postings to Python, and each
(term, passage) pair gets qa's BM25 contribution as tantivy computes it: IDF
ln(1 + (N - df + 0.5) / (df + 0.5)) per field, term frequency saturated with k1 = 1.2 and
b = 0.75 against the passage's length as tantivy's one-byte fieldnorm stores it, the title
weighted `TITLE_BOOST`; a pair's body and title contributions are summed, so that one
posting list per term carries both fields (two lists per term made PISA's MaxScore three
times slower: bench/lexical_base.py). PISA's inverted-index files are written directly,
then `prepare_index` computes the block maxima and compresses.

Crash safety: the base is written under a name no folder has, then named in the store's
meta in one transaction; a kill before that leaves a folder nothing names, and a kill
after it leaves the previous base unnamed; `remove_unnamed` deletes either on the next
build. Readers that mapped a base keep their mapping when its folder is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
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
BLOCK_PASSAGES = 20_000  # passages analysed before their pairs are counted in numpy
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


class FieldPairs:
    """One field's (term, passage) pairs with their counts, gathered block by block."""

    def __init__(self) -> None:
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.lengths: list[np.ndarray] = []

    def add_block(self, first: int, term_ids: list[list[int]]) -> None:
        """Passages `first`, `first + 1`, ... with their terms' ids (repeats kept)."""
        sizes = np.array([len(t) for t in term_ids], dtype=np.int64)
        self.lengths.append(sizes)
        flat = np.fromiter((t for terms in term_ids for t in terms), dtype=np.int64,
                           count=int(sizes.sum()))
        local = np.repeat(np.arange(len(term_ids), dtype=np.int64), sizes)
        pair, tf = np.unique(flat * len(term_ids) + local, return_counts=True)
        self.blocks.append(((pair // len(term_ids)).astype(np.int32),
                            (first + pair % len(term_ids)).astype(np.int32),
                            tf.astype(np.int32)))

    def impacts(self, passages: int, vocabulary: int, boost: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term id, passage ordinal, BM25 contribution) of every pair."""
        terms = np.concatenate([b[0] for b in self.blocks])
        ordinals = np.concatenate([b[1] for b in self.blocks])
        tf = np.concatenate([b[2] for b in self.blocks]).astype(np.float64)
        lengths = np.concatenate(self.lengths)
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
    with _quiet():  # PISA logs and draws progress bars on the standard streams
        pisa().prepare_index(pisa().RetrievalContext(), str(folder), ENCODING, SCORER, "",
                             block_size=BLOCK_SIZE)
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
    chunk_ids: list[int] = []
    rows = store.passage_fields()
    while block := [row for _, row in zip(range(BLOCK_PASSAGES), rows, strict=False)]:
        first = len(chunk_ids)
        chunk_ids.extend(r[0] for r in block)
        for field, texts in (("body", (r[2] for r in block)), ("title", (r[1] for r in block))):
            fields[field].add_block(first, [
                [vocabulary.setdefault(t, len(vocabulary)) for t in lexical.term_sequence(x)]
                for x in texts])
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
    lengths = np.concatenate(fields["body"].lengths) + np.concatenate(fields["title"].lengths)
    with open(folder / "inv.sizes", "wb") as sizes:  # unused by the quantized scorer
        write_sequence(sizes, np.maximum(lengths, 1))
    (folder / "terms.txt").write_text("".join(f"{t}\n" for t in names), encoding="utf-8")
    pisa().build_binlex(str(folder / "terms.txt"), str(folder / "fwd.termlex"))
    ids = np.array(chunk_ids, dtype=np.int64)
    (folder / "docnos.txt").write_text("".join(f"{i}\n" for i in chunk_ids), encoding="utf-8")
    pisa().build_binlex(str(folder / "docnos.txt"), str(folder / "fwd.doclex"))
    return ids


def write_sequence(out: BinaryIO, values: np.ndarray) -> None:
    """One sequence of PISA's binary collections: its length, then its values (uint32)."""
    out.write(np.array([len(values)], dtype=np.uint32).tobytes())
    out.write(np.asarray(values, dtype=np.uint32).tobytes())


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null while PISA writes (its C++ logger
    writes to them directly, below Python's sys.stdout)."""
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
