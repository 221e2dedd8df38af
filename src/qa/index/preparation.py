"""One file that needs work, turned into what the writer embeds: the step that runs
wherever the file is read, in the writer's own process or on a Ray worker.

Kept apart from the writer so that a Ray worker imports only this, the ingest package
and the model's facts, never the store or FAISS.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.corpus.walk import CorpusFile
from qa.embed import model
from qa.ingest.pipeline import PreparedDocument, content_hash, prepare


@dataclass(frozen=True)
class FileWork:
    """A file whose stat differs from the index's (or that is new): `stored_sha256` is
    the indexed version's content hash, None for a new file."""

    file: CorpusFile
    stored_sha256: str | None


def prepare_work(work: FileWork, data: bytes) -> PreparedDocument | None:
    """Load and chunk `data`, or None when it is the content already indexed (only the
    stat moved). Raises UnreadableDocument."""
    if work.stored_sha256 == content_hash(data):
        return None
    return prepare(work.file, data, fits_model)


def fits_model(text: str) -> bool:
    """Whether the model sees `text` whole (the chunker's limit)."""
    return model.count_wordpieces(text) <= model.MAX_WORDPIECES
