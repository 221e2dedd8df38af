"""`qa status`: what the index holds and how it stands against the corpus."""

from __future__ import annotations

import json
from pathlib import Path

from qa.errors import QaError
from qa.index import impact_base
from qa.index.catalog import earliest_first
from qa.index.generations import live_store
from qa.index.layout import MANIFEST_FILE, index_exists
from qa.index.staleness import staleness
from qa.index.store import Store
from qa.settings import Paths


def status_text(paths: Paths) -> str:
    if not index_exists(paths.index):
        raise QaError(f"{paths.index}: no index yet; run `qa index`")
    with live_store(paths.index) as store:
        stale = staleness(paths, store)
        skipped = store.skipped.all()
        lines = [
            f"corpus      {paths.corpus}",
            f"index       {paths.index}",
            f"documents   {store.count('documents')}",
            f"chunks      {store.count('chunks')}",
            f"vectors     {_segments(store)}",
            f"lexical     {impact_base.describe(store)}",
            f"generation  {store.path.parent.name}",
            f"model       {_model(store.path.parent)}",
            f"index size  {_size(paths.index) / 1e6:.1f} MB",
            f"updated     {store.get_meta('updated_at') or 'never'}",
        ]
        lines += _copies(store)
    lines.append(f"stale       {stale.describe() if stale else 'no, up to date'}")
    for label, names in (("new", stale.new), ("changed", stale.changed),
                         ("removed", stale.removed)):
        lines.extend(f"  {label}: {name}" for name in names)
    lines.append(f"skipped     {len(skipped)}")
    lines.extend(f"  {path}: {reason}" for path, (reason, _, _) in sorted(skipped.items()))
    return "\n".join(lines)


def _segments(store: Store) -> str:
    """The vector segments: how many, how many approximate, and deletions pending."""
    rows = store.vector_segments()
    approximate = sum(r.approximate for r in rows)
    kinds = f" ({approximate} approximate)" if approximate else ""
    return (f"{len(rows)} segment{'s' * (len(rows) != 1)}{kinds},"
            f" {len(store.vector_deletes())} deleted (merged away by `qa index --optimize`)")


def _copies(store: Store) -> list[str]:
    """Groups of republished copies, each listed earliest first."""
    groups = store.copies.groups()
    fields = {d.id: d for d in store.document_fields()}
    listed = sorted("  " + " = ".join(d.path for d in sorted(
        (fields[i] for i in group), key=earliest_first)) for group in groups)
    return [f"copies      {len(groups)} group{'' if len(groups) == 1 else 's'} of republished"
            f" documents ({sum(len(g) for g in groups)} documents)", *listed]


def _model(generation: Path) -> str:
    try:
        found = json.loads((generation / MANIFEST_FILE).read_text(encoding="utf-8"))
        return f"{found['model']['name']} ({found['model']['dimension']} dimensions)"
    except (OSError, ValueError, KeyError):
        return "unknown (manifest unreadable)"


def _size(index_dir: Path) -> int:
    """Bytes on disk: every generation kept (a reader may still hold an old one), the
    encoders and the history."""
    return sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
