"""Vector segments: a commit writes one small file, removals are a deletion set, small
segments merge by tiers, `qa index --optimize` merges everything, large segments are
approximate (IVF, 8-bit codes), and an index of the old single-file format is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from qa.index import segment_writer, vectors
from qa.index.layout import STORE_FILE, VECTORS_DIR
from qa.index.records import SegmentRow
from qa.index.segment_writer import SEGMENTS_PER_TIER, SMALLEST_TIER, merge_candidates
from qa.index.store import SCHEMA_VERSION, Store
from qa.index.vectors import Segment, segment_ids
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.conftest import CORPUS, FakeEmbedder, assert_one_line_error, live, run_qa
from tests.support.index_equality import (
    assert_segments_committed,
    index_content,
    stored_vectors,
    without_marking,
)

QUESTIONS = ["why did Baku reject mediators?", "What happened to the prisoners?"]


def _build(paths: Paths, **kwargs: object) -> None:
    update_index(paths, progress=False, embedder=FakeEmbedder(), **kwargs)  # type: ignore[arg-type]


def _files(paths: Paths) -> dict[str, tuple[int, int]]:
    """Each segment file's (inode, mtime): a rewritten file changes both."""
    folder = live(paths.index) / VECTORS_DIR
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _rows(paths: Paths) -> tuple[list[SegmentRow], list[int], int]:
    store = Store(live(paths.index) / STORE_FILE)
    try:
        return (store.vector_segments(), store.vector_deletes().tolist(),
                store.count("chunks"))
    finally:
        store.close()


def _dense_everything(paths: Paths) -> dict[int, float]:
    searcher = Searcher(paths.index, encoder=FakeEmbedder())
    try:
        return searcher.dense.search(FakeEmbedder().encode(QUESTIONS[:1])[0], 10_000)
    finally:
        searcher.close()


def test_a_commit_writes_one_new_segment_and_rewrites_none(corpus_copy: Paths):
    _build(corpus_copy)
    before = _files(corpus_copy)
    src = sorted(CORPUS.glob("*.md"))[0]
    (corpus_copy.corpus / "added.md").write_text(src.read_text(encoding="utf-8") + "\nMore.\n",
                                                 encoding="utf-8")
    _build(corpus_copy)
    after = _files(corpus_copy)
    assert {n: after[n] for n in before} == before  # untouched: same inode, same mtime
    (new,) = set(after) - set(before)
    rows, deletes, _ = _rows(corpus_copy)
    store = Store(live(corpus_copy.index) / STORE_FILE)
    added = store.chunk_ids([store.document_id("added.md")])
    store.close()
    assert next(r for r in rows if r.name == new).vectors == len(added)
    assert deletes == []


def test_a_removal_is_a_deletion_set_until_optimize_merges_it_away(corpus_copy: Paths):
    _build(corpus_copy, batch_chunks=8)
    gone = sorted(corpus_copy.corpus.glob("*.md"))[1]
    store = Store(live(corpus_copy.index) / STORE_FILE)
    gone_ids = store.chunk_ids([store.document_id(gone.name)]).tolist()
    store.close()
    before = _files(corpus_copy)
    gone.unlink()
    _build(corpus_copy)
    assert _files(corpus_copy) == before  # no segment written or rewritten
    rows, deletes, chunks = _rows(corpus_copy)
    assert deletes == gone_ids
    hits = _dense_everything(corpus_copy)
    assert len(hits) == chunks and not set(hits) & set(gone_ids)
    content = index_content(corpus_copy.index, FakeEmbedder(), QUESTIONS)

    _build(corpus_copy, optimize=True)
    rows, deletes, chunks = _rows(corpus_copy)
    assert len(rows) == 1 and rows[0].vectors == chunks and deletes == []
    assert set(_files(corpus_copy)) == {rows[0].name}
    assert_segments_committed(live(corpus_copy.index))
    assert index_content(corpus_copy.index, FakeEmbedder(), QUESTIONS) == content
    clean = Paths(corpus_copy.corpus, corpus_copy.index.parent / "clean")
    _build(clean)
    fresh = index_content(clean.index, FakeEmbedder(), QUESTIONS)
    assert without_marking(fresh) == without_marking(content)


