"""The reference embedder: sentence-transformers and torch, as the model card runs it.

`qa.embed.document_embedder` indexes with the ONNX export instead, which must give the
same vectors; this is what it is checked against (tests/embed, bench/encoder_parity.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from qa.embed.document_embedder import PassEmbedder, SentenceSpans, export_once
from qa.embed.model import MAX_WORDPIECES, model_dir, set_offline_env
from qa.embed.pooling import PassageEmbeddings, embed_in_batches

# Measured on the 2-core target (200 passages of ~150 words, ~200 wordpieces): idle
# machine, 1 thread ~14.3 texts/s, 2 threads ~22 texts/s. But with one core taken by
# another process, 2 threads fell to ~10.5 texts/s (workers wait on each other), below
# 1 thread's unchanged ~14.3; pass threads=1 when indexing beside other CPU-bound work.
MAX_DEFAULT_THREADS = 2
BATCH_SIZE = 32


class SentenceTransformerEmbedder(PassEmbedder):
    """Passages and their sentence spans through sentence-transformers' own modules.

    The model is loaded on the first `embed`, so a writer with nothing to embed never
    pays for importing torch.
    """

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads
        self._model: Any = None

    def _loaded(self) -> Any:
        """Load the bundled model, offline, on the CPU (once).

        `threads` sets torch's intra-op pool. The default is every core up to
        MAX_DEFAULT_THREADS: on the idle 2-core target two threads give ~1.5x the
        texts/s of one, while torch's own default can oversubscribe where cpu_count
        exceeds the cores actually granted. torch.set_num_threads is process-wide.
        """
        if self._model is not None:
            return self._model
        set_offline_env()  # before transformers is imported: it reads these at import
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        torch.set_num_threads(self._threads or min(os.cpu_count() or 1, MAX_DEFAULT_THREADS))
        hf_logging.disable_progress_bar()  # a "Loading weights" bar would garble CLI output
        model = SentenceTransformer(str(model_dir()), device="cpu",
                                    local_files_only=True)
        # Explicit, not inherited from sentence_bert_config.json: the chunker sizes
        # passages against MAX_WORDPIECES and the ONNX path truncates at it too.
        model.max_seq_length = MAX_WORDPIECES
        self._model = model
        return model

    def _one_pass(self, texts: list[str], sentence_spans: SentenceSpans) -> PassageEmbeddings:
        """The model's forward pass (transformer, mean pooling, normalisation) gives the
        passage vectors; its token embeddings give the pooled sentence vectors."""
        import torch

        model = self._loaded()
        options = {"truncation": True, "max_length": MAX_WORDPIECES}
        lengths = [len(ids) for ids in model.tokenizer(texts, **options)["input_ids"]]

        def forward(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
            features = model.tokenizer([texts[i] for i in batch], padding=True,
                                       return_offsets_mapping=True, return_tensors="pt",
                                       **options)
            offsets = features.pop("offset_mapping").numpy()
            with torch.inference_mode():
                out = model(dict(features))
            mask = features["attention_mask"].numpy()
            return (out["token_embeddings"].numpy(), mask,
                    [offsets[row, : mask[row].sum()] for row in range(len(batch))])

        return embed_in_batches(forward, lengths, sentence_spans, BATCH_SIZE)

    def install_query_encoder(self, path: Path) -> None:
        """Export the ONNX query encoder to `path` (in the index) once."""
        export_once(path)
