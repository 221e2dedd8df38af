"""The question syntax: filters inline in a question, as typed by a user."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.search.query_syntax import Filter, QuerySyntaxError, option_filter, parse_query
from qa.settings import Paths
from tests.conftest import assert_one_line_error, run_qa


def test_every_filter_kind_is_read_and_the_rest_is_the_question():
    q = parse_query('source:"RFE/RL" Title:peace in:reports/2024/ type:.PDF after:2024-01'
                    ' before:2025-06-30 "an exact phrase" -word -"a phrase" why did Baku?')
    assert q.text == "an exact phrase why did Baku?"
    assert q.filter == Filter(sources=("RFE/RL",), titles=("peace",), folders=("reports/2024",),
                              types=("pdf",), after="2024-01", before="2025-06-30",
                              phrases=("an exact phrase",), excluded=("word", "a phrase"))
    assert q.filter.terms() == ["source:RFE/RL", "title:peace", "in:reports/2024/", "type:pdf",
                                "after:2024-01", "before:2025-06-30", '"an exact phrase"',
                                "-word", '-"a phrase"']


@pytest.mark.parametrize("question", [
    "why did Baku reject mediators?",
    "What's the Armenia-Azerbaijan border, e.g. ratio 3:1 - or time: now?",
    "Who wrote http://example.org/a?",
])
def test_ordinary_questions_are_left_alone(question: str):
    q = parse_query(question)
    assert q.text == question and not q.filter


def test_curly_quotes_and_punctuation_after_a_phrase():
    q = parse_query("What is \u201cvictor\u2019s peace\u201d? and \"a b\",")
    assert q.filter.phrases == ("victor\u2019s peace", "a b")


def test_same_key_adds_up_and_dates_narrow():
    q = parse_query("source:A source:B after:2024 after:2024-06 before:2025 before:2025-03 q")
    assert q.filter.sources == ("A", "B")
    assert (q.filter.after, q.filter.before) == ("2024-06", "2025-03")
    both = q.filter.combined(option_filter(sources=("C",), after="2024-09"))
    assert both.sources == ("A", "B", "C") and both.after == "2024-09"


@pytest.mark.parametrize(("question", "needle"), [
    ("after:2024-13 x", "after:2024-13: not a date"),
    ("before:2024-02-30 x", "not a date"),
    ("source: x", "source: needs a value"),
    ('what "unclosed', "never closed"),
    ('"" x', "no words"),
    ('"foo"bar x', "right after a closing quote"),
    ("after:2025 before:2024 x", "no date is both"),
    ("-source:x q", "cannot be negated"),
])
def test_syntax_errors_are_one_clear_line(question: str, needle: str):
    with pytest.raises(QuerySyntaxError, match=needle):
        parse_query(question)


def test_cli_syntax_error_is_a_usage_error_before_anything_runs(tmp_path: Path):
    """Exit 2, one line, and no index is built for a question that cannot be read."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    paths = Paths(corpus, tmp_path / "index")
    result = run_qa(paths, "ask", "fine question", "after:2024-13 why?")
    assert_one_line_error(result, "after:2024-13", "YYYY-MM")
    assert result.returncode == 2
    bad_option = run_qa(paths, "ask", "--before", "June", "why?")
    assert_one_line_error(bad_option, "--before June", "not a date")
    assert bad_option.returncode == 2
    assert not paths.index.exists()
