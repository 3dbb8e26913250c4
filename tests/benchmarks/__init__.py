"""Benchmarks, run on demand (``python -m tests.benchmarks.<name>``), never collected by pytest."""