def test_a_build_from_scratch_ends_in_one_segment_and_updates_merge_by_tiers(
        corpus_copy: Paths):
    _build(corpus_copy, batch_chunks=2)  # many commits, merged once at the end
    assert len(_rows(corpus_copy)[0]) == 1
    for copy in range(3):
        for n, src in enumerate(sorted(CORPUS.glob("*.md"))):
            shutil.copy(src, corpus_copy.corpus / f"copy-{copy}-{n}.md")
    _build(corpus_copy, batch_chunks=2)  # an update: one commit per document
    rows, _, chunks = _rows(corpus_copy)
    commits = 3 * len(list(CORPUS.glob("*.md")))
    assert 1 < len(rows) < SEGMENTS_PER_TIER < commits  # merged on the way
    assert merge_candidates(rows) == []
    assert sum(r.vectors for r in rows) == chunks


def test_the_merge_policy_picks_the_smallest_full_tier():
    def row(n: int, vectors: int) -> SegmentRow:
        return SegmentRow(f"seg-{n:08d}.faiss", "", 0, vectors, False)

    small = [row(n, 30) for n in range(SEGMENTS_PER_TIER - 1)]
    middle = [row(100 + n, SMALLEST_TIER * SEGMENTS_PER_TIER + n)
              for n in range(SEGMENTS_PER_TIER)]
    assert merge_candidates(small) == []
    assert merge_candidates([*small, row(99, SMALLEST_TIER - 1)]) == [*small, row(99, 255)]
    assert merge_candidates(small + middle) == middle


def test_the_merge_policy_merges_no_tier_beyond_the_largest_segment(
        monkeypatch: pytest.MonkeyPatch):
    """Ten segments of a tier merge only within MAX_SEGMENT_VECTORS: the smallest ones,
    when ten of them fit; none, when they do not."""
    def row(n: int, vectors: int) -> SegmentRow:
        return SegmentRow(f"seg-{n:08d}.faiss", "", 0, vectors, False)

    monkeypatch.setattr(segment_writer, "MAX_SEGMENT_VECTORS", 10 * 3000)
    tier = [row(n, 2560 + 50 * n) for n in range(SEGMENTS_PER_TIER + 2)]
    assert sum(r.vectors for r in tier[:SEGMENTS_PER_TIER]) <= 10 * 3000
    assert merge_candidates(tier[::-1]) == tier[:SEGMENTS_PER_TIER][::-1]
    assert merge_candidates([row(n, 3100) for n in range(SEGMENTS_PER_TIER)]) == []


def test_merges_write_no_segment_beyond_the_bound_and_search_as_one_segment(
        corpus_copy: Paths, monkeypatch: pytest.MonkeyPatch):
    """With the segment bound and the merge's read batches made small, a build from
    scratch ends in segments of at most MAX_SEGMENT_VECTORS vectors, each merged from
    consecutive ones; a search over them ranks exactly as over the one segment an
    unbounded build makes; `--optimize` leaves them as they are."""
    reference = Paths(corpus_copy.corpus, corpus_copy.index.parent / "reference")
    _build(reference, batch_chunks=2)  # one commit per document (the largest has 28)
    assert len(_rows(reference)[0]) == 1
    monkeypatch.setattr(segment_writer, "MAX_SEGMENT_VECTORS", 35)
    monkeypatch.setattr(segment_writer, "ADD_BATCH_VECTORS", 16)
    _build(corpus_copy, batch_chunks=2)
    rows, deletes, chunks = _rows(corpus_copy)
    commits = len(list(CORPUS.glob("*.md")))
    assert 1 < len(rows) < commits and all(r.vectors <= 35 for r in rows)
    assert deletes == []
    assert sum(r.vectors for r in rows) == chunks
    assert_segments_committed(live(corpus_copy.index))
    assert _dense_everything(corpus_copy) == _dense_everything(reference)
    assert without_marking(index_content(corpus_copy.index, FakeEmbedder(), QUESTIONS)) \
        == without_marking(index_content(reference.index, FakeEmbedder(), QUESTIONS))
    before = _files(corpus_copy)
    _build(corpus_copy, optimize=True)
    assert _files(corpus_copy) == before


