"""Passage embedding for indexing, with sentence-transformers on CPU.

Indexing is the one place that may pay for torch: it runs rarely and in bulk, where
sentence-transformers' batching (length-sorted, padded per batch) is what we want.
Queries use the ONNX twin in `qa.embed.query_encoder` instead, which must produce the same
vectors; both therefore read the same bundled model files from `qa.embed.model.model_dir()`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.embed.model import DIMENSION, MAX_WORDPIECES, model_dir, set_offline_env

# Measured on the 2-core target (200 passages of ~150 words, ~200 wordpieces): idle
# machine, 1 thread ~14.3 texts/s, 2 threads ~22 texts/s. But with one core taken by
# another process, 2 threads fell to ~10.5 texts/s (workers wait on each other), below
# 1 thread's unchanged ~14.3; pass threads=1 when indexing beside other CPU-bound work.
MAX_DEFAULT_THREADS = 2


class Embedder(Protocol):
    """What the index writer needs of an embedder.

    `encode` embeds passages. `install_query_encoder` puts into the index whatever
    queries need to be embedded the same way: the real model exports its ONNX twin;
    the tests' fake embedder encodes queries itself and installs nothing.
    """

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def install_query_encoder(self, path: Path) -> None: ...


class DocumentEmbedder:
    """Turns passages into unit-length float32 vectors of DIMENSION floats.

    The model is loaded on the first `encode`, so a writer with nothing to embed never
    pays for importing torch.
    """

    def __init__(self, threads: int | None = None, device: str = "cpu") -> None:
        self._threads = threads
        self._device = device  # "cuda" on a Ray actor given a GPU
        self._model: Any = None

    def _loaded(self) -> Any:
        """Load the bundled model, offline, on the CPU unless a device is given (once).

        `threads` sets torch's intra-op pool. The default is every core up to
        MAX_DEFAULT_THREADS: indexing is throughput-bound and on the idle 2-core target
        two threads give ~1.5x the texts/s of one, while torch's own default can
        oversubscribe where cpu_count exceeds the cores actually granted. Note that
        torch.set_num_threads is process-wide.
        """
        if self._model is not None:
            return self._model
        set_offline_env()  # before transformers is imported: it reads these at import
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        torch.set_num_threads(self._threads or min(os.cpu_count() or 1, MAX_DEFAULT_THREADS))
        hf_logging.disable_progress_bar()  # a "Loading weights" bar would garble CLI output
        model = SentenceTransformer(str(model_dir()), device=self._device,
                                    local_files_only=True)
        # Explicit, not inherited from sentence_bert_config.json: the chunker sizes
        # passages against MAX_WORDPIECES and the ONNX query path truncates at it too.
        model.max_seq_length = MAX_WORDPIECES
        self._model = model
        return model

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed `texts` as an (n, DIMENSION) float32 array of L2-normalised rows.

        Normalised so that inner product is cosine in the FAISS index.
        """
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        vectors = self._loaded().encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def install_query_encoder(self, path: Path) -> None:
        """Export the ONNX query encoder to `path` (in the index) once; queries then skip
        torch."""
        if not path.exists():
            from qa.embed.onnx_export import export_query_encoder

            export_query_encoder(path)
