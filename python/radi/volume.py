"""Volume: a 3-D or 4-D dense array with RadiObject's layout, read by numpy-style indexing.

Reads allocate the result with numpy and let the C library fill it in place.

Scaling policy. A volume ingested from NIfTI stores the file's raw values in the file's
own datatype and records scl_slope / scl_inter (radiobject 0.1.1 instead stores scaled
float64 and loses them). Reads return physical values, raw * slope + inter, as float32
by default (`to_numpy(dtype=np.float64)` for double precision); `vol.raw[...]` and
`to_numpy(raw=True)` return the stored values in the stored dtype. A volume without
scaling (slope 1 and intercept 0, or none recorded: from_numpy, 0.1.1 datasets) reads
its stored values in its stored dtype either way. `dtype` is the dtype reads return;
`stored_dtype` the one on disk. `to_nifti` writes the raw values with the recorded
scaling, so a NIfTI round trip is exact.
"""
from __future__ import annotations

import ctypes as C
import operator
import os

import numpy as np

from . import _lib
from ._handle import Handle
from .ctx import SliceOrientation, _Record, _tile_struct, get_config

__all__ = ["Volume", "OrientationInfo"]

_DTYPES = {
    np.dtype(np.int8): _lib.INT8, np.dtype(np.uint8): _lib.UINT8,
    np.dtype(np.int16): _lib.INT16, np.dtype(np.uint16): _lib.UINT16,
    np.dtype(np.int32): _lib.INT32, np.dtype(np.uint32): _lib.UINT32,
    np.dtype(np.int64): _lib.INT64, np.dtype(np.uint64): _lib.UINT64,
    np.dtype(np.float32): _lib.FLOAT32, np.dtype(np.float64): _lib.FLOAT64,
    np.dtype(np.bool_): _lib.BOOL,
}
_NP_DTYPES = {code: dt for dt, code in _DTYPES.items()}


def _meta_string(array_handle, key: str):
    """A metadata value as str, or None when the key is absent or not a string."""
    L = _lib.lib()
    meta = L.radi_array_meta(array_handle)
    t, n, v = C.c_int(), C.c_uint32(), C.c_void_p()
    if L.radi_meta_get(meta, key.encode(), C.byref(t), C.byref(n), C.byref(v)) != _lib.OK:
        return None
    if t.value not in (_lib.STRING_UTF8, _lib.STRING_ASCII, _lib.CHAR):
        return None
    return C.string_at(v, n.value).decode("utf-8", "replace") if n.value else ""


def _meta_items(meta) -> list:
    """Every key of a radi_meta (an array's or a group's) as (key, datatype code, count,
    value bytes), in key order: what a copy writes back as it is."""
    L = _lib.lib()
    key, t, n, v = C.c_char_p(), C.c_int(), C.c_uint32(), C.c_void_p()
    out = []
    for i in range(L.radi_meta_count(meta)):
        _lib.check(L.radi_meta_at(meta, i, C.byref(key), C.byref(t), C.byref(n), C.byref(v)))
        size = n.value * (1 if t.value in _TEXT else L.radi_datatype_size(t.value))
        out.append((key.value.decode("utf-8", "replace"), t.value, n.value,
                    C.string_at(v, size) if size else b""))
    return out


_TEXT = (_lib.STRING_UTF8, _lib.STRING_ASCII, _lib.CHAR)


def _meta_put_items(meta, items) -> None:
    """Writes [(key, datatype code, count, value bytes)] as ONE metadata file (as an
    ingest writes a volume's keys): _meta_items' form, or text as (key, STRING_UTF8,
    len, utf-8 bytes)."""
    from ._capi import MetaItem

    keep = [(k.encode(), t, n, C.create_string_buffer(raw, max(len(raw), 1))) for k, t, n, raw in items]
    if not keep:
        return
    arr = (MetaItem * len(keep))(*[MetaItem(k, t, n, C.cast(b, C.c_void_p)) for k, t, n, b in keep])
    _lib.check(_lib.lib().radi_meta_put_many(meta, len(keep), arr))


def _text_item(key: str, value: str) -> tuple:
    b = value.encode("utf-8")
    return (key, _lib.STRING_UTF8, len(b), b)


