"""One corpus file to what the index stores: its document, passages and sentences.

Nothing is embedded or written here. The writer prepares every new or changed file
first, so a bad file is named and skipped before any commit, then embeds in batches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from qa import settings
from qa.corpus.walk import CorpusFile
from qa.ingest.chunking import Chunk, ChunkerSettings, chunk_text
from qa.ingest.document import Document, UnreadableDocument
from qa.ingest.loaders.registry import load_document
from qa.ingest.sentences import sentence_spans
from qa.ingest.tokens import count_tokens


@dataclass(frozen=True)
class PreparedDocument:
    """A document loaded and chunked, waiting to be embedded and stored."""

    file: CorpusFile
    sha256: str
    doc: Document
    chunks: list[Chunk]
    sections: list[int | None]  # each chunk's section number (PDF page, EPUB chapter)
    sentences: list[tuple[int, int]]

    @property
    def embedding_texts(self) -> list[str]:
        return [embedding_text(self.doc.title, c.text) for c in self.chunks]

    def passage_sentences(self) -> list[list[tuple[int, int]]]:
        """Each passage's sentences, embedded with it (and, with pooled sentence vectors,
        from its forward pass): every sentence lying whole in a passage, given to the
        first passage that holds it (passages overlap by whole sentences). A sentence
        cut by the chunker (longer than a passage) lies in no passage, and marking could
        never choose it, so it gets no vector."""
        out: list[list[tuple[int, int]]] = [[] for _ in self.chunks]
        first = 0
        for start, end in self.sentences:
            while first < len(self.chunks) and self.chunks[first].end < end:
                first += 1
            if first < len(self.chunks) and self.chunks[first].start <= start:
                out[first].append((start, end))
        return out


def chunker_settings() -> ChunkerSettings:
    return ChunkerSettings(
        settings.CHUNK_MAX_TOKENS, settings.CHUNK_OVERLAP_TOKENS, settings.TOKEN_ENCODING,
        settings.CHUNK_PARAGRAPHS,
    )


def embedding_text(title: str, passage: str) -> str:
    """What the model sees for a passage: the title gives it the document's topic."""
    return embedding_prefix(title) + passage


def embedding_prefix(title: str) -> str:
    """What precedes the passage in its embedding text (character offsets of the
    passage's sentences in that text are shifted by its length)."""
    return f"{title}\n\n" if settings.EMBED_TITLE else ""


def read_file(f: CorpusFile) -> bytes:
    """The file's bytes, or UnreadableDocument: too big (judged on the stat, so the file
    is never read), vanished, or unreadable."""
    check_size(f)
    try:
        return f.path.read_bytes()
    except FileNotFoundError:
        raise UnreadableDocument(f.rel, "vanished while indexing") from None
    except OSError as exc:
        raise UnreadableDocument(f.rel, f"cannot be read ({exc.strerror})") from None


def check_size(f: CorpusFile) -> None:
    """UnreadableDocument if the file's stat says it is over QA_MAX_FILE_BYTES: judged
    where the setting was given (a Ray driver), before the file is read anywhere."""
    limit = settings.max_file_bytes()
    if f.size > limit:
        raise UnreadableDocument(
            f.rel, f"{f.size:,} bytes, over the size limit of {limit:,} (QA_MAX_FILE_BYTES)"
        )


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prepare(f: CorpusFile, data: bytes, fits_model: Callable[[str], bool]) -> PreparedDocument:
    """Load and chunk `data` read from `f`; `fits_model(text)` says whether the model sees
    a passage (with its title prefix) whole. Raises UnreadableDocument."""
    doc = load_document(f.rel, data)
    chunks = chunk_text(
        doc.text, chunker_settings(), count_tokens,
        lambda s: fits_model(embedding_text(doc.title, s)),
        breaks=[section.start for section in doc.sections[1:]],
    )
    return PreparedDocument(
        f, content_hash(data), doc, chunks, [_section_of(doc, c.start) for c in chunks],
        [(s.start, s.end) for s in sentence_spans(doc.text)],
    )


def _section_of(doc: Document, offset: int) -> int | None:
    for number, section in enumerate(doc.sections, 1):
        if section.start <= offset < section.end:
            return number
    return None
