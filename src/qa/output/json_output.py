"""The fixed JSON shape of an answer: one object per question, for `qa ask --json`.

Text is kept exactly as indexed (JSON escapes what needs escaping), so `text` equals
the indexed document's `[start:end]`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qa.output.citation import citation

if TYPE_CHECKING:
    from qa.search.filters import Scope
    from qa.search.searcher import Answer, Hit


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
        "also_published": [{"doc": d.path, "title": d.title, "source": d.source,
                            "published": d.published} for d in hit.also_published],
    }


def answer_json(answer: Answer, changed: frozenset[str] = frozenset()) -> dict[str, Any]:
    """`changed`: documents edited on disk since indexing (their passages are `stale`)."""
    return {
        "question": answer.question,
        "answered": answer.answered,
        "confidence": round(answer.confidence, 4),
        "results": [hit_json(h, not answer.answered, h.passage.path in changed)
                    for h in answer.hits],
        "filters": scope_json(answer.scope),
    }


def scope_json(scope: Scope | None) -> dict[str, Any] | None:
    """The filters as read, and what they left: None when the question had none."""
    if scope is None:
        return None
    return {**scope.filter.as_json(), "documents": scope.documents,
            "passages": scope.passages, "undated_excluded": scope.undated_excluded}
