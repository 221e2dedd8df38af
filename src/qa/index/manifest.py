"""The index manifest: what an index was built with, so a mismatch is caught, not guessed.

`manifest.json` records the model (name, dimension, input limit), the chunker settings
and the schema version. Opening an index compares it with what this program would build
and names the first difference, with the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa import atomic, settings
from qa.embed import model
from qa.errors import IndexIncompatible, QaError
from qa.index import copies, store
from qa.index.layout import MANIFEST_FILE


def expected_manifest() -> dict[str, Any]:
    """The manifest this build of qa writes, and requires of an index it reads."""
    return {
        "schema_version": store.SCHEMA_VERSION,
        "model": {
            "name": model.MODEL_NAME,
            "dimension": model.DIMENSION,
            "max_wordpieces": model.MAX_WORDPIECES,
            "fingerprint": model.fingerprint(),
            "sentence_vectors": settings.SENTENCE_VECTORS,
        },
        "chunker": {
            "encoding": settings.TOKEN_ENCODING,
            "max_tokens": settings.CHUNK_MAX_TOKENS,
            "overlap_tokens": settings.CHUNK_OVERLAP_TOKENS,
            "paragraphs": settings.CHUNK_PARAGRAPHS,
            "embed_title": settings.EMBED_TITLE,
        },
        "copies": {
            "num_perm": copies.NUM_PERM,
            "shingle_words": copies.SHINGLE_WORDS,
            "threshold": copies.COPY_THRESHOLD,
            "lsh_weights": list(copies.LSH_WEIGHTS),
        },
    }


def write_manifest(generation: Path) -> None:
    atomic.write_text(generation / MANIFEST_FILE, json.dumps(expected_manifest(), indent=2) + "\n")


def check_manifest(generation: Path) -> None:
    """Raise with a one-line explanation if the generation was built with other settings."""
    path = generation / MANIFEST_FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QaError(f"{path}: missing; run `qa index --rebuild`") from None
    except (OSError, ValueError) as exc:
        raise QaError(f"{path}: unreadable ({exc}); run `qa index --rebuild`") from None
    difference = _first_difference(expected_manifest(), found)
    if difference:
        raise IndexIncompatible(
            f"{generation.parent}: index built with {difference}; run `qa index --rebuild`"
        )


def _first_difference(expected: Any, found: Any, where: str = "") -> str | None:
    if isinstance(expected, dict) and isinstance(found, dict):
        for key, value in expected.items():
            diff = _first_difference(value, found.get(key), f"{where}.{key}" if where else key)
            if diff:
                return diff
        return None
    if expected != found:
        return f"{where} = {found!r}, this qa uses {expected!r}"
    return None
