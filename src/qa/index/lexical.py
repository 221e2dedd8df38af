"""The lexical half of retrieval: BM25 over passages, with tantivy.

tantivy (Lucene's design in Rust) keeps immutable segments and scores postings in
compiled code: its top 100 was 50 to 200 times faster than FTS5's `bm25()`, which scored
every matching row in SQL (docs/scale.md). It still walks every posting of the
question's terms: tantivy's block-max WAND runs only under a bare top-k collector, and
the Python binding always wraps the top k in a multi-collector (tantivy-py 0.25 to 0.27,
`Searcher.search`), so a question's cost grows with the postings of its words, most of
all the common ones. The index lives in the generation's `lexical/` folder. SQLite stays
the commit point: every passage added here carries the commit sequence number of its
batch, so passages of a batch killed before its SQLite commit can be found and deleted,
and readers only ever return chunk ids that SQLite holds.

Questions never reach tantivy's query parser: they are analysed with the same chain as
the index (simple tokens, long ones dropped, lower case, English stemming) and turned
into term queries, so no question can be read as query syntax.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tantivy

if TYPE_CHECKING:
    from qa.index.impact_base import BaseView

# A question word in the document's title weighs 0.3 of one in the passage's body.
# bench/title_weight.py (docs/title-weight-run.txt) finds 1.0 better for BM25 alone (dev
# MRR@10 0.695 to 0.753, SciFact train nDCG@10 0.804 to 0.825, each chosen leaving that
# set out), but with the reranker and confidence refitted on it the hybrid did not gain
# (squad-dev Hit@1 0.820 to 0.816, SciFact test subset 0.8280 to 0.8272; dev the same;
# docs/quality-title-weight.txt), so 0.3 stays. tantivy exposes no other BM25 parameter
# (k1 1.2 and b 0.75 are fixed).
TITLE_BOOST = 0.3
# Terms held by more than this share of the passages are left out of the BM25 query
# (None: every term counts), unless that would leave none. Measured by
# bench/common_terms.py; see the measurement there before changing it.
COMMON_SHARE: float | None = None
# The terms a question's acronyms add (`LexicalIndex.search`'s `extra`) share this weight,
# in units of one question word: the long form stands for the one word it expands.
EXTRA_WEIGHT = 1.0
# tantivy's: simple, remove_long(40), lowercase, English stemmer. The stemmer's output
# depends on tantivy's version (0.27 stems "organisms" to "organism", 0.25 to "organ"), and
# a question's terms must be stemmed as its index's were: tantivy's pin in pyproject.toml
# moves only with the store's schema version, so that older indexes are rebuilt.
TOKENIZER = "en_stem"
WRITER_HEAP_BYTES = 64 * 1024 * 1024


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("chunk_id", stored=True, indexed=True, fast=True)
    builder.add_integer_field("seq", indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name=TOKENIZER, index_option="freq")
    builder.add_text_field("body", tokenizer_name=TOKENIZER, index_option="freq")
    return builder.build()


SCHEMA = _schema()
_ANALYZER = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
             .filter(tantivy.Filter.remove_long(40))
             .filter(tantivy.Filter.lowercase())
             .filter(tantivy.Filter.stemmer("english"))
             .build())


def terms(text: str) -> list[str]:
    """The question's distinct index terms, in a stable order."""
    return sorted(set(_ANALYZER.analyze(text)))


def term_sequence(text: str) -> list[str]:
    """A text's index terms in text order, repeats kept (long forms of acronyms are
    matched as sequences, `qa.index.acronyms`)."""
    return list(_ANALYZER.analyze(text))


