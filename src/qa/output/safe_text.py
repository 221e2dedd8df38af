"""Text from documents made safe to show on a terminal, without moving any offset.

A document (or its file name, title or front matter) can hold terminal control codes:
ESC sequences that recolour or clear the screen, set the window title (OSC 0), plant
hyperlinks (OSC 8) or ring the bell. Printed as they are, the terminal would act on
them. Each control character is replaced by one visible character instead, so the
text keeps its length and every character offset (citations, the marked answer, the
TUI's highlighting) still points at the same place:

- C0 controls U+0000..U+001F by their Unicode Control Pictures U+2400..U+241F
  (ESC shows as ␛, BEL as ␇, CR as ␍);
- DEL U+007F by ␡ (U+2421);
- C1 controls U+0080..U+009F (CSI U+009B and OSC U+009D act like ESC [ and ESC ] on
  some terminals) by the replacement character U+FFFD, since they have no pictures.

Newline and tab are kept in running text (`visible_text`), where they are layout, and
replaced in one-line fields (`visible_line`: titles, paths, sources), where a newline
could make a forged line of output. JSON output is not filtered: JSON escapes controls
itself (see `qa.output.json_output`), and its text stays exactly the indexed text.
"""

from __future__ import annotations

_PICTURES: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)}
_PICTURES[0x7F] = "\u2421"
_PICTURES.update({code: "\ufffd" for code in range(0x80, 0xA0)})

_LINE_TABLE = _PICTURES
_TEXT_TABLE = {code: p for code, p in _PICTURES.items() if chr(code) not in "\n\t"}


def visible_text(text: str) -> str:
    """`text` with every control character but newline and tab made visible."""
    return text.translate(_TEXT_TABLE)


def visible_line(text: str) -> str:
    """`text` with every control character made visible, newline and tab included."""
    return text.translate(_LINE_TABLE)

