"""The on-disk index: its layout, manifest, store, lexical and vector sides, and writer.

Readers (`qa.search`) use the layout, manifest, store, lexical index and vectors. Only
`qa.index.writer` and `qa.index.commit` change an index, and they are the only modules
here that import `qa.ingest` and the document embedder.
"""
