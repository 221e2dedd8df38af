"""The commit point: store rows and the FAISS file become visible together, or neither.

Inside one SQLite transaction the caller changes rows and the in-memory FAISS index;
the index is then written to a fixed temporary name and fsynced, its hash is recorded,
and the transaction commits. Only after the commit is the file renamed into place. A
kill before the commit leaves the old rows and the old file, which still match. A kill
between commit and rename leaves a file whose hash differs from the store's: readers
rebuild the vectors in memory from the store, and the next writer finishes the rename
(`vectors.finish_committed_temp`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from qa.atomic import atomic_path, fsync_file
from qa.hashing import file_sha256
from qa.index import vectors

if TYPE_CHECKING:
    import faiss

    from qa.index.store import Store


@contextmanager
def commit(store: Store, index: faiss.Index) -> Iterator[None]:
    """Run the body in a transaction, then commit it with the FAISS file it produced."""
    import faiss

    final = vectors.path_for(store)
    with atomic_path(final, temp=vectors.temp_path(final)) as tmp, store.transaction():
        yield
        # Written by FAISS directly and hashed from the page cache: serialising to a
        # buffer first costs two extra copies of the whole index (measured at 10,000
        # documents).
        faiss.write_index(index, str(tmp))
        fsync_file(tmp)
        store.set_meta(vectors.SHA_KEY, file_sha256(tmp))
