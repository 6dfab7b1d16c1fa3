"""A thin ctypes wrapper over radi's generic C API (include/radi/radi.h), for the oracle
tests only: arbitrary dense schemas, partial writes at chosen timestamps, reads into numpy,
non-empty domains, fragments, metadata, groups, consolidation and vacuum.

It loads the same libradi.so as the `radi` package ($RADI_LIBRARY, else the copy bundled
in the installed package). Every failing call raises RadiCError with radi's message.
"""
from __future__ import annotations

import ctypes as C
import os
from pathlib import Path

import numpy as np

# ----------------------------------------------------------------- constants --

OK = 0
DENSE, SPARSE = 0, 1
ROW, COL = 0, 1
OBJECT_INVALID, OBJECT_GROUP, OBJECT_ARRAY = 0, 1, 2

DTYPE = {  # numpy dtype -> radi_datatype
    np.dtype("int32"): 0, np.dtype("int64"): 1, np.dtype("float32"): 2, np.dtype("float64"): 3,
    np.dtype("int8"): 5, np.dtype("uint8"): 6, np.dtype("int16"): 7, np.dtype("uint16"): 8,
    np.dtype("uint32"): 9, np.dtype("uint64"): 10, np.dtype("bool"): 41,
}
NP_OF = {v: k for k, v in DTYPE.items()}
RADI_CHAR, RADI_STRING_UTF8, RADI_BLOB = 4, 12, 40

FILTER = {"none": 0, "gzip": 1, "zstd": 2, "lz4": 3, "rle": 4, "bzip2": 5, "double_delta": 6,
          "bit_width_reduction": 7, "bitshuffle": 8, "byteshuffle": 9, "positive_delta": 10,
          "delta": 19}

MODE = {"fragments": 0, "commits": 1, "fragment_meta": 2, "array_meta": 3}


# ---------------------------------------------------------------- structures --

# The package's mirrors of the C structs (checked against radi_abi_sizeof when libradi
# loads) serve here too, so one definition tracks the headers.
from radi._capi import (AttrInfo, Config, DimInfo, FieldBuffer, Filter, FilterList,  # noqa: E402,F401
                        FragmentInfo, GroupMember, ReadStats, SchemaInfo, check_abi)


_p, _pp = C.c_void_p, C.POINTER(C.c_void_p)
_i64p = C.POINTER(C.c_int64)
_ST = C.c_int  # radi_status

_PROTOTYPES = {
    "radi_version": (C.c_char_p, []),
    "radi_errmsg": (C.c_char_p, []),
    "radi_status_name": (C.c_char_p, [C.c_int]),
    "radi_filter_list_init": (None, [C.POINTER(FilterList)]),
    "radi_filter_list_add": (_ST, [C.POINTER(FilterList), C.c_int, C.c_int32]),
    "radi_config_init": (None, [C.POINTER(Config)]),
    "radi_ctx_create": (_ST, [C.POINTER(Config), _pp]),
    "radi_ctx_free": (None, [_p]),
    "radi_schema_create": (_ST, [C.c_int, _pp]),
    "radi_schema_free": (None, [_p]),
    "radi_schema_set_order": (_ST, [_p, C.c_int, C.c_int]),
    "radi_schema_add_dim": (_ST, [_p, C.c_char_p, C.c_int, _p, _p, _p, C.POINTER(FilterList)]),
    "radi_schema_add_attr": (_ST, [_p, C.c_char_p, C.c_int, C.c_uint32, C.c_int,
                                   C.POINTER(FilterList), _p, C.c_uint64]),
    "radi_schema_get_info": (_ST, [_p, C.POINTER(SchemaInfo)]),
    "radi_schema_get_dim": (_ST, [_p, C.c_uint32, C.POINTER(DimInfo)]),
    "radi_schema_get_attr": (_ST, [_p, C.c_uint32, C.POINTER(AttrInfo)]),
    "radi_object_type_of": (_ST, [_p, C.c_char_p, C.POINTER(C.c_int)]),
    "radi_array_create": (_ST, [_p, C.c_char_p, _p]),
    "radi_array_open": (_ST, [_p, C.c_char_p, C.c_uint64, C.c_uint64, _pp]),
    "radi_array_close": (None, [_p]),
    "radi_array_schema": (_p, [_p]),
    "radi_array_nonempty_domain": (_ST, [_p, _i64p, C.POINTER(C.c_int)]),
    "radi_array_fragment_count": (C.c_uint32, [_p]),
    "radi_array_fragment": (_ST, [_p, C.c_uint32, C.POINTER(FragmentInfo)]),
    "radi_array_write_dense": (_ST, [_p, _i64p, C.c_int, C.c_uint32, C.POINTER(FieldBuffer),
                                     C.c_uint64]),
    "radi_array_read_dense": (_ST, [_p, _i64p, C.c_int, C.c_uint32, C.POINTER(FieldBuffer),
                                    C.POINTER(ReadStats)]),
    "radi_array_meta": (_p, [_p]),
    "radi_meta_put": (_ST, [_p, C.c_char_p, C.c_int, C.c_uint32, _p]),
    "radi_meta_delete": (_ST, [_p, C.c_char_p]),
    "radi_meta_get": (_ST, [_p, C.c_char_p, C.POINTER(C.c_int), C.POINTER(C.c_uint32), _pp]),
    "radi_meta_count": (C.c_uint64, [_p]),
    "radi_meta_at": (_ST, [_p, C.c_uint64, C.POINTER(C.c_char_p), C.POINTER(C.c_int),
                           C.POINTER(C.c_uint32), _pp]),
    "radi_group_create": (_ST, [_p, C.c_char_p]),
    "radi_group_open": (_ST, [_p, C.c_char_p, _pp]),
    "radi_group_close": (None, [_p]),
    "radi_group_meta": (_p, [_p]),
    "radi_group_add_member": (_ST, [_p, C.c_char_p, C.c_int, C.c_char_p]),
    "radi_group_remove_member": (_ST, [_p, C.c_char_p]),
    "radi_group_member_count": (C.c_uint64, [_p]),
    "radi_group_member_at": (_ST, [_p, C.c_uint64, C.POINTER(GroupMember)]),
    "radi_consolidate": (_ST, [_p, C.c_char_p, C.c_int]),
    "radi_vacuum": (_ST, [_p, C.c_char_p, C.c_int]),
}


