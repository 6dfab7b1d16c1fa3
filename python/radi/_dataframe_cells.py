"""Dataframe writes: pandas columns checked and encoded into the C library's sparse
write buffers (TileDB-Py from_pandas's type rules), split from dataframe.py. Each of the
two modules imports the other at its end, after its own definitions, so either may be
imported first."""
from __future__ import annotations

import numpy as np

from . import _lib
from .errors import RadiInvalidError


class _Cells:
    """The C buffers of one sparse write, encoded (and checked) from a frame before
    anything touches storage."""

    def __init__(self, uri, fields, frame):
        self.uri, self.n = uri, len(frame)
        bufs, self._keep = [], []
        for f in fields if self.n else ():
            if f.name not in frame.columns:
                raise RadiInvalidError(f"{uri}: column '{f.name}' is missing")
            b = _lib.SparseBuffer()
            b.name = f.name.encode()
            data, offsets, validity = _encode(uri, f, frame[f.name])
            self._keep += [data, offsets, validity]
            b.data, b.data_size = (data.ctypes.data if data.size else None), data.nbytes
            if offsets is not None:
                b.offsets = offsets.ctypes.data
            if validity is not None:
                b.validity = validity.ctypes.data
            bufs.append(b)
        self.nbufs = len(bufs)
        self.bufs = (_lib.SparseBuffer * max(len(bufs), 1))(*bufs)

    def write(self, ctx, timestamp=0):
        if self.n == 0:
            return
        with _Array(ctx, self.uri) as a:
            _lib.check(_lib.lib().radi_array_write_sparse(a.h, self.nbufs, self.bufs, self.n,
                                                          int(timestamp)))


# ---------------------------------------------------------- pandas -> cells --

def _split_keys(pd, df, index_columns):
    """df with its key columns as ordinary columns, and the key names."""
    if index_columns is None:
        names = [n for n in df.index.names if n is not None]
        if (not names or len(names) != df.index.nlevels) and all(c in df.columns for c in INDEX_COLUMNS):
            names = list(INDEX_COLUMNS)  # 0.1.1's from_pandas(uri, df): the obs key columns
        elif not names or len(names) != df.index.nlevels:
            # 0.1.1's wording first: its users match "must contain index column".
            missing = next(c for c in INDEX_COLUMNS if c not in df.columns)
            raise RadiInvalidError(f"DataFrame must contain index column: {missing!r} (or give "
                                   "index_columns, or name the index levels that are the keys)")
        index_columns = names
    if isinstance(index_columns, str):
        index_columns = [index_columns]
    keys = list(index_columns)
    if not keys:
        raise RadiInvalidError("index_columns must name at least one column")
    if len(set(keys)) != len(keys):
        raise RadiInvalidError(f"index_columns repeat a name: {keys}")
    level_names = [n for n in df.index.names if n is not None]
    from_index = [k for k in keys if k not in df.columns and k in level_names]
    frame = df.reset_index(level=from_index) if from_index else df
    if not isinstance(frame.index, pd.RangeIndex) or from_index:
        frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    absent = [k for k in keys if k not in frame.columns]
    if absent:
        raise RadiInvalidError(f"DataFrame must contain index column(s) {absent} "
                               f"(as columns or named index levels)")
    if len(set(frame.columns)) != len(frame.columns):
        raise RadiInvalidError(f"duplicate column names in {list(frame.columns)}")
    return frame, keys


def _is_str_series(pd, s) -> bool:
    if isinstance(s.dtype, pd.StringDtype) or s.dtype.kind == "U":
        return True
    if s.dtype == object:
        kind = pd.api.types.infer_dtype(s, skipna=True)
        return kind in ("string", "empty")
    return False


def _dim_spec(pd, name, s):
    """(name, radi type, pandas repr for __pandas_index_dims) of a key column."""
    if s.isna().any():
        raise RadiInvalidError(f"index column '{name}' holds NULL/NaN keys")
    if _is_str_series(pd, s):
        return name, _lib.STRING_ASCII, "<U0"
    dt = s.dtype
    if getattr(dt, "numpy_dtype", None) is not None and pd.api.types.is_integer_dtype(dt):
        dt = dt.numpy_dtype
    if isinstance(dt, np.dtype) and dt.kind in "iu":
        return name, _CODE[dt], str(dt)
    raise RadiInvalidError(f"index column '{name}': keys must be strings or integers, got {s.dtype}")


