"""Where the corpus and the index live, and the knobs that shape them.

Precedence: command-line option, then environment (`QA_CORPUS`, `QA_INDEX`), then the
defaults `corpus/` and `index/` in the current directory. A plain dataclass rather than
pydantic-settings: it keeps the cold `qa ask` path free of a ~0.3 s import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """The corpus folder that holds documents and the index folder built from it."""

    corpus: Path
    index: Path

    @classmethod
    def resolve(cls, corpus: str | Path | None = None, index: str | Path | None = None) -> Paths:
        """Apply option > environment > default, and make both paths absolute."""
        corpus_dir = corpus or os.environ.get("QA_CORPUS") or "corpus"
        index_dir = index or os.environ.get("QA_INDEX") or "index"
        return cls(Path(corpus_dir).expanduser().resolve(), Path(index_dir).expanduser().resolve())


# Chunking: budget in tiktoken cl100k tokens, overlap carried as whole sentences.
CHUNK_MAX_TOKENS = 160
CHUNK_OVERLAP_TOKENS = 40
TOKEN_ENCODING = "cl100k_base"

# How long a second indexer waits for the first to finish (seconds). QA_LOCK_TIMEOUT.
LOCK_TIMEOUT = float(os.environ.get("QA_LOCK_TIMEOUT", "600"))

# Files bigger than this are skipped unread (bytes). Overridable with QA_MAX_FILE_BYTES.
MAX_FILE_BYTES = int(os.environ.get("QA_MAX_FILE_BYTES", str(20 * 1024 * 1024)))

# Prefix each passage with its document title when embedding (not when displaying).
EMBED_TITLE = True
