"""Sentence vectors as 4-bit codes with a scale (and int8, as older indexes hold them):
what marking reads back."""

from __future__ import annotations

import numpy as np
import pytest

from qa.index import sentence_codec


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.normal(size=(n, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize(("bits", "width", "cosine_error"), [(4, 192, 0.03), (8, 384, 1e-3)])
def test_round_trip_keeps_cosines(bits: int, width: int, cosine_error: float) -> None:
    rng = np.random.default_rng(0)
    vectors = _unit(rng, 200)
    rows = sentence_codec.encode(vectors, bits=bits)
    assert all(len(codes) == width for _, codes in rows)
    decoded = sentence_codec.decode(rows)
    assert decoded.dtype == np.float32 and decoded.shape == vectors.shape
    question = _unit(rng, 1)[0]
    assert np.abs(decoded @ question - vectors @ question).max() < cosine_error
    # the largest coordinate of each vector is exact up to float rounding
    biggest = np.abs(vectors).argmax(axis=1)
    rows_ = np.arange(len(vectors))
    np.testing.assert_allclose(decoded[rows_, biggest], vectors[rows_, biggest], rtol=1e-6)


def test_4_bit_is_the_default_and_both_widths_decode_together() -> None:
    """An index written with int8 codes and added to since holds both widths."""
    vectors = _unit(np.random.default_rng(1), 6)
    rows = sentence_codec.encode(vectors[:3], bits=8) + sentence_codec.encode(vectors[3:])
    assert [len(c) for _, c in rows] == [384] * 3 + [192] * 3
    decoded = sentence_codec.decode(rows)
    np.testing.assert_allclose(decoded[:3], sentence_codec.decode(rows[:3]))
    np.testing.assert_allclose(decoded[3:], sentence_codec.decode(rows[3:]))
    assert np.min(np.sum(decoded * vectors, axis=1)) > 0.97


def test_zero_vector_and_empty_input() -> None:
    rows = sentence_codec.encode(np.zeros((1, 384), dtype=np.float32))
    assert rows[0][0] == 0.0
    assert not sentence_codec.decode(rows).any()
    assert sentence_codec.encode(np.zeros((0, 384), dtype=np.float32)) == []
    assert sentence_codec.decode([]).shape == (0, 384)


def test_the_store_gives_each_passage_its_sentences_vectors(fake_index_once) -> None:
    """Through a real (fake-model) index: every passage's sentences come back with
    their vectors, decoded to within 4-bit rounding of what the embedder gave."""
    from qa.index.generations import live_store
    from tests.conftest import FakeEmbedder

    embedder = FakeEmbedder()
    with live_store(fake_index_once.index) as store:
        passages = store.passages(store.chunk_ids().tolist())
        assert store.count("sentences") > len(passages)
        for p in passages.values():
            spans, vectors = store.sentences_within(p.doc_id, p.start, p.end)
            assert spans and vectors.shape == (len(spans), 384)
            text = store.document_text(p.doc_id)
            expected = embedder.encode([text[s:e] for s, e in spans])
            assert np.abs(vectors - expected).max() <= 0.51 / 7 * np.abs(expected).max()
