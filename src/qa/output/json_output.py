"""The fixed JSON shape of an answer: one object per question, for `qa ask --json`.

Text is kept exactly as indexed, so `text` equals the indexed document's `[start:end]`.
JSON escapes the C0 control characters itself; `json_line` also escapes DEL and the C1
controls (which `ensure_ascii=False` would print raw, and which some terminals act on),
so a JSON line shown on a terminal cannot drive it either.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from qa.output.citation import citation

if TYPE_CHECKING:
    from qa.search.filters import Scope
    from qa.search.searcher import Answer, Hit

_RAW_CONTROLS = re.compile("[\x7f-\x9f]")


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
        "chapter": p.chapter,
        "chapter_title": p.section_title if p.chapter else None,
        "ocr": p.ocr,
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


def json_line(value: Any) -> str:
    """`value` as one line of JSON, non-ASCII text readable, no raw control character."""
    text = json.dumps(value, ensure_ascii=False)
    return _RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def scope_json(scope: Scope | None) -> dict[str, Any] | None:
    """The filters as read, and what they left: None when the question had none."""
    if scope is None:
        return None
    return {**scope.filter.as_json(), "documents": scope.documents,
            "passages": scope.passages, "undated_excluded": scope.undated_excluded}
