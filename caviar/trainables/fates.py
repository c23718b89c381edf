"""A trial's (or a fused bundle member's) fate after an epoch of the shared epoch loop.

Kept apart from ``caviar.trainables.loop`` so that the driver (the results writer splitting fused
bundles, ``caviar.results.fused``) knows the names without importing torch.
"""

from __future__ import annotations

RUNNING, FINISHED, STOPPED, DIVERGED = "running", "finished", "stopped", "diverged"
