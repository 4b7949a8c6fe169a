"""Benchmarks that print tables and write results under ``benchmarks/results/``.

Run one as a module from the repository root, e.g. ``python -m benchmarks.beyond --quick``.
"""
