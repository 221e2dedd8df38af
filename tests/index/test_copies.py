"""Republished copies: found at index time, incrementally, and grouped in results.
Real files, fake embedder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.index import minhash
from qa.index.layout import STORE_FILE
from qa.index.status import status_text
from qa.index.store import SCHEMA_VERSION, Store
from qa.index.writer import update_index
from qa.ingest.loaders.registry import load_document
from qa.output.json_output import answer_json
from qa.output.text import answer_text
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.conftest import CORPUS, FakeEmbedder, assert_one_line_error, live, run_qa

ORIGINAL = "2024-02-armenia-azerbaijan-going-it-alone.md"
QUESTION = "Can Armenia and Azerbaijan go it alone without mediators?"


def republish(text: str, source: str, published: str, *, header: str = "",
              footer: str = "", cut: int | None = None) -> str:
    """The article as another outlet runs it: its own front matter, header and footer,
    and maybe one paragraph cut."""
    paragraphs = text.split("\n\n")
    if cut is not None:
        del paragraphs[cut]
    body = "\n\n".join(p for p in (header, *paragraphs, footer) if p)
    return (f'---\ntitle: "Going it alone"\nsource: "{source}"\npublished: "{published}"\n---'
            f"\n\n{body}\n")


@pytest.fixture
def with_copies(tmp_path: Path) -> Paths:
    """The corpus, plus the 2024-02 article republished twice: by a wire service
    (dated, so earliest) with a header, and by a blog in a subfolder with a footer and
    a paragraph cut."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    text = load_document(ORIGINAL, (CORPUS / ORIGINAL).read_bytes()).text
    (corpus / "wire.md").write_text(republish(
        text, "Wire Service", "2024-02-05",
        header="Reprinted with permission. Photo: the border commission at work."),
        encoding="utf-8")
    (corpus / "blogs").mkdir()
    (corpus / "blogs" / "repost.md").write_text(republish(
        text, "A Blog", "2024-03-01", footer="Subscribe for more. Comments are closed.",
        cut=3), encoding="utf-8")
    paths = Paths(corpus, tmp_path / "index")
    update_index(paths, progress=False, embedder=FakeEmbedder())
    return paths


def group_paths(paths: Paths) -> list[set[str]]:
    store = Store(live(paths.index) / STORE_FILE)
    try:
        names = {d.id: d.path for d in store.document_fields()}
        return [{names[i] for i in g} for g in store.copies.groups()]
    finally:
        store.close()


def test_copies_are_grouped_and_status_reports_them(with_copies: Paths):
    assert group_paths(with_copies) == [{ORIGINAL, "wire.md", "blogs/repost.md"}]
    lines = status_text(with_copies).splitlines()
    at = lines.index("copies      1 group of republished documents (3 documents)")
    # Earliest first: the two dated copies by date, then the undated original.
    assert lines[at + 1] == f"  wire.md = blogs/repost.md = {ORIGINAL}"


def test_the_earliest_copy_ranks_and_the_others_are_listed(with_copies: Paths):
    searcher = Searcher(with_copies.index, encoder=FakeEmbedder())
    try:
        grouped = searcher.search(QUESTION, 5)
        docs = [h.passage.path for h in grouped.hits]
        assert "wire.md" in docs
        assert ORIGINAL not in docs and "blogs/repost.md" not in docs
        hit = next(h for h in grouped.hits if h.passage.path == "wire.md")
        assert [d.path for d in hit.also_published] == ["blogs/repost.md", ORIGINAL]
        obj = answer_json(grouped)
        row = obj["results"][docs.index("wire.md")]
        assert row["also_published"][0] == {"doc": "blogs/repost.md", "title": "Going it alone",
                                            "source": "A Blog", "published": "2024-03-01"}
        text = answer_text(grouped, color=False)
        amn = "AMN \u2013 Al-Masdar News (originally published by Radio Free Europe/Radio Liberty)"
        assert (f"   also published by: A Blog, 2024-03-01 [blogs/repost.md]; {amn} [{ORIGINAL}]"
                in text.splitlines())

        every = searcher.search(QUESTION, 10, all_copies=True)
        assert {ORIGINAL, "wire.md", "blogs/repost.md"} <= {h.passage.path for h in every.hits}
        # A filter that leaves only a later copy: that copy ranks, naming the others.
        only_blog = searcher.search(f"in:blogs/ {QUESTION}", 3)
        assert {h.passage.path for h in only_blog.hits} == {"blogs/repost.md"}
        assert [d.path for d in only_blog.hits[0].also_published] == ["wire.md", ORIGINAL]
    finally:
        searcher.close()


def test_adding_one_document_signs_only_that_one(with_copies: Paths, monkeypatch):
    store = Store(live(with_copies.index) / STORE_FILE)
    before = dict(store.db.execute("SELECT doc_id, signature FROM minhash").fetchall())
    store.close()
    signed: list[str] = []
    real = minhash.signature

    def counting(text: str, size: int = minhash.SHINGLE_WORDS):
        signed.append(text[:40])
        return real(text, size)

    monkeypatch.setattr(minhash, "signature", counting)
    article = (with_copies.corpus / ORIGINAL).read_text(encoding="utf-8")
    (with_copies.corpus / "third.md").write_text(article, encoding="utf-8")
    update_index(with_copies, progress=False, embedder=FakeEmbedder())
    assert len(signed) == 1
    store = Store(live(with_copies.index) / STORE_FILE)
    after = dict(store.db.execute("SELECT doc_id, signature FROM minhash").fetchall())
    store.close()
    assert {k: after[k] for k in before} == before
    assert group_paths(with_copies) == [{ORIGINAL, "wire.md", "blogs/repost.md", "third.md"}]

    (with_copies.corpus / "wire.md").unlink()
    (with_copies.corpus / "third.md").unlink()
    update_index(with_copies, progress=False, embedder=FakeEmbedder())
    assert group_paths(with_copies) == [{ORIGINAL, "blogs/repost.md"}]
    (with_copies.corpus / "blogs" / "repost.md").unlink()
    update_index(with_copies, progress=False, embedder=FakeEmbedder())
    assert group_paths(with_copies) == []
    assert "copies      0 groups" in status_text(with_copies)


def test_an_index_from_the_previous_schema_asks_for_a_rebuild(with_copies: Paths):
    manifest = live(with_copies.index) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["schema_version"] = SCHEMA_VERSION - 1
    manifest.write_text(json.dumps(data))
    result = run_qa(with_copies, "ask", "--no-update", QUESTION)
    assert_one_line_error(result, f"schema_version = {SCHEMA_VERSION - 1}",
                          "qa index --rebuild")
    assert result.returncode == 3
