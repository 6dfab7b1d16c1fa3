"""BatchLoader: batches of a radi.ml dataset prepared ahead on one background thread, with
no worker processes and no torch.

Why a thread is enough: a batch is one dataset.__getitems__ call whose reads are one
radi_read_patches call, decoded on the context's thread pool with the GIL released, so
the next batches are read while the caller trains on the current one. No process is
started, nothing is pickled and no batch crosses a process boundary (the IPC cost that
makes multi-worker DataLoaders slower than num_workers=0 for small datasets).

Order and contents are those of an EpochSampler with the same seed: batch b of epoch e
holds the keys (e, i) of its slice of that epoch's permutation, so a BatchLoader and a
torch DataLoader built by create_*_dataloader with the same seed yield the same samples.
"""
from __future__ import annotations

import queue
import threading

import numpy as np

from ._datasets import EpochSampler

__all__ = ["BatchLoader", "collate"]

_END = object()


def collate(samples: list):
    """Stacks a list of sample dicts into one batch dict: arrays (numpy, or torch tensors
    when the samples hold tensors) stacked along a new first axis, numbers and
    patch_start tuples as numpy arrays, other values (obs_id, ...) as lists. Samples that
    are not dicts (e.g. lists of crops from a MONAI transform) are returned as a list."""
    if not samples or not all(isinstance(s, dict) for s in samples):
        return list(samples)
    out = {}
    for key in samples[0]:
        vals = [s.get(key) for s in samples]
        v0 = vals[0]
        if isinstance(v0, np.ndarray) and all(isinstance(v, np.ndarray) and v.shape == v0.shape for v in vals):
            out[key] = np.stack(vals)
        elif type(v0).__module__.startswith("torch") and hasattr(v0, "shape"):
            import torch

            out[key] = torch.stack(vals)
        elif all(isinstance(v, (int, float, np.integer, np.floating, np.bool_)) for v in vals) or \
                all(isinstance(v, tuple) and v and all(isinstance(x, (int, np.integer)) for x in v) for v in vals):
            out[key] = np.asarray(vals)
        else:
            out[key] = vals
    return out


class BatchLoader:
    """Iterates a radi.ml dataset in batches of batch_size, `prefetch` batches read ahead on
    a background thread. shuffle: a new permutation every epoch, a pure function of
    (seed, epoch); else in order. Each iteration is one epoch and advances it (set_epoch
    sets it); the epoch also selects the patches, as with EpochSampler. drop_last drops a
    final short batch. collate: how a list of samples becomes a batch (default:
    radi.ml.collate). An exception while reading is raised by the iteration; leaving the
    loop early stops the thread."""

    def __init__(self, dataset, batch_size: int = 4, shuffle: bool = False, drop_last: bool = False,
                 seed: int = 0, prefetch: int = 2, collate_fn=None, epoch: int = 0):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(prefetch) < 1:
            raise ValueError(f"prefetch must be >= 1, got {prefetch}")
        self.dataset = dataset
        self.batch_size, self.drop_last, self.prefetch = int(batch_size), bool(drop_last), int(prefetch)
        self.sampler = EpochSampler(len(dataset), shuffle=shuffle, seed=seed, epoch=epoch)
        self.collate_fn = collate_fn or collate

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    @property
    def epoch(self) -> int:
        """The epoch the next iteration reads."""
        return self.sampler.epoch

    def __len__(self) -> int:
        n, b = len(self.sampler), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def _batches(self):
        keys = list(self.sampler)
        b = self.batch_size
        stop = len(keys) - len(keys) % b if self.drop_last else len(keys)
        return [keys[k:min(k + b, stop)] for k in range(0, stop, b)]

    def __iter__(self):
        batches = self._batches()
        q: queue.Queue = queue.Queue(maxsize=self.prefetch)
        halt = threading.Event()

        def put(item) -> bool:
            while not halt.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce():
            try:
                for keys in batches:
                    if not put(("ok", self.collate_fn(self.dataset.__getitems__(keys)))):
                        return
            except BaseException as e:  # handed to the consumer, raised there
                put(("err", e))
                return
            put(("ok", _END))

        t = threading.Thread(target=produce, name="radi-batch-loader", daemon=True)
        t.start()
        try:
            while True:
                kind, item = q.get()
                if kind == "err":
                    raise item
                if item is _END:
                    return
                yield item
        finally:
            halt.set()
            t.join()
