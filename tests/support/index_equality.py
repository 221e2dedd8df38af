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

from qa.index.layout import STORE_FILE
from qa.index.store import Store
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
    index = searcher.faiss_index
    id_rows = searcher.store.db.execute(
        "SELECT c.id, d.path, c.start FROM chunks c JOIN documents d ON d.id = c.doc_id"
    ).fetchall()
    vectors = {(path, start): np.round(index.reconstruct(cid), 5).tobytes()
               for cid, path, start in id_rows}
    results = [[(h.passage.path, h.passage.start, h.passage.end, h.answer)
                for h in searcher.search(q, 5, mode="dense").hits] for q in questions]
    faiss_total = index.ntotal
    searcher.close()
    return {"docs": docs, "chunks": chunks, "sentences": sentences, "lexical": lexical,
            "copies": copies, "signed": signed,
            "vectors": vectors, "faiss_total": faiss_total, "results": results}
