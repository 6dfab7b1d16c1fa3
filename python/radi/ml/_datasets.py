"""Map-style datasets over radi collections, with radiobject 0.1.1's names and sample keys.

Torch is optional: a dataset is a plain object with __len__, __getitem__ and
__getitems__ (the batch hook torch's DataLoader calls with a whole batch's indices, read
here with one radi_read_patches call per output type), so it works with DataLoader, with
multiprocessing, or alone. Samples hold numpy arrays (DataLoader's default collate turns
them into tensors), or torch tensors with tensors=True (the create_*_dataloader
factories set it, as radiobject 0.1.1's samples hold tensors).

Determinism: the patch of sample i in epoch e is a pure function of (seed, e, i) -- the
same for any num_workers, start method or order of access, different in every epoch
(set_epoch, or keys (epoch, i) as EpochSampler yields them). radiobject 0.1.1 seeds with
the index alone, so its patches never change between epochs.

Handles: a dataset keeps volume URIs and opens each volume once per process, on first
use; it pickles as those URIs and its settings (spawn/forkserver workers), and in a
fork()ed worker its volumes reopen by themselves (radi/_handle.py).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _lib
from ..patches import read_boxes
from ..volume import Volume
from ._config import DatasetConfig, LoadingMode
from ._labels import LabelSampler, PosNegSampler, label_index, pick_tile, voxel_in_tile

__all__ = ["VolumeCollectionDataset", "SegmentationDataset", "GridPatchDataset", "EpochSampler"]

_AXES = {"axial": 2, "sagittal": 0, "coronal": 1}


def _rng(*key):
    return np.random.default_rng([int(k) & 0xFFFFFFFFFFFFFFFF for k in key])


def _split_key(key, epoch):
    """(epoch, index) of a dataset key: an int (the dataset's epoch) or (epoch, index)."""
    if isinstance(key, tuple):
        return int(key[0]), int(key[1])
    return epoch, int(key)


class EpochSampler:
    """A DataLoader sampler yielding (epoch, index) keys: a permutation of range(n) that
    is a pure function of (seed, epoch) when shuffle, else in order. Each iteration uses
    the current epoch and then advances it (set_epoch sets it), so persistent workers see
    every epoch's patches without being told."""

    def __init__(self, n: int, shuffle: bool = True, seed: int = 0, epoch: int = 0):
        self.n, self.shuffle, self.seed, self.epoch = int(n), bool(shuffle), int(seed), int(epoch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        e = self.epoch
        self.epoch += 1
        order = _rng(self.seed, e, 0x5A3).permutation(self.n) if self.shuffle else range(self.n)
        return iter([(e, int(i)) for i in order])


def _want_tensors(tensors):
    return bool(tensors)


def _as_out(x, tensors: bool):
    if tensors:
        import torch

        return torch.from_numpy(x) if isinstance(x, np.ndarray) else x
    return x


def _label_out(label, tensors: bool):
    if isinstance(label, (bool, int, float, np.integer, np.floating, np.bool_)):
        if tensors:
            import torch

            return torch.tensor(label)
        return np.asarray(label)
    return label


def _collections_list(collections):
    from ..collection import VolumeCollection

    if isinstance(collections, VolumeCollection):
        return [collections]
    if not isinstance(collections, Sequence) or isinstance(collections, str):
        raise TypeError(f"collections must be a VolumeCollection or a sequence of them, got "
                        f"{type(collections).__name__}")
    if not collections:
        raise ValueError("At least one collection required")
    return list(collections)


def _check_alignment(named: dict) -> None:
    """radiobject 0.1.1's checks and messages (validate_collection_alignment)."""
    names = list(named)
    first = named[names[0]]
    n = len(first)
    subj = set(first.obs_subject_ids)
    for name in names[1:]:
        c = named[name]
        if len(c) != n:
            raise ValueError(f"Collection '{name}' has {len(c)} volumes, expected {n}")
        other = set(c.obs_subject_ids)
        if other != subj:
            raise ValueError(f"Subject mismatch for collection '{name}': "
                             f"missing={list(subj - other)[:3]}, extra={list(other - subj)[:3]}")


def _uniform_shape(named: dict) -> tuple:
    """radiobject 0.1.1's checks and messages (validate_uniform_shapes)."""
    shape = None
    for name, c in named.items():
        s = c.shape
        if s is None:
            raise ValueError(f"Collection '{name}' has heterogeneous shapes. "
                             f"Resample to uniform dimensions before ML training.")
        if shape is None:
            shape = tuple(s)
        elif tuple(s) != shape:
            raise ValueError(f"Shape mismatch: collection '{name}' has shape {tuple(s)}, expected {shape}")
    if shape is None:
        raise ValueError("No collections provided")
    return shape


def _uris(first, coll) -> list:
    """coll's volume URIs in the order of first's subjects (by obs_subject_id when each
    subject has one volume there, else by position)."""
    ent = coll._entries
    ids = list(coll._obs_ids)
    subj = [ent[o][0] for o in ids]
    if coll is first or len(set(subj)) != len(subj):
        order = ids
    else:
        by = {s: o for s, o in zip(subj, ids)}
        order = [by[s] for s in first.obs_subject_ids]
    out = []
    for o in order:
        if ent[o][2] is None:
            raise _lib.RadiNotFoundError(f"collection '{coll.name}': no volume holds obs_id '{o}'")
        out.append(ent[o][2])
    return out


class _Base:
    """What the datasets share: volume URIs per channel, lazy per-process opening, the
    deterministic plan of each sample and batched reads."""

    def _setup(self, channels: dict, config, transform, seed, pad_value, tensors, slice_orientation,
               uniform: bool = True):
        self._config = config or DatasetConfig()
        self._transform = transform
        self._seed = int(seed)
        self._epoch = 0
        self._pad_value = float(pad_value)
        self._tensors_opt = tensors
        if slice_orientation not in _AXES:
            raise ValueError(f"slice_orientation must be one of {list(_AXES)}, got {slice_orientation!r}")
        self._slice_axis = _AXES[slice_orientation]
        if len(channels) > 1:
            _check_alignment(channels)
        # uniform=False (whole subjects of any shape, the TorchIO adapter): no common shape
        self._volume_shape = _uniform_shape(channels) if uniform else None
        if uniform and len(self._volume_shape) != 3:  # a collection's shape is spatial, also for 4-D volumes
            raise ValueError(f"radi.ml needs collections of a 3-D spatial shape, got {self._volume_shape}")
        colls = list(channels.values())
        first = colls[0]
        self._ctx = first._ds.ctx
        self._uris = [_uris(first, c) for c in colls]  # [channel][volume]
        self._obs_ids = list(first.obs_ids)
        self._obs_subject_ids = list(first.obs_subject_ids)
        self._n_volumes = len(first)
        self._open = {}

    # -- pickling: URIs and settings; volumes reopen in the receiving process --
    def __getstate__(self):
        d = dict(self.__dict__)
        d["_open"] = {}
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)

    def _volume(self, uri) -> Volume:
        v = self._open.get(uri)
        if v is None:
            ctx = self._ctx if self._ctx.live else _lib.context_for(self._ctx.key)
            v = self._open.setdefault(uri, Volume(uri, ctx))
        return v

    def close(self) -> None:
        """Closes the volumes this process opened (they reopen on next use)."""
        opened, self._open = self._open, {}
        for v in opened.values():
            v.close()

    # -- epochs --
    def set_epoch(self, epoch: int) -> None:
        """The epoch integer keys use: patches change with it."""
        self._epoch = int(epoch)

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def _tensors(self) -> bool:
        return _want_tensors(self._tensors_opt)

    # -- 0.1.1 properties --
    def __len__(self) -> int:
        return self._length

    @property
    def volume_shape(self) -> tuple:
        return self._volume_shape

    @property
    def n_volumes(self) -> int:
        return self._n_volumes

    def _compute_length(self):
        m = self._config.loading_mode
        if m == LoadingMode.PATCH:
            return self._n_volumes * self._config.patches_per_volume
        if m == LoadingMode.SLICE_2D:
            return self._n_volumes * self._volume_shape[self._slice_axis]
        return self._n_volumes

    # -- plans: what sample i of epoch e reads --
    def _check_index(self, i):
        n = self._length
        if i < -n or i >= n:
            raise IndexError(f"index {i} is out of range for a dataset of {n} samples")
        return i % n

    def _uniform_start(self, e, i):
        ps = self._config.patch_size
        rng = _rng(self._seed, e, i)
        return tuple(int(rng.integers(0, max(0, s - p) + 1)) for s, p in zip(self._volume_shape, ps))

    def _plan(self, e, i) -> dict:
        """{"vol": volume index, "start", "shape", "squeeze": axis or None, keys...}."""
        m = self._config.loading_mode
        if m == LoadingMode.PATCH:
            ppv = self._config.patches_per_volume
            v, p = divmod(i, ppv)
            return {"vol": v, "start": self._patch_start(e, i, v), "shape": self._config.patch_size,
                    "squeeze": None, "keys": {"idx": v, "patch_idx": p}, "patch": True}
        if m == LoadingMode.SLICE_2D:
            ax = self._slice_axis
            n = self._volume_shape[ax]
            v, s = divmod(i, n)
            start = [0, 0, 0]
            start[ax] = s
            shape = list(self._volume_shape)
            shape[ax] = 1
            return {"vol": v, "start": tuple(start), "shape": tuple(shape), "squeeze": ax,
                    "keys": {"idx": v, "slice_idx": s}, "patch": False}
        return {"vol": i, "start": (0, 0, 0), "shape": self._volume_shape, "squeeze": None,
                "keys": {"idx": i}, "patch": False}

    def _patch_start(self, e, i, v):
        return self._uniform_start(e, i)

    def _prepare(self, plans) -> None:
        """Hook run on a batch's plans before the reads (label-balanced starts)."""

    # -- reads --
    def __getitem__(self, key):
        return self.__getitems__([key])[0]

    def __getitems__(self, keys) -> list:
        plans = []
        for k in keys:
            e, i = _split_key(k, self._epoch)
            p = self._plan(e, self._check_index(i))
            p["e"], p["i"] = e, i
            plans.append(p)
        self._prepare(plans)
        return self._read(plans)

    def _time_extent(self, uris_by_channel, v) -> tuple:
        """() for 3-D volumes; (T,) when volume v of every channel is 4-D with T
        timepoints. Channels of one sample must agree (they are stacked)."""
        ext = [tuple(self._volume(ch[v]).shape[3:]) for ch in uris_by_channel]
        if any(e != ext[0] for e in ext[1:]):
            detail = ", ".join(f"{ch[v]}: {self._volume(ch[v]).shape}" for ch in uris_by_channel)
            raise ValueError(f"volume {v} cannot be stacked as channels: its collections differ beyond the "
                             f"spatial axes ({detail})")
        return ext[0]

    def _read_channels(self, plans, uris_by_channel, dtype):
        """One read_boxes call: for each plan, every channel's box into one (C, *box) array.
        A 4-D volume keeps its whole time axis last, (C, *box, T), as radiobject 0.1.1's
        samples do (its collection shape is spatial and its reads take every timepoint)."""
        vols, starts, shapes, outs, arrays = [], [], [], [], []
        for p in plans:
            nch = len(uris_by_channel)
            extra = self._time_extent(uris_by_channel, p["vol"])
            shp = tuple(p["shape"]) + extra
            start = tuple(p["start"]) + (0,) * len(extra)
            if dtype == "stored":
                dt = self._volume(uris_by_channel[0][p["vol"]]).stored_dtype
            else:
                dt = np.dtype(dtype)
            a = np.empty((nch,) + shp, dtype=dt)
            arrays.append(a)
            for c in range(nch):
                vols.append(self._volume(uris_by_channel[c][p["vol"]]))
                starts.append(start)
                shapes.append(shp)
                outs.append(a[c])
        read_boxes(vols, starts, shapes, outs, dtype, "constant", self._pad_value)
        return [a if p["squeeze"] is None else a.squeeze(p["squeeze"] + 1) for a, p in zip(arrays, plans)]


class VolumeCollectionDataset(_Base):
    """radiobject 0.1.1's VolumeCollectionDataset: one or more aligned collections
    stacked as channels, image (C, X, Y, Z) float32 (physical values), in FULL_VOLUME,
    PATCH (uniform random patches) or SLICE_2D (slice_orientation: axial -- 0.1.1's
    only plane -- sagittal or coronal) mode.

    Samples: FULL_VOLUME {"image", "idx"}; PATCH {"image", "idx" (the volume),
    "patch_idx", "patch_start" (x, y, z)}; SLICE_2D {"image" (C, a, b), "idx",
    "slice_idx"}; plus "label" with labels (a column of the first collection's obs, a
    DataFrame, a dict or a callable of obs_id, as 0.1.1; default config.label_column).
    radi's additions (keyword-only): seed, pad_value (cells of a patch larger than the
    volume), tensors, slice_orientation."""

    def __init__(self, collections, config: DatasetConfig | None = None, labels=None, transform=None, *,
                 seed: int = 0, pad_value: float = 0.0, tensors=None, slice_orientation: str = "axial"):
        colls = _collections_list(collections)
        names = [c.name or f"collection_{i}" for i, c in enumerate(colls)]
        self._collection_names = names
        self._setup(dict(zip(names, colls)), config, transform, seed, pad_value, tensors, slice_orientation)
        self._length = self._compute_length()
        if labels is None:
            labels = self._config.label_column
        self._labels = _load_labels(colls[0], labels) if labels is not None else None

    @property
    def collection_names(self) -> list:
        return self._collection_names

    @property
    def n_channels(self) -> int:
        return len(self._uris)

    def _read(self, plans) -> list:
        images = self._read_channels(plans, self._uris, "float32")
        out = []
        t = self._tensors
        for p, img in zip(plans, images):
            r = {"image": _as_out(img, t), **p["keys"]}
            if p["patch"]:
                r["patch_start"] = tuple(p["start"])
            if self._labels is not None and p["vol"] in self._labels:
                r["label"] = _label_out(self._labels[p["vol"]], t)
            if self._transform is not None:
                r = self._transform(r)
            out.append(r)
        return out


class SegmentationDataset(_Base):
    """radiobject 0.1.1's SegmentationDataset: image (1, X, Y, Z) float32 and mask
    (1, X, Y, Z) in the mask's stored dtype, with "idx", "obs_id", "obs_subject_id" and,
    per mode, "patch_idx" and "patch_start" (PATCH) or "slice_idx" (SLICE_2D).

    Patch sampling (PATCH): uniform by default; `sampler=PosNegSampler(pos, neg)` or
    `LabelSampler({class: weight})` centres each patch on a voxel drawn exactly uniformly
    from the chosen class(es) through the mask's label index (radi.ml.label_index: built
    once, stored with the mask volume; one mask tile read per draw). 0.1.1's
    foreground_sampling=True (rejection sampling up to foreground_max_retries reads for
    foreground_threshold) becomes PosNegSampler(pos=1, neg=0): every patch is centred on
    a foreground voxel; the threshold and retries are accepted and unused.
    image_transform and spatial_transform as 0.1.1 (spatial first). Keyword-only
    additions: sampler, seed, pad_value, tensors, slice_orientation, store_label_index."""

    def __init__(self, image, mask, config: DatasetConfig | None = None, image_transform=None,
                 spatial_transform=None, foreground_sampling: bool = False, foreground_threshold: float = 0.01,
                 foreground_max_retries: int = 10, *, sampler=None, seed: int = 0, pad_value: float = 0.0,
                 tensors=None, slice_orientation: str = "axial", store_label_index: bool = True):
        self._image_transform = image_transform
        self._spatial_transform = spatial_transform
        self._setup({"image": image, "mask": mask}, config, None, seed, pad_value, tensors, slice_orientation)
        self._foreground_sampling = bool(foreground_sampling)
        self._foreground_threshold = foreground_threshold
        self._foreground_max_retries = foreground_max_retries
        if sampler is None and foreground_sampling:
            sampler = PosNegSampler(1.0, 0.0)
        if sampler == "uniform":
            sampler = None
        if sampler is not None and not isinstance(sampler, (PosNegSampler, LabelSampler)):
            raise TypeError(f"sampler must be None, 'uniform', PosNegSampler or LabelSampler, got {sampler!r}")
        self._sampler = sampler
        self._store_index = bool(store_label_index)
        self._indexes = {}
        self._length = self._compute_length()
        self._img_uris, self._mask_uris = [self._uris[0]], [self._uris[1]]
        self.last_draws = None  # per batch: what the sampler chose ("pos", "neg", a class, "uniform")

    def __getstate__(self):
        d = super().__getstate__()
        d["_indexes"] = {}
        d["last_draws"] = None
        return d

    def label_index(self, v: int):
        """The label index of volume v's mask (loaded or built once per process)."""
        got = self._indexes.get(v)
        if got is None:
            got = self._indexes[v] = label_index(self._volume(self._mask_uris[0][v]), store=self._store_index)
        return got

    def _prepare(self, plans) -> None:
        if self._sampler is None:
            return
        todo = [p for p in plans if p["patch"]]
        draws, vols, starts, shapes, outs = [], [], [], [], []
        for p in todo:
            idx = self.label_index(p["vol"])
            rng = _rng(self._seed, p["e"], p["i"], 1)
            classes, what = self._sampler.choose(idx, rng)
            p["draw"] = what
            if classes is None:
                continue
            tid, k = pick_tile(idx, classes, rng)
            st, sh = idx.tile_box(tid)
            mv = self._volume(self._mask_uris[0][p["vol"]])
            buf = np.empty(sh, dtype=mv.stored_dtype)
            draws.append((p, idx, tid, classes, k, buf))
            vols.append(mv), starts.append(st), shapes.append(sh), outs.append(buf)
        if vols:
            stats = {}
            read_boxes(vols, starts, shapes, outs, "stored", stats=stats)
            self.last_read_stats = stats
        ps = self._config.patch_size
        for p, idx, tid, classes, k, buf in draws:
            centre = voxel_in_tile(idx, tid, buf, classes, k)
            p["centre"] = centre
            p["start"] = tuple(int(np.clip(c - q // 2, min(0, s - q), max(0, s - q)))
                               for c, q, s in zip(centre, ps, self._volume_shape))
        self.last_draws = [p.get("draw") for p in plans]

    def _read(self, plans) -> list:
        images = self._read_channels(plans, self._img_uris, "float32")
        masks = self._read_channels(plans, self._mask_uris, "stored")
        out = []
        t = self._tensors
        for p, img, msk in zip(plans, images, masks):
            v = p["vol"]
            r = {"image": _as_out(img, t), "mask": _as_out(msk, t), **p["keys"]}
            if p["patch"]:
                r["patch_start"] = tuple(p["start"])
            r["obs_id"] = self._obs_ids[v]
            r["obs_subject_id"] = self._obs_subject_ids[v]
            if self._spatial_transform is not None:
                r = self._spatial_transform(r)
            if self._image_transform is not None:
                r = self._image_transform(r)
            out.append(r)
        return out


class GridPatchDataset(_Base):
    """Patches on a regular grid for sliding-window inference, covering every voxel:
    starts 0, stride, 2*stride, ... and, when the volume's size is not reached, a last
    start at size - patch (radiobject 0.1.1's grid stops short of the far edge); a
    volume smaller than the patch gets one start, 0, padded with pad_value. Samples:
    {"image" (C, *patch_size), "idx", "patch_idx", "patch_start", "obs_id"}."""

    def __init__(self, collections, patch_size, stride=None, transform=None, *, pad_value: float = 0.0,
                 tensors=None):
        colls = _collections_list(collections)
        names = [c.name or f"collection_{i}" for i, c in enumerate(colls)]
        cfg = DatasetConfig(loading_mode=LoadingMode.PATCH, patch_size=patch_size)
        self._setup(dict(zip(names, colls)), cfg, transform, 0, pad_value, tensors, "axial")
        self._patch_size = cfg.patch_size
        self._stride = tuple(int(s) for s in (stride or self._patch_size))
        if len(self._stride) != 3 or min(self._stride) < 1:
            raise ValueError(f"stride must be three positive integers, got {stride!r}")
        axes = []
        for n, p, s in zip(self._volume_shape, self._patch_size, self._stride):
            st = list(range(0, max(n - p, 0) + 1, s))
            if st[-1] + p < n:
                st.append(n - p)
            axes.append(st)
        self._grid_positions = [(x, y, z) for x in axes[0] for y in axes[1] for z in axes[2]]
        self._length = self._n_volumes * len(self._grid_positions)

    @property
    def grid_positions(self) -> list:
        return list(self._grid_positions)

    @property
    def patch_size(self) -> tuple:
        return self._patch_size

    def _plan(self, e, i) -> dict:
        v, p = divmod(i, len(self._grid_positions))
        return {"vol": v, "start": self._grid_positions[p], "shape": self._patch_size, "squeeze": None,
                "keys": {"idx": v, "patch_idx": p}, "patch": True}

    def _read(self, plans) -> list:
        images = self._read_channels(plans, self._uris, "float32")
        out = []
        t = self._tensors
        for p, img in zip(plans, images):
            r = {"image": _as_out(img, t), **p["keys"], "patch_start": tuple(p["start"]),
                 "obs_id": self._obs_ids[p["vol"]]}
            if self._transform is not None:
                r = self._transform(r)
            out.append(r)
        return out


def _load_labels(coll, labels) -> dict | None:
    """{volume index: label} from a label source (0.1.1's LabelSource)."""
    obs_ids = coll.obs_ids
    if isinstance(labels, str):
        obs = coll.obs
        df = obs.read() if hasattr(obs, "read") else obs
        if labels not in df.columns:
            raise ValueError(f"Label column '{labels}' not found in obs DataFrame")
        look = dict(zip(df["obs_id"], df[labels]))
    elif isinstance(labels, dict):
        look = labels
    elif hasattr(labels, "columns") and hasattr(labels, "index"):  # a pandas DataFrame
        if "obs_id" in labels.columns:
            cols = [c for c in labels.columns if c != "obs_id"]
            if not cols:
                raise ValueError("Labels DataFrame must have at least one label column")
            look = dict(zip(labels["obs_id"], labels[cols[0]]))
        else:
            look = labels[labels.columns[0]].to_dict()
    elif callable(labels):
        return {i: labels(o) for i, o in enumerate(obs_ids)} or None
    else:
        raise TypeError(f"labels must be str, DataFrame, dict, callable, or None, got {type(labels)}")
    out = {i: look[o] for i, o in enumerate(obs_ids) if o in look}
    return out or None
