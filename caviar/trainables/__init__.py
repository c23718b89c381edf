"""Trainables: the built-in PyTorch MLP, datasets, and the adapter for users' functions."""

from caviar.trainables.context import TrialContext
from caviar.trainables.data import Dataset, DataSpec, load_dataset

__all__ = ["DataSpec", "Dataset", "TrialContext", "load_dataset"]
