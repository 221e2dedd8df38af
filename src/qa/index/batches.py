"""Embedded documents committed in batches: the one seam every indexer writes through.

`commit_embedded` is the single place where an embedded batch becomes rows and vectors;
the local writer and the Ray driver both reach it through a `BatchCommitter`, which
groups documents into batches of about BATCH_CHUNKS passages (big enough that the model
runs efficiently, small enough that a kill loses little work and progress moves
visibly), reports what was added, and moves the progress bar.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.index import minhash
from qa.index.commit import Sides, commit
from qa.index.records import NewChunk, StoredDocument
from qa.index.store import timestamp
from qa.ingest.pipeline import embedding_prefix

if TYPE_CHECKING:
    from qa.embed.document_embedder import Embedder
    from qa.index.writer import IndexReport
    from qa.ingest.pipeline import PreparedDocument

BATCH_CHUNKS = 256


@dataclass(frozen=True)
class EmbeddedDocument:
    """A prepared document with one vector per passage, and its sentences (document
    offsets) with one vector each."""

    prepared: PreparedDocument
    chunk_vectors: np.ndarray
    sentences: list[tuple[int, int]]
    sentence_vectors: np.ndarray

    @property
    def passages(self) -> int:
        return len(self.prepared.chunks)


def embed_documents(embedder: Embedder, batch: list[PreparedDocument]) -> list[EmbeddedDocument]:
    """Embed a batch's passages (with their title prefix) and their sentences (as spans
    of those texts) in one call, so the model batches across documents."""
    texts: list[str] = []
    spans: list[list[tuple[int, int]]] = []
    owned: list[list[tuple[int, int]]] = []
    for p in batch:
        shift = len(embedding_prefix(p.doc.title))
        sentences = p.passage_sentences()
        for chunk, text, mine in zip(p.chunks, p.embedding_texts, sentences, strict=True):
            texts.append(text)
            spans.append([(s - chunk.start + shift, e - chunk.start + shift) for s, e in mine])
        owned.append([span for mine in sentences for span in mine])
    vectors = embedder.embed(texts, spans)
    out = []
    ci = si = 0
    for p, sentences in zip(batch, owned, strict=True):
        out.append(EmbeddedDocument(p, vectors.passages[ci : ci + len(p.chunks)], sentences,
                                    vectors.sentences[si : si + len(sentences)]))
        ci += len(p.chunks)
        si += len(sentences)
    return out


def commit_embedded(sides: Sides, batch: list[EmbeddedDocument],
                    stored: dict[str, StoredDocument]) -> None:
    """Commit one batch: replace any stored version of each document with the new rows,
    lexical entries, copy signature and vectors, together (`qa.index.commit`)."""
    store = sides.store
    signatures = [minhash.signature(e.prepared.doc.text) for e in batch]
    with commit(sides) as seq:
        for e, sig in zip(batch, signatures, strict=True):
            p = e.prepared
            old = stored.get(p.file.rel)
            if old is not None:
                store.remove_document(old.id)
            chunks = [NewChunk(c.start, c.end, c.paragraph, section)
                      for c, section in zip(p.chunks, p.sections, strict=True)]
            sents = [(s, end, e.sentence_vectors[j]) for j, (s, end) in enumerate(e.sentences)]
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
            doc_id = store.document_id(p.file.rel)
            store.copies.add(doc_id, sig, minhash.band_keys(sig))
            store.acronyms.add(doc_id, p.doc.text)
            sides.vectors.add(ids, e.chunk_vectors)


class BatchCommitter:
    """Collects embedded documents and commits them about `batch_chunks` passages at a
    time, counting passages on a tqdm bar (stderr) and `on_progress(done, total)`.

    `total` is the number of passages to come when known (the local writer chunks
    everything first); a Ray run learns it only as results arrive, so its bar counts up.
    """

    def __init__(self, sides: Sides, stored: dict[str, StoredDocument],
                 report: IndexReport, *, batch_chunks: int, progress: bool,
                 on_progress: Callable[[int, int], None] | None) -> None:
        self.sides, self.stored, self.report = sides, stored, report
        self.batch_chunks = batch_chunks
        self._progress = progress
        self._on_progress = on_progress
        self._pending: list[EmbeddedDocument] = []
        self._total: int | None = None
        self._bar: Any = None

    def start(self, total: int | None) -> None:
        """Show the bar; `total` passages if known."""
        from tqdm import tqdm

        self._total = total
        self._bar = tqdm(total=total, unit="chunk", desc="Indexing", file=sys.stderr,
                         disable=not (self._progress and sys.stderr.isatty()))

    def add(self, doc: EmbeddedDocument) -> None:
        self._pending.append(doc)
        if sum(e.passages for e in self._pending) >= self.batch_chunks:
            self.flush()

    def flush(self) -> None:
        """Commit what is pending, as one batch."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        commit_embedded(self.sides, batch, self.stored)
        done = sum(e.passages for e in batch)
        for e in batch:
            rel = e.prepared.file.rel
            (self.report.updated if rel in self.stored else self.report.added).append(rel)
        self.report.chunks_embedded += done
        if self._bar is not None:
            self._bar.update(done)
        if self._on_progress:
            self._on_progress(self.report.chunks_embedded,
                              self._total or self.report.chunks_embedded)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def passage_batches(prepared: Iterable[PreparedDocument], limit: int
                    ) -> Iterator[list[PreparedDocument]]:
    """Consecutive documents, a new batch begun once the current one holds `limit`
    passages (the same cut as `BatchCommitter.add`)."""
    batch: list[PreparedDocument] = []
    size = 0
    for p in prepared:
        if size >= limit:
            yield batch
            batch, size = [], 0
        batch.append(p)
        size += len(p.chunks)
    if batch:
        yield batch
