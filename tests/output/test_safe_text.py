"""Control characters are shown as visible pictures of the same length: the terminal
gets nothing it could act on, and every offset still points at the same character."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from qa.index.records import Passage
from qa.output.json_output import answer_json, json_line
from qa.output.safe_text import visible_line, visible_text
from qa.output.text import answer_text
from qa.search.searcher import Answer, Hit

CONTROL_CODES = frozenset(range(0x20)) | {0x7F} | frozenset(range(0x80, 0xA0))
# Text rich in what matters: controls, their pictures, newlines, and ordinary letters.
texts = st.text(st.one_of(st.characters(codec="utf-8"),
                          st.sampled_from([chr(c) for c in sorted(CONTROL_CODES)]),
                          st.sampled_from(["\u241b", "\n", "\t", "a"])))


@given(texts)
def test_visible_text_keeps_length_layout_and_every_other_character(text: str):
    shown = visible_text(text)
    assert len(shown) == len(text)
    for before, after in zip(text, shown, strict=True):
        if ord(before) in CONTROL_CODES and before not in "\n\t":
            assert ord(after) not in CONTROL_CODES and after.isprintable()
        else:
            assert after == before


@given(texts)
def test_visible_line_leaves_no_control_at_all(text: str):
    shown = visible_line(text)
    assert len(shown) == len(text)
    assert not any(ord(c) in CONTROL_CODES for c in shown)
    assert "\n" not in shown


def test_the_pictures_are_the_unicode_control_pictures():
    assert visible_text("\x1b[31m\x07\r\x7f\x9b") == "\u241b[31m\u2407\u240d\u2421\ufffd"


INJECTED = ("Baku said no. \x1b[2J\x1b]0;pwned\x07The \x1b]8;;https://evil.example\x1b\\link"
            "\x1b]8;;\x1b\\ rejected mediators.\x9b31m Then\r\x00 more.")


def _answer() -> Answer:
    start = 40
    passage = Passage(1, 1, "evil\x1b[31m.md", "Title \x1b]0;t\x07", "Source\x07", None,
                      None, 1, None, None, None, False, start, start + len(INJECTED), INJECTED)
    sentence = INJECTED.index("The ")
    hit = Hit(1, 0.9, passage, start + sentence, start + INJECTED.index(" Then"), 0.8)
    return Answer("why \x1b[5mreject?", True, 0.9, [hit], 0.8, 1.0)


def test_terminal_text_has_no_control_but_its_own_colour_and_marks_the_same_sentence():
    for colour in (True, False):
        shown = answer_text(_answer(), colour)
        own = shown.replace("\x1b[1;33m", "").replace("\x1b[0m", "") if colour else shown
        assert not any(ord(c) in CONTROL_CODES and c != "\n" for c in own)
        assert "\u241b[2J\u241b]0;pwned\u2407" in shown
        assert "evil\u241b[31m.md" in shown and "Title \u241b]0;t\u2407" in shown
        on, off = ("\x1b[1;33m", "\x1b[0m") if colour else ("**", "**")
        marked = shown.split(on, 1)[1].split(off, 1)[0]
        assert marked == visible_text(_answer().hits[0].answer)


def test_json_keeps_the_exact_text_and_prints_no_raw_control():
    line = json_line(answer_json(_answer()))
    assert not any(ord(c) in CONTROL_CODES for c in line)
    result = json.loads(line)["results"][0]
    assert result["text"] == INJECTED
    assert result["doc"] == "evil\x1b[31m.md"
    assert result["answer"] == _answer().hits[0].answer
