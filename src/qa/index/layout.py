"""Every name inside an index folder, in one place, and which generation is live.

An index folder holds generations: complete indexes, each in its own `gen-N/` folder
with its store, vector segments, lexical index and manifest. `CURRENT` names the live
one and is replaced in one atomic step when a rebuild finishes, so a reader sees the old
generation or the new one, never a mix (SQLite forbids renaming a database over a live
one). `BUILDING` names a generation being built, so a killed build resumes instead of
starting again. Query encoders are shared by generations, keyed by the model's
fingerprint.

Readers and the writer both name these files; keeping the names here (and not in the
writer) means `qa ask` can find the store without importing the writer's machinery.
"""

from __future__ import annotations

import re
from pathlib import Path

# In the index folder
CURRENT_FILE = "CURRENT"  # the live generation's folder name
BUILDING_FILE = "BUILDING"  # a generation being built (resumable)
ENCODERS_DIR = "encoders"  # <fingerprint>.onnx: the model exported for torch-free queries
LOCK_FILE = ".lock"  # held by the one writer
HISTORY_FILE = "tui-history.jsonl"  # the TUI's earlier questions
# In a generation folder
STORE_FILE = "qa.sqlite"  # SQLite: documents, passages, sentences, meta (the commit point)
VECTORS_DIR = "vectors"  # FAISS segment files, named by the store (`qa.index.vectors`)
LEXICAL_DIR = "lexical"  # tantivy: BM25 over the passages
MANIFEST_FILE = "manifest.json"  # what the generation was built with
READERS_FILE = ".readers"  # readers hold a shared lock on it while they use the generation
# The first format kept one index at the top of the folder; a rebuild removes these.
LEGACY_FILES = (STORE_FILE, f"{STORE_FILE}-wal", f"{STORE_FILE}-shm", "vectors.faiss",
                MANIFEST_FILE, "query_encoder.onnx")

_GENERATION = re.compile(r"gen-(\d{6})")


def generation_name(number: int) -> str:
    return f"gen-{number:06d}"


def generation_number(folder: Path) -> int | None:
    match = _GENERATION.fullmatch(folder.name)
    return int(match.group(1)) if match else None


def current_generation(index_dir: Path) -> Path | None:
    """The live generation's folder, or None when the index has none yet."""
    return generation_named_in(index_dir / CURRENT_FILE)


def generation_named_in(pointer: Path) -> Path | None:
    """The generation folder a pointer file (CURRENT, BUILDING) names, if it exists."""
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    folder = pointer.parent / name
    return folder if _GENERATION.fullmatch(name) and folder.is_dir() else None


def index_exists(index_dir: Path) -> bool:
    return current_generation(index_dir) is not None


def is_legacy(index_dir: Path) -> bool:
    """An index of the first format: one store at the top of the folder, no generations."""
    return (index_dir / STORE_FILE).exists() and not (index_dir / CURRENT_FILE).exists()


def store_path(generation: Path) -> Path:
    return generation / STORE_FILE


def encoder_path(index_dir: Path, fingerprint: str) -> Path:
    return index_dir / ENCODERS_DIR / f"{fingerprint}.onnx"
