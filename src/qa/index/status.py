"""`qa status`: what the index holds and how it stands against the corpus."""

from __future__ import annotations

import json

from qa.errors import QaError
from qa.index.catalog import earliest_first
from qa.index.layout import MANIFEST_FILE, index_exists, store_path
from qa.index.staleness import staleness
from qa.index.store import Store
from qa.settings import Paths


def status_text(paths: Paths) -> str:
    if not index_exists(paths.index):
        raise QaError(f"{paths.index}: no index yet; run `qa index`")
    store = Store(store_path(paths.index))
    try:
        stale = staleness(paths, store)
        skipped = store.skipped.all()
        lines = [
            f"corpus      {paths.corpus}",
            f"index       {paths.index}",
            f"documents   {store.count('documents')}",
            f"chunks      {store.count('chunks')}",
            f"model       {_model(paths)}",
            f"index size  {_size(paths) / 1e6:.1f} MB",
            f"updated     {store.get_meta('updated_at') or 'never'}",
        ]
        lines += _copies(store)
    finally:
        store.close()
    lines.append(f"stale       {stale.describe() if stale else 'no, up to date'}")
    for label, names in (("new", stale.new), ("changed", stale.changed),
                         ("removed", stale.removed)):
        lines.extend(f"  {label}: {name}" for name in names)
    lines.append(f"skipped     {len(skipped)}")
    lines.extend(f"  {path}: {reason}" for path, (reason, _, _) in sorted(skipped.items()))
    return "\n".join(lines)


def _copies(store: Store) -> list[str]:
    """Groups of republished copies, each listed earliest first."""
    groups = store.copies.groups()
    fields = {d.id: d for d in store.document_fields()}
    listed = sorted("  " + " = ".join(d.path for d in sorted(
        (fields[i] for i in group), key=earliest_first)) for group in groups)
    return [f"copies      {len(groups)} group{'' if len(groups) == 1 else 's'} of republished"
            f" documents ({sum(len(g) for g in groups)} documents)", *listed]


def _model(paths: Paths) -> str:
    try:
        found = json.loads((paths.index / MANIFEST_FILE).read_text(encoding="utf-8"))
        return f"{found['model']['name']} ({found['model']['dimension']} dimensions)"
    except (OSError, ValueError, KeyError):
        return "unknown (manifest unreadable)"


def _size(paths: Paths) -> int:
    return sum(p.stat().st_size for p in paths.index.iterdir() if p.is_file())
