"""VolumeCollection: one collection of a RadiObject dataset (its volumes and their `obs`).

Volumes are resolved by their own `obs_id` metadata through the C dataset API
(radi_dataset_volumes), never by position alone, so datasets whose volumes/<k> are not in
obs order (written by 0.1.1 from unsorted input) read correctly. Views (iloc with a slice,
list or mask, loc with a list, filter, head, tail, sample) are cheap and immutable: a
view is the shared open dataset plus a tuple of obs_ids, kept in the order asked for.
"""
from __future__ import annotations

import ctypes as C
import os
import _thread  # not threading: a lock is all radi needs, and import time counts

import numpy as np

from . import _lib
from ._handle import Handle
from .volume import Volume

__all__ = ["VolumeCollection"]


class _Dataset(Handle):
    """An open radi_dataset shared by a RadiObject and all its views. The C handle is
    used by one thread at a time (radiobject.h), hence `lock`, held around every call
    on `h`; what it reports is copied into Python objects and cached. It pickles as a
    token (URI, context options, the cached names) and reopens on first use, as it does
    in a fork()ed child (radi/_handle.py)."""

    _what = "dataset"

    def __init__(self, uri, ctx=None, standalone: bool = False):
        self.uri = os.fspath(uri)
        self.standalone = standalone
        self._dlock = _thread.allocate_lock()
        self._init_handle(_lib.as_radi_ctx(ctx))
        self._h = self._open_raw(self._rctx)
        self.refresh()

    def _describe(self) -> str:
        return self.uri

    def _open_raw(self, ctx):
        h = C.c_void_p()
        opener = _lib.lib().radi_collection_open if self.standalone else _lib.lib().radi_dataset_open
        _lib.check(opener(ctx.handle, _lib.encode_uri(self.uri), C.byref(h)))
        return h

    def _close_raw(self, h) -> None:
        _lib.lib().radi_dataset_close(h)

    def _forked(self) -> None:
        with _lib._lock:
            if self._hpid != _lib._pid:
                self._dlock = _thread.allocate_lock()
        super()._forked()

    @property
    def ctx(self):
        if self._hpid != _lib._pid:
            self._forked()
        if not self._rctx.live:
            self._rctx = _lib.context_for(self._rctx.key)
        return self._rctx

    @property
    def lock(self):
        """Held around every call on `h` (a fresh one in a fork()ed child)."""
        if self._hpid != _lib._pid:
            self._forked()
        return self._dlock

    @property
    def h(self):
        """The raw radi_dataset* (opened now if this object was unpickled or forked)."""
        with self.use() as h:
            return h

    def __reduce__(self):
        return (_restore_dataset, (self.uri, self._rctx, self.standalone, self.collections,
                                   self.subjects))

    def refresh(self) -> None:
        """Re-reads names and subjects after a write through this handle (the C side
        reloads itself; these are the Python copies)."""
        L = _lib.lib()
        with self.lock:
            h = self.h
            self.collections = tuple(L.radi_dataset_collection_name(h, i).decode()
                                     for i in range(L.radi_dataset_collection_count(h)))
            self.subjects = tuple(L.radi_dataset_subject_id(h, i).decode()
                                  for i in range(L.radi_dataset_subject_count(h)))
        self._volumes = {}
        self._dims = {}

    def collection_uri(self, name: str) -> str:
        return self.uri if self.standalone else f"{self.uri.rstrip('/')}/collections/{name}"

    def obs(self, name: str):
        """The `obs` Dataframe of collection `name`."""
        from .dataframe import Dataframe

        return Dataframe(f"{self.collection_uri(name)}/obs", ctx=self.ctx)

    def obs_meta(self):
        """The dataset's `obs_meta` Dataframe."""
        from .dataframe import Dataframe

        return Dataframe(f"{self.uri.rstrip('/')}/obs_meta", ctx=self.ctx)

    def volumes(self, name: str) -> tuple:
        """((obs_subject_id, obs_id, volume_uri or None), ...) of one collection, in obs order."""
        got = self._volumes.get(name)
        if got is None:
            ptr, n = C.POINTER(_lib.VolumeEntry)(), C.c_uint64()
            with self.lock:
                _lib.check(_lib.lib().radi_dataset_volumes(self.h, name.encode(), C.byref(ptr),
                                                           C.byref(n)))
                got = tuple((ptr[i].obs_subject_id.decode(), ptr[i].obs_id.decode(),
                             ptr[i].volume_uri.decode() if ptr[i].volume_uri else None)
                            for i in range(n.value))
            self._volumes[name] = got
        return got

    def open_volume(self, name: str, obs_id: str) -> Volume:
        """The volume holding obs_id, opened through the dataset (on S3, volumes are placed
        by position and checked by their obs_id as they open: radi_dataset_volumes)."""
        h = C.c_void_p()
        L = _lib.lib()
        with self.lock:
            _lib.check(L.radi_dataset_open_volume(self.h, name.encode(), obs_id.encode(), C.byref(h)))
        uri = L.radi_array_uri(L.radi_volume_array(h)).decode()
        return Volume._from_handle(h, uri, self.ctx)

    def collection_dims(self, name: str):
        """(x_dim, y_dim, z_dim) from the collection group's metadata, or None (mixed shapes)."""
        if name in self._dims:
            return self._dims[name]
        L = _lib.lib()
        g = C.c_void_p()
        uri = self.collection_uri(name)
        _lib.check(L.radi_group_open(self.ctx.handle, uri.encode(), C.byref(g)))
        try:
            meta = L.radi_group_meta(g)
            dims = []
            for key in ("x_dim", "y_dim", "z_dim"):
                t, n, v = C.c_int(), C.c_uint32(), C.c_void_p()
                if (L.radi_meta_get(meta, key.encode(), C.byref(t), C.byref(n), C.byref(v)) != _lib.OK
                        or t.value != _lib.INT64 or n.value != 1):
                    dims = None
                    break
                dims.append(int(C.cast(v, C.POINTER(C.c_int64))[0]))
        finally:
            L.radi_group_close(g)
        self._dims[name] = tuple(dims) if dims else None
        return self._dims[name]

    def maintain(self, mode: str, vacuum: bool, progress: bool = False) -> None:
        """radi_dataset_consolidate / radi_dataset_vacuum over every array (and with
        array_meta every group) of the dataset, in `mode` or, for "all", in each mode:
        fragments, commits, fragment_meta, array_meta."""
        modes = _maintenance_modes(mode)
        L = _lib.lib()
        fn = L.radi_dataset_vacuum if vacuum else L.radi_dataset_consolidate
        try:
            for m in modes:
                cb = _lib.PROGRESS_FN() if not progress else _maint_printer(
                    "vacuum" if vacuum else "consolidate", m)
                with self.lock:
                    _lib.check(fn(self.h, _lib.CONSOLIDATION_MODES[m], cb, None))
        finally:
            self.refresh()