class RadiCError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"{message} [status {status}]")
        self.status = status


def library_path() -> Path:
    env = os.environ.get("RADI_LIBRARY")
    if env:
        return Path(env)
    try:
        from radi import _lib  # the installed package knows where its bundled copy is
        return Path(_lib.library_path())
    except ImportError:
        raise RuntimeError("libradi not found: set RADI_LIBRARY or `pip install .`") from None


_LIB = None


def lib() -> C.CDLL:
    """The library with prototypes; a missing symbol raises on first use, not at load."""
    global _LIB
    if _LIB is None:
        dll = C.CDLL(str(library_path()))
        check_abi(dll, str(library_path()))  # the mirrors must match this library
        for name, (res, args) in _PROTOTYPES.items():
            try:
                fn = getattr(dll, name)
            except AttributeError:
                continue
            fn.restype, fn.argtypes = res, args
        _LIB = dll
    return _LIB


def check(status: int) -> None:
    if status != OK:
        raise RadiCError(status, lib().radi_errmsg().decode("utf-8", "replace"))


# -------------------------------------------------------------------- helpers --

def filter_list(spec) -> FilterList:
    """spec: iterable of names or (name, level) pairs, e.g. [("byteshuffle"), ("zstd", 3)]."""
    fl = FilterList()
    lib().radi_filter_list_init(C.byref(fl))
    for f in spec or ():
        name, level = (f, -1) if isinstance(f, str) else f
        check(lib().radi_filter_list_add(C.byref(fl), FILTER[name], level))
    return fl


def filter_names(fl: FilterList) -> list:
    inv = {v: k for k, v in FILTER.items()}
    return [(inv.get(fl.filters[i].type, fl.filters[i].type), fl.filters[i].level)
            for i in range(fl.count)]


