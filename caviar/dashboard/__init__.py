"""``caviar dashboard``: a live page of one or more sweeps, read from their results store.

It shows every trial's learning curve, a sortable trial table, the metric against each
hyperparameter on its own scale, progress and an ETA, for several sweeps side by side, and steers
a running sweep (stop a trial, stop the sweep, add trials) through requests stored with it.
"""

from __future__ import annotations

from caviar.results.control import request_add_trials, request_stop_sweep, request_stop_trial

__all__ = ["request_add_trials", "request_stop_sweep", "request_stop_trial", "serve"]


def serve(path: str, host: str = "127.0.0.1", port: int = 0, read_only: bool = False):  # type: ignore[no-untyped-def]
    """A dashboard server for the sweep or storage root at ``path`` (see ``server.serve``)."""
    from caviar.dashboard.server import serve as _serve

    return _serve(path, host, port, read_only)