def _meta_value(code: int, count: int, raw: bytes):
    """One metadata value as TileDB-Py's `arr.meta[key]` gives it: str for text, bytes for
    blobs, a Python number for one numeric value, a tuple of them for several."""
    if code in _TEXT:
        return raw.decode("utf-8", "replace")
    dt = _NP_DTYPES.get(code)
    if dt is None:  # BLOB, ANY: the bytes as stored
        return raw
    vals = np.frombuffer(raw, dtype=dt).tolist()
    return vals[0] if count == 1 else tuple(vals)


def _meta_dict(meta) -> dict:
    """All metadata of a radi_meta as a dict, values as _meta_value gives them (0.1.1's
    `dict(arr.meta)` / `dict(group.meta)`)."""
    return {k: _meta_value(t, n, raw) for k, t, n, raw in _meta_items(meta)}


class OrientationInfo(_Record):
    """A volume's anatomical orientation, from its NIfTI/DICOM header (0.1.1's fields):
    axcodes e.g. ('R', 'A', 'S'), the 4x4 voxel-to-world affine (numpy float64),
    is_canonical (RAS), confidence ('header' or 'unknown') and source ('nifti_sform',
    'nifti_qform', 'dicom_iop' or 'identity')."""

    _fields = (("axcodes", ()), ("affine", None), ("is_canonical", False), ("confidence", "unknown"),
               ("source", "identity"))

    def __eq__(self, other) -> bool:
        if not isinstance(other, OrientationInfo):
            return NotImplemented
        a, b = self._as_dict(), other._as_dict()
        return np.array_equal(a.pop("affine"), b.pop("affine")) and a == b

    def __str__(self) -> str:
        return (f"axcodes={self.axcodes} affine={np.asarray(self.affine).tolist()} "
                f"is_canonical={self.is_canonical} confidence={self.confidence!r} source={self.source!r}")


