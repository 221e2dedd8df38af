"""An embedder for benchmarks that reuses the vectors existing indexes hold for a text.

Refitting after a chunker or engine change re-indexes the same documents many times;
most passages and nearly every sentence come out as the same text, and embedding them
again is most of the cost (SciFact: about 30 minutes). This embedder looks each text
up in vectors read from the given stores (passages by their embedding text, title
included; sentences by their text) and embeds only the rest, with the real model.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from qa.embed.document_embedder import DocumentEmbedder
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
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            docs = {d: (title, text) for d, title, text in
                    db.execute("SELECT id, title, text FROM documents")}
            for doc, start, end, blob in db.execute(
                    "SELECT doc_id, start, end, vector FROM chunks"):
                title, text = docs[doc]
                self.known[embedding_text(title, text[start:end])] = _vector(blob)
            for doc, start, end, blob in db.execute(
                    "SELECT doc_id, start, end, vector FROM sentences"):
                self.known[docs[doc][1][start:end]] = _vector(blob)
        finally:
            db.close()

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            self.known.update(zip(missing, self.inner.encode(missing), strict=True))
        self.embedded += len(missing)
        self.reused += len(texts) - len(missing)
        return np.stack([self.known[t] for t in texts]) if texts else self.inner.encode([])

    def install_query_encoder(self, path: Path) -> None:
        self.inner.install_query_encoder(path)


def _vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)