def _restore_dataset(uri, ctx, standalone, collections, subjects) -> _Dataset:
    """Unpickles a _Dataset: nothing is opened until it is used."""
    ds = _Dataset.__new__(_Dataset)
    ds.uri, ds.standalone = uri, standalone
    ds._dlock = _thread.allocate_lock()
    ds._init_handle(ctx)
    ds.collections, ds.subjects = tuple(collections), tuple(subjects)
    ds._volumes, ds._dims = {}, {}
    return ds


_ALL_MODES = ("fragments", "commits", "fragment_meta", "array_meta")


def _maintenance_modes(mode: str) -> tuple:
    """The modes a dataset consolidate/vacuum runs: one, or all four for "all"."""
    if mode == "all":
        return _ALL_MODES
    if mode not in _lib.CONSOLIDATION_MODES:
        raise ValueError(f"mode must be one of {', '.join(_ALL_MODES)} or all, got {mode!r}")
    return (mode,)


def _maint_printer(verb: str, mode: str):
    """A C progress callback that keeps one status line on stderr."""
    import sys

    def report(_user, done, total, uri):
        name = uri.decode("utf-8", "replace") if uri else ""
        sys.stderr.write(f"\r{verb} {mode} [{done}/{total}] {name}\033[K" + ("\n" if done == total else ""))
        sys.stderr.flush()

    return _lib.PROGRESS_FN(report)


