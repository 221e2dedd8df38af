"""Measuring retrieval: question files with evidence phrases, and BEIR benchmarks."""
