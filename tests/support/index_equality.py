"""Compare two indexes by content, ignoring ids: documents, chunks, vectors, lexical
entries and results.

Results are compared on the dense side. The hybrid ranking of an index that has seen
deletions may differ from a clean rebuild's in the BM25 statistics alone: like Lucene,
tantivy counts a deleted passage in document frequencies until its segment is merged
away (docs/scale.md). Everything a search can return is compared exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.hashing import file_sha256
from qa.index import sentence_codec
from qa.index.layout import STORE_FILE, VECTORS_DIR
from qa.index.store import Store
from qa.index.vectors import open_dense
from qa.search.searcher import Searcher
from tests.conftest import live


def index_content(index_dir: Path, embedder, questions: list[str]) -> dict:
    """Everything a user could observe, keyed by paths and offsets rather than ids."""
    store = Store(live(index_dir) / STORE_FILE)
    docs = sorted(store.db.execute("SELECT path, sha256, title FROM documents").fetchall())
    chunks = sorted(store.db.execute(
        "SELECT d.path, c.start, c.end, c.paragraph FROM chunks c"
        " JOIN documents d ON d.id = c.doc_id").fetchall())
    sentences = store.count("sentences")
    paths = {d.id: d.path for d in store.document_fields()}
    copies = sorted(tuple(sorted(paths[i] for i in g)) for g in store.copies.groups())
    signed = store.db.execute("SELECT COUNT(*) FROM minhash").fetchone()[0]
    store.close()
    searcher = Searcher(index_dir, encoder=embedder)
    paths_of = {cid: (path, start) for cid, path, start in searcher.store.db.execute(
        "SELECT c.id, d.path, c.start FROM chunks c JOIN documents d ON d.id = c.doc_id")}
    lexical = sorted(paths_of[cid] for cid in searcher.lexical.chunk_ids())
    ids, matrix = searcher.dense.all_vectors()
    vectors = {paths_of[cid]: np.round(v, 5).tobytes()
               for cid, v in zip(ids.tolist(), matrix, strict=True)}
    results = [[(h.passage.path, h.passage.start, h.passage.end, h.answer)
                for h in searcher.search(q, 5, mode="dense").hits] for q in questions]
    faiss_total = searcher.dense.count
    searcher.close()
    return {"docs": docs, "chunks": chunks, "sentences": sentences, "lexical": lexical,
            "copies": copies, "signed": signed,
            "vectors": vectors, "faiss_total": faiss_total, "results": results}


def without_marking(content: dict) -> dict:
    """`index_content` without the marked sentences. Marking weighs the question's words
    by tantivy's document frequencies, which count a removed passage until tantivy
    merges its segment away (docs/scale.md), so after removals it may pick another
    sentence than a clean build would; everything else must be equal."""
    return {**content, "results": [[hit[:3] for hit in hits] for hits in content["results"]]}


def stored_vectors(index_dir: Path) -> dict[tuple[str, str, int], np.ndarray]:
    """Every passage vector (from the vector segments) and sentence vector (from the
    store), keyed by (kind, document path, start offset): comparable across indexes
    built in any order or batching."""
    store = Store(live(index_dir) / STORE_FILE)
    where = {cid: (path, start) for cid, path, start in store.db.execute(
        "SELECT c.id, d.path, c.start FROM chunks c JOIN documents d ON d.id = c.doc_id")}
    ids, matrix = open_dense(store).all_vectors()
    out = {("chunk", *where[cid]): v for cid, v in zip(ids.tolist(), matrix, strict=True)}
    rows = store.db.execute("SELECT d.path, s.start, s.scale, s.vector FROM sentences s"
                            " JOIN documents d ON d.id = s.doc_id").fetchall()
    decoded = sentence_codec.decode([r[2:] for r in rows])
    out.update({("sentence", r[0], r[1]): v for r, v in zip(rows, decoded, strict=True)})
    store.close()
    return out


def assert_same_index(built: Path, reference: Path, questions: list[str], embedder=None,
                      atol: float = 1e-5) -> None:
    """Same documents, passages, offsets and answers; every vector within `atol`, and
    each sentence vector within one step of its stored 4-bit codes besides.

    Vectors are compared with a tolerance, not rounded: a batch of other lengths pads
    differently, which moves the last float bits (well under 1e-6 in practice), and
    that can tip a sentence vector's coordinate to the next code."""
    got = index_content(built, embedder, questions)
    want = index_content(reference, embedder, questions)
    assert got.pop("vectors").keys() == want.pop("vectors").keys()
    assert got == want
    got_vectors, want_vectors = stored_vectors(built), stored_vectors(reference)
    assert got_vectors.keys() == want_vectors.keys()
    for key, want_vector in want_vectors.items():
        assert_close_vector(key, got_vectors[key], want_vector, atol)


def assert_close_vector(key: tuple[str, str, int], got: np.ndarray, want: np.ndarray,
                        atol: float = 1e-5) -> None:
    """`got` within `atol` of `want`, plus one code step for a sentence vector (the
    float noise of another batching can tip a coordinate to the next code)."""
    step = np.abs(want).max() / 7 if key[0] == "sentence" else 0.0
    worst = float(np.abs(got - want).max())
    assert worst <= atol + 1.01 * step, f"{key}: largest vector difference {worst:g}"


def assert_segments_committed(generation: Path) -> None:
    """Every vector segment the store names is on disk, whole, with the committed hash."""
    store = Store(generation / STORE_FILE)
    rows = store.vector_segments()
    store.close()
    for row in rows:
        path = generation / VECTORS_DIR / row.name
        assert path.stat().st_size == row.bytes
        assert file_sha256(path) == row.sha256