def test_an_approximate_segment_merged_in_batches_holds_every_live_vector(
        corpus_copy: Paths, monkeypatch: pytest.MonkeyPatch):
    """A graph built from many segments, read and added a few vectors at a time, holds
    each live passage once, with its vector (8-bit codes: close, not equal)."""
    reference = Paths(corpus_copy.corpus, corpus_copy.index.parent / "reference")
    _build(reference)
    monkeypatch.setattr(segment_writer, "APPROXIMATE_FROM", 40)
    monkeypatch.setattr(segment_writer, "ADD_BATCH_VECTORS", 16)
    _build(corpus_copy, batch_chunks=8)
    rows, _, chunks = _rows(corpus_copy)
    assert len(rows) == 1 and rows[0].approximate and rows[0].vectors == chunks
    got, want = stored_vectors(corpus_copy.index), stored_vectors(reference.index)
    assert got.keys() == want.keys()
    assert min(float(got[k] @ want[k]) for k in got if k[0] == "chunk") > 0.99


def test_qa_index_optimize_merges_into_one_segment(fake_index: Paths):
    src = sorted(CORPUS.glob("*.md"))[0]
    (fake_index.corpus / "added.md").write_text(src.read_text(encoding="utf-8") + "\nNew.\n",
                                                encoding="utf-8")
    assert run_qa(fake_index, "index").returncode == 0
    assert len(_rows(fake_index)[0]) > 1
    result = run_qa(fake_index, "index", "--optimize")
    assert result.returncode == 0, result.stderr
    rows, deletes, chunks = _rows(fake_index)
    assert len(rows) == 1 and rows[0].vectors == chunks and deletes == []
    assert "vectors     1 segment, 0 deleted" in run_qa(fake_index, "status").stdout


def test_an_index_of_the_single_file_vector_format_asks_for_a_rebuild(fake_index: Paths):
    """Schema 2 kept passage vectors in the store and one `vectors.faiss`: every command
    says so in one line, and `qa index --rebuild` makes a working index."""
    generation = live(fake_index.index)
    shutil.rmtree(generation / VECTORS_DIR)
    (generation / "vectors.faiss").write_bytes(b"an old FAISS file")
    manifest = json.loads((generation / "manifest.json").read_text())
    manifest["schema_version"] = 2
    (generation / "manifest.json").write_text(json.dumps(manifest))
    for command in (["index"], ["ask", QUESTIONS[0]], ["status"]):
        result = run_qa(fake_index, *command)
        assert result.returncode == 3, result.stderr
        assert_one_line_error(result, f"schema_version = 2, this qa uses {SCHEMA_VERSION}",
                              "run `qa index --rebuild`")
    assert run_qa(fake_index, "index", "--rebuild").returncode == 0
    result = run_qa(fake_index, "ask", QUESTIONS[0])
    assert result.returncode == 0, result.stderr


