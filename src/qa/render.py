"""How answers look: a readable terminal block, or the fixed JSON shape.

Terminal output emphasises the answering sentence with bold yellow when stdout is a
terminal, and with `**...**` otherwise, so piped output still shows which sentence
answers. Every shown word is a verbatim slice of the indexed document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for hints: the TUI imports `citation` without numpy or FAISS
    from qa.search import Answer, Hit
    from qa.store import Passage

_BOLD, _DIM, _RESET = "\x1b[1;33m", "\x1b[2m", "\x1b[0m"


def citation(p: Passage) -> str:
    """`Title`, source, date, paragraph or page: what a reader needs to check a quote."""
    parts = [f"\u201c{p.title}\u201d"]
    if p.source:
        parts.append(p.source)
    if p.published:
        parts.append(p.published)
    parts.append(f"page {p.page}" if p.page else f"paragraph {p.paragraph}")
    return ", ".join(parts) + f" [{p.path}, chars {p.start}-{p.end}]"


STALE_NOTE = "document changed since indexing; quoted from the indexed copy"


def hit_json(hit: Hit, weak: bool, stale: bool = False) -> dict[str, Any]:
    p = hit.passage
    return {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "doc": p.path,
        "title": p.title,
        "source": p.source,
        "published": p.published,
        "author": p.author,
        "paragraph": p.paragraph,
        "page": p.page,
        "start": p.start,
        "end": p.end,
        "text": p.text,
        "answer": hit.answer,
        "answer_start": hit.answer_start,
        "answer_end": hit.answer_end,
        "citation": citation(p),
        "weak": weak,
        "stale": stale,
    }


def answer_json(answer: Answer, changed: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answered": answer.answered,
        "confidence": round(answer.confidence, 4),
        "results": [hit_json(h, not answer.answered, h.passage.path in changed)
                    for h in answer.hits],
    }


def answer_text(answer: Answer, color: bool, changed: frozenset[str] = frozenset()) -> str:
    lines = [f"Q: {answer.question}"]
    if not answer.answered:
        lines.append(
            f"No confident answer in the corpus (confidence {answer.confidence:.2f})."
            " The closest passages follow, flagged as weak."
        )
    lines.append("")
    for hit in answer.hits:
        flag = " (weak)" if not answer.answered else ""
        lines.append(f"{hit.rank}. score {hit.score:.3f}{flag}  {citation(hit.passage)}")
        if hit.passage.path in changed:
            lines.append(f"   ({STALE_NOTE})")
        lines.append(_indent(_emphasise(hit, color)))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _emphasise(hit: Hit, color: bool) -> str:
    p = hit.passage
    a, b = hit.answer_start - p.start, hit.answer_end - p.start
    on, off = (_BOLD, _RESET) if color else ("**", "**")
    return p.text[:a] + on + p.text[a:b] + off + p.text[b:]


def _indent(text: str) -> str:
    return "\n".join("   " + line if line else "" for line in text.split("\n"))
