"""Property: after any sequence of adds, edits and removes, an incremental index holds
exactly what a clean rebuild of the same corpus holds."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.index.writer import update_index
from qa.settings import Paths
from tests.conftest import CORPUS, FakeEmbedder
from tests.support.index_equality import index_content, without_marking

PARAGRAPHS = [p for path in sorted(CORPUS.glob("*.md"))
              for p in path.read_text(encoding="utf-8").split("\n\n")[2:] if len(p) > 80][:40]
QUESTIONS = ["Why did Baku reject mediators?", "constitution claim on Karabakh"]

names = st.sampled_from([f"doc{n}.md" for n in range(6)])
bodies = st.lists(st.sampled_from(PARAGRAPHS), min_size=1, max_size=4)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("write"), names, bodies),
        st.tuples(st.just("remove"), names, st.just([])),
        st.tuples(st.just("index"), st.just(""), st.just([])),
    ),
    min_size=1, max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_incremental_equals_rebuild(ops):
    embedder = FakeEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        shutil.copy(sorted(CORPUS.glob("*.md"))[0], corpus / "base.md")
        paths = Paths(corpus, Path(tmp) / "index")
        update_index(paths, progress=False, embedder=embedder)
        for kind, name, paragraphs in ops:
            if kind == "write":
                (corpus / name).write_text(f"---\ntitle: {name}\n---\n\n"
                                           + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
            elif kind == "remove":
                (corpus / name).unlink(missing_ok=True)
            else:
                update_index(paths, progress=False, embedder=embedder)
        update_index(paths, progress=False, embedder=embedder)
        rebuilt = Paths(corpus, Path(tmp) / "rebuilt")
        update_index(rebuilt, progress=False, embedder=embedder)
        # The marked sentences may differ after an edit or removal: tantivy's document
        # frequencies, which marking weighs words by, count a replaced passage until its
        # segment is merged away (a known limit, docs/scale.md). Hypothesis found it with
        # a document rewritten from four copies of a paragraph to one.
        assert without_marking(index_content(paths.index, embedder, QUESTIONS)) == (
            without_marking(index_content(rebuilt.index, embedder, QUESTIONS)))
