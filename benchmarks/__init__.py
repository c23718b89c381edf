"""Reproducible benchmarks of caviar against plain Ray Tune, Optuna and a one-model-at-a-time loop.

Each module runs alone (``python -m benchmarks.<name> [--quick]``) and returns a markdown section;
``python -m benchmarks`` (``make bench``) runs them all and rewrites ``benchmarks/RESULTS.md``.
"""
