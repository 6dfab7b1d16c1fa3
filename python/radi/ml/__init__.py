"""radi.ml: training and inference datasets over radi collections, with radiobject
0.1.1's names (LoadingMode, DatasetConfig, VolumeCollectionDataset, SegmentationDataset,
create_*_dataloader, the TorchIO adapter VolumeCollectionSubjectsDataset, Compose),
importable without torch.

The datasets need only numpy (they are map-style: __len__, __getitem__, __getitems__);
BatchLoader iterates them in batches read ahead on a thread, without worker processes.
The create_*_dataloader factories build torch DataLoaders and need torch, and
VolumeCollectionSubjectsDataset needs torchio; without them they raise ImportError.
Label-balanced patch sampling (PosNegSampler, LabelSampler) draws voxels exactly
uniformly per class from a per-volume label index (label_index) and reads one mask tile
per draw, never a whole mask. 4-D volumes keep their time axis last, (C, X, Y, Z, T),
as 0.1.1's samples do (docs/ml.md).
"""
from __future__ import annotations

from ._config import DatasetConfig, LabelSource, LoadingMode
from ._datasets import EpochSampler, GridPatchDataset, SegmentationDataset, VolumeCollectionDataset
from ._factory import (create_inference_dataloader, create_segmentation_dataloader,
                       create_training_dataloader, create_validation_dataloader)
from ._loader import BatchLoader, collate
from ._labels import LabelIndex, LabelSampler, PosNegSampler, label_index
from ._compat import Compose, VolumeCollectionSubjectsDataset

__all__ = [
    "DatasetConfig", "LoadingMode", "LabelSource", "VolumeCollectionDataset", "SegmentationDataset", "GridPatchDataset",
    "EpochSampler", "BatchLoader", "collate", "PosNegSampler", "LabelSampler", "LabelIndex", "label_index",
    "create_training_dataloader", "create_validation_dataloader", "create_inference_dataloader",
    "create_segmentation_dataloader", "VolumeCollectionSubjectsDataset", "Compose",
]
