"""Embed questions with onnxruntime: the index's vectors, without importing torch.

`qa ask` is a short-lived process, so start-up dominates: torch plus sentence-transformers
take seconds to import, onnxruntime a fraction of that. This module reproduces exactly
what sentence-transformers does for all-MiniLM-L6-v2 (same tokenizer.json, truncation at
MAX_WORDPIECES, mean pooling over the attention mask, L2 normalisation) on top of the
ONNX transformer from `qa.embed.onnx_export`, so its vectors match the indexed ones.

Only onnxruntime, tokenizers, numpy and `qa.embed` modules that import nothing heavier
may be imported here; a test checks that torch stays out of sys.modules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.embed.model import DIMENSION
from qa.embed.onnx_model import OnnxTransformer
from qa.embed.pooling import mean_pool_normalise

# One thread: on an idle 2-core machine two threads embed one question faster (~3.3 ms
# against ~5.2 ms), but this machine is shared, and when the other core is busy two
# threads wait on each other: `bench/query_stages.py` side by side at load 11 gave a
# median 34 ms with one thread against 42 ms with two, and a lower p95.
DEFAULT_THREADS = 1


class QueryEncoder:
    """Turns questions into unit-length float32 vectors comparable with the index."""

    def __init__(self, onnx_path: Path, threads: int = DEFAULT_THREADS) -> None:
        """Open the ONNX transformer; `threads` is onnxruntime's intra-op pool
        (DEFAULT_THREADS: see above)."""
        self._model = OnnxTransformer(onnx_path, threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed `texts` as an (n, DIMENSION) float32 array of L2-normalised rows."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        hidden, mask = self._model.hidden_states(self._model.tokenize(texts))
        return mean_pool_normalise(hidden, mask)
