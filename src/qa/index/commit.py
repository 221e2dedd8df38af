"""The commit point: a batch's rows, lexical entries and vectors become visible together.

SQLite is the commit point; the lexical index and the FAISS file are made durable first,
and follow it. For one batch, inside one SQLite transaction:
1. the caller changes rows, adds the batch's passages to the lexical index tagged with
   the batch's sequence number, and updates the in-memory FAISS index;
2. the lexical index commits (durable, but its new passages are unknown to SQLite yet,
   and readers return only chunk ids SQLite holds);
3. the FAISS index is written to a fixed temporary name, fsynced, and its hash recorded;
4. the sequence number is recorded and SQLite commits;
5. the FAISS file is renamed into place, and the lexical entries of removed passages
   (queued in the store, in the same transaction as their rows' removal) are deleted.
A kill before 4 leaves the old rows, the old FAISS file, and lexical passages tagged with
an uncommitted number, which the next writer deletes (`recover`). A kill after 4 leaves
a FAISS file whose hash differs from the store's (readers rebuild it in memory from the
store; the next writer finishes the rename) and queued lexical deletions, which the next
writer applies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.atomic import atomic_path, fsync_file
from qa.hashing import file_sha256
from qa.index import vectors
from qa.index.store import COMMIT_SEQ_KEY

if TYPE_CHECKING:
    import faiss

    from qa.index.lexical import LexicalWriter
    from qa.index.store import Store


@dataclass
class Sides:
    """The three parts of a generation that a writer changes together."""

    store: Store
    vectors: faiss.Index
    lexical: LexicalWriter


@contextmanager
def commit(sides: Sides) -> Iterator[int]:
    """Run the body (given the batch's sequence number) and commit all three sides."""
    import faiss

    seq = sides.store.commit_seq() + 1
    final = vectors.path_for(sides.store)
    with atomic_path(final, temp=vectors.temp_path(final)) as tmp, sides.store.transaction():
        yield seq
        sides.lexical.commit()
        # Written by FAISS directly and hashed from the page cache: serialising to a
        # buffer first costs two extra copies of the whole index (measured at 10,000
        # documents).
        faiss.write_index(sides.vectors, str(tmp))
        fsync_file(tmp)
        sides.store.set_meta(vectors.SHA_KEY, file_sha256(tmp))
        sides.store.set_meta(COMMIT_SEQ_KEY, str(seq))
    apply_lexical_deletes(sides)


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
