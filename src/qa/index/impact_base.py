"""The lexical base: a read-only impact index of the passages, for a fast top k at scale.

tantivy walks every posting of a question's terms (`qa.index.lexical`): at a million
passages that walk is most of a warm query. PISA (the pisa-engine C++ library, compiled in
pyterrier-pisa's `_pisathon` module) stores each term's postings in blocks with the
block's highest score, and its MaxScore skips the passages that cannot reach the top k.
Here each posting's "frequency" is qa's own BM25 contribution of that term to that
passage (body and title summed, title weighted `TITLE_BOOST`, tantivy's IDF and one-byte
length norm), scaled to an integer (`IMPACT_SCALE`), and PISA's `quantized` scorer adds
them up: the base ranks as tantivy does at the moment it was built (bench/lexical_base.py
measures the agreement and the speed, docs/scale.md). tantivy's own restriction to given
chunk ids is no way to re-score the base's candidates: it costs about 50 to 70
microseconds a candidate at a million passages (17 ms for 200, bench/lexical_base.py),
as its union of the question's terms seeks each term for each candidate.

A question's lexical top then comes from the base, with the base's scores, minus the
passages removed since (`base_removes` in the store), merged with tantivy's top among the
passages added since (a search restricted to their chunk ids). The base's scores are
tantivy's BM25 of the moment it was built; as passages come and go, tantivy's statistics
(passage count, document frequencies, mean length) move and the two drift apart, so past
`MAX_RECENT` added or `MAX_REMOVED` removed passages the base is left aside and tantivy
walks, until `qa index --optimize` builds it again. The writer builds it at the end of a
build from scratch and on `qa index --optimize`, from `MIN_PASSAGES` passages; below
that, tantivy's walk is short and there is no base. Filtered searches (a restriction to
given chunk ids) and questions with acronym expansions (weighted terms) always walk.

Only the compiled module is loaded, by path: importing the `pyterrier_pisa` package would
import PyTerrier, which has nothing to do here and takes seconds.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from qa.index.store import Store

# Below this many passages no base is built: tantivy's walk is short there (docs/scale.md).
MIN_PASSAGES = 200_000
# Past this many passages added, or removed, since the base was built, it is left aside
# (tantivy walks) until `qa index --optimize` builds it again: tantivy searches the added
# passages of every question, restricted to their chunk ids, which costs more the more
# there are (4.5 ms for 1,000 at a million passages, bench/lexical_base.py; 28 ms for
# 20,000, ad hoc), and the base's scores drift from tantivy's as the statistics move.
MAX_RECENT = 2_000
MAX_REMOVED = 2_000
BASE_KEY = "lexical_base"  # meta: the live base's folder name in the generation
BASE_PREFIX = "lexical-base-"
INFO_FILE = "base.json"  # {"passages": n, "max_chunk_id": m}
ENCODING = "block_simdbp"
SCORER = "quantized"  # a posting's stored value is its score
BLOCK_SIZE = 64
IMPACT_SCALE = 1 << 16  # stored units per point of BM25
ALGORITHM = "maxscore"  # faster than block-max WAND on questions of many terms (measured)


@functools.cache
def pisa() -> ModuleType:
    """pyterrier-pisa's compiled module, loaded by path (see the module's docstring)."""
    spec = importlib.util.find_spec("pyterrier_pisa")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pyterrier-pisa is not installed")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("_pisathon*.so"))
    if not found:
        raise ImportError("pyterrier-pisa has no compiled _pisathon module")
    module_spec = importlib.util.spec_from_file_location("_pisathon", found[0])
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def available() -> bool:
    """Whether PISA's compiled module loads here: pyterrier-pisa has wheels for Linux on
    x86-64 only, and qa requires it only there (pyproject.toml); elsewhere no base is
    built and tantivy walks."""
    try:
        pisa()
    except ImportError:
        return False
    return True


def index_file(folder: Path) -> Path:
    """The compressed postings PISA's `prepare_index` writes and maps."""
    return folder / f"{SCORER}.q0.bmw.{BLOCK_SIZE}.{ENCODING}"


