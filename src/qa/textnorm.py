"""Text as it is compared, not as it is shown: one normalisation for every exact match.

Quoted phrases in questions, `-word` exclusions, evidence phrases in question files and
the shingles that find republished copies all compare text this way, so "Baku\u2019s" in a
document matches "Baku's" typed on a keyboard, and a line break matches a space.
"""

from __future__ import annotations

import re
import unicodedata

# Typographic quotes and dashes as typed on a keyboard. Replaced one by one rather than
# with str.translate, which looks every character up in a dict (measured 3x slower on
# passages; filters normalise every candidate passage).
_ASCII = (("\u2018", "'"), ("\u2019", "'"), ("\u201a", "'"), ("\u201b", "'"),
          ("\u201c", '"'), ("\u201d", '"'), ("\u201e", '"'), ("\u2032", "'"),
          ("\u2010", "-"), ("\u2011", "-"), ("\u2012", "-"), ("\u2013", "-"),
          ("\u2014", "-"), ("\u2015", "-"), ("\u2212", "-"))
_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    """NFKC, curly quotes and dashes to ASCII, whitespace collapsed, lowercase."""
    text = unicodedata.normalize("NFKC", text)
    for typographic, typed in _ASCII:
        if typographic in text:
            text = text.replace(typographic, typed)
    return " ".join(text.split()).lower()


def words(text: str) -> list[str]:
    """The normalised text's words (runs of letters and digits), in order."""
    return _WORD.findall(normalise(text))


def contains_phrase(normalised_text: str, phrase: str) -> bool:
    """Whether `phrase` occurs in the (already normalised) text as whole words.

    Whole words, so the phrase "peace" does not match "peaceful"; the text is passed
    normalised because one passage is checked against several phrases.
    """
    needle = normalise(phrase)
    if not needle:
        return False
    pattern = r"(?<!\w)" + re.escape(needle) + r"(?!\w)"
    return re.search(pattern, normalised_text) is not None