class Volume(Handle):
    """A volume array: `Volume(uri)` opens one, `Volume.from_numpy(uri, data)` writes one.

    Threads: reads may run on any number of threads at once; close() waits for none of
    them but frees the C handle only when the last running read ends. Fork and pickle: a
    Volume pickles as a small token (URI, context options, shape, dtype, scaling) and
    reopens on first use; in a fork()ed child it reopens by itself (radi/_handle.py)."""

    _what = "volume"

    def __init__(self, uri, ctx=None):
        self._uri = os.fspath(uri)
        rctx = _lib.as_radi_ctx(ctx)
        self._ctx = ctx if ctx is not None else rctx
        self._init_handle(rctx)
        h = self._open_raw(rctx)
        self._h = h
        self._attach(h)

    # `_ctx` is the ctx argument as the caller gave it (a radi context, a tiledb.Ctx or
    # Config; radi's context when none was given), kept as 0.1.1 keeps it so that
    # `vol._ctx is the_ctx` holds. radi's own context for it, which every read uses and
    # which is replaced after fork(), is `_rctx` (radi/_handle.py).

    @classmethod
    def _from_handle(cls, h, uri, ctx, given_ctx=None) -> "Volume":
        """Wraps a radi_volume* the caller opened with radi context ctx (ownership passes
        to the Volume); given_ctx is the ctx argument it came from (`_ctx`), default ctx."""
        vol = cls.__new__(cls)
        vol._uri = os.fspath(uri)
        vol._ctx = given_ctx if given_ctx is not None else ctx
        vol._init_handle(ctx, h)
        try:
            vol._attach(h)
        except BaseException:
            vol.close()
            raise
        return vol

    def _open_raw(self, ctx):
        h = C.c_void_p()
        _lib.check(_lib.lib().radi_volume_open(ctx.handle, _lib.encode_uri(self._uri), C.byref(h)))
        return h

    def _close_raw(self, h) -> None:
        _lib.lib().radi_volume_close(h)

    def _opened(self, h) -> None:
        # A lazy reopen (after unpickling or fork): the volume must still be the same.
        n = _lib.lib().radi_volume_ndim(h)
        shp = _lib.lib().radi_volume_shape(h)
        shape = tuple(int(shp[i]) for i in range(n))
        if shape != self._shape or _NP_DTYPES.get(_lib.lib().radi_volume_dtype(h)) != self._stored:
            self._close_raw(h)
            self._h = None
            raise _lib.RadiError(f"{self._uri}: reopened volume has shape {shape}, expected "
                                 f"{self._shape} (overwritten since it was pickled?)")

    def _attach(self, h):
        L = _lib.lib()
        n = L.radi_volume_ndim(h)
        shp = L.radi_volume_shape(h)
        self._shape = tuple(int(shp[i]) for i in range(n))
        code = L.radi_volume_dtype(h)
        if code not in _NP_DTYPES:
            raise _lib.RadiError(f"{self._uri}: unsupported voxel datatype code {code}")
        self._stored = _NP_DTYPES[code]
        slope, inter, has = C.c_double(), C.c_double(), C.c_int()
        _lib.check(L.radi_volume_scaling(h, C.byref(slope), C.byref(inter), C.byref(has)))
        self._scaling = (slope.value, inter.value) if has.value else None
        self._dtype = np.dtype(np.float32) if self._scaling else self._stored

    def __reduce__(self):
        if self._closed:
            raise ValueError(f"{self._uri}: a closed volume cannot be pickled")
        return (_restore_volume, (self._uri, self._rctx, self._shape, self._stored.str, self._scaling))

    @classmethod
    def from_numpy(cls, uri, data, ctx=None) -> "Volume":
        """Creates a volume at uri holding `data` (3-D or 4-D), tiled and compressed as the
        current configuration says (configure(tile=..., compression=...))."""
        arr = np.asarray(data)
        if arr.ndim not in (3, 4):
            raise ValueError(f"Shape must be 3D or 4D, got {arr.ndim}D")
        dt = arr.dtype.newbyteorder("=") if arr.dtype.byteorder not in ("=", "|") else arr.dtype
        if dt not in _DTYPES:
            raise ValueError(f"unsupported volume dtype {arr.dtype} (numeric or bool only)")
        # C order and native byte order are what the library reads; copy only if needed.
        arr = np.ascontiguousarray(arr, dtype=dt)
        given, ctx = ctx, _lib.as_radi_ctx(ctx)
        w = get_config().write
        shape = (C.c_uint64 * arr.ndim)(*arr.shape)
        tile = _tile_struct(w.tile)
        comp = w.compression._struct()
        h = C.c_void_p()
        _lib.check(_lib.lib().radi_volume_from_buffer(
            ctx.handle, _lib.encode_uri(uri), arr.ndim, shape, _DTYPES[dt],
            arr.ctypes.data_as(C.c_void_p), C.byref(tile), C.byref(comp), C.byref(h)))
        return cls._from_handle(h, uri, ctx, given)

    @classmethod
    def create(cls, uri, shape, dtype=np.float32, ctx=None) -> "Volume":
        """Creates an empty volume at uri (3-D or 4-D `shape`, `dtype`), tiled and
        compressed as the current configuration says. Reads return the fill value until
        the voxels are written (e.g. by TileDB-Py, as with 0.1.1)."""
        shape = tuple(operator.index(n) for n in shape)
        if len(shape) not in (3, 4):
            raise ValueError(f"Shape must be 3D or 4D, got {len(shape)}D")
        dt = np.dtype(dtype)
        dt = dt.newbyteorder("=") if dt.byteorder not in ("=", "|") else dt
        if dt not in _DTYPES:
            raise ValueError(f"unsupported volume dtype {np.dtype(dtype)} (numeric or bool only)")
        if any(n < 1 for n in shape):
            raise ValueError(f"volume shape {shape}: every axis needs at least one voxel")
        given, ctx = ctx, _lib.as_radi_ctx(ctx)
        w = get_config().write
        tile = _tile_struct(w.tile)
        comp = w.compression._struct()
        h = C.c_void_p()
        _lib.check(_lib.lib().radi_volume_create(ctx.handle, _lib.encode_uri(uri), len(shape),
                                                 (C.c_uint64 * len(shape))(*shape), _DTYPES[dt],
                                                 C.byref(tile), C.byref(comp), C.byref(h)))
        return cls._from_handle(h, uri, ctx, given)

    @classmethod
    def from_nifti(cls, uri, nifti_path, ctx=None, reorient=None) -> "Volume":
        """Creates a volume at uri from one NIfTI file (.nii, .nii.gz, .hdr/.img; any URI
        the context serves), read in C: the voxels as stored with the file's scaling
        recorded (see the module docstring), the affine and axis codes
        (orientation_info), and the NIfTI header fields to_nifti writes back. reorient:
        None (configure's orientation.reorient_on_load, default False) or False keep the
        acquisition orientation; True permutes and flips the axes to the configured
        canonical target (no resampling) as 0.1.1 does, in C at ingest."""
        from ._sources import _reorient_mode

        given, ctx = ctx, _lib.as_radi_ctx(ctx)
        target, keep_original = _reorient_mode(reorient)
        w = get_config().write
        tile = _tile_struct(w.tile)
        comp = w.compression._struct()
        h = C.c_void_p()
        _lib.check(_lib.lib().radi_volume_from_nifti_reoriented(ctx.handle, _lib.encode_uri(uri),
                                                                _lib.encode_uri(nifti_path), target,
                                                                keep_original, C.byref(tile),
                                                                C.byref(comp), C.byref(h)))
        return cls._from_handle(h, uri, ctx, given)

    @classmethod
    def from_dicom(cls, uri, dicom_dir, ctx=None, reorient=None, dtype=None, *, series_uid=None,
                   keep_patient_id: bool = False) -> "Volume":
        """Creates a volume at uri from the one image series in dicom_dir (0.1.1's
        signature; series_uid picks one of several): slices sorted along the slice
        normal, the affine from the positions, values stored as the files hold them with
        their rescale (reads give Hounsfield units for CT; CT whose values fit is stored as
        int16 HU, as dcm2niix). dtype: None (as stored) or a numpy dtype the voxels are
        converted to on write. reorient: as from_nifti. Tiling and compression follow
        configure()."""
        from . import _capi
        from ._sources import _reorient_mode

        target, keep_original = _reorient_mode(reorient)
        given, ctx = ctx, _lib.as_radi_ctx(ctx)
        if dtype is not None:
            # Decode, convert, then store: the conversion is the caller's choice of type.
            import tempfile

            with tempfile.TemporaryDirectory(prefix="radi-dicom-") as tmp:
                src = cls.from_dicom(os.path.join(tmp, "v"), dicom_dir, ctx=ctx, reorient=reorient,
                                     series_uid=series_uid, keep_patient_id=keep_patient_id)
                data = src.to_numpy().astype(np.dtype(dtype))
                src.close()
            return cls.from_numpy(uri, data, ctx=given)
        L = _lib.lib()
        w = get_config().write
        tile = _tile_struct(w.tile)
        comp = w.compression._struct()
        opt = _capi.DicomOptions()
        L.radi_dicom_options_init(C.byref(opt))
        opt.keep_patient_id = int(bool(keep_patient_id))
        source = _capi.DicomSource(_lib.encode_uri(dicom_dir), b"", None,
                                   series_uid.encode() if series_uid else None)
        h = C.c_void_p()
        _lib.check(L.radi_volume_from_dicom_reoriented(ctx.handle, _lib.encode_uri(uri), C.byref(source),
                                                       C.byref(opt), target, keep_original, C.byref(tile),
                                                       C.byref(comp), C.byref(h)))
        return cls._from_handle(h, uri, ctx, given)

    # ---------------------------------------------------------------- lifetime --
    # close(), context-manager use and __del__ come from Handle.

    def _handle(self):
        """The raw handle for a call that only looks at it (no read running long)."""
        with self.use() as h:
            return h

    # -------------------------------------------------------------- properties --
    @property
    def uri(self) -> str:
        return self._uri

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def dtype(self) -> np.dtype:
        """The dtype reads return: float32 for a scaled NIfTI volume, else the stored one."""
        return self._dtype

    @property
    def stored_dtype(self) -> np.dtype:
        """The dtype on disk (what `raw` reads return)."""
        return self._stored

    @property
    def scaling(self):
        """(scl_slope, scl_inter) recorded from the source NIfTI, or None when reads are
        not scaled."""
        return self._scaling

    @property
    def raw(self) -> "_RawIndexer":
        """Indexing that returns stored (unscaled) values: `vol.raw[:, :, 77]`."""
        return _RawIndexer(self)

    @property
    def tile_orientation(self):
        """The SliceOrientation stored at creation (key `tile_orientation`, or the legacy
        `slice_orientation`), or None."""
        for key in ("tile_orientation", "slice_orientation"):
            v = self._meta(key)
            if v is not None:
                try:
                    return SliceOrientation(v)
                except ValueError:
                    return None
        return None

    def _meta(self, key: str):
        with self.use() as h:
            return _meta_string(_lib.lib().radi_volume_array(h), key)

    @property
    def _metadata(self) -> dict:
        """Every array metadata key with its value, as 0.1.1's `Volume._metadata` (its
        internal name, kept for code that reads it): `dict(arr.meta)` of TileDB-Py, so
        strings are str, one number a Python number. Read anew on each access (0.1.1
        caches it): set_obs_id shows at once."""
        with self.use() as h:
            return _meta_dict(_lib.lib().radi_array_meta(_lib.lib().radi_volume_array(h)))

    @property
    def obs_id(self):
        """The obs_id this volume holds in its collection (metadata `obs_id`), or None."""
        return self._meta("obs_id")

    def set_obs_id(self, obs_id: str) -> None:
        """Stores obs_id in the volume's metadata (key `obs_id`, as 0.1.1); `obs_id`
        returns it from then on."""
        if not isinstance(obs_id, str):
            raise TypeError(f"obs_id must be a str, got {type(obs_id).__name__}")
        self._put_meta({"obs_id": obs_id})

    def _put_meta(self, items: dict) -> None:
        """Writes string metadata through a handle of its own (this volume's may be read
        by other threads meanwhile), then reopens this one so reads see the new keys."""
        L = _lib.lib()
        with self.use():
            ctx = self._rctx
        a = C.c_void_p()
        _lib.check(L.radi_array_open(ctx.handle, _lib.encode_uri(self._uri), 0, 0, C.byref(a)))
        try:
            _meta_put_items(L.radi_array_meta(a), [_text_item(k, v) for k, v in items.items()])
        finally:
            L.radi_array_close(a)
        stale = None
        with self._hlock:
            # With no read running, drop the handle: the next use reopens it (Handle).
            if self._users == 0 and self._h:
                stale, self._h = self._h, None
        if stale:
            self._close_raw(stale)

    @property
    def orientation_info(self):
        """OrientationInfo from the metadata a NIfTI/DICOM ingest stores
        (`orientation_affine`, `orientation_axcodes`, ...), or None when either key is
        missing or empty (e.g. from_numpy), as 0.1.1."""
        text = self._meta("orientation_affine")
        if not text or not self._meta("orientation_axcodes"):
            return None
        import json

        try:
            aff = np.array(json.loads(text), dtype=np.float64)
        except (ValueError, TypeError):
            raise _lib.RadiError(f"{self._uri}: metadata orientation_affine is not a JSON "
                                 f"4x4 matrix: {text[:60]!r}") from None
        if aff.shape != (4, 4):
            raise _lib.RadiError(f"{self._uri}: metadata orientation_affine has shape {aff.shape}, "
                                 "expected (4, 4)")
        codes = tuple(self._meta("orientation_axcodes") or "")
        return OrientationInfo(axcodes=codes, affine=aff, is_canonical=codes == ("R", "A", "S"),
                               confidence=self._meta("orientation_confidence") or "unknown",
                               source=self._meta("orientation_source") or "identity")

    @property
    def affine(self) -> np.ndarray:
        """The 4x4 voxel-to-world affine; the identity when the volume has none stored."""
        info = self.orientation_info
        return info.affine if info is not None else np.eye(4)

    @property
    def spacing(self) -> tuple:
        """Voxel size along x, y, z (the lengths of the affine's first three columns)."""
        a = self.affine
        return tuple(float(v) for v in np.linalg.norm(a[:3, :3], axis=0))

    def __repr__(self) -> str:
        oid = self.obs_id if self._h and not self._closed else None
        extra = f", obs_id={oid!r}" if oid is not None else ""
        return f"Volume(shape={'x'.join(str(s) for s in self._shape)}, dtype={self._dtype}{extra})"

    # ------------------------------------------------------------------- reads --
    def _read_box(self, lo, hi, raw: bool = False, dtype=None) -> np.ndarray:
        """Reads the inclusive box [lo, hi] into a new C-order array of that box's shape:
        physical values (see the module docstring) unless raw."""
        box = tuple(h - l + 1 for l, h in zip(lo, hi))
        lohi = (C.c_int64 * (2 * len(lo)))(*[v for pair in zip(lo, hi) for v in pair])
        want = np.dtype(dtype) if dtype is not None else (self._stored if raw else self._dtype)
        if raw or self._scaling is None:
            out = np.empty(box, dtype=self._stored)
            with self.use() as h:
                _lib.check(_lib.lib().radi_volume_read(h, lohi, out.ctypes.data_as(C.c_void_p),
                                                       out.nbytes, None))
            return out if want == self._stored else out.astype(want)
        # Scaled in C: one pass, computed in double and rounded once.
        code = _lib.FLOAT64 if want == np.float64 else _lib.FLOAT32
        out = np.empty(box, dtype=np.float64 if code == _lib.FLOAT64 else np.float32)
        with self.use() as h:
            _lib.check(_lib.lib().radi_volume_read_scaled(h, lohi, code,
                                                          out.ctypes.data_as(C.c_void_p), out.nbytes, None))
        return out if out.dtype == want else out.astype(want)

    def to_numpy(self, raw: bool = False, dtype=None) -> np.ndarray:
        """The whole volume: physical values as `dtype` (default self.dtype), or the
        stored values with raw=True."""
        return self._read_box([0] * self.ndim, [s - 1 for s in self._shape], raw, dtype)

    def __array__(self, dtype=None, copy=None):
        a = self.to_numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __getitem__(self, key) -> np.ndarray:
        """numpy basic indexing: ints (negative allowed) drop the axis, slices keep it
        (steps are applied in numpy to the bounding box read), `...` and missing trailing
        axes mean everything. A bare int indexes the first axis, as numpy does."""
        return self._index(key, raw=False)

    def _index(self, key, raw: bool) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            if sum(k is Ellipsis for k in key) > 1:
                raise IndexError("an index can only have a single ellipsis ('...')")
            i = next(j for j, k in enumerate(key) if k is Ellipsis)
            fill = self.ndim - (len(key) - 1)
            key = key[:i] + (slice(None),) * max(fill, 0) + key[i + 1:]
        if len(key) > self.ndim:
            raise IndexError(f"too many indices for volume: volume is {self.ndim}-dimensional, "
                             f"but {len(key)} were indexed")
        key = key + (slice(None),) * (self.ndim - len(key))
        lo, hi, local = [], [], []
        empty = False
        for axis, (k, n) in enumerate(zip(key, self._shape)):
            if isinstance(k, slice):
                r = range(*k.indices(n))
                if len(r) == 0:
                    empty = True
                    lo.append(0), hi.append(0), local.append(slice(0, 0))
                    continue
                a, b = min(r[0], r[-1]), max(r[0], r[-1])
                lo.append(a), hi.append(b)
                # Local slice of the box that yields r (the box spans exactly r's extremes).
                local.append(slice(0, None, r.step) if r.step > 0 else slice(b - a, None, r.step))
            else:
                if isinstance(k, (bool, np.bool_)):
                    raise TypeError("boolean indices are not supported by Volume")
                try:
                    i = operator.index(k)
                except TypeError:
                    raise TypeError(f"Volume indices must be integers, slices or '...', "
                                    f"got {type(k).__name__}") from None
                if i < -n or i >= n:
                    raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n}")
                i %= n
                lo.append(i), hi.append(i), local.append(0)
        if empty:
            shape = tuple(len(range(*k.indices(n))) for k, n in zip(key, self._shape)
                          if isinstance(k, slice))
            return np.empty(shape, dtype=self._stored if raw else self._dtype)
        box = self._read_box(lo, hi, raw)
        return box[tuple(local)]

    # -------------------------------------------------------------- statistics --
    def _values(self) -> np.ndarray:
        """The whole volume as the values 0.1.1 computes on, flattened (a view of one
        fresh array): physical values, in float64 for a scaled NIfTI volume (0.1.1
        stores nibabel's float64 scaling of it), else the stored dtype."""
        return self.to_numpy(dtype=np.float64 if self._scaling else None).reshape(-1)

    def get_statistics(self, percentiles=None) -> dict:
        """{"mean", "std", "min", "max", "median"} as Python floats, plus "p<int(p)>" for
        each of `percentiles` (0..100): numpy's mean, std (ddof 0), min, max, median and
        linear percentile of every voxel, exactly as 0.1.1 returns them (NaN voxels make
        every value NaN, as in numpy). The volume is read once; std sums in blocks and
        the median and percentiles come from a radix select in C over the values read
        (radi_order_statistics), so the extra memory is small blocks, not a copy."""
        a = self._values()
        top = a.max()
        stats = {"mean": float(a.mean()), "std": float(_std(a)), "min": float(a.min()), "max": float(top)}
        # numpy's median and percentiles are NaN as soon as one value is (max shows it).
        nan = a.dtype.kind == "f" and bool(np.isnan(top))
        n = a.size
        middle = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
        if percentiles:
            # numpy's own checks (range, types) on one value of this dtype: same errors.
            np.percentile(np.zeros(1, dtype=a.dtype), percentiles)
            q = np.true_divide(np.asanyarray(percentiles), 100)
            at = (n - 1) * q  # linear method: the fractional rank of each percentile
            lo = np.clip(np.floor(at).astype(np.intp), 0, n - 1)
            hi = np.clip(lo + 1, 0, n - 1)
        ranks = sorted(set(middle) | (set(lo.tolist()) | set(hi.tolist()) if percentiles else set()))
        value = dict(zip(ranks, _order_statistics(a, ranks))) if not nan else {}
        # The median as numpy takes it: the mean of the middle one or two values.
        stats["median"] = float("nan") if nan else float(np.mean(np.array([value[k] for k in middle], a.dtype)))
        if percentiles:
            if nan:
                values = np.full(len(q), np.nan)
            else:
                below = np.array([value[k] for k in lo.tolist()], a.dtype)
                above = np.array([value[k] for k in hi.tolist()], a.dtype)
                values = _lerp(below, above, at - lo)
            for p, v in zip(percentiles, values):
                stats[f"p{int(p)}"] = float(v)
        return stats

    def compute_histogram(self, bins=256, value_range=None) -> tuple:
        """(counts, bin_edges) of every voxel, as numpy.histogram(values, bins,
        range=value_range) (0.1.1's result). numpy bins the volume block by block, so
        the extra memory is bounded."""
        return np.histogram(self._values(), bins=bins, range=value_range)

    def to_nifti(self, file_path, compression: bool = True) -> str:
        """Writes the volume as NIfTI-1: stored voxels with the recorded scaling, the
        affine with its sform/qform codes, xyzt_units. With compression (the default) a
        name without ".gz" gets it, as radiobject 0.1.1 does. Returns the path written."""
        path = os.fspath(file_path)
        if compression and not path.endswith(".gz"):
            path += ".gz"
        elif not compression and path.endswith(".gz"):
            raise ValueError(f"{path}: compression=False but the name ends in .gz")
        if not (path.endswith(".nii") or path.endswith(".nii.gz")):
            raise ValueError(f"{path}: a NIfTI file name ends in .nii or .nii.gz")
        with self.use() as h:
            _lib.check(_lib.lib().radi_volume_to_nifti(h, path.encode()))
        return path

    def slice(self, x=slice(None), y=slice(None), z=slice(None), t=None) -> np.ndarray:
        """`vol[x, y, z]` (plus `t` on 4-D volumes)."""
        key = (x, y, z) if t is None else (x, y, z, t)
        return self[key]

    def _plane(self, axis: int, index: int, t) -> np.ndarray:
        key = [slice(None)] * 3
        key[axis] = index
        if t is not None:
            if self.ndim != 4:
                raise ValueError(f"t={t} given for a {self.ndim}D volume")
            key.append(t)
        return self[tuple(key)]

    def axial(self, z: int, t: int | None = None) -> np.ndarray:
        """The (X, Y) slice at z, i.e. vol[:, :, z]; (X, Y, T) on 4-D volumes without t."""
        return self._plane(2, z, t)

    def sagittal(self, x: int, t: int | None = None) -> np.ndarray:
        """The (Y, Z) slice at x, i.e. vol[x]; (Y, Z, T) on 4-D volumes without t."""
        return self._plane(0, x, t)

    def coronal(self, y: int, t: int | None = None) -> np.ndarray:
        """The (X, Z) slice at y, i.e. vol[:, y]; (X, Z, T) on 4-D volumes without t."""
        return self._plane(1, y, t)


