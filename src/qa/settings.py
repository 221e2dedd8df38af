"""Where the corpus and the index live, and the knobs that shape them.

Precedence: command-line option, then environment (`QA_CORPUS`, `QA_INDEX`), then the
defaults `corpus/` and `index/` in the current directory. A plain dataclass rather than
pydantic-settings: it keeps the cold `qa ask` path free of a ~0.3 s import.

Numbers from the environment (`QA_LOCK_TIMEOUT`, `QA_MAX_FILE_BYTES`) are read when they
are used, not at import, and a bad value is a `QaError` naming the variable: a typo in
one setting must not break every command, `--help` included.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QaError


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
# How passages meet blank-line paragraph breaks (qa.ingest.chunking.PARAGRAPH_MODES).
# bench/chunking.py (docs/chunking-run.txt): "aligned" raised squad-dev's hybrid MRR@10
# from 0.867 to 0.886 and lowered dev's from 0.923 to 0.846 (Hit@3 12 to 11 of 13);
# "packed" 0.879 and 0.872; SciFact's passages are the same in every mode (no abstract
# has a paragraph break). Neither wins overall, so passages still straddle. Recorded in
# the manifest: an index built with another value (or before the setting existed) is
# reported stale, with `qa index --rebuild` as the fix.
CHUNK_PARAGRAPHS = "straddle"

# Expand the lexical side's query with the acronyms the corpus defines ("confidence-
# building measures (CBMs)"): a short form brings its long form, and the other way round
# (`qa.index.acronyms`; the table is built either way). bench/acronyms.py
# (docs/acronyms-run.txt): no dev or squad-dev figure moves; on SciFact the hybrid gains
# a little (train nDCG@10 0.7356 to 0.7388, test 0.7275 to 0.7299) and BM25 alone loses
# (train 0.6793 to 0.6738, test 0.6683 to 0.6607), so it stays off.
ACRONYM_EXPANSION = False

# Prefix each passage with its document title when embedding (not when displaying).
EMBED_TITLE = True

# Where answer marking's sentence vectors come from: "pooled", the mean of the sentence's
# token embeddings in its passage's forward pass, or "separate", a forward pass over each
# sentence's own text (about twice the embedding work of indexing). With the marking
# model refitted on pooled vectors they mark as well (bench/refit.py, docs/sentence-vectors.md),
# at about half the indexing time (bench/indexing.py). Recorded in the manifest: another
# value needs a rebuild.
SENTENCE_VECTORS = "pooled"


def lock_timeout() -> float:
    """Seconds a second indexer waits for the first (QA_LOCK_TIMEOUT, default 600)."""
    return _number("QA_LOCK_TIMEOUT", 600.0, float)


def max_file_bytes() -> int:
    """Files bigger than this are skipped unread (QA_MAX_FILE_BYTES, default 20 MB)."""
    return int(_number("QA_MAX_FILE_BYTES", 20 * 1024 * 1024, int))


def _number(name: str, default: float, kind: type[int] | type[float]) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < 0:
        what = "a whole number" if kind is int else "a number"
        raise QaError(f"{name}={raw!r}: not valid; set it to {what} >= 0, or unset it")
    return value
