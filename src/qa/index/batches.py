"""Embed prepared documents in batches and commit each batch with its vectors.

Batches of about BATCH_CHUNKS passages: big enough that the model runs efficiently,
small enough that a kill loses little work and progress moves visibly.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from qa.index import minhash
from qa.index.commit import Sides, commit
from qa.index.records import NewChunk, StoredDocument
from qa.index.store import timestamp

if TYPE_CHECKING:
    from qa.embed.document_embedder import Embedder
    from qa.index.writer import IndexReport
    from qa.ingest.pipeline import PreparedDocument

BATCH_CHUNKS = 256


def store_prepared(
    sides: Sides,
    prepared: list[PreparedDocument],
    stored: dict[str, StoredDocument],
    embedder: Embedder,
    report: IndexReport,
    *,
    progress: bool,
    on_progress: Callable[[int, int], None] | None,
    batch_chunks: int = BATCH_CHUNKS,
) -> None:
    """Embed and commit `prepared`, replacing any stored version of each document."""
    if not prepared:
        return
    store, index = sides.store, sides.vectors
    from tqdm import tqdm

    total = sum(len(p.chunks) for p in prepared)
    bar = tqdm(total=total, unit="chunk", desc="Indexing", file=sys.stderr,
               disable=not (progress and sys.stderr.isatty()))
    try:
        for batch in _batches(prepared, batch_chunks):
            texts = [t for p in batch for t in p.embedding_texts]
            chunk_vecs = embedder.encode(texts)
            sent_vecs = embedder.encode([p.doc.text[s:e] for p in batch for s, e in p.sentences])
            signatures = [minhash.signature(p.doc.text) for p in batch]
            with commit(sides) as seq:
                ci = si = 0
                for p, sig in zip(batch, signatures, strict=True):
                    old = stored.get(p.file.rel)
                    if old is not None:
                        index.remove_ids(np.array(store.remove_document(old.id), dtype=np.int64))
                    chunks = [NewChunk(c.start, c.end, c.paragraph, section, chunk_vecs[ci + j])
                              for j, (c, section) in enumerate(zip(p.chunks, p.sections,
                                                                   strict=True))]
                    sents = [(s, e, sent_vecs[si + j]) for j, (s, e) in enumerate(p.sentences)]
                    ci += len(chunks)
                    si += len(sents)
                    ids = store.add_document(
                        path=p.file.rel, sha256=p.sha256, size=p.file.size,
                        mtime_ns=p.file.mtime_ns, title=p.doc.title, source=p.doc.source,
                        published=p.doc.published, author=p.doc.author, text=p.doc.text,
                        section_kind=p.doc.section_kind,
                        sections=json.dumps([s.as_json() for s in p.doc.sections])
                        if p.doc.sections else None,
                        indexed_at=timestamp(), chunks=chunks, sentences=sents,
                    )
                    for cid, c in zip(ids, chunks, strict=True):
                        sides.lexical.add(cid, seq, p.doc.title, p.doc.text[c.start : c.end])
                    store.copies.add(store.document_id(p.file.rel), sig, minhash.band_keys(sig))
                    if ids:
                        index.add_with_ids(
                            np.stack([c.vector for c in chunks]).astype(np.float32),
                            np.array(ids, dtype=np.int64),
                        )
            report.chunks_embedded += len(texts)
            bar.update(len(texts))
            if on_progress:
                on_progress(report.chunks_embedded, total)
    finally:
        bar.close()


def _batches(prepared: list[PreparedDocument], size_limit: int) -> list[list[PreparedDocument]]:
    batches: list[list[PreparedDocument]] = [[]]
    size = 0
    for p in prepared:
        if size >= size_limit:
            batches.append([])
            size = 0
        batches[-1].append(p)
        size += len(p.chunks)
    return batches
