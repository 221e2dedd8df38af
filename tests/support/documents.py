"""Real Word, EPUB and scanned-PDF files for tests, written by the libraries themselves
(python-docx, ebooklib, Pillow and fpdf2), so the loaders read what real tools write."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from typing import Any

DOCX_HEADING = "Ostvik harbour after the cranes"
DOCX_PARAGRAPHS = [
    "The port of Ostvik reopened its container terminal on Monday, ten years after the"
    " last cranes were sold for scrap.",
    "Harbour master Ingrid Dahl expects twelve thousand containers in the first year,"
    " most of them timber and frozen fish.",
]
DOCX_TABLE = [["Crane", "Lift"], ["North quay", "40 tonnes"]]

CHAPTERS = [
    ("The Storm", ["The keeper of the Skarvik light logged forty-one storms in the winter"
                   " of 1923.", "Each entry gives the wind, the sea and the ships that passed."]),
    ("The Tin Box", ["Her diary was found in a tin box under the stairs of the keeper's"
                     " cottage in 1978.", "It had been wrapped in oilcloth against the damp."]),
    ("The Last Lamp", ["The lamp was electrified in 1951, and the last keeper left the"
                       " island the following spring."]),
]


def make_docx(*, title: str | None = "Harbour report", author: str | None = "Maren Solberg",
              paragraphs: Sequence[str] = DOCX_PARAGRAPHS) -> bytes:
    """A Word file: a heading, paragraphs (one with a manual line break) and a table."""
    import docx

    word = docx.Document()
    props = word.core_properties
    props.title = title or ""
    props.author = author or ""
    props.created = dt.datetime(2024, 5, 6, 12, 0, tzinfo=dt.UTC)
    if paragraphs:
        word.add_heading(DOCX_HEADING, level=1)
        for text in paragraphs:
            word.add_paragraph(text)
        lines = word.add_paragraph("Opening hours:")
        lines.add_run().add_break()
        lines.add_run("weekdays from seven.")
        table = word.add_table(rows=len(DOCX_TABLE), cols=2)
        for r, row in enumerate(DOCX_TABLE):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def make_epub(chapters: Sequence[tuple[str, Sequence[str]]] = CHAPTERS, *,
              title: str = "The Lighthouse Diaries", author: str = "Ingrid Dahl",
              toc: bool = True) -> bytes:
    """An EPUB 3 book: a cover page without text, a nav document, then the chapters,
    each with a heading and paragraphs, listed in the table of contents if `toc`."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("qa-test-lighthouse")
    book.set_title(title)
    book.set_language("en")
    book.add_author(author)
    book.add_metadata("DC", "date", "2021-04-02")
    book.add_metadata("DC", "publisher", "Coastal Press")
    cover = epub.EpubHtml(title="Cover", file_name="cover.xhtml")
    cover.content = "<html><body><div><img src='cover.png' alt=''/></div></body></html>"
    book.add_item(cover)
    items = []
    for number, (heading, paragraphs) in enumerate(chapters, 1):
        item = epub.EpubHtml(title=heading, file_name=f"text/chapter{number}.xhtml")
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        item.content = f"<html><body><h1>{heading}</h1>\n{body}</body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = items if toc else []
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = [cover, "nav", *items]
    buffer = io.BytesIO()
    epub.write_epub(buffer, book)
    return buffer.getvalue()


def with_encrypted_chapters(epub_data: bytes) -> bytes:
    """The book as a DRM'd copy looks: an encryption manifest naming its chapters, and
    the chapters' bytes replaced by ciphertext."""
    source = zipfile.ZipFile(io.BytesIO(epub_data))
    chapters = [n for n in source.namelist() if "/text/chapter" in n]
    references = "".join(
        f'<EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#"><EncryptionMethod'
        f' Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><CipherData>'
        f'<CipherReference URI="{name}"/></CipherData></EncryptedData>' for name in chapters)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename in chapters:
                data = bytes((b * 7 + 13) % 256 for b in data)
            target.writestr(info, data)
        target.writestr("META-INF/encryption.xml",
                        '<?xml version="1.0"?><encryption xmlns="urn:oasis:names:tc:'
                        f'opendocument:xmlns:container">{references}</encryption>')
    return out.getvalue()


def zip_of(files: dict[str, str]) -> bytes:
    """A plain zip archive (no Word document or EPUB inside)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


SCANNED_PARAGRAPHS = [
    ["The keeper of the Skarvik light logged", "forty-one storms in the winter of 1923."],
    ["Her diary was found in a tin box", "under the stairs of the cottage."],
]


def page_image(paragraphs: Sequence[Sequence[str]] | None, *, width: int = 1240,
               height: int = 1754) -> Any:
    """A white A4 page at 150 dpi with the lines drawn in black (a blank line between
    paragraphs), or, for None, a picture without text: grey blocks, as in a photo."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    if paragraphs is None:
        draw.rectangle((200, 300, 900, 700), fill=190)
        draw.rectangle((300, 900, 1000, 1500), fill=120)
        return image
    font = ImageFont.load_default(size=40)  # Pillow's bundled font: no system fonts needed
    y = 150
    for lines in paragraphs:
        for line in lines:
            draw.text((110, y), line, fill=0, font=font)
            y += 60
        y += 60
    return image


def make_scanned_pdf(pages: Sequence[Sequence[Sequence[str]] | str | None], *,
                     title: str = "Skarvik light log") -> bytes:
    """A PDF whose pages are images, as a scanner makes them (no text layer); a str
    page is typed text instead (a text layer), a None page an image without text."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    for page in pages:
        pdf.add_page()
        if isinstance(page, str):
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, page)
        else:
            pdf.image(page_image(page), x=0, y=0, w=210, h=297)
    return bytes(pdf.output())