class ImpactBase:
    """One built base, memory-mapped: its top k passages for a question's terms.

    PISA maps the base on the first search, not here: that takes about 0.15 s at a
    million passages, and the first search runs in the searcher's worker thread, beside
    the loading of the question encoder, instead of before it (a cold `qa ask`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.name = folder.name
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
        self.passages = int(info["passages"])
        self.max_chunk_id = int(info["max_chunk_id"])
        if not index_file(folder).exists():  # PISA would try to build it from nothing
            raise FileNotFoundError(index_file(folder))
        self._context: object | None = None
        self._opening = threading.Lock()

    def _mapped(self) -> object:
        with self._opening:
            if self._context is None:
                context = pisa().RetrievalContext()
                pisa().prepare_index(context, str(self.folder), ENCODING, SCORER, "",
                                     block_size=BLOCK_SIZE)
                self._context = context
            return self._context

    def top(self, found: list[str], k: int) -> list[tuple[int, float]]:
        """The `k` best passages for the distinct index terms `found`, best first, as
        (chunk id, BM25 as of the base's build).

        Two PISA threads: with one, PISA keeps the GIL for the whole search, and the
        question's embedding (in the caller's other thread) would wait for it."""
        qidx = np.zeros(k, dtype=np.int32)
        docnos = np.empty(k, dtype=object)
        ranks = np.zeros(k, dtype=np.int32)
        scores = np.zeros(k, dtype=np.float32)
        got = pisa().retrieve(self._mapped(), ALGORITHM, [(0, dict.fromkeys(found, 1.0))],
                              k=k, threads=2, pretokenised=1, query_weighted=1,
                              result_qidxs=qidx, result_docnos=docnos, result_ranks=ranks,
                              result_scores=scores)
        return [(int(docno), float(score) / IMPACT_SCALE)
                for docno, score in zip(docnos[:got], scores[:got], strict=True)]


@dataclass
class BaseView:
    """The live base, with what changed since it was built, as one reader sees it."""

    base: ImpactBase
    recent: list[int]  # chunk ids added since the base was built
    removed: frozenset[int]  # the base's passages removed since

    def top(self, found: list[str], limit: int) -> list[tuple[int, float]]:
        """The base's `limit` best passages that are still in the index."""
        k = limit + min(len(self.removed), limit)
        hits = self.base.top(found, k)
        if len(hits) == k and sum(c in self.removed for c, _ in hits) > k - limit:
            hits = self.base.top(found, limit + len(self.removed))
        return [(c, s) for c, s in hits if c not in self.removed][:limit]


def open_view(store: Store, generation: Path, loaded: ImpactBase | None = None
              ) -> BaseView | None:
    """The generation's base and its changes since, or None: no base (a small index, or
    one built before bases), or one too far behind, or unreadable (the writer replaced
    it meanwhile): then tantivy walks, as it always can. `loaded` is a base already
    mapped, kept when it is still the live one."""
    name = store.get_meta(BASE_KEY)
    if name is None or not available():  # an index copied where PISA has no wheel
        return None
    try:
        base = loaded if loaded is not None and loaded.name == name else ImpactBase(
            generation / name)
    except (OSError, ValueError, KeyError):
        return None
    recent = store.chunk_ids_after(base.max_chunk_id)
    removed = store.base_removes()
    if len(recent) > MAX_RECENT or len(removed) > MAX_REMOVED:
        return None
    return BaseView(base, recent, removed)


def describe(store: Store) -> str:
    """`qa status`'s line on the lexical side: the base, and how far behind it is."""
    passages = store.count("chunks")
    name = store.get_meta(BASE_KEY)
    if name is None:
        if passages < MIN_PASSAGES:
            return f"tantivy (a lexical base from {MIN_PASSAGES:,} passages)"
        return "tantivy; no lexical base yet (`qa index --optimize` builds one)"
    try:
        info = json.loads((store.path.parent / name / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "tantivy; lexical base unreadable (`qa index --optimize` builds it again)"
    added = len(store.chunk_ids_after(int(info["max_chunk_id"])))
    removed = len(store.base_removes())
    behind = added > MAX_RECENT or removed > MAX_REMOVED
    return (f"lexical base of {int(info['passages']):,} passages, {added} added and"
            f" {removed} removed since"
            + (" (too many: tantivy walks until `qa index --optimize`)" if behind else ""))
