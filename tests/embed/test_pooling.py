"""Pooling sentences from their passage's tokens, and length-sorted batches (no model)."""

from __future__ import annotations

import numpy as np

from qa.embed.pooling import embed_in_batches, length_sorted_batches, span_vectors


def test_a_span_is_the_normalised_mean_of_the_tokens_it_overlaps() -> None:
    tokens = np.array([[9.0, 9.0], [1.0, 0.0], [3.0, 4.0], [0.0, 2.0], [9.0, 9.0]])
    # [CLS] "Ab" "cd" "ef" [SEP]: special tokens have empty offsets and never count
    offsets = np.array([[0, 0], [0, 2], [2, 4], [5, 7], [0, 0]])
    vectors = span_vectors(tokens, offsets, [(0, 4), (5, 7), (3, 6), (8, 9)])
    np.testing.assert_allclose(vectors[0], [4.0, 4.0] / np.hypot(4.0, 4.0), atol=1e-6)
    np.testing.assert_allclose(vectors[1], [0.0, 1.0], atol=1e-6)
    # a span cutting into tokens takes every token it touches
    np.testing.assert_allclose(vectors[2], [3.0, 6.0] / np.hypot(3.0, 6.0), atol=1e-6)
    # no token reaches it (past truncation): a zero vector, not NaN
    assert not vectors[3].any()


def test_no_spans_give_an_empty_matrix_of_the_right_width() -> None:
    assert span_vectors(np.ones((3, 5)), np.zeros((3, 2), dtype=int), []).shape == (0, 5)


def test_batches_are_longest_first_and_cover_every_text_once() -> None:
    lengths = [5, 40, 7, 40, 12, 3, 25]
    batches = length_sorted_batches(lengths, 3)
    assert [len(b) for b in batches] == [3, 3, 1]
    flat = [int(i) for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    assert flat[:2] == [1, 3]  # equal lengths keep their order


def test_embed_in_batches_returns_rows_in_input_order() -> None:
    """Each text's token embeddings here encode its own index, so any mix-up between
    the sorted batches and the input order shows."""
    lengths = [2, 6, 4]
    seen: list[list[int]] = []

    def forward(batch: np.ndarray):
        seen.append([int(i) for i in batch])
        width = max(lengths[i] for i in batch)
        hidden = np.zeros((len(batch), width, 3), dtype=np.float32)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        offsets = []
        for row, i in enumerate(batch):
            hidden[row, : lengths[i], i] = 1.0
            mask[row, : lengths[i]] = 1
            offsets.append(np.array([[2 * t, 2 * t + 1] for t in range(lengths[i])]))
        return hidden, mask, offsets

    spans = [[(0, 1)], [], [(0, 3), (4, 5)]]
    out = embed_in_batches(forward, lengths, spans, batch_size=2)
    assert seen == [[1, 2], [0]]
    np.testing.assert_allclose(out.passages, np.eye(3), atol=1e-6)
    np.testing.assert_allclose(out.sentences, [[1, 0, 0], [0, 0, 1], [0, 0, 1]], atol=1e-6)