class LexicalIndex:
    """Read side: BM25 search, BM25 of given passages, and document frequencies."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # The generation's lexical base as the reader last saw it (the searcher sets it).
        self.base: BaseView | None = None
        try:
            self.index = tantivy.Index(SCHEMA, path=str(folder), reuse=True)
        except ValueError as exc:
            if not _cannot_write(exc):
                raise
            copy = _read_only_copy(folder)
            weakref.finalize(self, shutil.rmtree, copy, True)  # removed with the reader
            self.index = tantivy.Index(SCHEMA, path=str(copy), reuse=True)

    def refresh(self) -> None:
        """See the latest commit (a writer in another process may have made one)."""
        self.index.reload()

    def search(self, question: str, limit: int,
               within: Sequence[int] | None = None,
               extra: Sequence[Sequence[str]] = ()) -> list[tuple[int, float]]:
        """BM25 top `limit` passages (title weighted low); best first, as (chunk id, score).

        `within` restricts the search to those chunk ids before ranking (a filter), so
        the `limit` best come from the allowed passages, not from the whole corpus: the
        question's query ANDed with a term set on `chunk_id`, which scores nothing.
        `extra` are groups of index terms added to the question's (an acronym's long
        form, or the other way round), each group weighing as much as one of the
        question's words (`EXTRA_WEIGHT`), shared among its terms.
        With a lexical base attached (`base`, `qa.index.impact_base`) and neither, the
        top comes from the base, merged with tantivy's top among the passages added
        since the base was built.
        """
        found = self.query_terms(question)
        query = _query(found, extra)
        if query is None:
            return []
        if within is not None:
            query = _only(query, within)
        elif self.base is not None and not extra:
            hits = self.base.top(found, limit)
            if self.base.recent:
                hits += self._run(_only(query, self.base.recent), limit)
            return sorted(hits, key=lambda hit: -hit[1])[:limit]
        return self._run(query, limit)

    def phrase_candidates(self, phrase: str) -> set[int]:
        """Chunks whose body holds every word of `phrase` (after stemming): a superset of
        those holding the phrase itself, which the caller checks on the exact text."""
        found = terms(phrase)
        if not found:
            return set()
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, tantivy.Query.term_query(SCHEMA, "body", t)) for t in found])
        return {cid for cid, _ in self._run(query, max(self.count(), 1))}

    def scores(self, question: str, chunk_ids: list[int],
               extra: Sequence[Sequence[str]] = ()) -> dict[int, float]:
        """BM25 of given chunks (for dense-only candidates); chunks with no match are absent."""
        query = _query(self.query_terms(question), extra)
        if query is None or not chunk_ids:
            return {}
        return dict(self._run(_only(query, chunk_ids), len(chunk_ids)))

    def query_terms(self, question: str) -> list[str]:
        """The question's terms that BM25 ranks by: all of them, or with COMMON_SHARE,
        those held by at most that share of the passages (all, if none is). A term
        nearly every passage holds adds little to any passage's score, yet walking its
        postings is most of a search at a million passages (docs/scale.md)."""
        found = terms(question)
        if COMMON_SHARE is None or not found:
            return found
        searcher = self.index.searcher()
        most = COMMON_SHARE * searcher.num_docs
        kept = [t for t in found if max(searcher.doc_freq("body", t),
                                        searcher.doc_freq("title", t)) <= most]
        return kept or found

    def term_weights(self, found: Sequence[str]) -> dict[str, tuple[float, int]]:
        """{term: (BM25's IDF, passages holding it)} for index terms (from `terms`); a
        term's frequency is the higher of the body's and the title's."""
        searcher = self.index.searcher()
        n = searcher.num_docs
        weights = {}
        for term in found:
            df = max(searcher.doc_freq("body", term), searcher.doc_freq("title", term))
            weights[term] = (math.log((n - df + 0.5) / (df + 0.5) + 1.0), df)
        return weights

    def count(self) -> int:
        return int(self.index.searcher().num_docs)

    def chunk_ids(self) -> set[int]:
        """Every chunk id the index holds (deleted ones excluded): for checks, not queries."""
        searcher = self.index.searcher()
        hits = searcher.search(tantivy.Query.all_query(), max(searcher.num_docs, 1)).hits
        return {int(searcher.doc(address)["chunk_id"][0]) for _, address in hits}

    def _run(self, query: tantivy.Query, limit: int) -> list[tuple[int, float]]:
        searcher = self.index.searcher()
        result = searcher.search(query, limit, count=False)  # no count: less to collect
        return [(int(searcher.doc(address)["chunk_id"][0]), float(score))
                for score, address in result.hits]


class LexicalWriter:
    """Write side, used only by the index writer while it holds the writer lock.

    tantivy writes in worker threads; a failed write (a full disk, a read-only folder)
    surfaces in whichever call comes next, as a ValueError. Every call goes through
    `_write`, which names the cause (`_as_os_error`).
    """

    def __init__(self, index: LexicalIndex) -> None:
        self._index = index
        self._writer = self._write(index.index.writer, heap_size=WRITER_HEAP_BYTES,
                                   num_threads=1)

    def add(self, chunk_id: int, seq: int, title: str, body: str) -> None:
        self._write(self._writer.add_document,
                    tantivy.Document(chunk_id=chunk_id, seq=seq, title=title, body=body))

    def delete(self, chunk_ids: Iterable[int]) -> None:
        for chunk_id in chunk_ids:
            self._write(self._writer.delete_documents, "chunk_id", chunk_id)

    def delete_after(self, seq: int) -> None:
        """Delete the passages of batches numbered above `seq` (never committed)."""
        self._write(self._writer.delete_documents_by_query, tantivy.Query.range_query(
            SCHEMA, "seq", tantivy.FieldType.Integer, seq + 1, 2**62))

    def commit(self) -> None:
        self._write(self._writer.commit)

    def close(self) -> None:
        self._write(self._writer.wait_merging_threads)

    def _write(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except ValueError as exc:
            raise _as_os_error(exc, self._index.folder) from exc


def _cannot_write(exc: ValueError) -> bool:
    message = str(exc)
    return any(os.strerror(code) in message for code in (errno.EACCES, errno.EROFS, errno.EPERM))


def _read_only_copy(folder: Path) -> Path:
    """Open a copy of a lexical index this user cannot write (a read-only mount or copy).

    tantivy takes a lock file in the index folder even to read it, so it cannot open one
    there; the copy lives in qa's cache folder, and its reader removes it. It is
    small: tantivy keeps term frequencies, not text (about 170 bytes a passage).
    """
    import tempfile

    from platformdirs import user_cache_dir

    cache = Path(user_cache_dir("qa"))
    cache.mkdir(parents=True, exist_ok=True)
    copy = Path(tempfile.mkdtemp(prefix="lexical-", dir=cache))
    shutil.copytree(folder, copy, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".tantivy-*.lock"))
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    return copy


def _as_os_error(exc: ValueError, folder: Path) -> Exception:
    """tantivy reports a failed write as a ValueError naming no errno ("a worker thread
    encountered an error (io::Error most likely)"). Name the cause the file system shows,
    so the user gets the fix (`qa.errors.as_user_error`) instead of an internal error."""
    message = str(exc)
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES):
        if os.strerror(code) in message:
            return OSError(code, os.strerror(code), str(folder))
    if "io::Error" in message or "os error" in message:
        if shutil.disk_usage(folder).free < 1_000_000:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))
        if not os.access(folder, os.W_OK):
            return OSError(errno.EACCES, os.strerror(errno.EACCES), str(folder))
    return exc


def _only(query: tantivy.Query, chunk_ids: Sequence[int]) -> tantivy.Query:
    """`query`, scored as it is, over the given chunk ids only."""
    allowed = tantivy.Query.const_score_query(
        tantivy.Query.term_set_query(SCHEMA, "chunk_id", [int(i) for i in chunk_ids]), 0.0)
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, query),
                                        (tantivy.Occur.Must, allowed)])


def _query(found: list[str], extra: Sequence[Sequence[str]] = ()) -> tantivy.Query | None:
    if not found:
        return None
    weighted = {t: 1.0 for t in found}
    for group in extra:
        for t in group:
            weighted.setdefault(t, EXTRA_WEIGHT / len(group))
    clauses = []
    for term, weight in weighted.items():
        body = tantivy.Query.term_query(SCHEMA, "body", term)
        clauses.append((tantivy.Occur.Should,
                        body if weight == 1.0 else tantivy.Query.boost_query(body, weight)))
        clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(
            tantivy.Query.term_query(SCHEMA, "title", term), TITLE_BOOST * weight)))
    return tantivy.Query.boolean_query(clauses)
