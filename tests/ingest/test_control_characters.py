"""Saved pages with stray control characters are indexed, not skipped.

trafilatura returned nothing for a page holding `&#27;[31m` (lxml refuses control
characters in its tree, trafilatura's rewrite of the tree hits that, and it gives up on
the page), so the page was skipped as "no article text found in HTML".
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from qa.index.layout import STORE_FILE
from qa.index.store import Store
from qa.index.writer import update_index
from qa.ingest.loaders.registry import load_document
from qa.settings import Paths
from tests.conftest import FakeEmbedder, live
from tests.ingest.test_formats import NEWS_PAGE

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")

# Each kind of stray control a saved page carries, as a character reference or raw.
STRAYS = {
    "CSI colour": "&#27;[31m",
    "hex reference": "&#x1B;[0m",
    "OSC title with BEL": "&#27;]0;pwned&#7;",
    "OSC 8 hyperlink": "&#27;]8;;https://evil.example&#27;\\",
    "raw ESC": "\x1b[2J",
    "form feed and NUL": "&#12;&#0;",
}


@pytest.mark.parametrize("kind", list(STRAYS))
def test_a_page_with_a_stray_control_is_indexed_with_visible_pictures(kind: str):
    stray = STRAYS[kind]
    clean = load_document("page.html", NEWS_PAGE.encode())
    page = NEWS_PAGE.replace("Two electric gantry cranes", f"Two {stray}electric gantry cranes")
    loaded = load_document("page.html", page.encode())
    assert not CONTROLS.search(loaded.text)
    # Only pictures were added: without them the text is the clean page's, word for word.
    without = re.sub("[\u2400-\u2421\ufffd]", "", loaded.text)
    assert without.split() == clean.text.replace("Two electric", "Two " + _visible_rest(stray)
                                                 + "electric").split()
    assert loaded.title == clean.title


def _visible_rest(stray: str) -> str:
    """What is left of `stray` once its control characters are dropped."""
    decoded = re.sub(r"&#x([0-9a-fA-F]+);", lambda m: chr(int(m.group(1), 16)), stray)
    decoded = re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), decoded)
    return CONTROLS.sub("", decoded.replace("\x00", ""))


def test_a_referenced_escape_becomes_its_control_picture():
    page = NEWS_PAGE.replace("Two electric", "Two &#27;[31mred&#27;[0m electric").replace(
        '<meta name="author" content="Maren Solberg">',
        '<meta name="author" content="Maren&#7; Solberg">')
    loaded = load_document("page.html", page.encode())
    assert "Two \u241b[31mred\u241b[0m electric" in loaded.text
    assert loaded.author == "Maren\u2407 Solberg"


def test_the_page_is_indexed_not_skipped(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    page = NEWS_PAGE.replace("Two electric", "Two &#27;[31m electric")
    (corpus / "saved.html").write_text(page, encoding="utf-8")
    shutil.copy(sorted((Path(__file__).parents[2] / "corpus").glob("*.md"))[0], corpus)
    report = update_index(Paths(corpus, tmp_path / "index"), progress=False,
                          embedder=FakeEmbedder())
    assert report.skipped == []
    assert "saved.html" in report.added
    store = Store(live(tmp_path / "index") / STORE_FILE)
    try:
        assert store.count("documents") == 2
    finally:
        store.close()
