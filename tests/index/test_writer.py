"""Indexing logic on real files with the fake embedder: incremental, consistent, safe."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from qa.errors import IndexDamaged, IndexIncompatible, QaError
from qa.index.generations import live_store
from qa.index.layout import STORE_FILE, VECTORS_DIR
from qa.index.staleness import staleness
from qa.index.store import SCHEMA_VERSION, Store
from qa.index.vectors import file_identity, open_dense
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.conftest import assert_one_line_error, live, run_qa
from tests.support.fake_model import FakeDocumentEmbedder
from tests.support.index_equality import assert_segments_committed


def _index(paths: Paths, embedder, **kw):
    return update_index(paths, progress=False, embedder=embedder, **kw)


def _chunk_ids(paths: Paths) -> dict[str, list[int]]:
    store = Store(live(paths.index) / STORE_FILE)
    rows = store.db.execute(
        "SELECT d.path, c.id FROM chunks c JOIN documents d ON d.id = c.doc_id ORDER BY c.id")
    out: dict[str, list[int]] = {}
    for path, cid in rows:
        out.setdefault(path, []).append(cid)
    store.close()
    return out


def _check_consistent(paths: Paths) -> None:
    """Every chunk has one live vector, in committed, whole segment files, and no
    other file lies in the vectors folder."""
    assert_segments_committed(live(paths.index))
    store = Store(live(paths.index) / STORE_FILE)
    chunk_ids = store.chunk_ids().tolist()
    named = {r.name for r in store.vector_segments()}
    ids, _ = open_dense(store).all_vectors()
    store.close()
    assert ids.tolist() == chunk_ids
    assert {p.name for p in (live(paths.index) / VECTORS_DIR).iterdir()} == named


def test_first_build_then_nothing_to_do(corpus_copy, fake_embedder):
    report = _index(corpus_copy, fake_embedder)
    assert len(report.added) == 5 and report.chunks_embedded > 20
    _check_consistent(corpus_copy)
    again = _index(corpus_copy, fake_embedder)
    assert again.chunks_embedded == 0
    assert len(again.unchanged) == 5
    manifest = json.loads((live(corpus_copy.index) / "manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION


def test_touch_edit_remove_are_incremental(corpus_copy, fake_embedder):
    _index(corpus_copy, fake_embedder)
    before = _chunk_ids(corpus_copy)
    files = sorted(corpus_copy.corpus.glob("*.md"))
    touched, edited, removed = files[0], files[1], files[2]
    os.utime(touched, ns=(1, 1))
    edited.write_text(edited.read_text(encoding="utf-8") + "\nA new closing line.\n",
                      encoding="utf-8")
    removed.unlink()
    store = Store(live(corpus_copy.index) / STORE_FILE)
    stale = staleness(corpus_copy, store)
    store.close()
    assert stale.changed == sorted([touched.name, edited.name])
    assert stale.removed == [removed.name]
    report = _index(corpus_copy, fake_embedder)
    assert report.updated == [edited.name]
    assert report.removed == [removed.name]
    assert touched.name in report.unchanged
    after = _chunk_ids(corpus_copy)
    # chunk ids of unchanged documents survive; the edited one gets new ids
    assert after[touched.name] == before[touched.name]
    assert after[files[3].name] == before[files[3].name]
    assert removed.name not in after
    assert not set(after[edited.name]) & set(before[edited.name])
    _check_consistent(corpus_copy)


def test_bad_files_are_skipped_and_the_rest_indexed(corpus_copy, fake_embedder):
    (corpus_copy.corpus / "binary.md").write_bytes(b"\x00\x01garbage")
    (corpus_copy.corpus / "empty.txt").write_text("")
    (corpus_copy.corpus / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (corpus_copy.corpus / "image.png").write_bytes(b"\x89PNG\r\n")
    report = _index(corpus_copy, fake_embedder)
    assert len(report.added) == 5
    reasons = dict(report.skipped)
    assert set(reasons) == {"binary.md", "empty.txt", "latin1.txt", "image.png"}
    assert "binary" in reasons["binary.md"]
    assert "UTF-8" in reasons["latin1.txt"]
    # skipped files are remembered: they are not "new" on every ask
    store = Store(live(corpus_copy.index) / STORE_FILE)
    assert not staleness(corpus_copy, store)
    store.close()


def test_missing_and_empty_corpus(tmp_path, fake_embedder):
    with pytest.raises(QaError, match="corpus folder not found"):
        _index(Paths(tmp_path / "nope", tmp_path / "index"), fake_embedder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(QaError, match="corpus is empty"):
        _index(Paths(tmp_path / "empty", tmp_path / "index"), fake_embedder)


@pytest.mark.parametrize(("key", "value"), [("name", "some/other-model"),
                                            ("sentence_vectors", "pooled")])
def test_index_with_other_model_is_refused(corpus_copy, fake_embedder, key, value):
    _index(corpus_copy, fake_embedder)
    manifest_path = live(corpus_copy.index) / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["model"][key] = value
    manifest_path.write_text(json.dumps(data))
    with pytest.raises(IndexIncompatible, match=rf"model.{key} = '{value}'.*--rebuild"):
        _index(corpus_copy, fake_embedder)
    with pytest.raises(IndexIncompatible):
        Searcher(corpus_copy.index, encoder=fake_embedder)
    report = _index(corpus_copy, fake_embedder, rebuild=True)
    assert len(report.added) == 5
    Searcher(corpus_copy.index, encoder=fake_embedder).close()


def test_index_of_an_older_schema_asks_for_a_rebuild(corpus_copy, fake_embedder):
    """Schema 2 stores sections (pages or chapters, OCR flags): a schema-1 index cannot
    cite them, so every command names the difference and the one fix."""
    _index(corpus_copy, fake_embedder)
    _as_schema(corpus_copy, 1)


def _as_schema(paths: Paths, version: int) -> None:
    """Rewrite the live manifest as schema `version` wrote it; every command then names
    the difference and the one fix."""
    manifest_path = live(paths.index) / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["schema_version"] = version
    if version < 3:
        del data["model"]["sentence_vectors"]
    manifest_path.write_text(json.dumps(data))
    for command in (["index"], ["ask", "why did Baku reject mediators?"]):
        result = run_qa(paths, *command)
        assert result.returncode == 3, result.stderr
        assert_one_line_error(result, f"schema_version = {version}, this qa uses"
                              f" {SCHEMA_VERSION}", "run `qa index --rebuild`")


def test_a_damaged_vector_segment_is_named_then_its_documents_re_embedded(
        corpus_copy, fake_embedder):
    """Vectors are stored once, in hashed segment files: a damaged one cannot be used,
    so readers name it with the fix, and the next `qa index` re-embeds the documents
    whose vectors it held (and only those)."""
    held_back = sorted(corpus_copy.corpus.glob("*.md"))[0]
    kept = held_back.read_bytes()
    held_back.unlink()
    _index(corpus_copy, fake_embedder)  # one segment; the update adds several
    held_back.write_bytes(kept)
    _index(corpus_copy, fake_embedder, batch_chunks=8)
    question = "Why did Armenia freeze its membership in the military alliance?"
    searcher = Searcher(corpus_copy.index, encoder=fake_embedder)
    expected = [(h.passage.path, h.passage.start) for h in searcher.search(question).hits]
    total = searcher.store.count("chunks")
    searcher.close()
    store = Store(live(corpus_copy.index) / STORE_FILE)
    segments = store.vector_segments()
    store.close()
    assert len(segments) > 1
    path: Path = live(corpus_copy.index) / VECTORS_DIR / segments[0].name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    searcher = Searcher(corpus_copy.index, encoder=fake_embedder)
    with pytest.raises(IndexDamaged, match=rf"{segments[0].name}: damaged.*run `qa index`"):
        searcher.search(question)
    searcher.close()
    path.write_bytes(path.read_bytes()[:100])  # truncated: the same repair
    report = _index(corpus_copy, fake_embedder)
    assert 0 < report.chunks_embedded < total
    _check_consistent(corpus_copy)
    searcher = Searcher(corpus_copy.index, encoder=fake_embedder)
    assert [(h.passage.path, h.passage.start)
            for h in searcher.search(question).hits] == expected
    searcher.close()


def test_a_copied_index_is_hashed_once_then_trusted_by_its_files_identity(
        corpus_copy, fake_embedder, tmp_path):
    """Segment files are hashed only when they do not look as they did once written
    (size, inode, times): a copy of the index (new inodes) is hashed, answers the same,
    and its next update records the copies' identity, so later opens trust them."""
    _index(corpus_copy, fake_embedder, batch_chunks=8)
    question = "Why did Armenia freeze its membership in the military alliance?"
    searcher = Searcher(corpus_copy.index, encoder=fake_embedder)
    expected = [(h.passage.path, h.passage.start) for h in searcher.search(question).hits]
    searcher.close()
    copy = Paths(corpus_copy.corpus, tmp_path / "copied-index")
    shutil.copytree(corpus_copy.index, copy.index)

    def identities() -> dict[str, str]:
        with live_store(copy.index) as store:
            return {r.name: r.identity for r in store.vector_segments()}

    def on_disk() -> dict[str, str]:
        folder = live(copy.index) / VECTORS_DIR
        return {name: file_identity((folder / name).stat()) for name in identities()}

    assert all(identities()[n] != i for n, i in on_disk().items())
    searcher = Searcher(copy.index, encoder=fake_embedder)  # hashed: still answers
    assert [(h.passage.path, h.passage.start)
            for h in searcher.search(question).hits] == expected
    searcher.close()
    _index(copy, fake_embedder)  # nothing to embed; the identities are recorded
    assert identities() == on_disk()


