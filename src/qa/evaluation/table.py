"""The side-by-side table every evaluation prints: one row per metric, one column per mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MODES = ("hybrid", "bm25", "dense")


def side_by_side(
    title: str, rows: list[tuple[str, Callable[[Any], str]]], table: dict[str, Any]
) -> str:
    """`title`, a header of MODES, then each (label, cell) row over `table[mode]`."""
    width = max(len(r[0]) for r in rows) + 2
    out = [title, "".ljust(width) + "".join(m.rjust(9) for m in MODES)]
    for label, cell in rows:
        out.append(label.ljust(width) + "".join(cell(table[m]).rjust(9) for m in MODES))
    return "\n".join(out)
