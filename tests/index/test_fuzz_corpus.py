"""Fuzzing a whole `qa index` run: a corpus of good documents plus random files (random
names: unicode, very long, control characters; random or mutated content in each
format). Nothing raises past the top, every bad file is named on stderr and skipped,
and every good file is indexed."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from qa.output.safe_text import visible_line
from qa.settings import Paths
from tests.conftest import CORPUS, indexed_documents, run_qa
from tests.support.fuzzing import (
    SAMPLE_HTML,
    SAMPLE_MARKDOWN,
    fuzz_settings,
    mutated,
    sample_pdf,
    tricky_text,
)

GOOD = sorted(CORPUS.glob("*.md"))[:2]
SEEDS = {".md": SAMPLE_MARKDOWN, ".txt": SAMPLE_MARKDOWN, ".html": SAMPLE_HTML,
         ".pdf": sample_pdf(), ".docx": b"PK\x03\x04", "": b"no suffix"}
NAME_MAX = 255  # bytes, on Linux file systems


@st.composite
def file_names(draw: st.DrawFn) -> str:
    """A legal file name: any characters but "/" and NUL, at most 255 bytes of UTF-8,
    often very long, often with control characters, ending in a known suffix or not."""
    suffix = draw(st.sampled_from(sorted(SEEDS)))
    stem = draw(st.one_of(
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"),
                min_size=1, max_size=60),
        tricky_text.map(lambda t: t.replace("/", "").replace("\x00", "")),
        st.integers(100, 250).map(lambda n: "long" * (n // 4))))
    name = stem + suffix
    while len(name.encode("utf-8")) > NAME_MAX:
        stem = stem[:-1]
        name = stem + suffix
    return name if name not in ("", ".", "..") and name[:1] != "." else "x" + name


@st.composite
def bad_files(draw: st.DrawFn) -> dict[str, bytes]:
    names = draw(st.lists(file_names(), min_size=1, max_size=4, unique=True))
    files = {}
    for name in names:
        seed = SEEDS[Path(name).suffix.lower() if Path(name).suffix.lower() in SEEDS else ""]
        files[name] = draw(st.one_of(st.binary(max_size=1024), mutated(seed), st.just(seed)))
    return files


@fuzz_settings(25)
@given(bad_files())
def test_a_corpus_with_random_files_indexes_the_good_and_names_the_bad(
    fake_model: None, files: dict[str, bytes]
):
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for good in GOOD:
            shutil.copy(good, corpus)
        written = {}
        for name, data in files.items():
            with contextlib.suppress(OSError):  # a name this file system refuses
                (corpus / name).write_bytes(data)
                written[name] = data
        paths = Paths(corpus, Path(tmp) / "index")
        result = run_qa(paths, "index")
        assert result.escaped is None, repr(result.escaped)
        assert result.returncode in (0, 4), result.stderr
        assert "Traceback" not in result.stderr
        indexed = indexed_documents(paths)
        assert {g.name for g in GOOD} <= indexed
        # split("\n"), not splitlines(): a name may hold U+2028, which a terminal shows
        # inside its line but splitlines() would cut at.
        skipped = [line for line in result.stderr.split("\n") if ": skipped, " in line]
        for name in written:
            named = f"qa: {visible_line(name)}: skipped, "
            assert (name in indexed) != any(line.startswith(named) for line in skipped), name
        assert len(skipped) == len(set(written) - indexed)
        assert (result.returncode == 4) == bool(skipped)
