"""How closely the ONNX query encoder matches sentence-transformers, on the dev questions.

Usage: .venv/bin/python bench/encoder_parity.py

Exports the query encoder to a temporary file, embeds every dev question with both
paths, and prints the lowest cosine between the two vectors (the test requires >= 0.999).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from qa.embed.onnx_export import export_query_encoder
from qa.embed.query_encoder import QueryEncoder
from qa.embed.reference_embedder import SentenceTransformerEmbedder
from qa.evaluation.questions import load_questions

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    questions = [q.question for q in load_questions(
        REPO.parent / "shared/eval/dev.jsonl")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "query_encoder.onnx"
        export_query_encoder(path)
        onnx = QueryEncoder(path).encode(questions)
    torch_vectors = SentenceTransformerEmbedder().encode(questions)
    cosines = np.sum(onnx * torch_vectors, axis=1)
    print(f"{len(questions)} dev questions: lowest cosine ONNX vs sentence-transformers"
          f" {cosines.min():.7f}, largest |1 - cos| {np.abs(1 - cosines).max():.2e}")


if __name__ == "__main__":
    main()
