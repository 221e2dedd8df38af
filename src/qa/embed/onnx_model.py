"""The ONNX transformer run by onnxruntime, with the model's own tokenizer.

Shared by the query encoder (one question at a time, latency) and the document
embedder (whole batches of passages, throughput): both tokenize, pad, run the graph
exported by `qa.embed.onnx_export` and read last_hidden_state. Only onnxruntime,
tokenizers, numpy and `qa.embed.model` are imported, so neither path loads torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

# onnxruntime (1.32) carries a telemetry client that writes a device id and an event
# store under ~/.cache/Microsoft and has an HTTP uploader. qa writes nothing outside
# corpus/ and index/ and tries no network: this must be set before the import (the
# `disable_telemetry_events()` call was measured to be too late to stop the writes).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from qa.embed.model import MAX_WORDPIECES, model_dir

CUDA = "CUDAExecutionProvider"  # in the onnxruntime-gpu package only


def providers_for(device: str) -> list[str]:
    """onnxruntime's execution providers for `device`: CUDA first on "cuda" when this
    onnxruntime has it (onnxruntime-gpu), else the CPU alone (the `onnxruntime` wheel
    qa installs has no CUDA provider)."""
    if device == "cuda" and CUDA in ort.get_available_providers():
        return [CUDA, "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class OnnxTransformer:
    """The exported MiniLM transformer: texts in, token embeddings out."""

    def __init__(self, onnx_model: Path | bytes, threads: int, device: str = "cpu") -> None:
        """Open the graph (a file, or its bytes as shipped to a Ray actor) with `threads`
        intra-op threads; inter-op is 1 and execution sequential: a BERT graph is one
        chain of ops, so a second pool only adds threads competing for the same cores,
        and makes timings less stable. `device` "cuda" runs it on the GPU where this
        onnxruntime can (`providers_for`)."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: keep `qa` output clean
        source = onnx_model if isinstance(onnx_model, bytes) else str(onnx_model)
        self._session = ort.InferenceSession(
            source, sess_options=options, providers=providers_for(device)
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self.provider = self._session.get_providers()[0]  # what actually runs the graph
        # A private tokenizer: the shared one in qa.embed.model must stay untruncated for
        # counting. Padding is done here, per batch, after the caller has grouped texts.
        tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_WORDPIECES)
        tokenizer.no_padding()
        self._tokenizer = tokenizer

    def tokenize(self, texts: list[str]) -> list[Encoding]:
        """Each text's wordpieces (with [CLS] and [SEP], cut at MAX_WORDPIECES), unpadded,
        with their character offsets."""
        return self._tokenizer.encode_batch(texts)

    def hidden_states(self, encodings: Sequence[Encoding]) -> tuple[np.ndarray, np.ndarray]:
        """(last_hidden_state (batch, tokens, dim), attention mask (batch, tokens)) for
        `encodings` padded with zeros to the longest of them."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        # Feed only what the graph kept: the exporter may prune an input it folded away.
        feeds = {name: value for name, value in feeds.items() if name in self._input_names}
        (hidden,) = self._session.run(None, feeds)
        return hidden, mask