# Elements per block of squared deviations (512 KiB as float64). At least numpy's
# pairwise block (128): numpy never splits a range that short, so neither may we.
_STD_BLOCK = 1 << 16


def _std(a: np.ndarray):
    """numpy's a.std() of a 1-D contiguous array, bit for bit, without its full-size
    temporary (a - mean): numpy sums one contiguous range by pairwise summation that
    halves the range at a multiple of 8, so summing the same halves block by block and
    adding them in the same tree gives the same rounding."""
    n = a.size
    # numpy's dtype rule for var: integers and bools accumulate in float64.
    dtype = np.dtype(np.float64) if a.dtype.kind in "biu" else None
    mean = np.add.reduce(a, dtype=dtype, keepdims=True)
    mean = np.true_divide(mean, np.intp(n), out=mean, casting="unsafe")

    def tree(lo: int, hi: int):
        m = hi - lo
        if m <= _STD_BLOCK:
            x = np.subtract(a[lo:hi], mean)
            np.multiply(x, x, out=x)
            return np.add.reduce(x, dtype=dtype)
        half = m // 2
        half -= half % 8
        return tree(lo, lo + half) + tree(lo + half, hi)

    total = tree(0, n)
    var = total.dtype.type(total / np.intp(n))
    return var.dtype.type(np.sqrt(var))