class Ctx:
    def __init__(self, concurrency: int = 2, memory_budget: int | None = None,
                 format_version: int | None = None):
        cfg = Config()
        lib().radi_config_init(C.byref(cfg))
        cfg.concurrency = concurrency
        if memory_budget is not None:
            cfg.memory_budget = memory_budget
        if format_version is not None:
            cfg.format_version = format_version
        h = C.c_void_p()
        check(lib().radi_ctx_create(C.byref(cfg), C.byref(h)))
        self.h = h

    def close(self):
        if self.h:
            lib().radi_ctx_free(self.h)
            self.h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # objects ----------------------------------------------------------------
    def object_type(self, uri) -> int:
        t = C.c_int()
        check(lib().radi_object_type_of(self.h, os.fspath(uri).encode(), C.byref(t)))
        return t.value

    def create_dense(self, uri, dims, attrs, tile_order=ROW, cell_order=ROW):
        """dims: [(name, dtype, lo, hi, extent)]; attrs: [(name, dtype, filters, fill)] with
        filters as for filter_list() and fill None (TileDB's default) or a scalar."""
        s = C.c_void_p()
        check(lib().radi_schema_create(DENSE, C.byref(s)))
        try:
            check(lib().radi_schema_set_order(s, tile_order, cell_order))
            for name, dt, lo, hi, ext in dims:
                v = np.array([lo, hi, ext], dtype=dt)
                p, sz = v.ctypes.data, v.itemsize
                check(lib().radi_schema_add_dim(s, name.encode(), DTYPE[np.dtype(dt)], p,
                                                p + sz, p + 2 * sz, None))
            for name, dt, filters, fill in attrs:
                fl = filter_list(filters)
                fv = None if fill is None else np.array([fill], dtype=dt)
                check(lib().radi_schema_add_attr(
                    s, name.encode(), DTYPE[np.dtype(dt)], 1, 0, C.byref(fl),
                    None if fv is None else fv.ctypes.data, 0 if fv is None else fv.itemsize))
            check(lib().radi_array_create(self.h, os.fspath(uri).encode(), s))
        finally:
            lib().radi_schema_free(s)

    def open(self, uri, t_start: int = 0, t_end: int = 0) -> "Array":
        return Array(self, uri, t_start, t_end)

    def group_create(self, uri):
        check(lib().radi_group_create(self.h, os.fspath(uri).encode()))

    def group(self, uri) -> "Group":
        return Group(self, uri)

    def consolidate(self, uri, mode="fragments"):
        check(lib().radi_consolidate(self.h, os.fspath(uri).encode(), MODE[mode]))

    def vacuum(self, uri, mode="fragments"):
        check(lib().radi_vacuum(self.h, os.fspath(uri).encode(), MODE[mode]))


def _box(box) -> C.Array:
    flat = [int(v) for r in box for v in r]
    return (C.c_int64 * len(flat))(*flat)


class Meta:
    """Key/value metadata of an array or group; values come back as numpy arrays (or str
    for UTF-8/char values, bytes for blobs)."""

    def __init__(self, h, owner):
        self.h, self._owner = h, owner

    def put(self, key: str, value):
        if isinstance(value, str):
            raw = value.encode()
            buf = C.create_string_buffer(raw, len(raw) or 1)
            check(lib().radi_meta_put(self.h, key.encode(), RADI_STRING_UTF8, len(raw), buf))
            return
        if isinstance(value, bytes):
            buf = C.create_string_buffer(value, len(value) or 1)
            check(lib().radi_meta_put(self.h, key.encode(), RADI_BLOB, len(value), buf))
            return
        arr = np.ascontiguousarray(np.atleast_1d(np.asarray(value)))
        check(lib().radi_meta_put(self.h, key.encode(), DTYPE[arr.dtype], arr.size,
                                  arr.ctypes.data))

    def delete(self, key: str):
        check(lib().radi_meta_delete(self.h, key.encode()))

    @staticmethod
    def _value(t: int, n: int, p):
        if t in (RADI_STRING_UTF8, RADI_CHAR, 11):
            return C.string_at(p, n).decode() if n else ""
        if t == RADI_BLOB:
            return C.string_at(p, n) if n else b""
        dt = NP_OF[t]
        return np.frombuffer(C.string_at(p, n * dt.itemsize), dtype=dt).copy()

    def __getitem__(self, key: str):
        t, n, p = C.c_int(), C.c_uint32(), C.c_void_p()
        st = lib().radi_meta_get(self.h, key.encode(), C.byref(t), C.byref(n), C.byref(p))
        if st == 4:
            raise KeyError(key)
        check(st)
        return self._value(t.value, n.value, p.value)

    def items(self) -> dict:
        out = {}
        for i in range(lib().radi_meta_count(self.h)):
            k, t, n, p = C.c_char_p(), C.c_int(), C.c_uint32(), C.c_void_p()
            check(lib().radi_meta_at(self.h, i, C.byref(k), C.byref(t), C.byref(n), C.byref(p)))
            out[k.value.decode()] = self._value(t.value, n.value, p.value)
        return out


