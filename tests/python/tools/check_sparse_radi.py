"""A minimal ctypes binding of radi's sparse C API (include/radi/sparse.h), for the
check_sparse_* oracle scripts. The library is $RADI_LIB, else the first libradi.so
found in the usual build directories."""
import ctypes as C
import glob
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

RADI_VAR_NUM = 0xFFFFFFFF
DT = {0: np.int32, 1: np.int64, 2: np.float32, 3: np.float64, 5: np.int8, 6: np.uint8, 7: np.int16,
      8: np.uint16, 9: np.uint32, 10: np.uint64, 41: np.bool_}
STRING_TYPES = (4, 11, 12)


def _find_lib():
    if os.environ.get("RADI_LIB"):
        return os.environ["RADI_LIB"]
    for pat in ["build/libradi.so", "build-*/libradi.so", "build*/libradi.so.*"]:
        hits = sorted(glob.glob(os.path.join(ROOT, pat)))
        if hits:
            return hits[0]
    raise RuntimeError("libradi.so not found; set RADI_LIB")


# The package's mirrors of the C structs (python/radi/_capi.py), one definition for all.
try:
    from radi._capi import ReadStats, SparseBuffer, SparseColumn, check_abi
except ImportError:  # run from a checkout without PYTHONPATH=python
    import sys

    sys.path.insert(0, os.path.join(ROOT, "python"))
    from radi._capi import ReadStats, SparseBuffer, SparseColumn, check_abi