def test_an_update_of_given_files_looks_at_those_alone(corpus_copy, fake_embedder):
    """`qa add` and `qa remove` update the index for the files they changed (`only`):
    another change in the corpus, and another file's skip record, wait for the next
    full update, which then finds the same index a full update would have made."""
    _index(corpus_copy, fake_embedder)
    docs = sorted(corpus_copy.corpus.glob("*.md"))
    (corpus_copy.corpus / "bad.pdf").write_bytes(b"not a pdf")
    _index(corpus_copy, fake_embedder)  # bad.pdf: skipped, and remembered
    shutil.copy(docs[0], corpus_copy.corpus / "added.md")
    docs[1].write_text(docs[1].read_text(encoding="utf-8") + "\nA new line.\n",
                       encoding="utf-8")
    report = _index(corpus_copy, fake_embedder, only=["added.md"])
    assert report.chunks_embedded > 0 and not report.removed
    with live_store(corpus_copy.index) as store:
        stale = staleness(corpus_copy, store)
        assert stale.changed == [docs[1].name] and not stale.new and not stale.removed
        assert "bad.pdf" in store.skipped.all()
    docs[2].unlink()
    report = _index(corpus_copy, fake_embedder, only=[docs[2].name])
    assert report.removed == [docs[2].name]
    with live_store(corpus_copy.index) as store:
        assert staleness(corpus_copy, store).changed == [docs[1].name]
    _index(corpus_copy, fake_embedder)
    with live_store(corpus_copy.index) as store:
        assert not staleness(corpus_copy, store)
    _check_consistent(corpus_copy)


