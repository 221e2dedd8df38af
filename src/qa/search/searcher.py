"""The search API shared by `qa ask`, `qa eval` and the terminal UI.

A question is embedded once (ONNX, no torch), candidates come from the vector segments
(FAISS, `qa.index.vectors`) and from BM25 (tantivy), both scores are completed for the
whole pool, fused, and overlapping passages of one document are dropped. Each kept
passage gets its answering sentence, scored from its stored vector's cosine to the
question and the question's words it says (`qa.search.answer_marking`), so it works even
when no word matches.
Whether the corpus answers at all is judged by a calibrated confidence (see
`qa.search.calibration`), not by the fused score, which only orders.

Under 400 lines: the one order of a search (generation, filters, both sides,
fusion, the reranked head, distinct passages, marking, confidence) reads best in one
place; each step's logic lives in its own module.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from qa import settings
from qa.embed import model
from qa.errors import QaError
from qa.index import impact_base, vectors
from qa.index.acronyms import Expansion
from qa.index.generations import open_live
from qa.index.layout import LEXICAL_DIR, current_generation, encoder_path
from qa.index.lexical import LexicalIndex, term_sequence
from qa.index.records import DocumentFields, Passage
from qa.search import calibration, fusion
from qa.search.answer_marking import mark
from qa.search.filters import Scope, resolve
from qa.search.fusion import Candidates, Fusion
from qa.search.query_syntax import Filter, QuerySyntaxError, parse_query
from qa.search.republished import copies_of, folded_documents
from qa.search.reranking import RERANK_DEPTH, ranking_features, reranked
from qa.search.terms import QueryTerms

if TYPE_CHECKING:
    from qa.embed.query_encoder import QueryEncoder

POOL_DEPTH = 100  # candidates taken from each side before fusion


class LexicalSearch(NamedTuple):
    """A lexical search under way in the searcher's worker, and the acronym terms
    (`qa.index.acronyms`) it was given."""

    top: Future[list[tuple[int, float]]]
    extra: list[tuple[str, ...]]


@dataclass(frozen=True)
class Hit:
    """One ranked passage, with the answering sentence as document offsets."""

    rank: int
    score: float
    passage: Passage
    answer_start: int
    answer_end: int
    answer_similarity: float
    also_published: tuple[DocumentFields, ...] = ()  # the document's republished copies

    @property
    def answer(self) -> str:
        p = self.passage
        return p.text[self.answer_start - p.start : self.answer_end - p.start]


@dataclass(frozen=True)
class Answer:
    """The result of one question: `answered` is False when nothing clears the bar."""

    question: str
    answered: bool
    confidence: float
    hits: list[Hit]
    best_sentence: float  # highest question-sentence cosine in the hits' passages
    coverage: float  # share of the question's IDF weight found in the corpus
    search_text: str = ""  # the question without its filter syntax: what was ranked by
    scope: Scope | None = None  # what the filters left, or None when there were none


class Searcher:
    """Opens an index's live generation read-only and answers questions from it.

    The generation stays pinned (`qa.index.generations.Pin`) while the searcher uses it,
    so a rebuild never removes it underneath. Each search first checks whether a rebuild
    made another generation live, and if so reopens on it: a long-lived searcher (the
    TUI, a running `qa ask -`) follows rebuilds as well as updates.
    """

    def __init__(self, index_dir: Path, encoder: QueryEncoder | None = None) -> None:
        self.index_dir = index_dir
        self._encoder = encoder
        self.generation, self._pin, self.store = open_live(index_dir)
        self._lexical: LexicalIndex | None = None
        self._base_key: tuple[int, str | None] | None = None
        self._lexical_seq = -1
        self._copy_groups: list[frozenset[int]] | None = None
        self._copy_groups_seq = -1
        self._dense: vectors.DenseIndex | None = None
        self._dense_seq = -1
        self._acronyms: Expansion | None = None
        self._acronyms_seq = -1
        # Two worker threads for the lexical side: one finds its top while this thread
        # embeds the question, the other scores the dense side's candidates while the
        # first is still walking postings (`candidates`). Each library call runs on one
        # thread (docs/scale.md), so at most two cores are busy at once: the machine's.
        self._worker = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qa-lexical")

    @classmethod
    def opened(cls, index_dir: Path) -> Searcher:
        """A searcher with its query encoder, vector segments and lexical index loaded:
        what a cold `qa ask` pays once, done while the corpus is checked."""
        searcher = cls(index_dir)
        try:
            _ = searcher.encoder, searcher.dense, searcher.lexical
        except BaseException:
            searcher.close()
            raise
        return searcher

    def close(self) -> None:
        self._worker.shutdown()
        self.store.close()
        self._pin.release()

    def refresh(self) -> bool:
        """Reopen on the live generation if a rebuild replaced ours; True if it did."""
        live = current_generation(self.index_dir)
        if live is None or live == self.generation:
            return False
        opened = open_live(self.index_dir)
        self.store.close()
        self._pin.release()
        self.generation, self._pin, self.store = opened
        self._dense = self._lexical = self._copy_groups = self._acronyms = None
        self._dense_seq = self._lexical_seq = self._copy_groups_seq = -1
        self._acronyms_seq = -1
        self._base_key = None
        return True

    @property
    def encoder(self) -> QueryEncoder:
        if self._encoder is None:
            from qa.embed.query_encoder import QueryEncoder

            path = encoder_path(self.index_dir, model.fingerprint())
            if not path.exists():
                raise QaError(f"{path}: missing query encoder; run `qa index`")
            self._encoder = QueryEncoder(path)
        return self._encoder

    @property
    def lexical(self) -> LexicalIndex:
        """The generation's lexical index, reloaded when a writer has committed since."""
        seq = self.store.commit_seq()
        if self._lexical is None:
            self._lexical = LexicalIndex(self.generation / LEXICAL_DIR)
        elif seq != self._lexical_seq:
            self._lexical.refresh()
        self._lexical_seq = seq
        base_key = (seq, self.store.get_meta(impact_base.BASE_KEY))
        if base_key != self._base_key:  # a commit, or a new base (an optimize)
            seen = self._lexical.base
            self._lexical.base = impact_base.open_view(
                self.store, self.generation, seen.base if seen is not None else None)
            self._base_key = base_key
        return self._lexical

    @property
    def copy_groups(self) -> list[frozenset[int]]:
        """Groups of republished copies, read again only after a writer has committed:
        every search needs them, and they change only with a commit."""
        seq = self.store.commit_seq()
        if self._copy_groups is None or seq != self._copy_groups_seq:
            self._copy_groups, self._copy_groups_seq = self.store.copies.groups(), seq
        return self._copy_groups

    @property
    def acronyms(self) -> Expansion:
        """The acronyms the corpus defines (`qa.index.acronyms`), read again only after
        a writer has committed. Empty when `settings.ACRONYM_EXPANSION` is off."""
        if not settings.ACRONYM_EXPANSION:
            return Expansion()
        seq = self.store.commit_seq()
        if self._acronyms is None or seq != self._acronyms_seq:
            self._acronyms = self.store.acronyms.expansion(term_sequence)
            self._acronyms_seq = seq
        return self._acronyms

    @property
    def dense(self) -> vectors.DenseIndex:
        """The live vector segments and deletion set, read again when a writer has
        committed since, so a long-lived searcher (the TUI) follows the index; segments
        already loaded are kept (segment files never change)."""
        seq = self.store.commit_seq()
        if self._dense is None or seq != self._dense_seq:
            loaded = {s.name: s for s in self._dense.segments} if self._dense else None
            self._dense, self._dense_seq = vectors.open_dense(self.store, loaded), seq
        return self._dense

    def embed(self, question: str) -> np.ndarray:
        return self.encoder.encode([question])[0]

    def start_lexical(self, question: str, depth: int, within: np.ndarray | None
                      ) -> LexicalSearch:
        """The lexical side's top `depth`, started in the searcher's worker thread, with
        the acronym terms it adds (which the BM25 of other candidates needs too)."""
        extra = self.acronyms.groups(question, term_sequence)
        return LexicalSearch(self._worker.submit(self.lexical.search, question, depth,
                                                 within, extra), extra)

    def candidates(self, question: str, query_vector: np.ndarray, depth: int,
                   within: np.ndarray | None = None,
                   started: LexicalSearch | None = None) -> Candidates:
        """The union of both sides' top `depth`, each with both of its scores.

        `within` (sorted chunk ids, from a filter) restricts both sides before ranking.
        `started` is the lexical side's search, when a caller started it already
        (`search` runs it beside the question's embedding).
        The lexical side also looks for the long forms of the question's acronyms, and
        the acronyms of the long forms it spells out, as the corpus defines them.
        BM25 of the dense side's candidates starts in the searcher's second worker
        thread as soon as they are known, while the first still finds the lexical top:
        waiting for that top to score only the candidates it lacks put the two tantivy
        searches one after the other (tantivy and SQLite release the GIL, so on two
        cores they overlap; `bench/warm_before.py` measured it, docs/scale.md). When the
        lexical top is already done (a lexical base finds it sooner than the embedding),
        only the candidates it lacks are scored, in two halves, one per worker: tantivy's
        cost there grows with the number of chunk ids it is restricted to.
        """
        lexical_index = self.lexical
        lexical_top, extra = started or self.start_lexical(question, depth, within)
        dense = self.dense.search(query_vector, depth, within)
        if lexical_top.done():  # both workers free; the top's passages have their BM25
            found = {chunk_id for chunk_id, _ in lexical_top.result()}
            parts = _shares([i for i in sorted(dense) if i not in found], 2)
        else:
            parts = [sorted(dense)]
        scored = [self._worker.submit(lexical_index.scores, question, part, extra)
                  for part in parts]
        lexical = dict(lexical_top.result())
        # Score ties are broken by document path and offset (`tie_keys`), never by
        # chunk id, so results do not depend on the order documents were indexed in.
        pool = sorted(set(dense) | set(lexical))
        missing_dense = [i for i in pool if i not in dense]
        if missing_dense:  # read back from the segments, which hold every live chunk
            ids, vecs = self.dense.vectors_of(np.array(missing_dense, dtype=np.int64))
            if len(ids):
                dense.update(zip(ids.tolist(), (vecs @ query_vector).tolist(), strict=True))
            pool = [i for i in pool if i in dense]
        for part in scored:  # the same BM25 as in the top
            for chunk_id, score in part.result().items():
                lexical.setdefault(chunk_id, score)
        return Candidates(
            np.array(pool, dtype=np.int64),
            np.array([dense[i] for i in pool], dtype=np.float64),
            np.array([lexical.get(i, 0.0) for i in pool], dtype=np.float64),
            self.store.chunk_keys,
        )

    def search(
        self, question: str, k: int = 5, *, mode: str = "hybrid",
        filters: Filter | None = None, all_copies: bool = False,
        fusion_method: Fusion = fusion.DEFAULT,
    ) -> Answer:
        """Top `k` distinct passages for `question`, with answers marked.

        `question` may carry filter syntax (`qa.search.query_syntax`); `filters` adds
        more (the CLI's options). Filters restrict both retrieval sides before ranking,
        so when k passages match them, k come back. Republished copies of a document
        give way to its earliest copy and are listed with it (`qa.search.republished`),
        unless `all_copies`.
        """
        if not question.strip():
            raise QaError("question: empty; ask something, e.g."
                          ' qa ask "why did Baku reject mediators?"')
        query = parse_query(question.strip())
        filt = query.filter.combined(filters)
        if not query.text.strip():
            raise QuerySyntaxError(f"{question.strip()}: only filters, no words to search"
                                   " for; add a question, e.g. source:X why did ...?")
        self.refresh()
        scope = resolve(self.store, self.lexical, filt) if filt else None
        within = scope.chunk_ids if scope is not None else None
        started = self.start_lexical(query.text, POOL_DEPTH, within)
        qvec = self.embed(query.text)  # while tantivy finds the lexical side's top
        pool = self.candidates(query.text, qvec, POOL_DEPTH, within, started)
        groups = self.copy_groups
        folding = groups if not all_copies else []
        terms = QueryTerms.of(query.text, self.lexical)
        read: dict[int, Passage] = {}  # passages read for the head, kept for the final k
        ids, scores = self.ranking(pool, terms, mode, fusion_method, folding, read)
        kept = self._distinct(ids, scores, k, folding, read)
        marks = [mark(self.store, p, qvec, terms) for p, _ in kept]
        copies = copies_of(self.store, {p.doc_id for p, _ in kept}, groups)
        hits = [Hit(rank, score, p, *m.answer, copies.get(p.doc_id, ()))
                for rank, ((p, score), m) in enumerate(zip(kept, marks, strict=True), 1)]
        coverage = terms.coverage
        signals = calibration.confidence_features(marks, coverage)
        confidence = calibration.confidence(signals) if hits else 0.0
        return Answer(question.strip(), confidence >= calibration.THRESHOLD, confidence, hits,
                      float(signals[0]), coverage, query.text, scope)

    def ranking(self, pool: Candidates, terms: QueryTerms, mode: str = "hybrid",
                fusion_method: Fusion = fusion.DEFAULT,
                copy_groups: list[frozenset[int]] | None = None,
                read: dict[int, Passage] | None = None,
                ) -> tuple[np.ndarray, np.ndarray]:
        """The pool's chunk ids and scores, best first: fused, and in hybrid mode with
        the distinct head (RERANK_DEPTH passages) reordered by `qa.search.reranking` and
        scored by its model; the rest follows in fused order, its scores shifted below
        the head's. `search` keeps k distinct passages of it; `qa eval --beir` ranks
        documents by it. Passages read from the store are added to `read`."""
        ids, scores = fusion.ranking(pool, mode, fusion_method)
        if mode != "hybrid":
            return ids, scores
        head = self._distinct(ids, scores, RERANK_DEPTH, copy_groups or [], read)
        if not head:
            return ids, scores
        passages = [p for p, _ in head]
        features = ranking_features(np.array([s for _, s in head]), passages, terms)
        order, learned = reranked(features)
        head_ids = np.array([passages[i].chunk_id for i in order], dtype=np.int64)
        rest = ~np.isin(ids, head_ids)
        tail = scores[rest]
        if len(tail):
            tail = tail - tail[0] + learned.min() - 1.0
        return np.r_[head_ids, ids[rest]], np.r_[learned, tail]

    def _distinct(self, ids: np.ndarray, scores: np.ndarray, k: int,
                  copy_groups: list[frozenset[int]],
                  read: dict[int, Passage] | None = None) -> list[tuple[Passage, float]]:
        """The best `k` passages, skipping those that overlap or adjoin a better one of
        the same document; when that leaves fewer than `k` (a narrow filter, a tiny
        corpus), the skipped ones fill up, in rank order, so k passages come back.
        Passages of a later copy of a document in `copy_groups` are left out. Passages
        already in `read` are not read again; those read are added to it.

        The window looked at is the first 4k + 20 passages. Without copies to fold, its
        first 2k are read first, and the rest only when they leave fewer than k: the
        result is the same (the choice stops at the k-th kept passage), and at a million
        passages each passage read from the store costs 15 to 40 microseconds, 1.5 to 4
        ms for the head's 100 (docs/scale.md)."""
        window = ids[: 4 * k + 20].tolist()
        read = {} if read is None else read
        # Which copies give way depends on every document in the window: read it all.
        first = window if copy_groups else window[: 2 * k]
        read.update(self.store.passages([i for i in first if i not in read]))
        kept, skipped = self._choose(first, scores, k, copy_groups, read)
        if len(kept) < k and len(first) < len(window):
            read.update(self.store.passages([i for i in window if i not in read]))
            kept, skipped = self._choose(window, scores, k, copy_groups, read)
        kept = sorted(kept + skipped[: k - len(kept)])[:k] if len(kept) < k else kept
        return [(p, score) for _, p, score in kept]

    @staticmethod
    def _choose(window: list[int], scores: np.ndarray, k: int,
                copy_groups: list[frozenset[int]], read: dict[int, Passage]
                ) -> tuple[list[tuple[int, Passage, float]], list[tuple[int, Passage, float]]]:
        """`_distinct`'s choice among the `window` passages read: (kept, skipped), each
        as (position, passage, score), kept stopping at `k`."""
        passages = {i: read[i] for i in window if i in read}
        folded = folded_documents(passages.values(), copy_groups)
        kept: list[tuple[int, Passage, float]] = []
        skipped: list[tuple[int, Passage, float]] = []
        for position, (cid, score) in enumerate(zip(window, scores.tolist(), strict=False)):
            p = passages.get(cid)
            if p is None or p.doc_id in folded:
                continue
            touching = any(_touches(p, q) for _, q, _ in kept)
            (skipped if touching else kept).append((position, p, score))
            if len(kept) == k:
                break
        return kept, skipped


def _touches(a: Passage, b: Passage) -> bool:
    """Same document, and the spans overlap or are separated by whitespace only."""
    if a.doc_id != b.doc_id:
        return False
    return a.start <= b.end + 2 and b.start <= a.end + 2


def _shares(items: list[int], parts: int) -> list[list[int]]:
    """`items` cut into at most `parts` runs of nearly equal length (none empty)."""
    size = -(-len(items) // parts) if items else 1
    return [items[i:i + size] for i in range(0, len(items), size)]
