"""One loader module per file format, behind the registry in `qa.ingest.loaders.registry`."""
