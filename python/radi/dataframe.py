"""Dataframe: a sparse array read and written as a pandas DataFrame (RadiObject's obs and
obs_meta tables, or any table made by TileDB-Py's from_pandas).

The key columns ("index columns") are the array's dimensions, the other columns its
attributes. Reads return index columns first, then attributes, in schema order, with the
dtypes TileDB-Py's `A.df[:]` gives (see docs/dataframe.md); pandas is imported only when
a Dataframe is used, so `import radi` stays light.
"""
from __future__ import annotations

import ctypes as C
import json
import os

import numpy as np

from . import _lib
from .errors import RadiInvalidError

__all__ = ["Dataframe"]

_NP = {
    _lib.INT8: np.int8, _lib.UINT8: np.uint8, _lib.INT16: np.int16, _lib.UINT16: np.uint16,
    _lib.INT32: np.int32, _lib.UINT32: np.uint32, _lib.INT64: np.int64, _lib.UINT64: np.uint64,
    _lib.FLOAT32: np.float32, _lib.FLOAT64: np.float64, _lib.BOOL: np.bool_,
}
_CODE = {np.dtype(t): code for code, t in _NP.items()}
_STR_TYPES = (_lib.STRING_ASCII, _lib.STRING_UTF8)   # decoded to str
_BYTES_TYPES = (_lib.CHAR, _lib.BLOB)                # returned as bytes
INDEX_COLUMNS = ("obs_subject_id", "obs_id")           # 0.1.1's two index columns
_META_ATTRS = "__pandas_attribute_repr"             # TileDB-Py from_pandas dtype metadata
_META_INDEX = "__pandas_index_dims"


def _pd():
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas is in every supported environment
        raise ImportError("radi.Dataframe needs pandas (pip install pandas)") from None
    return pandas


class _Field:
    """One dimension or attribute of the schema."""

    __slots__ = ("name", "type", "cell_val_num", "nullable", "is_dim", "lo", "hi")

    def __init__(self, name, type_, cell_val_num, nullable, is_dim, lo=None, hi=None):
        self.name, self.type, self.cell_val_num = name, type_, cell_val_num
        self.nullable, self.is_dim, self.lo, self.hi = nullable, is_dim, lo, hi

    @property
    def var(self) -> bool:
        return self.cell_val_num == _lib.VAR_NUM

    @property
    def is_string(self) -> bool:
        return self.type in _STR_TYPES or self.type in _BYTES_TYPES

    @property
    def np_dtype(self) -> np.dtype:
        if self.type in _STR_TYPES:
            return np.dtype("<U0")
        if self.type in _BYTES_TYPES:
            return np.dtype("S0")
        if self.type not in _NP:
            raise RadiInvalidError(f"column '{self.name}': unsupported datatype code {self.type}")
        return np.dtype(_NP[self.type])


