"""Datasets: what a dataset factory returns (``DataSplits``) and the shuffling batch feeder."""

from kssl.data.batches import ShuffledBatches
from kssl.data.splits import DataSplits

__all__ = ["DataSplits", "ShuffledBatches"]