def _clustered(n: int) -> np.ndarray:
    """Unit vectors around 40 centres: data with a neighbourhood structure, as real
    embeddings have (uniform random vectors have no near neighbours to find)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 384))
    x = centres[rng.integers(0, 40, n)] + 0.4 * rng.normal(size=(n, 384))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_a_large_segment_is_approximate_and_finds_what_exact_search_finds(
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(segment_writer, "APPROXIMATE_FROM", 2000)
    ids = np.arange(10, 6010, dtype=np.int64)
    x, queries = np.split(_clustered(len(ids) + 50), [len(ids)])  # questions near passages
    index, approximate = segment_writer.build_index(ids, x)
    assert approximate and isinstance(faiss.downcast_index(index.index), faiss.IndexHNSWSQ)
    segment = Segment("s", index, segment_ids(index), True)
    assert segment.ids.tolist() == ids.tolist()
    deleted = ids[::5]
    recall = []
    for q in queries:
        live_ids = np.setdiff1d(ids, deleted)
        exact = live_ids[np.argsort(-(x[live_ids - 10] @ q))[:10]]
        found = segment.search(q, 10, None, deleted)
        assert len(found) == 10 and not set(found) & set(deleted.tolist())
        recall.append(len(set(found) & set(exact.tolist())) / 10)
    assert np.mean(recall) >= 0.9
    within = ids[3::97]  # a narrow filter: scored from the codes, every one returned
    assert set(segment.search(queries[0], 100, within, deleted)) == set(within.tolist())
    monkeypatch.setattr(vectors, "EXACT_FILTER_LIMIT", 10)  # a wide filter: the graph
    wide = np.setdiff1d(ids[::3], deleted)
    found = segment.search(queries[0], 100, wide, deleted)
    assert len(found) == 100 and set(found) <= set(wide.tolist())
    decoded = segment.vectors(ids[:20])
    assert np.min(np.sum(decoded * x[:20], axis=1)) > 0.99  # 8-bit codes: close


def test_writer_merges_into_an_approximate_segment_and_optimize_rebuilds(
        corpus_copy: Paths, monkeypatch: pytest.MonkeyPatch):
    """Lower the threshold so the five articles make an approximate segment, then add
    and remove documents: a merge adds to its graph and keeps the removed vectors in
    the deletion set (a graph cannot drop one), the dense side returns no removed
    passage; `--optimize` builds it anew without them."""
    monkeypatch.setattr(segment_writer, "APPROXIMATE_FROM", 40)
    monkeypatch.setattr(segment_writer, "MAX_DELETED_SHARE", 0.9)
    _build(corpus_copy, batch_chunks=8, optimize=True)
    rows, _, chunks = _rows(corpus_copy)
    assert len(rows) == 1 and rows[0].approximate and rows[0].vectors == chunks
    docs = sorted(corpus_copy.corpus.glob("*.md"))
    docs[0].unlink()
    shutil.copy(CORPUS / docs[1].name, corpus_copy.corpus / "again.md")
    _build(corpus_copy)
    store = Store(live(corpus_copy.index) / STORE_FILE)
    segment_writer.SegmentWriter(store).merge(store.vector_segments())
    rows, deletes, chunks = store.vector_segments(), store.vector_deletes(), store.count(
        "chunks")
    live_ids = set(store.chunk_ids().tolist())
    store.close()
    assert len(rows) == 1 and rows[0].approximate and len(deletes) > 0
    assert rows[0].vectors == chunks + len(deletes)
    assert set(_dense_everything(corpus_copy)) <= live_ids
    _build(corpus_copy, optimize=True)
    assert_segments_committed(live(corpus_copy.index))
    rows, deletes, _ = _rows(corpus_copy)
    assert rows[0].vectors == chunks and len(deletes) == 0


def test_a_reader_follows_commits_loading_only_new_segments(corpus_copy: Path):
    _build(corpus_copy)
    searcher = Searcher(corpus_copy.index, encoder=FakeEmbedder())
    first = searcher.dense.segments[0]
    src = sorted(CORPUS.glob("*.md"))[0]
    (corpus_copy.corpus / "added.md").write_text(src.read_text(encoding="utf-8"),
                                                 encoding="utf-8")
    _build(corpus_copy)
    assert searcher.dense.segments[0] is first  # kept, not read again
    assert len(searcher.dense.segments) == 2
    assert searcher.dense.count == searcher.store.count("chunks")
    searcher.close()