class _Array:
    """An open radi_array, closed on exit."""

    def __init__(self, ctx, uri, t_end=0):
        self.h = C.c_void_p()
        _lib.check(_lib.lib().radi_array_open(ctx.handle, _lib.encode_uri(uri), 0, t_end,
                                              C.byref(self.h)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.h:
            _lib.lib().radi_array_close(self.h)
            self.h = None


class _Query:
    def __init__(self, array):
        self.h = C.c_void_p()
        _lib.check(_lib.lib().radi_sparse_query_create(array.h, C.byref(self.h)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.h:
            _lib.lib().radi_sparse_query_free(self.h)
            self.h = None


def _read_meta_string(array_h, key):
    L = _lib.lib()
    meta = L.radi_array_meta(array_h)
    t, n, v = C.c_int(), C.c_uint32(), C.c_void_p()
    if L.radi_meta_get(meta, key.encode(), C.byref(t), C.byref(n), C.byref(v)) != _lib.OK:
        return None
    if t.value not in (_lib.STRING_UTF8, _lib.STRING_ASCII, _lib.CHAR):
        return None
    return C.string_at(v, n.value).decode("utf-8", "replace") if n.value else ""


def _filters(*pairs):
    fl = _lib.FilterList()
    _lib.lib().radi_filter_list_init(C.byref(fl))
    for ftype, level in pairs:
        _lib.check(_lib.lib().radi_filter_list_add(C.byref(fl), ftype, level))
    return fl


# ------------------------------------------------------------------ decoding --

# pyarrow, when installed (TileDB-Py's dataframe path needs it too), converts string
# columns in C; without it the pure-Python paths below give the same values.
_USE_ARROW = True


def _arrow():
    if not _USE_ARROW:
        return None
    try:
        import pyarrow
    except ImportError:
        return None
    return pyarrow


def _decode_strings_arrow(pa, data, offsets, as_bytes):
    n = len(offsets)
    offs = np.empty(n + 1, dtype=np.int64)
    offs[:n] = offsets
    offs[n] = data.size
    arr = pa.Array.from_buffers(pa.large_binary() if as_bytes else pa.large_string(), n,
                                [None, pa.py_buffer(offs), pa.py_buffer(data)])
    arr.validate(full=True)  # invalid UTF-8 (or offsets) -> the Python path decides
    # One Python object per distinct string, as TileDB-Py's to_pandas does.
    return arr.to_pandas(deduplicate_objects=True).to_numpy()


def _decode_strings(data: np.ndarray, offsets: np.ndarray, as_bytes: bool):
    """Cells of a var-size column as str (UTF-8; invalid bytes kept as surrogate
    escapes) or bytes."""
    pa = _arrow()
    if pa is not None and len(offsets):
        try:
            return _decode_strings_arrow(pa, data, offsets, as_bytes)
        except (pa.ArrowException, ValueError):
            pass
    raw = data.tobytes()
    ends = offsets[1:].tolist() + [len(raw)]
    starts = offsets.tolist()
    if as_bytes:
        return [raw[a:b] for a, b in zip(starts, ends)]
    if raw.isascii():
        # One decode for the whole column; ASCII characters and bytes share offsets.
        text = raw.decode("ascii")
        return [text[a:b] for a, b in zip(starts, ends)]
    return [raw[a:b].decode("utf-8", "surrogateescape") for a, b in zip(starts, ends)]


def _to_series_values(f: _Field, n: int, data, offsets, validity):
    """A column's values as TileDB-Py's dataframe path returns them: nullable integers as
    pandas nullable dtypes, nullable floats with NaN, booleans as uint8 (float64 with NaN
    when a nullable one holds NULLs), strings as objects with None for NULL."""
    pd = _pd()
    if f.var or f.is_string:
        if f.var:
            vals = _decode_strings(data, offsets, f.type in _BYTES_TYPES)
        else:  # fixed-size chars: cell_val_num bytes per cell
            w = max(f.cell_val_num, 1)
            raw = data.tobytes()
            vals = [raw[i * w:(i + 1) * w] for i in range(n)]
            if f.type in _STR_TYPES:
                vals = [v.decode("utf-8", "surrogateescape") for v in vals]
        if isinstance(vals, np.ndarray) and vals.dtype == object:
            arr = vals
        else:
            arr = np.empty(n, dtype=object)
            arr[:] = vals
        if validity is not None:
            arr[validity == 0] = None
        return arr
    dt = np.dtype(_NP[f.type])
    vals = data.view(dt)
    if f.cell_val_num not in (1, _lib.VAR_NUM) and f.cell_val_num > 1:
        per = vals.reshape(n, f.cell_val_num)
        arr = np.empty(n, dtype=object)
        arr[:] = list(per)
        return arr
    if f.type == _lib.BOOL:
        vals = vals.view(np.uint8)
        if validity is not None and not validity.all():
            out = vals.astype(np.float64)
            out[validity == 0] = np.nan
            return out
        return vals
    if validity is None:
        return vals
    if dt.kind in "iu":
        return pd.arrays.IntegerArray(vals, validity == 0)
    out = vals.copy()
    out[validity == 0] = np.nan
    return out


# -------------------------------------------------------------- key ranges --

class _Loc:
    """`Dataframe.loc[key]`: rows by index value (see Dataframe.read's `index`)."""

    def __init__(self, df):
        self._df = df

    def __getitem__(self, key):
        return self._df.read(index=key)


class Dataframe:
    """A sparse array as a table: `Dataframe(uri)` opens one, `Dataframe.from_pandas(uri,
    df, index_columns=[...])` creates one."""

    def __init__(self, uri, ctx=None):
        self._ctx = _lib.as_radi_ctx(ctx)
        self._uri = os.fspath(uri)
        with _Array(self._ctx, self._uri) as a:
            self._load_schema(a.h)

    def _load_schema(self, array_h):
        self._load_schema_of(_lib.lib().radi_array_schema(array_h))
        for key in (_META_ATTRS, _META_INDEX):
            text = _read_meta_string(array_h, key)
            if text:
                try:
                    self._pandas_dtypes.update(json.loads(text))
                except ValueError:
                    pass  # not TileDB-Py's metadata: plain dtypes

    def _load_schema_of(self, sch):
        """The fields of a C schema handle (an open array's, or one not yet written)."""
        L = _lib.lib()
        info = _lib.SchemaInfo()
        _lib.check(L.radi_schema_get_info(sch, C.byref(info)))
        if info.type != _lib.SPARSE:
            raise RadiInvalidError(f"{self._uri}: not a sparse array (a Dataframe needs one)")
        self._dims, self._attrs = [], []
        for i in range(info.ndim):
            d = _lib.DimInfo()
            _lib.check(L.radi_schema_get_dim(sch, i, C.byref(d)))
            lo = hi = None
            if d.has_domain and d.type in _NP:
                dt = np.dtype(_NP[d.type])
                lo = np.frombuffer(bytes(d.lo)[:dt.itemsize], dtype=dt)[0]
                hi = np.frombuffer(bytes(d.hi)[:dt.itemsize], dtype=dt)[0]
            self._dims.append(_Field(d.name.decode(), d.type, d.cell_val_num, False, True, lo, hi))
        for i in range(info.nattr):
            a = _lib.AttrInfo()
            _lib.check(L.radi_schema_get_attr(sch, i, C.byref(a)))
            self._attrs.append(_Field(a.name.decode(), a.type, a.cell_val_num, bool(a.nullable), False))
        self._fields = {f.name: f for f in self._dims + self._attrs}
        self._allows_dups = bool(info.allows_dups)
        self._capacity = int(info.capacity)
        self._pandas_dtypes = {}

    # -------------------------------------------------------------- properties --
    @property
    def uri(self) -> str:
        return self._uri

    @property
    def index_columns(self) -> tuple:
        """The key columns (the array's dimensions), in schema order."""
        return tuple(f.name for f in self._dims)

    @property
    def columns(self) -> list:
        """The value columns (attributes), in schema order."""
        return [f.name for f in self._attrs]

    @property
    def all_columns(self) -> list:
        return list(self.index_columns) + self.columns

    @property
    def dtypes(self) -> dict:
        """numpy dtype of each value column (strings: '<U0', as TileDB-Py's Attr.dtype)."""
        return {f.name: f.np_dtype for f in self._attrs}

    @property
    def nullable(self) -> dict:
        return {f.name: f.nullable for f in self._attrs}

    def __len__(self) -> int:
        n = C.c_uint64()
        with _Array(self._ctx, self._uri) as a:
            _lib.check(_lib.lib().radi_array_sparse_count(a.h, C.byref(n)))
        return int(n.value)

    @property
    def shape(self) -> tuple:
        """(rows, value columns)."""
        return (len(self), len(self._attrs))

    def __repr__(self) -> str:
        return (f"Dataframe(uri={self._uri!r}, index_columns={list(self.index_columns)}, "
                f"columns={self.columns})")

    @property
    def loc(self) -> _Loc:
        """Rows by key, pandas style: `df.loc["sub-01"]`, `df.loc[["a", "b"]]`,
        `df.loc["a":"c"]` (inclusive), `df.loc["sub-01", "sub-01_T1w"]` (one entry per
        index column), `df.loc[{"obs_id": "x"}]`."""
        return _Loc(self)

    # ------------------------------------------------------------------- reads --
    def _key_ranges(self, index):
        """{dim name: list of (lo, hi) values} from a read's `index` argument; None means
        no row can match (an empty list of points)."""
        if index is None:
            return {}
        if isinstance(index, dict):
            items = list(index.items())
        elif isinstance(index, tuple):
            if len(index) > len(self._dims):
                raise RadiInvalidError(f"{self._uri}: index has {len(index)} entries but the table "
                                       f"has {len(self._dims)} index columns {list(self.index_columns)}")
            items = list(zip(self.index_columns, index))
        else:
            items = [(self._dims[0].name, index)]
        out = {}
        for name, sel in items:
            f = self._fields.get(name)
            if f is None or not f.is_dim:
                raise RadiInvalidError(f"{self._uri}: '{name}' is not an index column "
                                       f"(index columns: {list(self.index_columns)})")
            if isinstance(sel, slice):
                if sel.step is not None:
                    raise RadiInvalidError(f"{self._uri}: slices of '{name}' take no step")
                if sel.start is None and sel.stop is None:
                    continue
                lo = sel.start if sel.start is not None else self._dim_min(f)
                hi = sel.stop if sel.stop is not None else self._dim_max(f)
                pairs = [(lo, hi)]
            elif isinstance(sel, (list, np.ndarray)) or type(sel).__name__ in ("Index", "Series"):
                pairs = [(v, v) for v in list(sel)]
                if not pairs:
                    return None
            else:
                pairs = [(sel, sel)]
            enc = [(self._key_value(f, lo), self._key_value(f, hi)) for lo, hi in pairs]
            enc = [(lo, hi) for lo, hi in enc if self._le(f, lo, hi)]
            if not enc:
                return None
            out.setdefault(name, []).extend(enc)
        return out

    @staticmethod
    def _le(f, lo, hi):
        return lo <= hi if f.var else lo[0] <= hi[0]

    @staticmethod
    def _dim_min(f):
        return b"" if f.var else (f.lo if f.lo is not None else np.iinfo(_NP[f.type]).min)

    @staticmethod
    def _dim_max(f):
        # No string sorts after 64 0xff bytes in a real key; TileDB has no "unbounded" either.
        return b"\xff" * 64 if f.var else (f.hi if f.hi is not None else np.iinfo(_NP[f.type]).max)

    def _key_value(self, f, v):
        if f.var:
            if isinstance(v, str):
                return v.encode("utf-8")
            if isinstance(v, (bytes, np.bytes_)):
                return bytes(v)
            raise RadiInvalidError(f"{self._uri}: index column '{f.name}' holds strings, got {v!r}")
        dt = np.dtype(_NP[f.type])
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            if not (isinstance(v, (float, np.floating)) and float(v).is_integer()):
                raise RadiInvalidError(f"{self._uri}: index column '{f.name}' holds {dt} "
                                       f"values, got {v!r}")
            v = int(v)
        info = np.iinfo(dt)
        v = min(max(int(v), int(info.min)), int(info.max))  # out-of-type bounds clamp
        return np.array([v], dtype=dt)

    def read(self, columns=None, value_filter=None, include_index=True, index=None):
        """Rows as a pandas DataFrame (RangeIndex), in the array's global order.

        columns: names to return (index and/or value columns); None = all value columns.
        value_filter: a filter expression, e.g. "age > 40 and sex == 'F'" (docs/dataframe.md).
        include_index: put the index columns first (RadiObject's layout).
        index: rows by key, as `loc`: a value, a list of values, an inclusive slice, a
        tuple with one such entry per index column, or {index column: entry}.
        """
        pd = _pd()
        if columns is None:
            wanted = self.columns
        else:
            if isinstance(columns, str):
                columns = [columns]
            wanted = list(columns)
            unknown = [c for c in wanted if c not in self._fields]
            if unknown:
                raise RadiInvalidError(f"{self._uri}: no column named {', '.join(map(repr, unknown))} "
                                       f"(columns: {self.all_columns})")
        if include_index:
            names = list(dict.fromkeys(list(self.index_columns) + wanted))
        else:
            names = list(dict.fromkeys(wanted))
        if value_filter is not None and not isinstance(value_filter, str):
            raise RadiInvalidError(f"value_filter must be a string, got {type(value_filter).__name__}")
        ranges = self._key_ranges(index)
        fields = [self._fields[n] for n in names]
        if ranges is None:
            cols = self._empty_columns(fields)
            if value_filter is not None:  # still report a bad expression
                with _Array(self._ctx, self._uri) as a, _Query(a) as q:
                    _lib.check(_lib.lib().radi_sparse_query_set_filter(q.h, value_filter.encode()))
            return self._frame(pd, names, cols, 0)
        # An empty column list would mean "all" to the C API; ask for the first key instead.
        ask = names or [self._dims[0].name]
        with _Array(self._ctx, self._uri) as a, _Query(a) as q:
            L = _lib.lib()
            keep = []
            for dim, pairs in ranges.items():
                for lo, hi in pairs:
                    if isinstance(lo, bytes):
                        _lib.check(L.radi_sparse_query_add_range(q.h, dim.encode(), lo, len(lo), hi, len(hi)))
                    else:
                        keep += [lo, hi]
                        _lib.check(L.radi_sparse_query_add_range(
                            q.h, dim.encode(), lo.ctypes.data, lo.nbytes, hi.ctypes.data, hi.nbytes))
            cnames = (C.c_char_p * len(ask))(*[n.encode() for n in ask])
            _lib.check(L.radi_sparse_query_set_columns(q.h, len(ask), cnames))
            if value_filter is not None:
                _lib.check(L.radi_sparse_query_set_filter(q.h, value_filter.encode()))
            _lib.check(L.radi_sparse_query_submit(q.h, None))
            n = int(L.radi_sparse_query_rows(q.h))
            cols = [self._column(q.h, i, f, n) for i, f in enumerate(fields)]
        return self._frame(pd, names, cols, n)

    def _column(self, qh, i, f, n):
        L = _lib.lib()
        c = _lib.SparseColumn()
        _lib.check(L.radi_sparse_query_column(qh, i, C.byref(c)))
        data = np.empty(int(c.data_size), dtype=np.uint8)
        offsets = np.empty(n if c.offsets else 0, dtype=np.uint64)
        # Nullable columns keep their nullable dtype also when no row is NULL (or none is read).
        validity = np.ones(n, dtype=np.uint8) if (c.validity or f.nullable) else None
        _lib.check(L.radi_sparse_query_copy_column(
            qh, i, data.ctypes.data if data.size else None, data.nbytes,
            offsets.ctypes.data if offsets.size else None, offsets.nbytes,
            validity.ctypes.data if c.validity and n else None,
            validity.nbytes if c.validity and n else 0))
        return _to_series_values(f, n, data, offsets, validity)

    def _empty_columns(self, fields):
        cols = []
        for f in fields:
            cols.append(_to_series_values(f, 0, np.empty(0, dtype=np.uint8),
                                          np.empty(0, dtype=np.uint64),
                                          np.empty(0, dtype=np.uint8) if f.nullable else None))
        return cols

    def _frame(self, pd, names, cols, n):
        df = pd.DataFrame({name: col for name, col in zip(names, cols)}, index=pd.RangeIndex(n))
        # TileDB-Py restores the pandas dtypes from_pandas recorded (e.g. "string", "Int32").
        cast = {k: v for k, v in self._pandas_dtypes.items() if k in df.columns}
        if cast:
            try:
                df = df.astype(cast, copy=False)
            except (TypeError, ValueError):
                pass  # metadata that does not fit the stored type: keep the plain dtypes
        return df

    # ------------------------------------------------------------------ writes --
    @classmethod
    def create(cls, uri, schema, ctx=None) -> "Dataframe":
        """Creates an empty table at uri keyed by 0.1.1's two ASCII index columns
        (obs_subject_id, obs_id) with one value column per entry of `schema` ({name:
        dtype}: integers, float32/64, bool, str (UTF-8) or bytes), compressed as the
        current configuration says -- the array radiobject 0.1.1's Dataframe.create makes."""
        specs = []
        for name, dtype in dict(schema).items():
            name = str(name)
            if "\x00" in name:
                raise ValueError(f"Column name contains null byte: {name!r}")
            if name in INDEX_COLUMNS:
                raise ValueError(f"Column name conflicts with index column: {name!r}")
            try:
                dt = np.dtype(dtype)
            except TypeError as e:
                raise TypeError(f"Invalid dtype for column {name!r}: {dtype}") from e
            if dt.kind == "U":
                specs.append((name, _lib.STRING_UTF8, _lib.VAR_NUM))
            elif dt.kind == "S":
                specs.append((name, _lib.CHAR, _lib.VAR_NUM))
            elif dt.newbyteorder("=") in _CODE:
                specs.append((name, _CODE[dt.newbyteorder("=")], 1))
            else:
                raise TypeError(f"Invalid dtype for column {name!r}: {dt} (integers, float32/64, "
                                "bool, str or bytes)")
        from .ctx import Compressor, get_config

        comp = get_config().write.compression
        codes = {Compressor.ZSTD: _lib.FILTER_ZSTD, Compressor.LZ4: _lib.FILTER_LZ4,
                 Compressor.GZIP: _lib.FILTER_GZIP}
        attr_filters = (_filters((codes[comp.algorithm], comp.level)) if comp.algorithm in codes
                        else _filters())
        ctx = _lib.as_radi_ctx(ctx)
        L = _lib.lib()
        sch = C.c_void_p()
        _lib.check(L.radi_schema_create(_lib.SPARSE, C.byref(sch)))
        try:
            # TileDB-Py's defaults for what 0.1.1 leaves unset: capacity 10000, no
            # duplicates, ZSTD(-1) on the string dimensions and on offsets.
            zstd = _filters((_lib.FILTER_ZSTD, -1))
            _lib.check(L.radi_schema_set_capacity(sch, 10000))
            _lib.check(L.radi_schema_set_allows_dups(sch, 0))
            _lib.check(L.radi_schema_set_offsets_filters(sch, C.byref(zstd)))
            for key in INDEX_COLUMNS:
                _lib.check(L.radi_schema_add_dim(sch, key.encode(), _lib.STRING_ASCII, None, None, None,
                                                 C.byref(zstd)))
            for name, code, cvn in specs:
                _lib.check(L.radi_schema_add_attr(sch, name.encode(), code, cvn, 0,
                                                  C.byref(attr_filters), None, 0))
            _lib.check(L.radi_array_create(ctx.handle, _lib.encode_uri(uri), sch))
        finally:
            L.radi_schema_free(sch)
        return cls(uri, ctx=ctx)

    @classmethod
    def from_pandas(cls, uri, df, index_columns=None, *, capacity=None, allows_duplicates=False,
                    ctx=None) -> "Dataframe":
        """Creates a sparse array at uri from a pandas DataFrame and writes its rows (one
        fragment). index_columns name the key columns (columns of df or levels of its
        index); None = the levels of df's named index. The schema is TileDB-Py
        from_pandas's (string keys: ASCII var dimensions; object/str columns: UTF-8 var
        attributes; pandas nullable dtypes and object columns holding None: nullable
        attributes; ZSTD filters), plus its dtype metadata, except that duplicates are
        refused by default so that update() upserts."""
        pd = _pd()
        if not isinstance(df, pd.DataFrame):
            raise RadiInvalidError(f"from_pandas expects a pandas DataFrame, got {type(df).__name__}")
        ctx = _lib.as_radi_ctx(ctx)
        frame, keys = _split_keys(pd, df, index_columns)
        dim_specs = [_dim_spec(pd, name, frame[name]) for name in keys]
        attr_specs = [_attr_spec(pd, name, frame[name]) for name in frame.columns if name not in keys]
        # Encode the rows first: a bad value fails before the array is created.
        fields = [_Field(name, code, _lib.VAR_NUM if code == _lib.STRING_ASCII else 1, False, True)
                  for name, code, _r in dim_specs]
        fields += [_Field(name, code, _lib.VAR_NUM if var else 1, nullable, False)
                   for name, code, var, nullable, _r in attr_specs]
        cells = _Cells(os.fspath(uri), fields, frame)
        L = _lib.lib()
        sch = C.c_void_p()
        _lib.check(L.radi_schema_create(_lib.SPARSE, C.byref(sch)))
        try:
            zstd = _filters((_lib.FILTER_ZSTD, -1))
            _lib.check(L.radi_schema_set_capacity(sch, int(capacity) if capacity else 10000))
            _lib.check(L.radi_schema_set_allows_dups(sch, 1 if allows_duplicates else 0))
            _lib.check(L.radi_schema_set_offsets_filters(sch, C.byref(zstd)))
            tile = {1: 10000, 2: 1000, 3: 100}.get(len(dim_specs), 10)
            for name, code, _repr in dim_specs:
                if code == _lib.STRING_ASCII:
                    _lib.check(L.radi_schema_add_dim(sch, name.encode(), code, None, None, None,
                                                     C.byref(zstd)))
                    continue
                dt = np.dtype(_NP[code])
                info = np.iinfo(dt)
                # TileDB-Py's full_domain: the type's range, less one tile at the top so
                # that the domain plus an extent fits in 64 bits.
                lo = int(info.min)
                hi = int(info.max) - tile if int(info.max) - lo > 2**64 - 1 - tile else int(info.max)
                ext = max(1, min(tile, hi - lo + 1, int(info.max)))  # the extent is a dt value too
                hi = lo + (hi - lo + 1) // ext * ext - 1  # whole tiles only, inside the type
                lo_a, hi_a, ex_a = (np.array([v], dtype=dt) for v in (lo, hi, ext))
                _lib.check(L.radi_schema_add_dim(sch, name.encode(), code, lo_a.ctypes.data,
                                                 hi_a.ctypes.data, ex_a.ctypes.data, C.byref(zstd)))
            for name, code, var, nullable, _repr in attr_specs:
                _lib.check(L.radi_schema_add_attr(sch, name.encode(), code,
                                                  _lib.VAR_NUM if var else 1, int(nullable),
                                                  C.byref(zstd), None, 0))
            _lib.check(L.radi_array_create(ctx.handle, _lib.encode_uri(uri), sch))
        finally:
            L.radi_schema_free(sch)
        reprs = {name: r for name, _c, _v, _n, r in attr_specs if r is not None}
        index_reprs = {name: r for name, _c, r in dim_specs}
        with _Array(ctx, uri) as a:
            meta = L.radi_array_meta(a.h)
            for key, value in ((_META_ATTRS, reprs), (_META_INDEX, index_reprs)):
                if value:
                    b = json.dumps(value).encode()
                    _lib.check(L.radi_meta_put(meta, key.encode(), _lib.STRING_UTF8, len(b), b))
        cells.write(ctx)
        return cls(uri, ctx=ctx)

    def update(self, df) -> None:
        """Upserts the rows of df as one new fragment: a row whose key exists replaces it,
        others are added. Key columns may be columns or named index levels of df. Value
        columns missing from df keep their stored values (new rows get NULL, which only
        nullable columns accept); unknown columns are an error."""
        pd = _pd()
        if not isinstance(df, pd.DataFrame):
            raise RadiInvalidError(f"update expects a pandas DataFrame, got {type(df).__name__}")
        frame, _keys = _split_keys(pd, df, list(self.index_columns))
        self._write(self._complete(pd, frame))

    def _complete(self, pd, frame):
        """The rows of an upsert, checked: no unknown column; value columns missing from
        frame keep their stored values (new rows need every non-nullable one)."""
        unknown = [c for c in frame.columns if c not in self._fields]
        if unknown:
            raise RadiInvalidError(f"{self._uri}: unknown column(s) {unknown} "
                                   f"(columns: {self.all_columns})")
        missing = [c for c in self.columns if c not in frame.columns]
        if missing and len(frame):
            frame = self._fill_missing(pd, frame, missing)
        return frame

    def _fill_missing(self, pd, frame, missing):
        keys = list(self.index_columns)
        index = {k: list(pd.unique(frame[k])) for k in keys}
        stored = self.read(columns=missing, index=index)
        merged = frame.merge(stored, on=keys, how="left", indicator=True)
        new = merged["_merge"] == "left_only"
        for c in missing:
            if not self._fields[c].nullable and new.any():
                raise RadiInvalidError(
                    f"{self._uri}: column '{c}' is missing from the update and is not nullable, "
                    f"so new rows (e.g. {tuple(merged.loc[new, keys].iloc[0])}) need a value")
        return merged.drop(columns="_merge")

    def _write(self, frame, timestamp=0):
        cells = _Cells(self._uri, self._dims + self._attrs, frame)
        cells.write(self._ctx, timestamp)


# The write half (pandas -> C buffers) lives in _dataframe_cells.py, which imports the
# names above; imported last so that they exist (radi_object.py uses _Cells/_attr_spec).
from ._dataframe_cells import _Cells, _attr_spec, _dim_spec, _split_keys  # noqa: E402,F401
