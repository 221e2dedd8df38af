"""Questions to ranked, marked passages: candidates, fusion, answer marking, confidence."""
