"""Indexing on a Ray cluster (`qa index --ray ADDRESS`; the optional `ray` extra).

The expensive part of indexing, loading, chunking and embedding, runs on the cluster;
everything else stays in the writer's process and is the same as a local update: the
staleness check, the lock, one transaction per batch (`qa.index.batches`), and the end
of the run. Nothing here is imported unless `--ray` is given, and nothing on the query
path may import it (import-linter).

  cluster.py   join or start a cluster, loopback-only when local, no usage stats
  files.py     how a file reaches a worker: by path (shared storage) or shipped
  stages.py    the worker side: a loading-and-chunking actor, an embedding actor
  indexer.py   RayIndexer: the Dataset, streamed back and committed in batches
"""
