"""HTML and PDF loading on real files (written or generated here), and their indexing:
article text without page furniture, page spans for citations, clear skip reasons."""

from __future__ import annotations

import datetime as dt
import itertools
import socket
import subprocess
import sys

import pytest
from fpdf import FPDF

from qa.index.layout import STORE_FILE
from qa.index.store import Store
from qa.index.writer import update_index
from qa.ingest.document import UnreadableDocument
from qa.ingest.loaders.pdf import pdf_date
from qa.ingest.loaders.registry import load_document
from qa.ingest.sentences import paragraph_spans
from qa.output.citation import citation
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.conftest import live

ARTICLE = [
    "The port of Ostvik reopened its container terminal on Monday, ten years after the"
    " last ship cranes were dismantled and sold for scrap to a yard in Rotterdam.",
    "Two electric gantry cranes, built in Finland and shipped in pieces across the Baltic,"
    " now stand on the north quay. Each can lift forty tonnes and moves a container from"
    " ship to truck in under ninety seconds.",
    "Harbour master Ingrid Dahl said the terminal would handle about twelve thousand"
    " containers in its first year, most of them timber and frozen fish bound for markets"
    " in Germany and Poland.",
    "The project cost the municipality 310 million kroner, of which a third came from a"
    " regional development fund. Local fishermen had opposed the dredging of the inner"
    " basin, fearing damage to the spawning grounds of cod.",
    "An environmental survey published in January found no measurable decline in the cod"
    " population, and the fishermen\u2019s association has since withdrawn its complaint.",
]

NEWS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Harbour cranes return to Ostvik after a decade | The Coastal Ledger</title>
<meta property="og:title" content="Harbour cranes return to Ostvik after a decade">
<meta property="og:site_name" content="The Coastal Ledger">
<meta property="og:url" content="https://www.coastalledger.example/news/2025/03/ostvik-cranes">
<meta name="author" content="Maren Solberg">
<meta property="article:published_time" content="2025-03-17T10:00:00Z">
<link rel="stylesheet" href="/static/site.css">
<script>window.dataLayer = []; function track() {{ return "tracking pixel"; }}</script>
</head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
 <button>Accept all cookies</button> <a href="/privacy">Manage preferences</a></div>
<header>
<a class="logo" href="/">The Coastal Ledger</a>
<nav class="main-menu"><ul>
<li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/weather">Weather</a></li><li><a href="/subscribe">Subscribe today</a></li>
</ul></nav>
</header>
<main>
<article>
<h1>Harbour cranes return to Ostvik after a decade</h1>
<p class="byline">By Maren Solberg, 17 March 2025</p>
<p>{}</p>
<div class="ad ad-banner advertisement">ADVERTISEMENT: Buy the new Nordlys e-bike now
 with forty percent off.</div>
<p>{}</p>
<p>{}</p>
<p>{}</p>
<p>{}</p>
</article>
<section id="comments" class="comments">
<h3>Comments</h3>
<div class="comment"><p>Totally agree with this, finally some good news for the town!
 Posted by harbourfan77</p></div>
<div class="comment"><p>What a waste of taxpayer money, nobody asked for cranes.
 Posted by grumpyneighbour</p></div>
</section>
</main>
<aside class="related"><h3>Most read</h3><ul>
<li><a href="/a">Storm closes ferry line</a></li>
<li><a href="/b">Mayor resigns over budget</a></li></ul></aside>
<footer><p>&copy; 2025 The Coastal Ledger. All rights reserved. Contact us | Privacy policy
 | Terms of use</p></footer>
</body>
</html>
""".format(*(p.replace("\u2019", "&rsquo;") for p in ARTICLE))

# One distinct sentence per page (short enough to stay on one line in the PDF), then
# filler, so each page is a passage of its own.
PAGE_SENTENCES = [
    "Herring catches in the northern fjords doubled during the cold spring.",
    "The gantry cranes at Ostvik were assembled from parts shipped from Finland.",
    "Divers counted nine hundred juvenile cod near the dredged inner basin.",
]
FILLER = [
    "Fishing boats left the harbour before dawn and returned with full holds by noon.",
    "Harbour officials recorded the weight of every landing in a ledger kept since 1911.",
    "Buyers from the coastal towns bid on the fish at an auction held in the market hall.",
    "Prices rose steadily through the season as demand from restaurants grew inland.",
    "Older skippers said they had not seen such a season since the winter of 1987.",
    "The regional council promised to publish a full report on the season in autumn.",
]


def make_pdf(pages: list[str | None], *, title: str | None = "Ostvik harbour survey",
             author: str | None = "Maren Solberg", user_password: str | None = None,
             owner_password: str | None = None) -> bytes:
    """A PDF with one page per entry: its text, or (None) just a drawn rectangle."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    pdf.set_creation_date(dt.datetime(2024, 5, 6, 12, 0, tzinfo=dt.UTC))
    if user_password or owner_password:
        pdf.set_encryption(owner_password=owner_password or "owner",
                           user_password=user_password)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.rect(20, 20, 80, 40)
            continue
        pdf.set_font("Helvetica", size=11)
        first, _, rest = text.partition("\n")
        pdf.cell(0, 6, first, new_x="LMARGIN", new_y="NEXT")
        if rest:
            pdf.multi_cell(0, 6, rest)
    return bytes(pdf.output())