class Array:
    def __init__(self, ctx: Ctx, uri, t_start=0, t_end=0):
        self.ctx = ctx
        h = C.c_void_p()
        check(lib().radi_array_open(ctx.h, os.fspath(uri).encode(), t_start, t_end, C.byref(h)))
        self.h = h
        s = lib().radi_array_schema(h)
        info = SchemaInfo()
        check(lib().radi_schema_get_info(s, C.byref(info)))
        self.info = info
        self.ndim = info.ndim
        self.dims, self.attrs = [], []
        for i in range(info.ndim):
            d = DimInfo()
            check(lib().radi_schema_get_dim(s, i, C.byref(d)))
            dt = NP_OF[d.type]
            lo = np.frombuffer(bytes(d.lo), dtype=dt, count=1)[0]
            hi = np.frombuffer(bytes(d.hi), dtype=dt, count=1)[0]
            ext = np.frombuffer(bytes(d.extent), dtype=dt, count=1)[0] if d.has_extent else None
            self.dims.append((d.name.decode(), dt, int(lo), int(hi),
                              None if ext is None else int(ext)))
        for i in range(info.nattr):
            a = AttrInfo()
            check(lib().radi_schema_get_attr(s, i, C.byref(a)))
            dt = NP_OF.get(a.type)
            fill = C.string_at(a.fill, a.fill_size) if a.fill_size else b""
            self.attrs.append(dict(name=a.name.decode(), dtype=dt, nullable=bool(a.nullable),
                                   fill=np.frombuffer(fill, dtype=dt)[0] if dt is not None
                                   and len(fill) == dt.itemsize else fill,
                                   filters=filter_names(a.filters)))
        self.meta = Meta(lib().radi_array_meta(h), self)

    def close(self):
        if self.h:
            lib().radi_array_close(self.h)
            self.h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def domain(self):
        return [(lo, hi) for _, _, lo, hi, _ in self.dims]

    def nonempty_domain(self):
        """[(lo, hi)] per dimension, or None when nothing is visible."""
        v = (C.c_int64 * (2 * self.ndim))()
        empty = C.c_int()
        check(lib().radi_array_nonempty_domain(self.h, v, C.byref(empty)))
        if empty.value:
            return None
        return [(v[2 * i], v[2 * i + 1]) for i in range(self.ndim)]

    def fragments(self) -> list:
        out = []
        for i in range(lib().radi_array_fragment_count(self.h)):
            f = FragmentInfo()
            check(lib().radi_array_fragment(self.h, i, C.byref(f)))
            out.append(dict(name=f.name.decode(), t1=f.t1, t2=f.t2, version=f.version,
                            dense=bool(f.dense), tile_count=f.tile_count,
                            cell_count=f.cell_count, size_bytes=f.size_bytes,
                            ned=[(f.ned[2 * d], f.ned[2 * d + 1]) for d in range(self.ndim)]))
        return out

    def write(self, box, data: dict, layout=ROW, timestamp: int = 0):
        """box: [(lo, hi)] inclusive per dimension; data: {attr: ndarray shaped like box}."""
        bufs = (FieldBuffer * len(data))()
        keep = []
        for i, (name, arr) in enumerate(data.items()):
            raw = np.asarray(arr).ravel(order="F" if layout == COL else "C").copy()
            keep.append(raw)
            bufs[i].attr = name.encode()
            bufs[i].data = raw.ctypes.data
            bufs[i].size = raw.nbytes
            bufs[i].validity = None
        check(lib().radi_array_write_dense(self.h, _box(box), layout, len(data), bufs,
                                           timestamp))

    def read(self, box=None, attrs=None, layout=ROW, stats: ReadStats | None = None) -> dict:
        """{attr: ndarray shaped like box} (C order; COL layout is reshaped in F order)."""
        box = box if box is not None else self.domain()
        shape = tuple(hi - lo + 1 for lo, hi in box)
        names = attrs or [a["name"] for a in self.attrs]
        out, bufs = {}, (FieldBuffer * len(names))()
        for i, name in enumerate(names):
            dt = next(a["dtype"] for a in self.attrs if a["name"] == name)
            flat = np.empty(int(np.prod(shape)), dtype=dt)
            out[name] = flat
            bufs[i].attr = name.encode()
            bufs[i].data = flat.ctypes.data
            bufs[i].size = flat.nbytes
            bufs[i].validity = None
        check(lib().radi_array_read_dense(self.h, _box(box), layout, len(names), bufs,
                                          None if stats is None else C.byref(stats)))
        return {k: v.reshape(shape, order="F" if layout == COL else "C") for k, v in out.items()}


class Group:
    def __init__(self, ctx: Ctx, uri):
        h = C.c_void_p()
        check(lib().radi_group_open(ctx.h, os.fspath(uri).encode(), C.byref(h)))
        self.h = h
        self.meta = Meta(lib().radi_group_meta(h), self)

    def close(self):
        if self.h:
            lib().radi_group_close(self.h)
            self.h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def add(self, uri, relative: bool, name: str | None = None):
        check(lib().radi_group_add_member(self.h, os.fspath(uri).encode(), int(relative),
                                          None if name is None else name.encode()))

    def remove(self, key: str):
        check(lib().radi_group_remove_member(self.h, key.encode()))

    def members(self) -> list:
        out = []
        for i in range(lib().radi_group_member_count(self.h)):
            m = GroupMember()
            check(lib().radi_group_member_at(self.h, i, C.byref(m)))
            out.append(dict(name=m.name.decode() if m.name else None, uri=m.uri.decode(),
                            resolved_uri=m.resolved_uri.decode(), type=m.type,
                            relative=bool(m.relative)))
        return out
