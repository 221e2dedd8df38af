"""Files to passages: loaders (one per format), sentences, tokens and chunking.

Used by the index writer only. Nothing on the query path imports this package.
"""
