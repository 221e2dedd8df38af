"""Passage embedding for indexing, with sentence-transformers on CPU.

Indexing is the one place that may pay for torch: it runs rarely and in bulk, where
sentence-transformers' batching (length-sorted, padded per batch) is what we want.
Queries use the ONNX twin in `qa.query_encoder` instead, which must produce the same
vectors; both therefore read the same bundled model files from `qa.model.model_dir()`.
"""

from __future__ import annotations

import os

import numpy as np

from qa.model import DIMENSION, MAX_WORDPIECES, model_dir, set_offline_env

# Measured on the 2-core target (200 passages of ~150 words, ~200 wordpieces): idle
# machine, 1 thread ~14.3 texts/s, 2 threads ~22 texts/s. But with one core taken by
# another process, 2 threads fell to ~10.5 texts/s (workers wait on each other), below
# 1 thread's unchanged ~14.3; pass threads=1 when indexing beside other CPU-bound work.
MAX_DEFAULT_THREADS = 2


class DocumentEmbedder:
    """Turns passages into unit-length float32 vectors of DIMENSION floats."""

    def __init__(self, threads: int | None = None) -> None:
        """Load the bundled model, offline, on CPU.

        `threads` sets torch's intra-op pool. The default is every core up to
        MAX_DEFAULT_THREADS: indexing is throughput-bound and on the idle 2-core target
        two threads give ~1.5x the texts/s of one, while torch's own default can
        oversubscribe where cpu_count exceeds the cores actually granted. Note that
        torch.set_num_threads is process-wide.
        """
        set_offline_env()  # before transformers is imported: it reads these at import
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        torch.set_num_threads(threads or min(os.cpu_count() or 1, MAX_DEFAULT_THREADS))
        hf_logging.disable_progress_bar()  # a "Loading weights" bar would garble CLI output
        self._model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
        # Explicit, not inherited from sentence_bert_config.json: the chunker sizes
        # passages against MAX_WORDPIECES and the ONNX query path truncates at it too.
        self._model.max_seq_length = MAX_WORDPIECES

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed `texts` as an (n, DIMENSION) float32 array of L2-normalised rows.

        Normalised so that inner product is cosine in the FAISS index.
        """
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
