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
    from qa.search.filters import Scope
    from qa.search.searcher import Answer, Hit

_BOLD, _RESET = "\x1b[1;33m", "\x1b[0m"


STALE_NOTE = "document changed since indexing; quoted from the indexed copy"


def answer_text(answer: Answer, color: bool, changed: frozenset[str] = frozenset()) -> str:
    lines = [f"Q: {visible_line(answer.question)}"]
    if answer.scope is not None:
        lines.append(visible_line(scope_line(answer.scope)))
    if answer.scope is not None and not answer.scope.passages:
        lines.append("No passage matches these filters.")
    elif not answer.answered:
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
        if hit.also_published:
            lines.append(f"   {visible_line(also_published_line(hit))}")
        lines.append(_indent(_emphasise(hit, color)))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def also_published_line(hit: Hit) -> str:
    """The document's republished copies, earliest first (also the TUI's line)."""
    copies = [", ".join(filter(None, (d.source or d.title, d.published))) + f" [{d.path}]"
              for d in hit.also_published]
    return "also published by: " + "; ".join(copies)


def scope_line(scope: Scope) -> str:
    """The filters as read, and what they left of the index (also the TUI's line)."""
    line = (f"Filters: {' '.join(scope.filter.terms())} ({_count(scope.documents, 'document')},"
            f" {_count(scope.passages, 'passage')})")
    if scope.undated_excluded:
        line += (f"; {_count(scope.undated_excluded, 'undated document')} left out by"
                 " the date filter")
    return line


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _emphasise(hit: Hit, color: bool) -> str:
    p = hit.passage
    a, b = hit.answer_start - p.start, hit.answer_end - p.start
    on, off = (_BOLD, _RESET) if color else ("**", "**")
    text = visible_text(p.text)
    return text[:a] + on + text[a:b] + off + text[b:]


def _indent(text: str) -> str:
    return "\n".join("   " + line if line else "" for line in text.split("\n"))
