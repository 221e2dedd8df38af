"""What the MCP server's tools do, apart from the protocol: search, read and sources.

Kept free of the MCP SDK so each tool is a plain method returning JSON-ready data, and
a refusal is a `QaError` with a message for the assistant (the server turns it into a
tool error). Everything here reads: no tool updates the index, even when the corpus
has changed. A stale index is said so in the result instead, since an assistant's
question must not start a re-embedding that takes minutes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from qa.errors import QaError
from qa.index.records import Passage
from qa.index.staleness import Staleness, staleness
from qa.output.citation import citation
from qa.output.json_output import answer_json
from qa.settings import Paths

if TYPE_CHECKING:
    from qa.embed.query_encoder import QueryEncoder
    from qa.index.records import DocumentRecord
    from qa.search.searcher import Searcher

MAX_K = 100
MAX_READ_CHARS = 20_000  # one read: about 5,000 tokens, a fair share of a context window


class CorpusTools:
    """The three tools over one corpus and index. The ONNX query encoder is loaded on
    the first search and kept; the index itself is reopened for every call, so a
    `qa index` (or `qa watch`) running beside the server is followed, rebuilds too."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self._encoder: QueryEncoder | None = None

    @contextmanager
    def _searcher(self) -> Iterator[Searcher]:
        from qa.search.searcher import Searcher

        searcher = Searcher(self.paths.index, encoder=self._encoder)
        try:
            yield searcher
        finally:
            searcher.close()

    def _staleness(self, searcher: Searcher) -> Staleness | None:
        try:
            return staleness(self.paths, searcher.store) or None
        except QaError:  # the corpus folder itself is gone: say so rather than fail
            return Staleness([], [], sorted(searcher.store.documents()))

    def search(self, question: str, k: int = 5, filters: dict[str, Any] | str | None = None
               ) -> dict[str, Any]:
        """The answer `qa ask --json` gives, plus a `warning` when the index is stale.

        `filters` is qa's filter syntax as a string (`source:"RFE/RL" after:2024-01`),
        read exactly as if it stood in front of the question."""
        if filters and not isinstance(filters, str):
            raise QaError("filters: not supported as an object; give a string of qa's"
                          " filter syntax, e.g. 'source:\"RFE/RL\" after:2024-01'")
        if filters:
            question = f"{filters} {question}"
        if not 1 <= k <= MAX_K:
            raise QaError(f"k: {k} is out of range; give 1 to {MAX_K}")
        with self._searcher() as searcher:
            answer = searcher.search(question, k)
            self._encoder = searcher.encoder
            stale = self._staleness(searcher)
        result = answer_json(answer, frozenset(stale.changed + stale.removed) if stale else
                             frozenset())
        if stale:
            result["warning"] = _stale_warning(stale)
        return result

    def read(self, doc: str, start: int = 0, end: int | None = None) -> dict[str, Any]:
        """The indexed text of `doc` from `start` to `end` (default: its end), verbatim,
        with the citation of that span."""
        rel = self._corpus_relative(doc)
        with self._searcher() as searcher:
            record = self._record(searcher, rel)
            text = searcher.store.document_text(record.id)
            sections = searcher.store.document_sections(record.id)
            stale = self._staleness(searcher)
        end = len(text) if end is None else end
        if not 0 <= start < end <= len(text):
            raise QaError(f"start/end: {start}-{end} is out of range; {rel} has"
                          f" {len(text):,} characters (0-{len(text)})")
        if end - start > MAX_READ_CHARS:
            raise QaError(f"start/end: {end - start:,} characters asked; read at most"
                          f" {MAX_READ_CHARS:,} at a time")
        span = _span(record, text, sections, start, end)
        changed = bool(stale and rel in stale.changed + stale.removed)
        return {"doc": rel, "title": record.title, "source": record.source,
                "published": record.published, "author": record.author, "start": start,
                "end": end, "length": len(text), "text": span.text, "citation": citation(span),
                "page": span.page, "chapter": span.chapter, "ocr": span.ocr, "stale": changed}

    def sources(self) -> dict[str, Any]:
        """Every indexed document, with files not indexed (new, or skipped with why)."""
        with self._searcher() as searcher:
            records = searcher.store.document_records()
            skipped = searcher.store.skipped.all()
            stale = self._staleness(searcher)
        changed = set(stale.changed + stale.removed) if stale else set()
        documents = []
        for record in records:
            entry = asdict(record)
            del entry["id"]
            entry["doc"] = entry.pop("path")
            entry["stale"] = record.path in changed
            documents.append(entry)
        result: dict[str, Any] = {
            "documents": documents,
            "not_indexed": [p for p in (stale.new if stale else []) if p not in skipped],
            "skipped": [{"doc": p, "reason": why} for p, (why, _, _) in sorted(skipped.items())],
        }
        if stale:
            result["warning"] = _stale_warning(stale)
        return result

    def _corpus_relative(self, doc: str) -> str:
        """`doc` as a corpus-relative posix path, or a refusal for anything outside."""
        cleaned = doc.strip().replace("\\", "/")
        normal = posixpath.normpath(cleaned) if cleaned else ""
        if (not normal or normal.startswith(("/", "../")) or normal in (".", "..")
                or "\x00" in normal):
            raise QaError(f"doc: {doc!r} is outside the corpus; give a document's path"
                          " relative to the corpus, as search and sources return it")
        inside = (self.paths.corpus / normal).resolve()
        if not inside.is_relative_to(self.paths.corpus.resolve()):
            raise QaError(f"doc: {doc!r} is outside the corpus")
        return normal

    @staticmethod
    def _record(searcher: Searcher, rel: str) -> DocumentRecord:
        for record in searcher.store.document_records():
            if record.path == rel:
                return record
        raise QaError(f"doc: {rel!r} is not an indexed document; sources() lists them")


def _span(record: DocumentRecord, text: str, sections: list[dict[str, Any]], start: int,
          end: int) -> Passage:
    """The span as a passage, cited like search results: its section (page, chapter)
    and paragraph are those where it starts. Not a stored chunk, so chunk id 0 (the
    store's ids start at 1)."""
    from qa.ingest.sentences import paragraph_spans

    number, section = next(((n, s) for n, s in enumerate(sections, 1)
                            if s["start"] <= start < s["end"]), (None, {}))
    paragraph = sum(1 for p in paragraph_spans(text) if p.start <= start) or 1
    return Passage(0, record.id, record.path, record.title, record.source, record.published,
                   record.author, paragraph, record.section_kind if number else None, number,
                   section.get("title"), bool(section.get("ocr")), start, end, text[start:end])


def _stale_warning(stale: Staleness) -> str:
    return (f"the corpus changed since the last index ({stale.describe()}); results come"
            " from the indexed copies, and this server never updates the index: run"
            " `qa index` or keep `qa watch` running")
