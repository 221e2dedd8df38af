"""An embedder for benchmarks that reuses the vectors existing indexes hold for a text.

Refitting after a chunker or engine change re-indexes the same documents many times;
most passages and nearly every sentence come out as the same text, and embedding them
again is most of the cost (SciFact: about 30 minutes). This embedder looks each text
up in vectors read from the given stores (passages by their embedding text, title
included, from the vector segments beside the store; sentences by their text, decoded
from their int8 codes, which re-encode to the same codes) and embeds only the rest,
with the real model. Sentence vectors come from their own pass (as
`settings.SENTENCE_VECTORS = "separate"`, the default), so a sentence's vector does not
depend on its passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa import settings
from qa.embed.document_embedder import DocumentEmbedder
from qa.embed.pooling import PassageEmbeddings
from qa.index import sentence_codec, vectors
from qa.index.store import Store
from qa.ingest.pipeline import embedding_text


class ReusingEmbedder:
    """The real model, short-cut by the vectors of earlier builds (same model only)."""

    def __init__(self, stores: list[Path]) -> None:
        self.inner = DocumentEmbedder()
        self.known: dict[str, np.ndarray] = {}
        self.reused = self.embedded = 0
        for path in stores:
            if path.exists():
                self._read(path)

    def _read(self, path: Path) -> None:
        store = Store(path)
        try:
            db = store.db
            docs = {d: (title, text) for d, title, text in
                    db.execute("SELECT id, title, text FROM documents")}
            spans = {cid: (doc, start, end) for cid, doc, start, end in
                     db.execute("SELECT id, doc_id, start, end FROM chunks")}
            ids, matrix = vectors.open_dense(store).all_vectors()
            for cid, vector in zip(ids.tolist(), matrix, strict=True):
                doc, start, end = spans[cid]
                title, text = docs[doc]
                self.known[embedding_text(title, text[start:end])] = vector
            rows = db.execute("SELECT doc_id, start, end, scale, vector FROM sentences")
            for doc, start, end, scale, codes in rows:
                self.known[docs[doc][1][start:end]] = sentence_codec.decode([(scale, codes)])[0]
        finally:
            store.close()

    def embed(self, texts: list[str], sentence_spans: Sequence[Sequence[tuple[int, int]]]
              ) -> PassageEmbeddings:
        """As `DocumentEmbedder.embed` with separate sentence vectors."""
        if settings.SENTENCE_VECTORS != "separate":
            raise SystemExit("reuse_vectors: only separate sentence vectors can be reused")
        sentences = [text[s:e] for text, spans in zip(texts, sentence_spans, strict=True)
                     for s, e in spans]
        return PassageEmbeddings(self.encode(texts), self.encode(sentences))

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            self.known.update(zip(missing, self.inner.encode(missing), strict=True))
        self.embedded += len(missing)
        self.reused += len(texts) - len(missing)
        if not texts:
            return self.inner.encode([])
        return np.stack([self.known[t] for t in texts]).astype(np.float32)

    def install_query_encoder(self, path: Path) -> None:
        self.inner.install_query_encoder(path)
