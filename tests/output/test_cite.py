"""`qa ask --cite`: BibTeX checked by a BibTeX parser, CSL-JSON by a JSON Schema.

Real files (the corpus, a PDF, and a document whose metadata holds every character
that BibTeX and Markdown treat specially), fake embedder.

The CSL-JSON schema: the official one is csl-data.json in the Citation Style
Language's schema repository (MIT). It is not copied here; CSL_ITEM below restates,
with the same types, the CSL 1.0 input-data definitions of every variable qa writes
(type, id, title, author as name variables, container-title, issued as a date
variable, locator, note), and forbids any other key, as the official schema does
(`additionalProperties: false`), so a misspelt variable fails.
"""

from __future__ import annotations

import json
import re
import shutil

import bibtexparser
import jsonschema
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware

from qa.index.writer import update_index
from qa.output.cite import authors, citations
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.conftest import CORPUS, FakeEmbedder, assert_one_line_error, run_qa
from tests.ingest.test_formats import make_pdf, survey_pages

CSL_TYPES = ["article", "article-journal", "article-magazine", "article-newspaper", "bill",
             "book", "broadcast", "chapter", "classic", "collection", "dataset", "document",
             "entry", "entry-dictionary", "entry-encyclopedia", "figure", "graphic", "hearing",
             "interview", "legal_case", "legislation", "manuscript", "map", "motion_picture",
             "musical_score", "pamphlet", "paper-conference", "patent", "performance",
             "periodical", "personal_communication", "post", "post-weblog", "regulation",
             "report", "review", "review-book", "software", "song", "speech", "standard",
             "thesis", "treaty", "webpage"]
NAME = {"type": "object", "additionalProperties": False, "minProperties": 1,
        "properties": {k: {"type": "string"} for k in ("family", "given", "literal")}}
DATE = {"type": "object", "additionalProperties": False, "required": ["date-parts"],
        "properties": {"date-parts": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
            "type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "integer"}}}}}
CSL_ITEM = {
    "type": "object", "required": ["type", "id"], "additionalProperties": False,
    "properties": {
        "type": {"enum": CSL_TYPES}, "id": {"type": ["string", "number"]},
        "title": {"type": "string"}, "author": {"type": "array", "items": NAME},
        "container-title": {"type": "string"}, "issued": DATE,
        "locator": {"type": ["string", "number"]}, "note": {"type": "string"},
    },
}
CSL_DATA = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array",
            "items": CSL_ITEM}
SPECIAL = """---
title: "Tariffs & taxes: 50% of {Budget} #2_draft ~ ^ \\\\ [notes] *bold*"
source: "Desk $ & Co"
author: "Jane Roe and John Doe"
published: "2024-11-05"
---

Customs tariffs on grain rose in November after the budget draft was published.
"""
QUESTION = "why did Baku reject mediators?"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("cite")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "special.md").write_text(SPECIAL, encoding="utf-8")
    (corpus / "survey.pdf").write_bytes(make_pdf(survey_pages()))
    paths = Paths(corpus, base / "index")
    update_index(paths, progress=False, embedder=FakeEmbedder())
    found = Searcher(paths.index, encoder=FakeEmbedder())
    yield found
    found.close()


def answers(searcher: Searcher) -> list:
    return [searcher.search(QUESTION, 3), searcher.search("customs tariffs on grain", 2),
            searcher.search("harbour survey season report", 2), searcher.search(QUESTION, 3)]


def test_bibtex_parses_back_to_the_passages_with_their_locations(searcher: Searcher):
    asked = answers(searcher)
    text = citations(asked, "bibtex")
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not library.failed_blocks
    hits = {(h.passage.path, h.passage.start): h for a in asked for h in a.hits}
    assert len(library.entries) == len(hits)  # the repeated question cites nothing twice
    assert len({e.key for e in library.entries}) == len(library.entries)
    for entry in library.entries:
        note = entry.fields_dict["note"].value
        path, start = re.search(r"; (\S+), chars (\d+)-", note).groups()
        p = hits[(path, int(start))].passage
        # pylatexenc decodes \textasciicircum{} (LaTeX's ^) as U+02C6, the modifier letter.
        assert entry.fields_dict["title"].value.replace("\u02c6", "^") == p.title
        assert note.startswith(f"page {p.page};" if p.page else f"paragraph {p.paragraph};")
        if p.page:
            assert entry.fields_dict["pages"].value == str(p.page)
    special = next(e for e in library.entries if "special.md" in e.fields_dict["note"].value)
    assert special.key == "roe2024tariffs-para1"
    assert special.fields_dict["howpublished"].value == "Desk $ & Co"
    assert special.fields_dict["author"].value == "Jane Roe and John Doe"
    assert special.fields_dict["year"].value == "2024"
    assert special.fields_dict["date"].value == "2024-11-05"


def test_csl_json_is_valid_csl_data(searcher: Searcher):
    items = json.loads(citations(answers(searcher), "csl-json"))
    jsonschema.Draft7Validator(CSL_DATA).validate(items)
    special = next(i for i in items if "special.md" in i["note"])
    assert special["author"] == [{"literal": "Jane Roe"}, {"literal": "John Doe"}]
    assert special["issued"] == {"date-parts": [[2024, 11, 5]]}
    pdf = next(i for i in items if "survey.pdf" in i["note"])
    assert pdf["note"].startswith(f"page {pdf['locator']};")
    with pytest.raises(jsonschema.ValidationError):  # the check can fail
        jsonschema.validate([{**special, "locator_label": "paragraph"}], CSL_DATA)


def test_markdown_escapes_metadata_and_quotes_the_answer(searcher: Searcher):
    asked = [searcher.search("customs tariffs on grain", 1)]
    text = citations(asked, "markdown")
    assert text.splitlines()[0] == (
        "1. Jane Roe, John Doe, \u201cTariffs & taxes: 50% of \\{Budget\\} \\#2\\_draft ~ ^"
        " \\\\ \\[notes\\] \\*bold\\*\u201d, *Desk $ & Co*, 2024-11-05, paragraph 1."
        f" `special.md`, chars {asked[0].hits[0].passage.start}-80")
    assert text.splitlines()[1] == "   > " + asked[0].hits[0].answer


def test_author_strings():
    assert authors("Philip Gamaghelyan, Nigar Göksel") == ["Philip Gamaghelyan", "Nigar Göksel"]
    assert authors("Smith, John") == ["Smith, John"]
    assert authors(None) == []


def test_cite_with_json_is_a_usage_error(tmp_path):
    paths = Paths(tmp_path, tmp_path / "index")
    result = run_qa(paths, "ask", "--cite", "bibtex", "--json", QUESTION)
    assert_one_line_error(result, "--cite and --json")
    assert result.returncode == 2
