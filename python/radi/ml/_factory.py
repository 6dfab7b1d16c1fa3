"""radiobject 0.1.1's DataLoader factories (radiobject.ml.factory), same signatures and
defaults, over radi's datasets. They need torch (imported when called).

Differences: training loaders shuffle with an EpochSampler (a permutation and patches
that are pure functions of (seed, epoch, index), advancing each epoch by themselves,
persistent workers included) instead of shuffle=True; pin_memory only when CUDA is
available; no worker_init_fn is needed (radi handles reopen in each worker, fork
included). Keyword-only additions: seed, multiprocessing_context, sampler
(segmentation)."""
from __future__ import annotations

from ._config import DatasetConfig, LoadingMode
from ._datasets import EpochSampler, SegmentationDataset, VolumeCollectionDataset

__all__ = ["create_training_dataloader", "create_validation_dataloader", "create_inference_dataloader",
           "create_segmentation_dataloader"]


def _torch(name: str):
    try:
        import torch
        from torch.utils.data import DataLoader
    except ImportError as e:
        raise ImportError(f"radi.ml.{name} builds a torch DataLoader and needs PyTorch (pip install torch); "
                          f"radi.ml's datasets themselves work without it ({e})") from None
    return torch, DataLoader


def _loader(name, dataset, batch_size, num_workers, pin_memory, persistent_workers, drop_last, sampler,
            multiprocessing_context):
    torch, DataLoader = _torch(name)
    w = num_workers if num_workers > 0 else 0
    kw = {}
    if w > 0:
        kw["persistent_workers"] = bool(persistent_workers)
        if multiprocessing_context is not None:
            kw["multiprocessing_context"] = multiprocessing_context
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=w,
                      pin_memory=bool(pin_memory and w > 0 and torch.cuda.is_available()),
                      drop_last=drop_last, **kw)


def create_training_dataloader(collections, labels=None, batch_size: int = 4, patch_size=None,
                               num_workers: int = 4, pin_memory: bool = True, persistent_workers: bool = True,
                               transform=None, patches_per_volume: int = 1, *, seed: int = 0,
                               multiprocessing_context=None):
    """A shuffled training DataLoader (drop_last) over a VolumeCollectionDataset:
    random patches of patch_size, else full volumes."""
    _torch("create_training_dataloader")
    cfg = DatasetConfig(loading_mode=LoadingMode.PATCH if patch_size else LoadingMode.FULL_VOLUME,
                        patch_size=patch_size, patches_per_volume=patches_per_volume)
    ds = VolumeCollectionDataset(collections, config=cfg, labels=labels, transform=transform, seed=seed,
                                 tensors=True)
    return _loader("create_training_dataloader", ds, batch_size, num_workers, pin_memory, persistent_workers,
                   True, EpochSampler(len(ds), shuffle=True, seed=seed), multiprocessing_context)


def create_validation_dataloader(collections, labels=None, batch_size: int = 4, patch_size=None,
                                 num_workers: int = 4, pin_memory: bool = True, transform=None, *,
                                 seed: int = 0, multiprocessing_context=None):
    """A validation DataLoader (in order, no drop_last; patches fixed across epochs)."""
    _torch("create_validation_dataloader")
    cfg = DatasetConfig(loading_mode=LoadingMode.PATCH if patch_size else LoadingMode.FULL_VOLUME,
                        patch_size=patch_size, patches_per_volume=1)
    ds = VolumeCollectionDataset(collections, config=cfg, labels=labels, transform=transform, seed=seed,
                                 tensors=True)
    return _loader("create_validation_dataloader", ds, batch_size, num_workers, pin_memory, False, False, None,
                   multiprocessing_context)


def create_inference_dataloader(collections, batch_size: int = 1, num_workers: int = 4, pin_memory: bool = True,
                                transform=None, *, multiprocessing_context=None):
    """An inference DataLoader of full volumes, in order."""
    _torch("create_inference_dataloader")
    ds = VolumeCollectionDataset(collections, config=DatasetConfig(loading_mode=LoadingMode.FULL_VOLUME),
                                 transform=transform, tensors=True)
    return _loader("create_inference_dataloader", ds, batch_size, num_workers, pin_memory, False, False, None,
                   multiprocessing_context)


def create_segmentation_dataloader(image, mask, batch_size: int = 4, patch_size=None, num_workers: int = 4,
                                   pin_memory: bool = True, persistent_workers: bool = True, image_transform=None,
                                   spatial_transform=None, foreground_sampling: bool = False,
                                   foreground_threshold: float = 0.01, foreground_max_retries: int = 10,
                                   patches_per_volume: int = 1, *, sampler=None, seed: int = 0,
                                   multiprocessing_context=None):
    """A shuffled segmentation DataLoader (drop_last) yielding image and mask
    (B, 1, X, Y, Z); foreground_sampling / sampler as SegmentationDataset."""
    _torch("create_segmentation_dataloader")
    cfg = DatasetConfig(loading_mode=LoadingMode.PATCH if patch_size else LoadingMode.FULL_VOLUME,
                        patch_size=patch_size, patches_per_volume=patches_per_volume)
    ds = SegmentationDataset(image, mask, config=cfg, image_transform=image_transform,
                             spatial_transform=spatial_transform, foreground_sampling=foreground_sampling,
                             foreground_threshold=foreground_threshold,
                             foreground_max_retries=foreground_max_retries, sampler=sampler, seed=seed,
                             tensors=True)
    return _loader("create_segmentation_dataloader", ds, batch_size, num_workers, pin_memory,
                   persistent_workers, True, EpochSampler(len(ds), shuffle=True, seed=seed),
                   multiprocessing_context)
