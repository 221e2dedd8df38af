"""Passage and sentence embedding for indexing, with the ONNX model and onnxruntime.

Indexing runs the same ONNX transformer as queries (`qa.embed.onnx_model`), exported
once into the index by `install_query_encoder`. So `qa add` and `qa index` never import
torch or sentence-transformers (6 to 9 s) once an index exists. Texts go through in
length-sorted batches, so little is spent on padding. Sentence vectors are pooled from
the passage's own pass by default, or come from a second pass over each sentence's text
(`settings.SENTENCE_VECTORS`, `qa.embed.pooling`). sentence-transformers stays the
reference (`qa.embed.reference_embedder`), and a test holds the two to the same vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa import settings
from qa.embed.model import DIMENSION
from qa.embed.pooling import PassageEmbeddings, embed_in_batches

if TYPE_CHECKING:
    from qa.embed.onnx_model import OnnxTransformer

# Batches are sorted by length, so padding is small at any size; 16, 32 and 64 measured
# within noise of each other on the 2-core target (87 SciFact passages, onnxruntime).
BATCH_SIZE = 32
# onnxruntime's intra-op pool. On the idle 2-core target two threads embed ~1.5x the
# texts/s of one; with one core taken by another process, one thread did slightly better
# (4.1 against 3.7 texts/s at a load of 13). Indexing is throughput-bound and usually
# has the machine, so 2 by default; pass threads=1 beside other CPU-bound work.
DEFAULT_THREADS = 2

SentenceSpans = Sequence[Sequence[tuple[int, int]]]


class Embedder(Protocol):
    """What the index writer needs of an embedder.

    `install_query_encoder` puts into the index whatever queries need to be embedded the
    same way (the real model exports its ONNX twin there, and then indexes with it too;
    the tests' fake embedder encodes queries itself). The writer calls it before `embed`.
    `embed` gives each text a vector, and each of its sentence spans (character offsets
    in that text) a vector.
    """

    def install_query_encoder(self, path: Path) -> None: ...

    def embed(self, texts: list[str], sentence_spans: SentenceSpans) -> PassageEmbeddings: ...


def export_once(path: Path) -> None:
    """Export the ONNX model to `path` unless it is there already."""
    if not path.exists():
        from qa.embed.onnx_export import export_query_encoder

        export_query_encoder(path)


def empty_embeddings() -> PassageEmbeddings:
    return PassageEmbeddings(np.zeros((0, DIMENSION), dtype=np.float32),
                             np.zeros((0, DIMENSION), dtype=np.float32))


class PassEmbedder:
    """What the ONNX embedder and the reference share: turning forward passes into
    passage and sentence vectors. Subclasses run one pass (`_one_pass`)."""

    def _one_pass(self, texts: list[str], sentence_spans: SentenceSpans) -> PassageEmbeddings:
        raise NotImplementedError

    def embed(self, texts: list[str], sentence_spans: SentenceSpans) -> PassageEmbeddings:
        """Passage vectors, and sentence vectors as `settings.SENTENCE_VECTORS` says:
        pooled from the passages' pass, or from a second pass over the sentences."""
        if not texts:
            return empty_embeddings()
        if settings.SENTENCE_VECTORS == "pooled":
            return self._one_pass(texts, sentence_spans)
        sentences = [text[s:e] for text, spans in zip(texts, sentence_spans, strict=True)
                     for s, e in spans]
        return PassageEmbeddings(self.encode(texts), self.encode(sentences))

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of whole texts (an (n, DIMENSION) float32 array of unit rows)."""
        if not texts:
            return empty_embeddings().passages
        return self._one_pass(texts, [()] * len(texts)).passages


class DocumentEmbedder(PassEmbedder):
    """Turns passages and their sentences into unit-length float32 vectors of DIMENSION
    floats, with the index's ONNX model.

    The ONNX session is opened on the first pass, so a writer with nothing to embed
    never pays for it. The model is the one `install_query_encoder` installs, or, on a
    Ray actor (which may not see the index folder), `model`: the same file, by path or
    as its bytes, on `device` ("cpu", or "cuda" where onnxruntime-gpu is installed).
    """

    def __init__(self, threads: int | None = None, model: Path | bytes | None = None,
                 device: str = "cpu") -> None:
        self._threads = threads or DEFAULT_THREADS
        self._source = model
        self._device = device
        self._model: OnnxTransformer | None = None

    def install_query_encoder(self, path: Path) -> None:
        """Export the ONNX model to `path` (in the index) unless it is there, and embed
        with it. Only the export imports torch: once per index and model. An embedder
        that has one keeps it: every export, named by the model's fingerprint, is the
        same model, so moving between indexes never reopens the session."""
        export_once(path)
        if self._source is None:
            self._source = path

    def open(self) -> OnnxTransformer:
        """The ONNX session, opened now if it is not yet (a Ray actor opens it at once,
        while the first files are still being chunked)."""
        if self._source is None:
            raise RuntimeError("DocumentEmbedder used before install_query_encoder")
        if self._model is None:
            from qa.embed.onnx_model import OnnxTransformer

            self._model = OnnxTransformer(self._source, self._threads, self._device)
        return self._model

    @property
    def provider(self) -> str:
        """The onnxruntime execution provider that runs the model (opening it): how a
        Ray run tells a GPU actor that fell back to the CPU."""
        return self.open().provider

    def _one_pass(self, texts: list[str], sentence_spans: SentenceSpans) -> PassageEmbeddings:
        """One forward pass per text, in length-sorted batches of BATCH_SIZE."""
        model = self.open()
        encodings = model.tokenize(texts)

        def forward(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
            chosen = [encodings[i] for i in batch]
            hidden, mask = model.hidden_states(chosen)
            return hidden, mask, [np.asarray(e.offsets, dtype=np.int64) for e in chosen]

        return embed_in_batches(forward, [len(e.ids) for e in encodings], sentence_spans,
                                BATCH_SIZE)