def survey_pages() -> list[str]:
    return [f"{sentence}\n{' '.join(FILLER)}" for sentence in PAGE_SENTENCES]


def _reason(name: str, data: bytes) -> str:
    with pytest.raises(UnreadableDocument) as info:
        load_document(name, data)
    return info.value.reason


# --- HTML -----------------------------------------------------------------------------


def test_html_news_page_gives_article_text_and_metadata():
    doc = load_document("news/ostvik.html", NEWS_PAGE.encode("utf-8"))
    assert doc.title == "Harbour cranes return to Ostvik after a decade"
    assert doc.author == "Maren Solberg"
    assert doc.published == "2025-03-17"
    assert doc.source == "The Coastal Ledger"
    assert doc.sections == ()
    for paragraph in ARTICLE:
        assert paragraph in doc.text
    for furniture in ("cookies", "Subscribe", "Sport", "ADVERTISEMENT", "e-bike",
                      "Totally agree", "taxpayer", "Most read", "Storm closes",
                      "All rights reserved", "tracking pixel"):
        assert furniture not in doc.text, furniture
    # Paragraph structure: each article paragraph is a paragraph of its own.
    paragraphs = [doc.text[s.start : s.end] for s in paragraph_spans(doc.text)]
    for paragraph in ARTICLE:
        assert paragraph in paragraphs
    assert "\n\n".join(ARTICLE) in doc.text


def test_html_respects_declared_charset():
    page = NEWS_PAGE.replace('<meta charset="utf-8">', '<meta http-equiv="Content-Type"'
                             ' content="text/html; charset=windows-1252">')
    page = page.replace("Ostvik reopened", "\u00d8stvik reopened")
    doc = load_document("old.htm", page.encode("cp1252"))
    assert "The port of \u00d8stvik reopened" in doc.text
    assert "fishermen\u2019s association" in doc.text  # 0x92 in cp1252


def test_html_extraction_works_with_the_network_blocked(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted during HTML extraction")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    doc = load_document("ostvik.html", NEWS_PAGE.encode("utf-8"))
    assert ARTICLE[2] in doc.text
    assert doc.published == "2025-03-17"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("noise.html", bytes(range(256)) * 40, "binary content, not HTML"),
        ("noise2.html", bytes(range(1, 256)) * 40, "binary content, not HTML"),
        ("blank.html", b"  \n ", "empty"),
        ("menu.html", b"<html><body><nav><a href='/'>Home</a> <a href='/n'>News</a></nav>"
                      b"<div class='cookie'>We use cookies.</div></body></html>",
         "no article text found in HTML"),
    ],
)
def test_html_without_an_article_names_a_reason(name, data, reason):
    assert _reason(name, data) == reason


