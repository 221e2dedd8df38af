"""How answers look in a terminal (or piped as text).

Terminal output emphasises the answering sentence with bold yellow when stdout is a
terminal, and with `**...**` otherwise, so piped output still shows which sentence
answers. Every shown word is a verbatim slice of the indexed document, with control
characters shown as visible placeholders of the same length (`qa.output.safe_text`), so
a document cannot drive the terminal and offsets stay right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.output.citation import citation
from qa.output.safe_text import visible_line, visible_text

if TYPE_CHECKING:
    from qa.search.searcher import Answer, Hit

_BOLD, _RESET = "\x1b[1;33m", "\x1b[0m"


STALE_NOTE = "document changed since indexing; quoted from the indexed copy"


def answer_text(answer: Answer, color: bool, changed: frozenset[str] = frozenset()) -> str:
    lines = [f"Q: {visible_line(answer.question)}"]
    if not answer.answered:
        lines.append(
            f"No confident answer in the corpus (confidence {answer.confidence:.2f})."
            " The closest passages follow, flagged as weak."
        )
    lines.append("")
    for hit in answer.hits:
        flag = " (weak)" if not answer.answered else ""
        cite = visible_line(citation(hit.passage))
        lines.append(f"{hit.rank}. score {hit.score:.3f}{flag}  {cite}")
        if hit.passage.path in changed:
            lines.append(f"   ({STALE_NOTE})")
        lines.append(_indent(_emphasise(hit, color)))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _emphasise(hit: Hit, color: bool) -> str:
    p = hit.passage
    a, b = hit.answer_start - p.start, hit.answer_end - p.start
    on, off = (_BOLD, _RESET) if color else ("**", "**")
    text = visible_text(p.text)
    return text[:a] + on + text[a:b] + off + text[b:]


def _indent(text: str) -> str:
    return "\n".join("   " + line if line else "" for line in text.split("\n"))
