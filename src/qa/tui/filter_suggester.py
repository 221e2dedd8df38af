"""Completes `source:` and `in:` in the question box with the index's own values.

Typing `source:` offers the first source (→ or End accepts, as for any Textual
suggestion); typing `source:"wa` narrows to sources starting with "wa", in any case.
Values with spaces are offered quoted, so the completed question parses as typed.
"""

from __future__ import annotations

import re

from textual.suggester import Suggester

_KEY = re.compile(r"(source|in):(\"?)(.*)", re.IGNORECASE | re.DOTALL)


class FilterSuggester(Suggester):
    """Suggestions from `values`: {"source": [...], "in": ["folder/", ...]}."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.values: dict[str, list[str]] = {}

    async def get_suggestion(self, value: str) -> str | None:
        token = value[_last_token_start(value):]
        match = _KEY.fullmatch(token)
        if match is None:
            return None
        key, quote, typed = match.group(1).lower(), match.group(2), match.group(3)
        for candidate in self.values.get(key, []):
            needs_quote = any(c.isspace() for c in candidate)
            if not candidate.casefold().startswith(typed.casefold()):
                continue
            if needs_quote and not quote:
                if typed:
                    continue  # `source:war` cannot grow into `source:"War on the Rocks"`
                return value + f'"{candidate}"'
            # The typed part takes the value's own case: accepting gives the real name.
            return value[: len(value) - len(typed)] + candidate + ('"' if quote else "")
        return None


def _last_token_start(value: str) -> int:
    """Where the token being typed starts: after the last space outside quotes."""
    start, quoted = 0, False
    for i, c in enumerate(value):
        if c == '"':
            quoted = not quoted
        elif c.isspace() and not quoted:
            start = i + 1
    return start