def _positions(key, n: int, what: str) -> list:
    """Positions selected by an int/slice/list/bool-mask key (numpy semantics)."""
    if isinstance(key, slice):
        return list(range(n))[key]
    arr = np.asarray(key)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise _MaskLengthError(f"Boolean mask length {arr.size} != {_COUNT_NAME[what]} count {n}")
        return [int(i) for i in np.flatnonzero(arr)]
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise TypeError(f"{what} are selected by int, slice, list of ints or boolean mask, "
                        f"got {key!r}")
    out = []
    for i in arr.tolist():
        if i < -n or i >= n:
            raise IndexError(f"Index {i} out of range [0, {n})")
        out.append(i % n)
    return out


# 0.1.1's names in its mask-length message ("volume count 3", "subject count 3").
_COUNT_NAME = {"volumes": "volume", "subjects": "subject"}


class _MaskLengthError(IndexError, ValueError):
    """A boolean mask of the wrong length: ValueError as 0.1.1 raises it, and still the
    IndexError radi raised before."""


# Where 0.1.1 raises another exception type than radi did, radi raises one that is both,
# so code written against either catches it.
class _ExistsError(_lib.RadiExistsError, ValueError):
    """Something exists already: FileExistsError (radi), ValueError (0.1.1)."""


class _NotFoundError(_lib.RadiNotFoundError, KeyError):
    """A name that is not there: FileNotFoundError (radi), KeyError (0.1.1)."""

    __str__ = KeyError.__str__  # quoted as a KeyError's, not OSError's text


class _ViewError(TypeError, ValueError):
    """A write on a VolumeCollection view: TypeError (0.1.1), ValueError (radi before)."""


def _restore_collection(ds, name, obs_ids, entries) -> "VolumeCollection":
    vc = VolumeCollection.__new__(VolumeCollection)
    vc._ds, vc._name = ds, name
    vc._entries = {e[1]: tuple(e) for e in entries}
    ds._volumes.setdefault(name, tuple(vc._entries.values()))
    vc._view = obs_ids is not None
    vc._obs_ids = tuple(obs_ids) if obs_ids is not None else tuple(vc._entries)
    vc._idset = frozenset(vc._obs_ids)
    return vc


class _ILoc:
    def __init__(self, owner):
        self._o = owner

    def __getitem__(self, key):
        return self._o._iloc(key)


class _LocIdx:
    def __init__(self, owner):
        self._o = owner

    def __getitem__(self, key):
        return self._o._loc(key)