def test_corrupt_store_gives_a_clear_error(corpus_copy, fake_embedder):
    _index(corpus_copy, fake_embedder)
    (live(corpus_copy.index) / STORE_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(QaError, match=r"damaged.*--rebuild"):
        Searcher(corpus_copy.index, encoder=fake_embedder)


def test_scan_ignores_links_out_of_the_corpus_and_looping_folders(corpus_copy, tmp_path):
    from qa.corpus.walk import scan_corpus

    outside = tmp_path / "outside.md"
    outside.write_text("secret")
    (corpus_copy.corpus / "escape.md").symlink_to(outside)
    (corpus_copy.corpus / "loop").symlink_to(corpus_copy.corpus, target_is_directory=True)
    inner = sorted(corpus_copy.corpus.glob("*.md"))[0]
    (corpus_copy.corpus / "alias.md").symlink_to(inner)
    rels = [f.rel for f in scan_corpus(corpus_copy.corpus)]
    assert "escape.md" not in rels
    assert not any(r.startswith("loop/") for r in rels)
    assert "alias.md" in rels and len(rels) == 6


def test_index_from_before_compact_sentence_vectors_asks_for_a_rebuild_then_works(
        corpus_copy, fake_model):
    """A schema-2 index (float32 sentence vectors, no sentence_vectors entry in its
    manifest) gets one line naming the fix, from `qa index` and `qa ask` alike; the
    rebuild it asks for then answers."""
    _index(corpus_copy, FakeDocumentEmbedder())
    _as_schema(corpus_copy, 2)
    assert run_qa(corpus_copy, "index", "--rebuild").returncode == 0
    answered = run_qa(corpus_copy, "ask", "--json", "why did Baku reject mediators?")
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["results"][0]["answer"]