class Radi:
    def __init__(self, path=None):
        self.lib = L = C.CDLL(path or _find_lib())
        check_abi(L, path or _find_lib())
        L.radi_errmsg.restype = C.c_char_p
        L.radi_ctx_create.argtypes = [C.c_void_p, C.POINTER(C.c_void_p)]
        L.radi_ctx_free.argtypes = [C.c_void_p]
        L.radi_array_open.argtypes = [C.c_void_p, C.c_char_p, C.c_uint64, C.c_uint64, C.POINTER(C.c_void_p)]
        L.radi_array_close.argtypes = [C.c_void_p]
        L.radi_array_write_sparse.argtypes = [C.c_void_p, C.c_uint32, C.POINTER(SparseBuffer), C.c_uint64,
                                              C.c_uint64]
        L.radi_sparse_query_create.argtypes = [C.c_void_p, C.POINTER(C.c_void_p)]
        L.radi_sparse_query_free.argtypes = [C.c_void_p]
        L.radi_sparse_query_add_range.argtypes = [C.c_void_p, C.c_char_p, C.c_void_p, C.c_uint64, C.c_void_p,
                                                  C.c_uint64]
        L.radi_sparse_query_set_columns.argtypes = [C.c_void_p, C.c_uint32, C.POINTER(C.c_char_p)]
        L.radi_sparse_query_set_filter.argtypes = [C.c_void_p, C.c_char_p]
        L.radi_sparse_query_submit.argtypes = [C.c_void_p, C.POINTER(ReadStats)]
        L.radi_sparse_query_rows.argtypes = [C.c_void_p]
        L.radi_sparse_query_rows.restype = C.c_uint64
        L.radi_sparse_query_ncolumns.argtypes = [C.c_void_p]
        L.radi_sparse_query_ncolumns.restype = C.c_uint32
        L.radi_sparse_query_column.argtypes = [C.c_void_p, C.c_uint32, C.POINTER(SparseColumn)]
        L.radi_consolidate.argtypes = [C.c_void_p, C.c_char_p, C.c_int]
        L.radi_vacuum.argtypes = [C.c_void_p, C.c_char_p, C.c_int]
        self.ctx = C.c_void_p()
        self._ok(L.radi_ctx_create(None, C.byref(self.ctx)), "ctx")

    def _ok(self, st, what):
        if st != 0:
            raise RuntimeError("%s: status %d: %s" % (what, st, self.lib.radi_errmsg().decode()))

    def consolidate(self, uri, vacuum=True):
        self._ok(self.lib.radi_consolidate(self.ctx, uri.encode(), 0), "consolidate " + uri)
        if vacuum:
            self._ok(self.lib.radi_vacuum(self.ctx, uri.encode(), 0), "vacuum " + uri)

    def open(self, uri, t_end=0):
        a = C.c_void_p()
        self._ok(self.lib.radi_array_open(self.ctx, uri.encode(), 0, t_end, C.byref(a)), "open " + uri)
        return a

    def close(self, a):
        self.lib.radi_array_close(a)

    def write(self, uri, columns, timestamp=0):
        """columns: dict name -> list/array; strings as str, None = NULL."""
        self.write_prepared(uri, self.prepare(columns), timestamp)

    def prepare(self, columns):
        """The C buffers of a write (kept alive by the returned tuple)."""
        keep, bufs, n = [], [], None
        for name, vals in columns.items():
            vals = list(vals) if not isinstance(vals, np.ndarray) else vals
            n = len(vals)
            b = SparseBuffer()
            b.name = name.encode()
            valid = None
            # Lists of str (or only None) are var-size strings; arrays and numbers are fixed.
            if len(vals) and (isinstance(vals[0], (str, bytes)) or
                              (not isinstance(vals, np.ndarray) and
                               all(v is None or isinstance(v, (str, bytes)) for v in vals))):
                enc = [b"" if v is None else (v.encode() if isinstance(v, str) else v) for v in vals]
                offs = np.zeros(n, dtype=np.uint64)
                pos = 0
                for i, e in enumerate(enc):
                    offs[i] = pos
                    pos += len(e)
                data = np.frombuffer(b"".join(enc) or b"\0", dtype=np.uint8).copy()
                b.data, b.data_size = data.ctypes.data, pos
                b.offsets = offs.ctypes.data
                keep += [data, offs]
                if any(v is None for v in vals):
                    valid = np.array([v is not None for v in vals], dtype=np.uint8)
            else:
                if not isinstance(vals, np.ndarray):
                    if any(v is None for v in vals):
                        valid = np.array([v is not None for v in vals], dtype=np.uint8)
                    vals = np.array([0 if v is None else v for v in vals])
                data = np.ascontiguousarray(vals)
                b.data, b.data_size = data.ctypes.data, data.nbytes
                keep.append(data)
            if valid is not None:
                b.validity = valid.ctypes.data
                keep.append(valid)
            bufs.append(b)
        arr = (SparseBuffer * len(bufs))(*bufs)
        return (arr, len(bufs), n or 0, keep)

    def write_prepared(self, uri, prepared, timestamp=0):
        arr, nb, n, _keep = prepared
        a = self.open(uri)
        try:
            self._ok(self.lib.radi_array_write_sparse(a, nb, arr, n, timestamp), "write " + uri)
        finally:
            self.close(a)

    def read(self, uri, ranges=None, columns=None, filter=None, t_end=0, stats=None):
        """ranges: dict dim -> list of (lo, hi) (str or int of the dim's numpy type).
        Returns dict name -> list (strings decoded, NULL as None) in result column order."""
        a = self.open(uri, t_end)
        q = C.c_void_p()
        keep = []
        try:
            self._ok(self.lib.radi_sparse_query_create(a, C.byref(q)), "query")
            for dim, rs in (ranges or {}).items():
                for lo, hi in rs:
                    if isinstance(lo, str):
                        lb, hb = lo.encode(), hi.encode()
                        self._ok(self.lib.radi_sparse_query_add_range(q, dim.encode(), lb, len(lb), hb, len(hb)), "range")
                    else:
                        lo_a, hi_a = np.array([lo[1]], dtype=lo[0]), np.array([hi[1]], dtype=hi[0])
                        keep += [lo_a, hi_a]
                        self._ok(self.lib.radi_sparse_query_add_range(q, dim.encode(), lo_a.ctypes.data, lo_a.nbytes,
                                                                      hi_a.ctypes.data, hi_a.nbytes), "range")
            if columns:
                names = (C.c_char_p * len(columns))(*[c.encode() for c in columns])
                self._ok(self.lib.radi_sparse_query_set_columns(q, len(columns), names), "columns")
            if filter:
                self._ok(self.lib.radi_sparse_query_set_filter(q, filter.encode()), "filter")
            st = ReadStats()
            self._ok(self.lib.radi_sparse_query_submit(q, C.byref(st)), "submit " + uri)
            if stats is not None:
                stats.update(tiles=st.tiles_read, bytes=st.bytes_read)
            return self._result(q)
        finally:
            self.lib.radi_sparse_query_free(q)
            self.close(a)

    def _result(self, q):
        n = self.lib.radi_sparse_query_rows(q)
        out = {}
        for i in range(self.lib.radi_sparse_query_ncolumns(q)):
            c = SparseColumn()
            self._ok(self.lib.radi_sparse_query_column(q, i, C.byref(c)), "column")
            valid = None
            if c.validity and n:
                valid = np.ctypeslib.as_array(C.cast(c.validity, C.POINTER(C.c_uint8)), (n,)).copy()
            if c.cell_val_num == RADI_VAR_NUM:
                offs = np.ctypeslib.as_array(C.cast(c.offsets, C.POINTER(C.c_uint64)), (n,)).copy() if n else []
                raw = C.string_at(c.data, c.data_size) if c.data_size else b""
                vals = []
                for k in range(n):
                    e = offs[k + 1] if k + 1 < n else c.data_size
                    s = raw[offs[k]:e]
                    vals.append(s.decode("utf-8", "surrogateescape"))
            else:
                dt = DT[c.type]
                vals = np.frombuffer(C.string_at(c.data, c.data_size), dtype=dt).tolist() if n else []
            if valid is not None:
                vals = [v if valid[k] else None for k, v in enumerate(vals)]
            out[c.name.decode()] = vals
        return out
