"""radiobject 0.1.1's compat names (radiobject.ml.compat): Compose, and the TorchIO adapter
VolumeCollectionSubjectsDataset -- one torchio.Subject per subject, one image per collection.

Where 0.1.1 builds every image as a ScalarImage with no affine (so TorchIO's spatial
transforms, resampling and patch aggregation work in voxel units and treat masks as
intensities), radi gives each image its volume's stored voxel-to-world affine and makes
mask collections LabelMaps (nearest-neighbour interpolation, excluded from intensity
transforms). torchio and torch are imported when a dataset is created, so `import
radi.ml` needs neither.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..patches import read_boxes
from ._datasets import _Base, _collections_list, _label_out, _load_labels

__all__ = ["VolumeCollectionSubjectsDataset", "Compose"]

# Collection names taken for label maps when label_maps is not given (BraTS "seg", "mask",
# "label", "labels", "aseg", ...): a word ending in seg, or holding mask or label.
_MASK_NAME = re.compile(r"(seg|mask|label)", re.IGNORECASE)


def _torchio():
    try:
        import torch
        import torchio as tio
    except ImportError as e:
        raise ImportError(f"radi.ml.VolumeCollectionSubjectsDataset builds torchio Subjects and needs TorchIO "
                          f"(pip install torchio); radi.ml's other datasets work without it ({e})") from None
    return torch, tio


def _label_array(a: np.ndarray) -> np.ndarray:
    """Unsigned types torch cannot hold widened to a signed one (as TorchIO's own reader)."""
    if a.dtype == np.uint16:
        return a.astype(np.int32)
    if a.dtype in (np.uint32, np.uint64):
        return a.astype(np.int64)
    if a.dtype == np.bool_:
        return a.astype(np.uint8)
    return a


class VolumeCollectionSubjectsDataset(_Base):
    """A map-style dataset of torchio.Subject: item i holds, for each collection (by its
    name), volume i as a torchio image of shape (C, X, Y, Z) -- C = 1, or the T
    timepoints of a 4-D volume (TorchIO's channels) -- with the volume's affine;
    collections named in label_maps are LabelMaps in their stored integer type (widened
    where torch lacks it), the others ScalarImages of physical float32 values. Also
    "label" (labels as 0.1.1: a column name, DataFrame, dict or callable), "obs_id" and
    "obs_subject_id" (of the first collection).

    label_maps: collection names to treat as label maps; None (default) takes those whose
    name contains seg, mask or label (case-insensitive); [] makes every image scalar, as
    0.1.1. Volumes may have any shape (each subject is read whole, in one radi read).
    transform: a TorchIO transform applied to each Subject. Works with torch's DataLoader
    (any start method; the dataset pickles as URIs) and as a torchio.Queue's subjects."""

    def __init__(self, collections, labels=None, transform=None, *, label_maps: Sequence[str] | None = None):
        _torchio()
        colls = _collections_list(collections)
        names = [c.name or f"collection_{i}" for i, c in enumerate(colls)]
        if len(set(names)) != len(names):
            raise ValueError(f"collection names must differ to name a Subject's images, got {names}")
        reserved = {"obs_id", "obs_subject_id"} | ({"label"} if labels is not None else set())
        if reserved & set(names):
            raise ValueError(f"collection names {sorted(reserved & set(names))} clash with the Subject's "
                             f"keys {sorted(reserved)}")
        self._collection_names = names
        if label_maps is None:
            label_maps = [n for n in names if _MASK_NAME.search(n)]
        unknown = [n for n in label_maps if n not in names]
        if unknown:
            raise ValueError(f"label_maps names {unknown} are not among the collections {names}")
        self._label_maps = frozenset(label_maps)
        self._setup(dict(zip(names, colls)), None, transform, 0, 0.0, True, "axial", uniform=False)
        self._length = self._n_volumes
        self._labels = _load_labels(colls[0], labels) if labels is not None else None

    @property
    def collection_names(self) -> list:
        return list(self._collection_names)

    @property
    def label_maps(self) -> list:
        return [n for n in self._collection_names if n in self._label_maps]

    def dry_iter(self) -> list:
        """One small dict per subject ({"obs_id", "obs_subject_id"}) without reading any
        voxels, as TorchIO's SubjectsDataset.dry_iter (torchio.Queue counts them)."""
        return [{"obs_id": o, "obs_subject_id": s} for o, s in zip(self._obs_ids, self._obs_subject_ids)]

    def _plan(self, e, i) -> dict:
        return {"vol": i}

    def _read(self, plans) -> list:
        torch, tio = _torchio()
        # label maps in their stored type, scalar images as physical float32: one read each
        reqs = {"stored": ([], [], [], []), "float32": ([], [], [], [])}
        arrays = []
        for p in plans:
            row = []
            for name, uris in zip(self._collection_names, self._uris):
                vol = self._volume(uris[p["vol"]])
                kind = "stored" if name in self._label_maps else "float32"
                a = np.empty(vol.shape, dtype=vol.stored_dtype if kind == "stored" else np.float32)
                for lst, x in zip(reqs[kind], (vol, (0,) * vol.ndim, vol.shape, a)):
                    lst.append(x)
                row.append((name, vol, a))
            arrays.append(row)
        for kind, (vols, starts, shapes, outs) in reqs.items():
            if vols:
                read_boxes(vols, starts, shapes, outs, kind)
        out = []
        for p, row in zip(plans, arrays):
            v = p["vol"]
            entries = {}
            for name, vol, a in row:
                # (X, Y, Z[, T]) -> TorchIO's (C, X, Y, Z): the time axis becomes the channels
                chw = a[np.newaxis] if a.ndim == 3 else np.moveaxis(a, 3, 0)
                if name in self._label_maps:
                    entries[name] = tio.LabelMap(tensor=torch.from_numpy(np.ascontiguousarray(_label_array(chw))),
                                                 affine=vol.affine)
                else:
                    entries[name] = tio.ScalarImage(tensor=torch.from_numpy(np.ascontiguousarray(chw)),
                                                    affine=vol.affine)
            if self._labels is not None and v in self._labels:
                entries["label"] = _label_out(self._labels[v], True)
            entries["obs_id"] = self._obs_ids[v]
            entries["obs_subject_id"] = self._obs_subject_ids[v]
            subject = tio.Subject(entries)
            if self._transform is not None:
                subject = self._transform(subject)
            out.append(subject)
        return out


class Compose:
    """Applies transforms in order (radiobject 0.1.1 exports MONAI's or TorchIO's Compose
    as radiobject.ml.Compose when installed; this one imports neither). As MONAI's
    Compose (map_items), once a transform returns a list -- several crops of one sample,
    e.g. RandCropByPosNegLabeld -- the later transforms apply to each item."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, data):
        for t in self.transforms:
            data = [t(d) for d in data] if isinstance(data, list) else t(data)
        return data

    def __repr__(self) -> str:
        return f"Compose({[type(t).__name__ for t in self.transforms]})"
