"""Completion of `source:` and `in:` values in the question box."""

from __future__ import annotations

import asyncio

import pytest

from qa.tui.filter_suggester import FilterSuggester


@pytest.mark.parametrize(("typed", "offered"), [
    ("why source:", 'why source:"Carnegie Endowment"'),
    ('why source:"wa', 'why source:"War on the Rocks"'),
    ("why source:war", None),  # unquoted: cannot grow into a quoted value
    ("why SOURCE:c", None),
    ('source:"War on the Rocks" why in:rep', 'source:"War on the Rocks" why in:reports/2024/'),
    ("why in:", "why in:reports/2024/"),
    ("why title:", None),
    ('why source:"zz', None),
])
def test_suggestions(typed: str, offered: str | None):
    suggester = FilterSuggester()
    suggester.values = {"source": ["Carnegie Endowment", "War on the Rocks"],
                        "in": ["reports/2024/"]}
    assert asyncio.run(suggester.get_suggestion(typed)) == offered
