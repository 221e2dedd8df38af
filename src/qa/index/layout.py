"""Every file name inside an index folder, in one place.

Readers and the writer both name these files; keeping the names here (and not in the
writer) means `qa ask` can find the store without importing the writer's machinery.
"""

from __future__ import annotations

from pathlib import Path

STORE_FILE = "qa.sqlite"  # SQLite: documents, passages, sentences, FTS5, meta
VECTORS_FILE = "vectors.faiss"  # FAISS copy of the passage vectors the store keeps
MANIFEST_FILE = "manifest.json"  # what the index was built with
QUERY_ENCODER_FILE = "query_encoder.onnx"  # the model, exported for torch-free queries
LOCK_FILE = ".lock"  # held by the one writer
HISTORY_FILE = "tui-history.jsonl"  # the TUI's earlier questions
REBUILD_SUFFIX = ".rebuild"  # a store or FAISS file being rebuilt beside the live one


def store_path(index_dir: Path) -> Path:
    return index_dir / STORE_FILE


def index_exists(index_dir: Path) -> bool:
    return store_path(index_dir).exists()
