"""Loading: front matter, verbatim bodies, and clear reasons for unreadable files."""

from __future__ import annotations

import pytest
import yaml

from qa.ingest.document import UnreadableDocument
from qa.ingest.loaders.registry import load_document
from tests.conftest import CORPUS


def test_corpus_front_matter_is_complete():
    files = sorted(CORPUS.glob("*.md"))
    assert len(files) == 5
    for path in files:
        raw = path.read_text(encoding="utf-8")
        meta = yaml.safe_load(raw.split("---\n")[1])
        assert meta["title"]
        assert path.name[:4].isdigit()
        if "published" in meta:
            assert path.name.startswith(str(meta["published"]))
        doc = load_document(path.name, path.read_bytes())
        assert doc.title == meta["title"]
        # The body is the file's text after the front matter, verbatim.
        assert raw.endswith(doc.text)


def test_text_without_front_matter_uses_file_stem():
    doc = load_document("notes/a note.txt", b"Just text.\n")
    assert doc.title == "a note"
    assert doc.text == "Just text.\n"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.md", b"  \n", "empty"),
        ("bin.md", b"\x00\x01\x02abc", "binary"),
        ("latin.txt", "caf\xe9".encode("latin-1"), "UTF-8"),
        ("x.pptx", b"PK\x03\x04", "unsupported file type '.pptx'"),
        ("bad.md", b"---\ntitle: [unclosed\n---\nbody\n", "invalid YAML"),
        ("only.md", b"---\ntitle: x\n---\n\n", "no text"),
    ],
)
def test_unreadable_documents_name_a_reason(name, data, reason):
    with pytest.raises(UnreadableDocument) as info:
        load_document(name, data)
    assert reason in info.value.reason
    assert str(info.value).startswith(f"{name}: skipped")
