"""How answers are shown: citations, terminal text and JSON."""
