"""The embedding stack on the real model: ONNX must give sentence-transformers' vectors.

Retrieval silently degrades if query vectors and passage vectors drift apart, so the
ONNX query path is checked against sentence-transformers on every dev question and on
passages long enough to be truncated, and the ONNX indexing path (passages and the
sentences pooled from them) against the same pooling run on sentence-transformers'
token embeddings, over the corpus's real passages. The offline and no-torch guarantees
are checked in fresh subprocesses, because both are about what a new process imports
and tries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from qa import settings
from qa.corpus.walk import scan_corpus
from qa.embed.document_embedder import DocumentEmbedder
from qa.embed.model import DIMENSION, MAX_WORDPIECES, count_wordpieces, model_dir, set_offline_env
from qa.embed.onnx_export import export_query_encoder
from qa.embed.query_encoder import QueryEncoder
from qa.embed.reference_embedder import SentenceTransformerEmbedder
from qa.index.batches import embed_documents
from qa.index.preparation import fits_model
from qa.ingest.pipeline import prepare
from tests.conftest import CORPUS, DEV_QUESTIONS, run_qa

pytestmark = pytest.mark.e2e  # every test here loads the real model

OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
MIN_COSINE = 0.999

_SENTENCE = (
    "The ceasefire between Armenia and Azerbaijan, brokered after weeks of talks, "
    "left the question of the border commission and the transit routes unresolved. "
)
LONG_PASSAGES = [
    _SENTENCE * 12,
    " ".join(
        f"Article {n}: the parties shall refrain from the threat of force." for n in range(60)
    ),
    "Zangezur corridor négociations, Lachin, Nakhchivan; " * 40,
]


def _dev_questions() -> list[str]:
    with DEV_QUESTIONS.open(encoding="utf-8") as handle:
        return [json.loads(line)["question"] for line in handle if line.strip()]


@pytest.fixture(scope="session")
def onnx_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("onnx") / "query_encoder.onnx"
    export_query_encoder(path)
    return path


@pytest.fixture(scope="session")
def query_encoder(onnx_path: Path) -> QueryEncoder:
    return QueryEncoder(onnx_path)


@pytest.fixture(scope="session")
def document_embedder() -> SentenceTransformerEmbedder:
    """The reference: sentence-transformers on torch."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def onnx_embedder(onnx_path: Path) -> DocumentEmbedder:
    """What `qa index` embeds with: the index's ONNX export."""
    embedder = DocumentEmbedder()
    embedder.install_query_encoder(onnx_path)
    return embedder


def _assert_same_vectors(texts: list[str], qe: QueryEncoder | DocumentEmbedder,
                         de: SentenceTransformerEmbedder) -> None:
    ours, reference = qe.encode(texts), de.encode(texts)
    assert ours.shape == reference.shape == (len(texts), DIMENSION)
    assert ours.dtype == reference.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    _assert_close_rows(texts, ours, reference)


def _assert_close_rows(labels: list[str], ours: np.ndarray, reference: np.ndarray) -> None:
    cosines = (ours * reference).sum(axis=1)
    low = {label[:60]: float(c) for label, c in zip(labels, cosines, strict=True)
           if c < MIN_COSINE}
    assert not low, f"ONNX and sentence-transformers vectors disagree: {low}"


def test_dev_questions_match_document_embedder(
    query_encoder: QueryEncoder, document_embedder: SentenceTransformerEmbedder
) -> None:
    questions = _dev_questions()
    assert questions
    _assert_same_vectors(questions, query_encoder, document_embedder)
    # One at a time too: that is how `qa ask` calls it (no padding in the batch).
    for question in questions:
        _assert_same_vectors([question], query_encoder, document_embedder)


def test_long_passages_truncate_alike(
    query_encoder: QueryEncoder, document_embedder: SentenceTransformerEmbedder
) -> None:
    assert all(count_wordpieces(p) > MAX_WORDPIECES for p in LONG_PASSAGES)
    _assert_same_vectors(LONG_PASSAGES, query_encoder, document_embedder)
    # Both must cut at MAX_WORDPIECES: text past the limit cannot change either vector.
    extended = [p + " An entirely different closing remark about football." for p in LONG_PASSAGES]
    np.testing.assert_allclose(
        query_encoder.encode(extended), query_encoder.encode(LONG_PASSAGES), atol=1e-6
    )
    np.testing.assert_allclose(
        document_embedder.encode(extended), document_embedder.encode(LONG_PASSAGES), atol=1e-6
    )