def _order_statistics(a: np.ndarray, ranks: list) -> list:
    """The values of `ranks` (0-based, ascending order) of a 1-D contiguous array, from
    the C library's radix select: no copy, `a` is not reordered."""
    ks = np.array(ranks, dtype=np.uint64)
    out = np.empty(len(ks), dtype=a.dtype)
    _lib.check(_lib.lib().radi_order_statistics(a.ctypes.data_as(C.c_void_p), _DTYPES[a.dtype], a.size, len(ks),
                                                ks.ctypes.data_as(C.POINTER(C.c_uint64)),
                                                out.ctypes.data_as(C.c_void_p)))
    return list(out)


def _lerp(below: np.ndarray, above: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Linear interpolation between neighbouring order statistics, rounded as numpy's
    percentile rounds it: from the lower value for t < 0.5, from the upper one above."""
    diff = np.subtract(above, below)
    out = np.asanyarray(np.add(below, diff * t))
    np.subtract(above, diff * (1 - t), out=out, where=t >= 0.5)
    return out


class _RawIndexer:
    """`vol.raw[...]`: the same indexing as `vol[...]`, returning stored values."""

    def __init__(self, vol: Volume):
        self._vol = vol

    def __getitem__(self, key) -> np.ndarray:
        return self._vol._index(key, raw=True)


def _restore_volume(uri, ctx, shape, stored, scaling) -> Volume:
    """Unpickles a Volume: nothing is opened until it is used."""
    vol = Volume.__new__(Volume)
    vol._uri = uri
    vol._ctx = ctx  # the radi context: a tiledb.Ctx given at creation is not pickled
    vol._init_handle(ctx)
    vol._shape = tuple(shape)
    vol._stored = np.dtype(stored)
    vol._scaling = tuple(scaling) if scaling is not None else None
    vol._dtype = np.dtype(np.float32) if vol._scaling else vol._stored
    return vol
