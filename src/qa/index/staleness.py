"""How the corpus stands against the index, judged by stat alone (cheap enough for every
`qa ask`): files new to the index, changed since, or removed."""

from __future__ import annotations

from dataclasses import dataclass

from qa.corpus.walk import CorpusFile, scan_corpus
from qa.index.store import Store
from qa.settings import Paths


@dataclass(frozen=True)
class Staleness:
    """Corpus files that differ from the index."""

    new: list[str]
    changed: list[str]
    removed: list[str]

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.removed)

    def describe(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in
                 (("new", self.new), ("changed", self.changed), ("removed", self.removed)) if v]
        return ", ".join(parts)


def staleness(paths: Paths, store: Store, files: list[CorpusFile] | None = None) -> Staleness:
    """Compare the corpus (or a listing of it already made) with the store by stat alone.

    A skipped file counts as new only once its stat moves: it is retried then.
    """
    files = scan_corpus(paths.corpus) if files is None else files
    stored = store.document_stats()
    skipped = store.skipped.all()
    new, changed = [], []
    for f in files:
        stat = stored.get(f.rel)
        if stat is not None:
            if stat != (f.size, f.mtime_ns):
                changed.append(f.rel)
        elif skipped.get(f.rel, (None, None, None))[1:] != (f.size, f.mtime_ns):
            new.append(f.rel)
    present = {f.rel for f in files}
    removed = [p for p in stored if p not in present]
    return Staleness(new, changed, removed)