def _attr_spec(pd, name, s):
    """(name, radi type, var, nullable, pandas repr or None) of a value column, after
    TileDB-Py's ColumnInfo rules."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        raise RadiInvalidError(f"column '{name}': categorical columns are not supported")
    if _is_str_series(pd, s):
        repr_ = "string" if isinstance(dt, pd.StringDtype) else None
        # An object column with no values at all may hold NULLs later: nullable.
        nullable = repr_ is not None or bool(s.isna().any()) or bool(s.isna().all())
        return name, _lib.STRING_UTF8, True, nullable, repr_
    if dt == object:
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind == "bytes":
            return name, _lib.CHAR, True, bool(s.isna().any()), None
        raise RadiInvalidError(f"column '{name}': object column holding {kind} values is not "
                               f"supported (strings, bytes or numbers only)")
    if pd.api.types.is_extension_array_dtype(dt):
        sub = getattr(dt, "numpy_dtype", None)
        if sub is None or np.dtype(sub) not in _CODE:
            raise RadiInvalidError(f"column '{name}': dtype {dt} is not supported")
        return name, _CODE[np.dtype(sub)], False, True, dt.name
    dt = np.dtype(dt)
    if dt.kind == "b":
        return name, _lib.BOOL, False, False, "bool"
    if dt in _CODE:
        return name, _CODE[dt], False, False, None
    raise RadiInvalidError(f"column '{name}': dtype {dt} is not supported "
                           f"(integers, float32/64, bool, strings)")


def _isna(pd, s) -> np.ndarray:
    return np.asarray(s.isna(), dtype=bool)


def _encode(uri, f, s):
    """(data, offsets or None, validity or None) numpy buffers of one field."""
    pd = _pd()
    n = len(s)
    na = _isna(pd, s)
    if na.any() and not f.nullable:
        if not (f.type in (_lib.FLOAT32, _lib.FLOAT64) and s.dtype.kind == "f"):
            row = int(np.argmax(na))
            raise RadiInvalidError(f"{uri}: column '{f.name}' is not nullable but holds a "
                                   f"NULL/NaN at row {row}")
        na = np.zeros(n, dtype=bool)  # NaN is a float value here, stored as such
    validity = (~na).astype(np.uint8) if f.nullable else None
    if f.var or f.is_string:
        want_bytes = f.type in _BYTES_TYPES
        vals = s.to_numpy(dtype=object)
        pa = _arrow()
        if pa is not None and n:
            try:
                arr = pa.array(vals, type=pa.large_binary() if want_bytes else pa.large_string(),
                               from_pandas=True)
            except (pa.ArrowException, TypeError, ValueError, UnicodeError):
                arr = None  # non-strings or lone surrogates: the Python path reports/encodes
            if arr is not None:
                _vb, ob, db = arr.buffers()
                offs = np.frombuffer(ob, dtype=np.int64)[arr.offset:arr.offset + n + 1]
                data = np.frombuffer(db, dtype=np.uint8)[offs[0]:offs[-1]] if db is not None \
                    else np.empty(0, dtype=np.uint8)
                return data, (offs[:-1] - offs[0]).astype(np.uint64), validity
        enc = []
        for i, v in enumerate(vals):
            if na[i]:
                enc.append(b"")
            elif isinstance(v, str):
                enc.append(v.encode("utf-8", "surrogateescape"))
            elif isinstance(v, (bytes, np.bytes_)):
                enc.append(bytes(v))
            else:
                raise RadiInvalidError(f"{uri}: column '{f.name}' holds "
                                       f"{'bytes' if want_bytes else 'strings'}, got {v!r} at row {i}")
        lens = np.fromiter((len(e) for e in enc), dtype=np.uint64, count=n)
        offsets = np.zeros(n, dtype=np.uint64)
        if n > 1:
            np.cumsum(lens[:-1], out=offsets[1:])
        data = np.frombuffer(b"".join(enc), dtype=np.uint8)
        return data, offsets, validity
    dt = np.dtype(_NP[f.type])
    src = s
    if pd.api.types.is_extension_array_dtype(src.dtype):
        src = src.astype(object)
    vals = src.to_numpy()
    if vals.dtype == object:
        try:
            vals = np.array([0 if m else v for v, m in zip(vals, na)])
        except (TypeError, ValueError):
            vals = np.asarray(vals)
    if vals.dtype.kind not in "biuf":
        bad = next((v for v, m in zip(vals, na) if not m), vals[0] if n else None)
        raise RadiInvalidError(f"{uri}: column '{f.name}' holds {dt} values, got {vals.dtype} "
                               f"(e.g. {bad!r})")
    if na.any():
        vals = vals.copy()
        vals[na] = 0
    if dt.kind in "iub" and vals.dtype.kind == "f":
        if not np.all(np.isfinite(vals)) or not np.all(vals == np.round(vals)):
            raise RadiInvalidError(f"{uri}: column '{f.name}' holds {dt} values, got non-integral floats")
    if dt.kind in "iu" and vals.dtype.kind in "iuf" and n:
        info = np.iinfo(dt)
        lo, hi = vals.min(), vals.max()
        if lo < info.min or hi > info.max:
            raise RadiInvalidError(f"{uri}: column '{f.name}' ({dt}) cannot hold {lo if lo < info.min else hi}")
    if dt.kind == "b" and vals.dtype.kind != "b":
        if n and not np.isin(vals, (0, 1)).all():
            raise RadiInvalidError(f"{uri}: column '{f.name}' holds booleans, got values other than 0/1")
    data = np.ascontiguousarray(vals.astype(dt, copy=False))
    return data, None, validity


# Used at call time only; last, so that either module can be imported first.
from .dataframe import INDEX_COLUMNS, _Array, _BYTES_TYPES, _CODE, _NP, _arrow, _pd  # noqa: E402
