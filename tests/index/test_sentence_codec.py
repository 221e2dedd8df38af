"""Sentence vectors as int8 codes with a scale: what marking reads back."""

from __future__ import annotations

import numpy as np

from qa.index import sentence_codec


def test_round_trip_keeps_cosines_to_a_thousandth() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = sentence_codec.encode(vectors)
    assert all(len(codes) == 384 for _, codes in rows)
    decoded = sentence_codec.decode(rows)
    assert decoded.dtype == np.float32 and decoded.shape == vectors.shape
    question = rng.normal(size=384).astype(np.float32)
    question /= np.linalg.norm(question)
    assert np.abs(decoded @ question - vectors @ question).max() < 1e-3
    # the largest coordinate of each vector is exact up to float rounding
    biggest = np.abs(vectors).argmax(axis=1)
    rows_ = np.arange(len(vectors))
    np.testing.assert_allclose(decoded[rows_, biggest], vectors[rows_, biggest], rtol=1e-6)


def test_zero_vector_and_empty_input() -> None:
    rows = sentence_codec.encode(np.zeros((1, 384), dtype=np.float32))
    assert rows[0][0] == 0.0
    assert not sentence_codec.decode(rows).any()
    assert sentence_codec.encode(np.zeros((0, 384), dtype=np.float32)) == []
    assert sentence_codec.decode([]).shape == (0, 0)


def test_the_store_gives_each_passage_its_sentences_vectors(fake_index_once) -> None:
    """Through a real (fake-model) index: every passage's sentences come back with
    their vectors, decoded to within int8 rounding of what the embedder gave."""
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
            assert np.abs(vectors - expected).max() <= 0.5 / 127
