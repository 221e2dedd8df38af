"""The commit point: a batch's rows, lexical entries and vectors become visible together.

SQLite is the commit point; the lexical index and the vector segment are made durable
first, and follow it. For one batch, inside one SQLite transaction:
1. the caller changes rows (a removed passage's id joins the vector deletion set and the
   lexical queue), adds the batch's passages to the lexical index tagged with the
   batch's sequence number, and hands the batch's vectors to the segment writer;
2. the lexical index commits (durable, but its new passages are unknown to SQLite yet,
   and readers return only chunk ids SQLite holds);
3. the batch's vectors are written as a new segment file (temporary name, fsync, rename
   to a name no live segment has) and the store names it, with its hash;
4. the sequence number is recorded and SQLite commits;
5. the lexical entries of removed passages (queued in the store) are deleted, and full
   tiers of segments are merged (`qa.index.segment_writer`), each merge a commit of its own.
A kill before 4 leaves the old rows, the old segment list (the new file is named by no
commit, and the next writer deletes it), and lexical passages tagged with an uncommitted
number, which the next writer deletes (`recover`). A kill after 4 leaves queued lexical
deletions, which the next writer applies, and perhaps segment files a merge replaced,
which it deletes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.index.store import COMMIT_SEQ_KEY

if TYPE_CHECKING:
    from qa.index.lexical import LexicalWriter
    from qa.index.segment_writer import SegmentWriter
    from qa.index.store import Store


@dataclass
class Sides:
    """The three parts of a generation that a writer changes together."""

    store: Store
    vectors: SegmentWriter
    lexical: LexicalWriter


@contextmanager
def commit(sides: Sides) -> Iterator[int]:
    """Run the body (given the batch's sequence number) and commit all three sides."""
    seq = sides.store.commit_seq() + 1
    try:
        with sides.store.transaction():
            yield seq
            sides.lexical.commit()
            sides.vectors.write_batch()
            sides.store.set_meta(COMMIT_SEQ_KEY, str(seq))
    finally:
        sides.vectors.discard()
    apply_lexical_deletes(sides)
    sides.vectors.merge_tiers()


def recover(sides: Sides) -> None:
    """Undo what a killed writer left in the lexical index: passages of batches that never
    committed, and deletions that were committed but not yet applied."""
    sides.lexical.delete_after(sides.store.commit_seq())
    sides.lexical.commit()
    apply_lexical_deletes(sides)


def apply_lexical_deletes(sides: Sides) -> None:
    pending = sides.store.pending_lexical_deletes()
    if pending:
        sides.lexical.delete(pending)
        sides.lexical.commit()
        with sides.store.transaction():
            sides.store.clear_lexical_deletes(pending)
