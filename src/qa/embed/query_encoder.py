"""Embed questions with onnxruntime: the index's vectors, without importing torch.

`qa ask` is a short-lived process, so start-up dominates: torch plus sentence-transformers
take seconds to import, onnxruntime a fraction of that. This module reproduces exactly
what sentence-transformers does for all-MiniLM-L6-v2 (same tokenizer.json, truncation at
MAX_WORDPIECES, mean pooling over the attention mask, L2 normalisation) on top of the
ONNX transformer from `qa.embed.onnx_export`, so its vectors match `DocumentEmbedder`'s.

Only onnxruntime, tokenizers, numpy and `qa.embed.model` may be imported here; a test checks
that torch stays out of sys.modules.
"""

from __future__ import annotations

import os
from pathlib import Path

# onnxruntime (1.32) carries a telemetry client that writes a device id and an event
# store under ~/.cache/Microsoft and has an HTTP uploader. qa writes nothing outside
# corpus/ and index/ and tries no network: this must be set before the import (the
# `disable_telemetry_events()` call was measured to be too late to stop the writes).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from qa.embed.model import DIMENSION, MAX_WORDPIECES, model_dir

# Measured on the 2-core target, warm single-question latency over 100 questions:
# 1 thread median ~5.2 ms / p90 ~5.7 ms, 2 threads median ~3.3 ms / p90 ~3.6 ms
# (with the max also lower). Session creation (~0.2 s) dominates a cold `qa ask` anyway.
DEFAULT_THREADS = 2


class QueryEncoder:
    """Turns questions into unit-length float32 vectors comparable with the index."""

    def __init__(self, onnx_path: Path, threads: int = DEFAULT_THREADS) -> None:
        """Open the ONNX transformer and the model's tokenizer.

        `threads` is onnxruntime's intra-op pool. DEFAULT_THREADS (2) measured fastest
        for one question on the 2-core target (see the constant). Inter-op is 1 and
        execution sequential: a BERT graph is one chain of ops, so a second pool only
        adds threads competing for the same two cores, and makes latency less stable.
        """
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: keep `qa ask` output clean
        self._session = ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        # A private tokenizer: the shared one in qa.embed.model must stay unpadded for counting.
        tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_WORDPIECES)
        tokenizer.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")  # to longest
        self._tokenizer = tokenizer

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed `texts` as an (n, DIMENSION) float32 array of L2-normalised rows."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": mask,
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        # Feed only what the graph kept: the exporter may prune an input it folded away.
        feeds = {name: value for name, value in feeds.items() if name in self._input_names}
        (hidden,) = self._session.run(None, feeds)
        return _mean_pool_normalise(hidden, mask)


def _mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) then Normalize, with its clamps."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.ascontiguousarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)
