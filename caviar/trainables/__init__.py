"""Trainables: the built-in PyTorch models and their one epoch loop, datasets, and the adapter for
users' functions. Importing the package loads neither torch nor Ray: the spec reads the knob
declarations (``knobs``) and the ``TrainContext`` Protocol (``protocol``) without them. The
concrete, Ray-facing context is ``caviar.tune.context.TrialContext``."""

from __future__ import annotations

from caviar.trainables.data import Dataset, DataSpec, load_dataset

__all__ = ["DataSpec", "Dataset", "load_dataset"]
