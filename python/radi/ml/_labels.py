"""Label indexes and label-balanced voxel draws that never read a whole mask.

A LabelIndex holds, for one mask volume, how many voxels of each class every tile of the
volume holds (only the non-zero counts). It is built once by a streaming pass over the
mask, a few tiles at a time (radi_read_patches, stored values), and stored with the
volume as one metadata key, `radi_label_index`, holding compact JSON: radiobject 0.1.1
and TileDB-Py ignore a key they do not know, so both still read (and 0.1.1 validates)
the dataset. The index records the volume's fragments; a later write makes it stale and
it is rebuilt.

Drawing a voxel uniformly from a set of classes S: a tile is chosen with probability
(voxels of S in the tile) / (voxels of S in the volume), then one of the tile's S voxels
uniformly, found by reading that tile alone. Every voxel of S is thus drawn with
probability exactly 1 / |S|, and each draw reads one mask tile.

Samplers (the patch is centred on the drawn voxel and shifted to lie inside the volume,
as MONAI does; a volume smaller than the patch is padded):

- PosNegSampler(pos, neg): MONAI RandCropByPosNegLabeld -- a foreground voxel (label > 0)
  with probability pos / (pos + neg), else a background one (label == 0). A volume with
  no foreground (or no background) gives the other kind, as MONAI does (warned once).
- LabelSampler(label_probabilities): TorchIO LabelSampler -- class c with probability
  proportional to its weight among the classes present in the volume (absent classes
  are skipped), then a voxel of c uniformly. (TorchIO instead excludes centres whose patch
  would leave the volume; here they are shifted inside, as MONAI.) When no weighted class
  is present the patch start is uniform, as an unbalanced draw (warned once).
"""
from __future__ import annotations

import ctypes as C
import hashlib
import json
import warnings

import numpy as np

from .. import _lib
from ..patches import read_boxes

__all__ = ["LabelIndex", "label_index", "PosNegSampler", "LabelSampler", "META_KEY"]

META_KEY = "radi_label_index"
_VERSION = 1
_DIM_NP = {_lib.INT32: "<i4", _lib.INT64: "<i8", _lib.UINT32: "<u4", _lib.UINT64: "<u8",
           _lib.INT16: "<i2", _lib.UINT16: "<u2", _lib.INT8: "<i1", _lib.UINT8: "<u1"}


def tile_extents(vol) -> tuple:
    """The tile extents of a volume's array (its schema's dimension extents)."""
    L = _lib.lib()
    out = []
    with vol.use() as h:
        sch = L.radi_array_schema(L.radi_volume_array(h))
        for i in range(vol.ndim):
            d = _lib.DimInfo()
            _lib.check(L.radi_schema_get_dim(sch, i, C.byref(d)))
            dt = np.dtype(_DIM_NP[d.type])
            lo = int(np.frombuffer(bytes(d.lo)[:dt.itemsize], dt)[0]) if d.has_domain else 0
            if lo != 0:
                raise _lib.RadiError(f"{vol.uri}: dimension {i} starts at {lo}, not 0")
            ext = int(np.frombuffer(bytes(d.extent)[:dt.itemsize], dt)[0]) if d.has_extent else vol.shape[i]
            out.append(max(1, min(ext, vol.shape[i])))
    return tuple(out)


def _signature(vol) -> str:
    """A digest of the volume's fragment names: changes with every write of voxels."""
    L = _lib.lib()
    names = []
    with vol.use() as h:
        arr = L.radi_volume_array(h)
        for i in range(L.radi_array_fragment_count(arr)):
            fi = _lib._capi.FragmentInfo()
            _lib.check(L.radi_array_fragment(arr, i, C.byref(fi)))
            names.append(fi.name.decode())
    return hashlib.sha1("\n".join(sorted(names)).encode()).hexdigest()[:16]