class VolumeCollection:
    """A collection's volumes: `vc.iloc[0]` / `vc.loc["sub-01_FLAIR"]` give a Volume,
    slices, lists and masks give views; `len`, iteration (Volumes), `obs`, `shape`."""

    def __init__(self, uri=None, ctx=None, *, _ds=None, _name=None, _obs_ids=None):
        if _ds is None:
            _ds, _name = self._open(os.fspath(uri), ctx)
        self._ds, self._name = _ds, _name
        self._entries = {e[1]: e for e in _ds.volumes(_name)}
        self._view = _obs_ids is not None
        self._obs_ids = tuple(_obs_ids) if _obs_ids is not None else tuple(self._entries)
        self._idset = frozenset(self._obs_ids)

    @staticmethod
    def _open(uri: str, ctx):
        """(dataset handle, name) for a collection URI: <dataset>/collections/<name> opens
        through its dataset (subjects, obs_meta, appends); any other collection group, e.g.
        one materialize wrote, opens stand-alone."""
        path = uri.rstrip("/")
        parent, name = path.rsplit("/", 1) if "/" in path else ("", path)
        root, coll = parent.rsplit("/", 1) if "/" in parent else ("", parent)
        if coll == "collections" and root:
            try:
                ds = _Dataset(root, ctx)
            except _lib.RadiError:
                ds = None
            if ds is not None and name in ds.collections:
                return ds, name
        ds = _Dataset(path, ctx, standalone=True)
        return ds, ds.collections[0]

    def _derive(self, obs_ids) -> "VolumeCollection":
        return VolumeCollection(_ds=self._ds, _name=self._name, _obs_ids=obs_ids)

    def __reduce__(self):
        # A token: the dataset's (URI, options, names), the collection name, the view's
        # obs_ids and the resolved volume entries, so unpickling opens nothing.
        return (_restore_collection, (self._ds, self._name, self._obs_ids if self._view else None,
                                      tuple(self._entries.values())))

    # -------------------------------------------------------------- properties --
    @property
    def name(self) -> str:
        return self._name

    @property
    def uri(self):
        """The collection's URI (None for a view, as in 0.1.1)."""
        return None if self._view else self._ds.collection_uri(self._name)

    @property
    def is_view(self) -> bool:
        return self._view

    @property
    def obs_ids(self) -> list:
        return list(self._obs_ids)

    @property
    def obs_subject_ids(self) -> list:
        return [self._entries[o][0] for o in self._obs_ids]

    @property
    def subjects(self) -> list:
        """Distinct obs_subject_ids of the volumes, in the collection's (view's) order."""
        return list(dict.fromkeys(self.obs_subject_ids))

    @property
    def shape(self):
        """(x, y, z) when every volume has the same spatial shape, else None."""
        if not hasattr(self, "_shape"):
            dims = self._ds.collection_dims(self._name)
            if dims is None and self._view and self._obs_ids:
                # A view of a mixed collection may still be uniform: look at its volumes.
                shapes = {self._volume(o).shape[:3] for o in self._obs_ids}
                dims = shapes.pop() if len(shapes) == 1 else None
            self._shape = dims
        return self._shape

    @property
    def is_uniform(self) -> bool:
        return self.shape is not None

    @property
    def obs(self):
        """Per-volume metadata. The collection's `obs` Dataframe (radi.Dataframe; `.read()`
        gives pandas); on a view, a pandas DataFrame of the view's rows in view order."""
        df = self._ds.obs(self._name)
        if not self._view:
            return df
        rows = df.read(index={"obs_id": list(self._obs_ids)})
        return rows.set_index("obs_id", drop=False).loc[list(self._obs_ids)].reset_index(drop=True)

    def __len__(self) -> int:
        return len(self._obs_ids)

    def __iter__(self):
        for o in self._obs_ids:
            yield self._volume(o)

    def __contains__(self, obs_id) -> bool:
        return obs_id in self._idset

    def __repr__(self) -> str:
        shape = self.shape
        shape_str = "x".join(str(d) for d in shape) if shape else "heterogeneous"
        view = ", view" if self._view else ""
        return f"VolumeCollection('{self._name}', {len(self)} volumes, shape={shape_str}{view})"

    # ----------------------------------------------------------------- access --
    def _missing(self, obs_id) -> KeyError:
        """The KeyError of an obs_id this collection or view does not hold (0.1.1's words)."""
        if self._view and obs_id in self._entries:
            return KeyError(f"obs_id '{obs_id}' not in view")
        return KeyError(f"Key '{obs_id}' not found in index")

    def _volume(self, obs_id: str) -> Volume:
        e = self._entries.get(obs_id)
        if e is None or obs_id not in self._idset:
            raise self._missing(obs_id)
        if e[2] is None:
            raise _lib.RadiNotFoundError(f"{self._ds.uri}: collection '{self._name}': no volume "
                                         f"holds obs_id '{obs_id}'")
        return self._ds.open_volume(self._name, obs_id)

    @property
    def iloc(self) -> _ILoc:
        """By position: an int gives a Volume; a slice, list or bool mask gives a view."""
        return _ILoc(self)

    @property
    def loc(self) -> _LocIdx:
        """By obs_id: a str gives a Volume; a list gives a view (in the order given)."""
        return _LocIdx(self)

    def __getitem__(self, key):
        # As 0.1.1: a str or a non-empty list of str selects by obs_id, anything else by position.
        by_id = isinstance(key, str) or (isinstance(key, (list, tuple)) and len(key) > 0
                                         and all(isinstance(k, str) for k in key))
        return self._loc(key) if by_id else self._iloc(key)

    def _iloc(self, key):
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            n = len(self._obs_ids)
            if key < -n or key >= n:
                raise IndexError(f"Index {key} out of range [0, {n})")
            return self._volume(self._obs_ids[key])
        return self._derive([self._obs_ids[i] for i in _positions(key, len(self._obs_ids), "volumes")])

    def _loc(self, key):
        if isinstance(key, str):
            return self._volume(key)
        ids = list(key)
        for o in ids:
            if o not in self._idset:
                raise self._missing(o)
        return self._derive(ids)

    def head(self, n: int = 5) -> "VolumeCollection":
        return self._derive(self._obs_ids[:n])

    def tail(self, n: int = 5) -> "VolumeCollection":
        return self._derive(self._obs_ids[-n:] if n > 0 else ())

    def sample(self, n: int = 5, seed=None) -> "VolumeCollection":
        rng = np.random.default_rng(seed)
        pick = sorted(rng.choice(len(self._obs_ids), size=min(n, len(self._obs_ids)), replace=False))
        return self._derive([self._obs_ids[i] for i in pick])

    def filter(self, expr: str) -> "VolumeCollection":
        """A view of the volumes whose obs row matches expr (e.g. "datatype == 4"), a
        filter expression over obs's attributes (docs/dataframe.md)."""
        df = self._ds.obs(self._name)
        keep = set(df.read(columns=["obs_id"], value_filter=expr)["obs_id"])
        return self._derive([o for o in self._obs_ids if o in keep])

    def _restrict_subjects(self, subjects) -> "VolumeCollection":
        """The view of the volumes of these subjects (used by RadiObject views)."""
        keep = set(subjects)
        return self._derive([o for o in self._obs_ids if self._entries[o][0] in keep])

    def lazy(self):
        """A lazy CollectionQuery over this collection or view (radi/query.py)."""
        from .query import CollectionQuery

        return CollectionQuery(self)

    def map(self, fn):
        """lazy().map(fn): fn (ndarray -> ndarray) applied when the query is materialized."""
        return self.lazy().map(fn)

    def to_numpy_stack(self) -> np.ndarray:
        """All volumes stacked on a new first axis (needs a uniform view)."""
        return np.stack([v.to_numpy() for v in self])

    def get_obs_row_by_obs_id(self, obs_id: str):
        """The obs row of one volume, as a one-row pandas DataFrame; an obs_id this
        collection (view) does not hold gives an empty one, as in 0.1.1."""
        rows = self._ds.obs(self._name).read(index={"obs_id": [str(obs_id)]})
        return rows if obs_id in self._idset else rows.iloc[0:0]

    @property
    def index(self):
        """The obs_ids of this collection (view), in its order, as a radi.indexing.Index
        (get_index, get_key, keys, key_to_idx, len, in). On a view 0.1.1 gives the whole
        collection's index; radi the view's, as its iloc/obs_ids do."""
        if getattr(self, "_index", None) is None:
            from .indexing import Index

            self._index = Index.build(self._obs_ids)
        return self._index

    # radiobject 0.1.1's internal names, kept for code that calls them (radi/_private_api.py).
    @property
    def _metadata(self) -> dict:
        """The collection group's metadata as a dict (n_volumes, name, x/y/z_dim when
        uniform), as 0.1.1's; a view gives its whole collection's."""
        from ._private_api import group_metadata

        return group_metadata(self._ds.ctx, self._ds.collection_uri(self._name))

    @classmethod
    def _create(cls, uri, shape=None, obs_schema=None, n_volumes: int = 0, name: str | None = None,
                ctx=None) -> "VolumeCollection":
        """0.1.1's internal constructor of an empty stand-alone collection, kept for code
        that calls it: radi._private_api.create_collection."""
        from ._private_api import create_collection

        return create_collection(cls, uri, shape, obs_schema, n_volumes, name, ctx)

    @classmethod
    def _from_volumes(cls, uri, volumes, obs_data=None, name: str | None = None,
                      ctx=None) -> "VolumeCollection":
        """0.1.1's internal constructor of a stand-alone collection from [(obs_id,
        Volume)], kept for code that calls it: radi._private_api.collection_from_volumes."""
        from ._private_api import collection_from_volumes

        return collection_from_volumes(cls, uri, volumes, obs_data, name, ctx)

    def copy(self) -> "VolumeCollection":
        """An equal VolumeCollection object (a view stays a view of the same volumes),
        sharing the open dataset; nothing is written (materialize writes)."""
        return VolumeCollection(_ds=self._ds, _name=self._name,
                                _obs_ids=self._obs_ids if self._view else None)

    # ----------------------------------------------------------------- writes --
    def materialize(self, uri, name: str | None = None, ctx=None) -> "VolumeCollection":
        """Copies this collection (or view) to a stand-alone collection at uri, named
        `name` (default: this one's). Volumes are copied file by file, so voxels, tiling,
        compression, affine, orientation and NIfTI keys are kept exactly (0.1.1 drops the
        geometry); obs rows keep every column. Volumes are numbered in obs order."""
        sel, keep = _lib.selection(obs_ids=list(self._obs_ids) if self._view else None)
        dst = os.fspath(uri)
        with self._ds.lock:
            _lib.check(_lib.lib().radi_dataset_copy_collection(
                self._ds.h, self._name.encode(), C.byref(sel), _lib.encode_uri(dst),
                name.encode() if name else None))
        del keep
        return VolumeCollection(dst, ctx=_lib.as_radi_ctx(ctx) if ctx is not None else self._ds.ctx)

    @classmethod
    def from_niftis(cls, uri, niftis, reorient=None, validate_dimensions: bool = True,
                    valid_subject_ids=None, name: str | None = None, ctx=None,
                    progress: bool = False) -> "VolumeCollection":
        """A stand-alone collection at uri from NIfTI files (0.1.1's signature): niftis
        [(path, subject_id)] (a third item, an obs_id, is radi's addition); obs_ids
        "{subject_id}_{name}". name: default the series type inferred from the file
        names (radi.imaging_metadata.infer_series_type), which must then agree (0.1.1
        leaves the collection unnamed and takes each obs_id's suffix from its file).
        validate_dimensions: refuse files of different spatial shapes ("Dimension
        mismatch"). valid_subject_ids: refuse subjects outside it. Voxels, geometry,
        obs and reorient as RadiObject.from_niftis. All-or-nothing: nothing is left at
        uri on failure."""
        from ._sources import _reorient_mode

        mode = _reorient_mode(reorient)
        if not niftis:
            raise ValueError("At least one NIfTI file is required")
        srcs = _pairs(name or "niftis", niftis)
        _check_subject_ids(valid_subject_ids, [sid for _p, sid, _o in srcs])
        if name is None:
            from ._sources import _by_series_type

            kinds = list(_by_series_type(niftis))
            if len(kinds) != 1:
                raise ValueError(f"files of several series types ({', '.join(kinds)}): pass name=... to put "
                                 "them in one collection")
            name = kinds[0]
        ctx = _lib.as_radi_ctx(ctx)
        return _standalone(uri, ctx, [(str(name), srcs)], [], str(name), validate_dimensions, progress,
                           reorient=mode)

    @classmethod
    def from_dicoms(cls, uri, dicom_dirs, reorient=None, validate_dimensions: bool = True,
                    valid_subject_ids=None, name: str | None = None, ctx=None, progress: bool = False,
                    *, series_uid=None, keep_patient_id: bool = False) -> "VolumeCollection":
        """A stand-alone collection at uri from DICOM series (0.1.1's signature):
        dicom_dirs [(series_dir, subject_id)], one image series each (or series_uid), all
        of one Modality unless `name` is given (default name: the Modality); obs_ids
        "{subject_id}_{name}". validate_dimensions: refuse series of different spatial
        shapes. valid_subject_ids: refuse subjects outside it. Geometry and values as
        RadiObject.from_dicoms (reorient too). All-or-nothing: nothing is left at uri on
        failure."""
        from . import _dicom
        from ._sources import _reorient_mode

        mode = _reorient_mode(reorient)
        ctx = _lib.as_radi_ctx(ctx)
        _check_subject_ids(valid_subject_ids, [str(e[1]) for e in dicom_dirs])
        dplan = _dicom.plan(ctx, dicom_dirs, name=name, series_uid=series_uid)
        if len(dplan) != 1:
            raise ValueError(f"series of several modalities ({', '.join(c for c, _ in dplan)}): pass name=... "
                             "to put them in one collection")
        return _standalone(uri, ctx, [], dplan, dplan[0][0], validate_dimensions, progress, keep_patient_id,
                           reorient=mode)

    def append(self, niftis=None, validate_alignment: bool = False, obs_meta=None,
               progress: bool = False, dicom_dirs=None, reorient=None, *, series_uid=None,
               keep_patient_id: bool = False) -> None:
        """Adds NIfTI files, [(path, obs_subject_id), ...], or DICOM series,
        dicom_dirs=[(series_dir, obs_subject_id), ...], to this collection, of a dataset
        or stand-alone (all-or-nothing and crash-safe either way: docs/dataset.md §8.8;
        obs_ids are "{subject}_{collection}"). New subjects of a dataset get obs_meta
        rows: from obs_meta (a DataFrame) when the dataset's obs_meta has user columns
        (0.1.1 writes none, leaving obs subjects without a row); a stand-alone
        collection has no obs_meta, and refuses obs_meta= (ValueError). Refused as in
        0.1.1: on a view (TypeError), obs_ids already in the dataset ("obs_ids already
        exist"), a shape other than a uniform collection's ("Dimension mismatch").
        reorient: as RadiObject.from_niftis.
        Volumes stay in sorted order, renumbered if needed."""
        if self._view:
            raise _ViewError("Cannot append on a view. Call materialize(uri) first.")
        if niftis is not None and dicom_dirs is not None:
            raise ValueError("Cannot provide both niftis and dicom_dirs")
        if not niftis and not dicom_dirs:
            raise ValueError("Must provide niftis=[(path, obs_subject_id), ...] or "
                             "dicom_dirs=[(series_dir, obs_subject_id), ...]")
        if obs_meta is not None and self._ds.standalone:
            raise ValueError(f"{self.uri}: a stand-alone collection has no obs_meta; obs_meta= needs a "
                             "collection of a dataset")
        from . import _dicom
        from ._sources import _refuse_existing_obs_ids, _reorient_mode
        from .radi_object import _ingest

        mode = _reorient_mode(reorient)
        plan = [(self._name, _pairs(self._name, niftis))] if niftis else []
        dplan = _dicom.plan(self._ds.ctx, dicom_dirs, name=self._name, series_uid=series_uid) if dicom_dirs else []
        # 0.1.1's duplicate refusal comes first, also on a stand-alone collection.
        _refuse_existing_obs_ids(self._ds, plan, dplan)
        _ingest(self._ds, plan, validate_alignment, obs_meta, progress, dplan, keep_patient_id, reorient=mode)
        self._reload()

    def _reload(self) -> None:
        self._entries = {e[1]: e for e in self._ds.volumes(self._name)}
        self._obs_ids = tuple(self._entries)
        self._idset = frozenset(self._obs_ids)
        self.__dict__.pop("_shape", None)
        self.__dict__.pop("_index", None)

    def consolidate(self, mode: str = "fragments", progress: bool = False) -> None:
        """Consolidates every array of this collection's dataset in `mode` (fragments,
        commits, fragment_meta, array_meta, or "all"): every volume, obs, obs_meta; a
        stand-alone collection: its volumes and obs. Readers see the same values; nothing
        is deleted until vacuum(mode). TypeError on a view."""
        if self._view:
            raise TypeError("Cannot consolidate a view. Call materialize(uri) first.")
        self._ds.maintain(mode, vacuum=False, progress=progress)

    def vacuum(self, mode: str = "fragments", progress: bool = False) -> None:
        """Deletes what an earlier consolidate(mode) of the dataset made obsolete."""
        if self._view:
            raise TypeError("Cannot vacuum a view. Call materialize(uri) first.")
        self._ds.maintain(mode, vacuum=True, progress=progress)

    def validate(self) -> None:
        """Raises ValueError listing every inconsistency of this collection's dataset (a
        stand-alone collection: of itself). TypeError on a view, as 0.1.1."""
        if self._view:
            raise TypeError("Cannot validate on a view. Call materialize(uri) first.")
        _validate(self._ds)


