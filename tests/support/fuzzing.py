"""Shared settings and strategies for the fuzz tests.

CI runs each fuzz test with a small, fixed budget of examples (a few hundred in all,
well under a minute with the fake model). `QA_FUZZ_EXAMPLES=N` gives every fuzz test N
examples instead, for a long run: `python bench/fuzz.py` does that and prints the counts.
"""

from __future__ import annotations

import io
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def fuzz_settings(ci_examples: int) -> settings:
    """`ci_examples` examples in CI, or QA_FUZZ_EXAMPLES when set."""
    return settings(
        max_examples=int(os.environ.get("QA_FUZZ_EXAMPLES") or ci_examples),
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
    )


# Characters that stress every layer: controls (C0, DEL, C1), escapes, newlines,
# bidi and zero-width marks, astral-plane letters, YAML and Markdown punctuation.
TRICKY = ["\x00", "\x07", "\x1b", "\x1b[31m", "\x1b]0;t\x07", "\r", "\r\n", "\n", "\t",
          "\x7f", "\x85", "\x9b", "\u2028", "\u202e", "\u200b", "\ufeff", "\ufffd",
          "\U0001f600", "---", ":", "- ", "#", "&#27;", "<p>", "%PDF-", "'", '"', "\\"]
tricky_text = st.lists(st.one_of(st.sampled_from(TRICKY),
                                 st.text(st.characters(exclude_categories=["Cs"]),
                                         max_size=20)),
                       max_size=30).map("".join)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` with random edits: bytes flipped, cut, repeated, inserted or dropped."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "drop", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "drop" and data:
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 256))]
    return bytes(data)


def sample_pdf(text: str = "Baku rejected mediators and talked directly to Yerevan.") -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    for page in range(2):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.multi_cell(w=0, text=f"{text} Page {page + 1}.")
    pdf.set_title("A sample report")
    buffer = io.BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()


SAMPLE_HTML = (b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Harbour news</title>"
               b"<meta name='author' content='A. Writer'></head><body><nav>Home News</nav>"
               b"<article><h1>Cranes return</h1><p>Two electric gantry cranes now stand on the"
               b" north quay of the harbour, ten years after the last ones were sold.</p><p>The"
               b" harbour master expects twelve thousand containers in the first year.</p>"
               b"</article><footer>Contact us</footer></body></html>")
SAMPLE_MARKDOWN = (b"---\ntitle: Field note\nsource: Notebook\npublished: 2024-02-01\n---\n\n"
                   b"# Heading\n\nBaku rejected mediators and talked directly.\n\nA second"
                   b" paragraph, with *emphasis* and a [link](http://example.org).\n")
