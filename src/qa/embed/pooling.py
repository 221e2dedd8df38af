"""Pooling token embeddings into unit vectors: whole texts, and spans inside them.

all-MiniLM-L6-v2 is a transformer followed by mean pooling and L2 normalisation. A
passage's vector is the mean of all its tokens (as sentence-transformers computes it);
a sentence's vector is the mean of the tokens inside the sentence's character span, read
from the same forward pass. That gives every sentence a vector for the price of its
passage, instead of a second pass over every sentence on its own. Pure numpy, so both
the ONNX path and the torch reference use the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


def mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) then Normalize, with its clamps, over a
    padded batch: `hidden` (batch, tokens, dim), `mask` (batch, tokens)."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    return normalise(summed / np.maximum(weights.sum(axis=1), 1e-9))


def span_vectors(tokens: np.ndarray, offsets: np.ndarray,
                 spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """The normalised mean of the token embeddings that overlap each character span.

    `tokens` (n, dim) and `offsets` (n, 2) describe one text's tokens, with their
    [start, end) character offsets in it; special and padding tokens have empty offsets
    and never count. A span that no token reaches (text the tokenizer drops, or past
    truncation) gets a zero vector, which is as close to every question as nothing is.
    """
    if not spans:
        return np.zeros((0, tokens.shape[1]), dtype=np.float32)
    starts, ends = offsets[:, 0], offsets[:, 1]
    bounds = np.asarray(spans, dtype=np.int64)
    inside = ((starts[None, :] < bounds[:, 1:2]) & (ends[None, :] > bounds[:, 0:1])
              & (ends > starts)[None, :]).astype(np.float32)
    summed = inside @ tokens.astype(np.float32)
    return normalise(summed / np.maximum(inside.sum(axis=1, keepdims=True), 1e-9))


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def length_sorted_batches(lengths: Sequence[int], size: int) -> list[np.ndarray]:
    """Indices of texts in batches of `size`, longest first, so that each batch pads
    to a length close to all of its members' (a stable sort: equal lengths keep their
    order)."""
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[i : i + size] for i in range(0, len(order), size)]


@dataclass(frozen=True)
class PassageEmbeddings:
    """What one embedding pass over passages gives: a vector per passage, and a vector
    per sentence span (all passages' spans, in order)."""

    passages: np.ndarray  # (passages, dim) float32, unit rows
    sentences: np.ndarray  # (spans, dim) float32, unit rows (zero for an empty span)


# One forward pass over the texts at these indices: (hidden states (batch, tokens, dim),
# attention mask (batch, tokens), each row's token character offsets (tokens, 2)).
ForwardPass = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, list[np.ndarray]]]


def embed_in_batches(forward: ForwardPass, lengths: Sequence[int],
                     spans: Sequence[Sequence[tuple[int, int]]], batch_size: int,
                     ) -> PassageEmbeddings:
    """Run `forward` over length-sorted batches of the texts (`lengths` in tokens, at
    least one text) and pool each passage and each of its `spans` from that one pass."""
    passages: list[np.ndarray | None] = [None] * len(lengths)
    sentences: list[np.ndarray | None] = [None] * len(lengths)
    for batch in length_sorted_batches(lengths, batch_size):
        hidden, mask, offsets = forward(batch)
        pooled = mean_pool_normalise(hidden, mask)
        for row, i in enumerate(batch):
            passages[i] = pooled[row]
            tokens = hidden[row, : len(offsets[row])]
            sentences[i] = span_vectors(tokens, offsets[row], spans[i])
    return PassageEmbeddings(np.stack(passages).astype(np.float32),
                             np.concatenate(sentences).astype(np.float32))