def _pairs(collection: str, items) -> list:
    """[(path, subject_id, obs_id or None)] from (path, subject_id) pairs or (path,
    subject_id, obs_id) triples, with a clear error for anything else."""
    out = []
    for item in items:
        try:
            path, sid, *rest = item
            if len(rest) > 1:
                raise ValueError
        except (TypeError, ValueError):
            raise ValueError(f"'{collection}': expected (path, subject_id) pairs or (path, subject_id, "
                             f"obs_id) triples, got {item!r}") from None
        out.append((os.fspath(path), str(sid), str(rest[0]) if rest and rest[0] is not None else None))
    if not out:
        raise ValueError(f"No NIfTI files found: '{collection}' lists no files")
    return out


def _check_subject_ids(valid_subject_ids, sids) -> None:
    """0.1.1's valid_subject_ids check (a whitelist of obs_subject_ids)."""
    if valid_subject_ids is None:
        return
    allowed = {str(s) for s in valid_subject_ids}
    bad = sorted({str(s) for s in sids} - allowed)
    if bad:
        raise ValueError(f"Invalid obs_subject_ids: {bad[:5]} (not in valid_subject_ids)")


def _standalone(uri, ctx, plan, dplan, cname: str, validate_dimensions: bool, progress: bool,
                keep_patient_id: bool = False, reorient=(0, 1)) -> "VolumeCollection":
    """A stand-alone collection at uri: the sources are ingested into a temporary dataset
    beside uri (all-or-nothing, journaled) and its collection moved out of it (a rename
    locally), so a failure leaves nothing at uri. The temporary dataset is a staging
    object (docs/dataset.md §8.7) held under its lock while it lives, so that `radi
    repair` or another writer beside uri removes it only once its writer is dead."""
    from .radi_object import RadiObject
    from .streaming import _move_collection_out, _Staging

    dst = os.fspath(uri)
    ctx = _lib.as_radi_ctx(ctx)
    held = _Staging(ctx, dst)
    try:
        ro = RadiObject._create_and_ingest(held.uri, ctx, plan, dplan, bool(validate_dimensions), None, progress,
                                           keep_patient_id, reorient=reorient)
        _move_collection_out(ro._ds, cname, dst)
    finally:
        held.end()
    return VolumeCollection(dst, ctx=ctx)


def _validate(ds: _Dataset) -> None:
    """Raises ValueError listing every inconsistency radi_dataset_validate finds."""
    msgs, n = C.POINTER(C.c_char_p)(), C.c_size_t()
    with ds.lock:
        _lib.check(_lib.lib().radi_dataset_validate(ds.h, C.byref(msgs), C.byref(n)))
    try:
        found = [msgs[i].decode("utf-8", "replace") for i in range(n.value)]
    finally:
        _lib.lib().radi_messages_free(msgs, n.value)
    if found:
        raise ValueError(f"{ds.uri}: {len(found)} inconsistencies:\n" + "\n".join(found))