class LabelIndex:
    """Per-tile class counts of one mask volume (see the module docstring)."""

    def __init__(self, shape, tile, classes: dict, signature: str = ""):
        self.shape = tuple(int(s) for s in shape)
        self.tile = tuple(int(t) for t in tile)
        self.grid = tuple(-(-s // t) for s, t in zip(self.shape, self.tile))
        # class -> (tile ids (C order over the grid), counts), both int64, ids ascending
        self.classes = {int(c): (np.asarray(ids, np.int64), np.asarray(n, np.int64))
                        for c, (ids, n) in classes.items()}
        self.signature = signature

    # -- counts --
    def count(self, cls) -> int:
        got = self.classes.get(int(cls))
        return int(got[1].sum()) if got is not None else 0

    @property
    def class_counts(self) -> dict:
        return {c: int(n.sum()) for c, (_i, n) in sorted(self.classes.items())}

    def tile_box(self, tid: int):
        """(start, shape) of tile tid, clipped to the volume."""
        coords = np.unravel_index(int(tid), self.grid)
        start = tuple(int(c) * t for c, t in zip(coords, self.tile))
        shape = tuple(min(t, s - st) for t, s, st in zip(self.tile, self.shape, start))
        return start, shape

    def _weights(self, classes) -> tuple:
        """(tile ids, counts) of the union of `classes`, summed per tile."""
        parts = [self.classes[c] for c in classes if c in self.classes]
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if len(parts) == 1:
            return parts[0]
        ids = np.concatenate([p[0] for p in parts])
        n = np.concatenate([p[1] for p in parts])
        u, inv = np.unique(ids, return_inverse=True)
        return u, np.bincount(inv, weights=n).astype(np.int64)

    # -- storage --
    def to_json(self) -> str:
        return json.dumps({"v": _VERSION, "shape": self.shape, "tile": self.tile, "sig": self.signature,
                           "classes": {str(c): [ids.tolist(), n.tolist()]
                                       for c, (ids, n) in sorted(self.classes.items())}},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "LabelIndex":
        d = json.loads(text)
        if d.get("v") != _VERSION:
            raise ValueError(f"label index version {d.get('v')!r}")
        return cls(d["shape"], d["tile"], {int(c): (v[0], v[1]) for c, v in d["classes"].items()}, d.get("sig", ""))

    @classmethod
    def build(cls, vol, batch_tiles: int = 8) -> "LabelIndex":
        """Counts the classes of every tile, reading batch_tiles tiles at a time."""
        if vol.ndim != 3:
            raise ValueError(f"{vol.uri}: label indexes are for 3-D masks, this volume is {vol.ndim}-D")
        dt = vol.stored_dtype
        if dt.kind not in "iub":
            raise ValueError(f"{vol.uri}: a label mask must hold integers, it holds {dt}")
        tile = tile_extents(vol)
        idx = cls(vol.shape, tile, {}, _signature(vol))
        ntiles = int(np.prod(idx.grid))
        per_class: dict = {}
        for first in range(0, ntiles, batch_tiles):
            tids = list(range(first, min(first + batch_tiles, ntiles)))
            boxes = [idx.tile_box(t) for t in tids]
            outs = [np.empty(sh, dtype=dt) for _s, sh in boxes]
            read_boxes([vol] * len(tids), [b[0] for b in boxes], [b[1] for b in boxes], outs, "stored")
            for t, o in zip(tids, outs):
                vals, counts = np.unique(o, return_counts=True)
                for v, n in zip(vals.tolist(), counts.tolist()):
                    ids, ns = per_class.setdefault(int(v), ([], []))
                    ids.append(t)
                    ns.append(n)
        idx.classes = {c: (np.asarray(i, np.int64), np.asarray(n, np.int64)) for c, (i, n) in per_class.items()}
        return idx

    def store(self, vol) -> None:
        """Writes the index as the volume's metadata key radi_label_index."""
        L = _lib.lib()
        arr = C.c_void_p()
        data = self.to_json().encode()
        ctx = _lib.context()
        _lib.check(L.radi_array_open(ctx.handle, _lib.encode_uri(vol.uri), 0, 0, C.byref(arr)))
        try:
            buf = C.create_string_buffer(data, len(data))
            _lib.check(L.radi_meta_put(L.radi_array_meta(arr), META_KEY.encode(), _lib.STRING_UTF8,
                                       len(data), buf))
        finally:
            L.radi_array_close(arr)


def label_index(vol, store: bool = True, rebuild: bool = False) -> LabelIndex:
    """The label index of a mask volume: the stored one when it matches the volume's
    current fragments, else built by a streaming pass (and stored, with store=True; a
    volume that cannot be written, e.g. read-only storage, keeps it in memory)."""
    if not rebuild:
        text = vol._meta(META_KEY)
        if text:
            try:
                idx = LabelIndex.from_json(text)
                if idx.shape == tuple(vol.shape) and idx.signature == _signature(vol):
                    return idx
            except (ValueError, KeyError, TypeError):
                pass
    idx = LabelIndex.build(vol)
    if store:
        try:
            idx.store(vol)
        except _lib.RadiError as e:
            warnings.warn(f"{vol.uri}: label index not stored ({e}); kept in memory", stacklevel=2)
    return idx


# ---------------------------------------------------------------- samplers --


class _Sampler:
    """Chooses, per draw, a set of classes (or None: uniform start)."""

    def choose(self, index: LabelIndex, rng):  # pragma: no cover - abstract
        raise NotImplementedError


class PosNegSampler(_Sampler):
    """MONAI RandCropByPosNegLabeld's choice: foreground (label > 0) with probability
    pos / (pos + neg), else background (label == 0)."""

    def __init__(self, pos: float = 1.0, neg: float = 1.0):
        if pos < 0 or neg < 0 or pos + neg <= 0:
            raise ValueError(f"pos and neg must be >= 0 with a positive sum, got {pos}, {neg}")
        self.pos, self.neg = float(pos), float(neg)

    def __repr__(self):
        return f"PosNegSampler(pos={self.pos}, neg={self.neg})"

    def choose(self, index: LabelIndex, rng):
        fg = [c for c in index.classes if c != 0]
        has_fg = any(index.count(c) for c in fg)
        has_bg = index.count(0) > 0
        want_fg = rng.random() < self.pos / (self.pos + self.neg)
        if want_fg and not has_fg or not want_fg and not has_bg:
            _warn_once(("posneg", index.signature, want_fg),
                       f"no {'foreground' if want_fg else 'background'} voxels in the mask: "
                       f"drawing {'background' if want_fg else 'foreground'} instead")
            want_fg = not want_fg
        return (fg if want_fg else [0]), ("pos" if want_fg else "neg")


class LabelSampler(_Sampler):
    """TorchIO LabelSampler's choice: class c with probability proportional to
    label_probabilities[c] among the classes present in the volume (default: every
    class present, equally)."""

    def __init__(self, label_probabilities: dict | None = None):
        if label_probabilities is not None:
            if any(w < 0 for w in label_probabilities.values()):
                raise ValueError("label_probabilities must be >= 0")
            label_probabilities = {int(k): float(v) for k, v in label_probabilities.items()}
        self.label_probabilities = label_probabilities

    def __repr__(self):
        return f"LabelSampler({self.label_probabilities!r})"

    def choose(self, index: LabelIndex, rng):
        probs = self.label_probabilities or {c: 1.0 for c in index.classes}
        present = [(c, w) for c, w in sorted(probs.items()) if w > 0 and index.count(c) > 0]
        if not present:
            _warn_once(("label", index.signature),
                       f"none of the classes {sorted(probs)} with a positive weight is in the mask: "
                       "uniform patch instead")
            return None, "uniform"
        w = np.array([p for _c, p in present])
        k = int(np.searchsorted(np.cumsum(w / w.sum()), rng.random(), side="right"))
        c = present[min(k, len(present) - 1)][0]
        return [c], c


_WARNED = set()


def _warn_once(key, msg):
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(msg, stacklevel=4)


def pick_tile(index: LabelIndex, classes, rng):
    """(tile id, k): a tile with probability proportional to its voxels of `classes`,
    and k uniform in [0, that count)."""
    ids, n = index._weights(classes)
    total = int(n.sum())
    r = int(rng.integers(0, total))  # the r-th voxel of the set, over tiles in id order
    j = int(np.searchsorted(np.cumsum(n), r, side="right"))
    before = int(n[:j].sum())
    return int(ids[j]), r - before


def voxel_in_tile(index: LabelIndex, tid: int, tile_values: np.ndarray, classes, k: int) -> tuple:
    """The global coordinate of the k-th voxel (C order) of the tile whose value is in classes."""
    flat = tile_values.reshape(-1)
    cls = list(classes)
    if len(cls) == 1:  # the common case: one comparison, not np.isin's table of the value range
        flat = flat == np.asarray(cls[0]).astype(tile_values.dtype)
    else:
        flat = np.isin(flat, np.asarray(cls, dtype=tile_values.dtype)
                       if tile_values.dtype.kind != "b" else np.asarray(cls, bool))
    hits = np.flatnonzero(flat)
    if k >= len(hits):
        raise _lib.RadiError(f"label index is stale: tile {tid} holds {len(hits)} voxels of "
                             f"{list(classes)}, the index says more (rebuild it)")
    local = np.unravel_index(int(hits[k]), tile_values.shape)
    start, _shape = index.tile_box(tid)
    return tuple(int(s) + int(l) for s, l in zip(start, local))