def test_format_libraries_stay_off_the_query_path():
    code = ("import sys, qa.search.searcher, qa.ingest.loaders.registry; print(sorted(m for m in"
            " ('trafilatura', 'pypdf', 'docx', 'ebooklib', 'rapidocr', 'pypdfium2', 'cv2')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# --- PDF ------------------------------------------------------------------------------


def test_pdf_text_pages_and_metadata():
    doc = load_document("reports/survey.pdf", make_pdf(survey_pages()))
    assert doc.title == "Ostvik harbour survey"
    assert doc.author == "Maren Solberg"
    assert doc.published == "2024-05-06"
    assert len(doc.sections) == 3 and doc.section_kind == "page"
    assert not any(s.ocr for s in doc.sections)
    pages = [(s.start, s.end) for s in doc.sections]
    for number, ((start, end), sentence) in enumerate(zip(pages, PAGE_SENTENCES,
                                                          strict=True), 1):
        at = doc.text.find(sentence)
        assert at >= 0, f"page {number} sentence missing"
        assert start <= at and at + len(sentence) <= end
        assert doc.text[start:end].startswith(sentence)
    # Pages are joined by one blank line, so a page ends a paragraph.
    gaps = [doc.text[end:start] for (_, end), (start, _) in itertools.pairwise(pages)]
    assert gaps == ["\n\n", "\n\n"]
    assert pages[0][0] == 0 and pages[-1][1] == len(doc.text)


def test_pdf_title_falls_back_to_file_stem():
    doc = load_document("scans/annual report.pdf", make_pdf(survey_pages()[:1], title=None,
                                                            author=None))
    assert doc.title == "annual report"
    assert doc.author is None


def test_pdf_empty_page_gets_an_empty_span():
    pages = survey_pages()
    doc = load_document("gap.pdf", make_pdf([pages[0], None, pages[2]]))
    assert len(doc.sections) == 3
    assert doc.sections[1].start == doc.sections[1].end
    assert PAGE_SENTENCES[2] in doc.text[doc.sections[2].start : doc.sections[2].end]


def test_pdf_with_owner_password_only_is_read():
    doc = load_document("locked.pdf", make_pdf(survey_pages()[:1], owner_password="owner"))
    assert PAGE_SENTENCES[0] in doc.text


def test_encrypted_pdf_is_skipped():
    data = make_pdf(survey_pages()[:1], user_password="secret")
    assert _reason("secret.pdf", data) == "encrypted PDF"


def test_pdf_without_text_layer_is_skipped():
    assert _reason("blank.pdf", make_pdf([None, None])) == (
        "PDF has no text (no text layer, no page images)")


@pytest.mark.parametrize("cut", [0.5, 0.1])
def test_truncated_pdf_is_skipped(cut, capsys):
    data = make_pdf(survey_pages())
    reason = _reason("cut.pdf", data[: int(len(data) * cut)])
    assert reason.startswith("not a readable PDF (")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # pypdf's complaints are silenced


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "not a readable PDF"), (b"%PDF-1.4\nnonsense", "not a readable PDF"),
     (b"<html>not a pdf</html>", "not a readable PDF")],
)
def test_non_pdf_bytes_are_skipped(data, reason):
    assert _reason("x.pdf", data).startswith(reason)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [("D:20240506120000Z", "2024-05-06"), ("D:20240506", "2024-05-06"),
     ("20240506123000+02'00'", "2024-05-06"), ("D:2024", "2024"), ("D:202405", "2024-05"),
     ("D:20241399", None), ("yesterday", None), (None, None)],
)
def test_pdf_dates(raw, iso):
    assert pdf_date(raw) == iso


# --- Indexing -------------------------------------------------------------------------


def test_mixed_corpus_indexes_html_and_pdf_with_pages(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.md").write_text(
        "---\ntitle: Harbour notes\n---\nThe ferry to Ostvik leaves at seven.\n\n"
        "Tickets are sold on board.\n", encoding="utf-8")
    (corpus / "ostvik.html").write_text(NEWS_PAGE, encoding="utf-8")
    survey = make_pdf(survey_pages())
    (corpus / "survey.pdf").write_bytes(survey)
    (corpus / "broken.pdf").write_bytes(survey[: len(survey) // 2])
    paths = Paths(corpus, tmp_path / "index")

    report = update_index(paths, progress=False, embedder=fake_embedder)

    assert sorted(report.added) == ["note.md", "ostvik.html", "survey.pdf"]
    assert [path for path, _ in report.skipped] == ["broken.pdf"]
    assert report.skipped[0][1].startswith("not a readable PDF")

    store = Store(live(paths.index) / STORE_FILE)
    try:
        pages = dict(store.db.execute(
            "SELECT d.path, group_concat(coalesce(c.section, 'null')) FROM chunks c"
            " JOIN documents d ON d.id = c.doc_id GROUP BY d.path"))
    finally:
        store.close()
    assert "null" not in pages["survey.pdf"].split(",")
    assert set(pages["survey.pdf"].split(",")) == {"1", "2", "3"}
    assert set(pages["ostvik.html"].split(",")) == {"null"}

    searcher = Searcher(paths.index, encoder=fake_embedder)
    try:
        answer = searcher.search(PAGE_SENTENCES[2])
        html_answer = searcher.search("How much did the Ostvik terminal project cost?")
    finally:
        searcher.close()
    page3 = [h for h in answer.hits if h.passage.path == "survey.pdf" and h.passage.page == 3]
    assert page3, [(h.passage.path, h.passage.page) for h in answer.hits]
    assert PAGE_SENTENCES[2] in page3[0].passage.text
    cited = citation(page3[0].passage)
    assert "page 3" in cited and "\u201cOstvik harbour survey\u201d" in cited
    # The fake embedder is no semantic model: ask only that the HTML passage is found
    # and cited from the page's metadata, not that it ranks first.
    top = next(h.passage for h in html_answer.hits if h.passage.path == "ostvik.html")
    assert "310 million kroner" in top.text
    assert citation(top).startswith(
        "\u201cHarbour cranes return to Ostvik after a decade\u201d, The Coastal Ledger,"
        " 2025-03-17, paragraph ")