def test_reference_passage_vectors_are_sentence_transformers_encode(
    document_embedder: SentenceTransformerEmbedder
) -> None:
    """The reference pools sentence-transformers' token embeddings itself (to pool the
    sentences from the same pass); its passage vectors must be the library's own."""
    texts = [*_dev_questions(), *LONG_PASSAGES]
    library = document_embedder._loaded().encode(texts, normalize_embeddings=True)
    _assert_close_rows(texts, document_embedder.encode(texts), library)


@pytest.mark.parametrize("source", ["separate", "pooled"])
def test_onnx_indexing_matches_reference_on_corpus_passages_and_sentences(
    source: str, onnx_embedder: DocumentEmbedder,
    document_embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The corpus's real passages and sentences, batched as `qa index` batches them:
    every passage and every sentence vector (from a separate pass, or pooled from the
    passage's) agrees with the reference."""
    monkeypatch.setattr(settings, "SENTENCE_VECTORS", source)
    files = scan_corpus(CORPUS)
    prepared = [prepare(f, f.path.read_bytes(), fits_model) for f in files]
    ours = embed_documents(onnx_embedder, prepared)
    reference = embed_documents(document_embedder, prepared)
    for mine, theirs in zip(ours, reference, strict=True):
        assert mine.sentences == theirs.sentences and mine.sentences
        labels = [c.text for c in mine.prepared.chunks]
        _assert_close_rows(labels, mine.chunk_vectors, theirs.chunk_vectors)
        text = mine.prepared.doc.text
        _assert_close_rows([text[s:e] for s, e in mine.sentences], mine.sentence_vectors,
                           theirs.sentence_vectors)
        np.testing.assert_allclose(np.linalg.norm(mine.sentence_vectors, axis=1), 1.0,
                                   atol=1e-5)


def test_pooled_sentences_differ_from_separate_ones(onnx_embedder: DocumentEmbedder,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The setting takes effect: a sentence pooled in its passage's context is not the
    sentence embedded alone, and the separate pass is the sentence embedded alone."""
    text, spans = f"Talks\n\n{_SENTENCE}{_SENTENCE}", [[(7, 7 + len(_SENTENCE) - 1)]]
    alone = onnx_embedder.encode([_SENTENCE.strip()])
    monkeypatch.setattr(settings, "SENTENCE_VECTORS", "separate")
    np.testing.assert_allclose(onnx_embedder.embed([text], spans).sentences, alone, atol=1e-5)
    monkeypatch.setattr(settings, "SENTENCE_VECTORS", "pooled")
    pooled = onnx_embedder.embed([text], spans).sentences
    assert 0.5 < float(pooled[0] @ alone[0]) < 0.999


def test_onnx_indexing_truncates_like_reference(
    onnx_embedder: DocumentEmbedder, document_embedder: SentenceTransformerEmbedder
) -> None:
    _assert_same_vectors(LONG_PASSAGES, onnx_embedder, document_embedder)


def test_model_shipped_as_bytes_embeds_as_the_file(onnx_path: Path,
                                                   onnx_embedder: DocumentEmbedder) -> None:
    """A Ray actor that cannot see the index's ONNX file gets its bytes, runs one
    thread, and may be told "cuda" where onnxruntime has no CUDA provider (this
    machine): its passage and sentence vectors must still be the local writer's."""
    shipped = DocumentEmbedder(threads=1, model=onnx_path.read_bytes(), device="cuda")
    texts = [*LONG_PASSAGES, "A short passage. Two sentences."]
    spans = [[(0, 40), (40, 120)], [(0, 70)], [(10, 60)], [(0, 16), (17, 31)]]
    got, want = shipped.embed(texts, spans), onnx_embedder.embed(texts, spans)
    np.testing.assert_allclose(got.passages, want.passages, atol=1e-5)
    np.testing.assert_allclose(got.sentences, want.sentences, atol=1e-5)


def test_empty_input_gives_empty_matrix(
    query_encoder: QueryEncoder, document_embedder: SentenceTransformerEmbedder,
    onnx_embedder: DocumentEmbedder,
) -> None:
    for vectors in (query_encoder.encode([]), document_embedder.encode([]),
                    onnx_embedder.encode([]), onnx_embedder.embed([], []).sentences):
        assert vectors.shape == (0, DIMENSION)
        assert vectors.dtype == np.float32


def test_count_wordpieces_matches_sentence_transformers_tokenizer() -> None:
    set_offline_env()
    from sentence_transformers import SentenceTransformer

    tokenizer = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True).tokenizer
    samples = [
        "",
        "why did Baku reject mediators?",
        "Naïve café owners in Stepanakert/Khankendi — 2023's “exodus”.",
        "unbelievably antidisestablishmentarian hyperparameterisation",
        *_dev_questions()[:3],
        *LONG_PASSAGES,
    ]
    for text in samples:
        assert count_wordpieces(text) == len(tokenizer(text)["input_ids"]), text[:60]


_BLOCK_NETWORK = """
import os, socket, sys
for name in {offline_vars!r}:
    os.environ.pop(name, None)
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args)[:200])
    raise OSError("network access attempted in an offline test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""

_CHECK_NO_ATTEMPTS = """
if attempts:
    sys.exit("network was tried (and the failure swallowed): " + "; ".join(attempts))
"""


def _run_offline(body: str, tmp_path: Path) -> None:
    """Run `body` in a fresh interpreter with sockets refused and the offline vars unset.

    An empty HF_HOME means no cached hub files can stand in for the bundled model. Any
    attempt fails the run even if the library caught the error and carried on.
    """
    script = (
        _BLOCK_NETWORK.format(offline_vars=OFFLINE_VARS)
        + textwrap.dedent(body)
        + _CHECK_NO_ATTEMPTS
    )
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARS}
    env["HF_HOME"] = str(tmp_path / "hf_home")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]


def test_reference_embedder_and_onnx_export_never_try_network(tmp_path: Path) -> None:
    """Both load the bundled model by path; the export is what a new index runs first."""
    exported = tmp_path / "encoder.onnx"
    body = f"""
    from pathlib import Path
    from qa.embed.onnx_export import export_query_encoder
    from qa.embed.reference_embedder import SentenceTransformerEmbedder
    vectors = SentenceTransformerEmbedder().encode(["a passage about the border commission"])
    assert vectors.shape == (1, 384), vectors.shape
    export_query_encoder(Path({str(exported)!r}))
    """
    _run_offline(body, tmp_path)
    assert exported.stat().st_size > 80_000_000


def test_document_embedder_never_tries_network_nor_imports_torch(onnx_path: Path,
                                                                 tmp_path: Path) -> None:
    """With the index's ONNX file in place (every `qa add`), indexing loads no torch."""
    body = f"""
    from pathlib import Path
    from qa.embed.document_embedder import DocumentEmbedder
    embedder = DocumentEmbedder()
    embedder.install_query_encoder(Path({str(onnx_path)!r}))
    out = embedder.embed(["Title\\n\\nA passage. About the border."], [[(7, 17), (18, 35)]])
    assert out.passages.shape == (1, 384) and out.sentences.shape == (2, 384)
    heavy = {{'torch', 'transformers', 'sentence_transformers'}} & set(sys.modules)
    assert not heavy, heavy
    """
    _run_offline(body, tmp_path)


def test_query_encoder_never_tries_network(onnx_path: Path, tmp_path: Path) -> None:
    body = f"""
    from pathlib import Path
    from qa.embed.query_encoder import QueryEncoder
    vectors = QueryEncoder(Path({str(onnx_path)!r})).encode(["why did Baku reject mediators?"])
    assert vectors.shape == (1, 384), vectors.shape
    """
    _run_offline(body, tmp_path)


@pytest.mark.parametrize("module", ["qa.embed.query_encoder", "qa.embed.document_embedder"])
def test_light_modules_do_not_import_torch(module: str) -> None:
    script = (
        f"import sys, {module}\n"
        "heavy = {'torch', 'transformers', 'sentence_transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]


def test_qa_add_to_an_index_imports_no_torch(index_copy, tmp_path: Path) -> None:
    """`qa add` embeds with the index's ONNX file: no torch, transformers or
    sentence-transformers in the process, and the new document answers."""
    note = tmp_path / "gazakh-note.md"
    note.write_text("---\ntitle: A note from Gazakh\n---\n\nThe border commission met in"
                    " Gazakh on Tuesday to mark the first kilometres of the frontier.\n",
                    encoding="utf-8")
    script = textwrap.dedent(f"""
        import sys
        from qa.cli import main
        sys.argv = ["qa", "add", "--quiet", {str(note)!r}]
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
        heavy = {{"torch", "transformers", "sentence_transformers"}} & set(sys.modules)
        assert not heavy, heavy
    """)
    env = {**os.environ, "QA_CORPUS": str(index_copy.corpus), "QA_INDEX": str(index_copy.index)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    ran = run_qa(index_copy, "ask", "--json", "-k", "1",
                 "when did the border commission meet in Gazakh?")
    assert json.loads(ran.stdout)["results"][0]["doc"] == note.name
