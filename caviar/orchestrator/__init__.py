"""Orchestrator: a sweep spec becomes a Ray Tune run (searcher, scheduler, resources, resume)."""

from caviar.orchestrator.spec import SweepSpec, load_spec, parse_spec

__all__ = ["SweepSpec", "load_spec", "parse_spec"]
