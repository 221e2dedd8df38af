"""The corpus folder: finding its documents and changing it (`qa add`, `qa remove`).

Kept apart from `qa.ingest` on purpose: `qa ask` walks the corpus to see whether the
index is stale, and must not import the loaders and chunker that `qa.ingest` holds.
"""
