"""Datasets: what a dataset factory returns (``DataSplits``), the shuffling batch feeder, and images streamed from disk."""

from kssl.data.batches import ShuffledBatches
from kssl.data.image_stream import ImageStream
from kssl.data.splits import DataSplits
from kssl.data.stream_reader import StreamReader

__all__ = ["DataSplits", "ImageStream", "ShuffledBatches", "StreamReader"]
