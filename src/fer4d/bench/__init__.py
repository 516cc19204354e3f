"""Benchmarks: ``fer4d bench NAME --json`` prints one JSON object on its last line."""
