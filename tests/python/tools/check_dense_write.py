#!/usr/bin/env python3
"""Oracle check of radi's dense writer: arrays written by libradi (through its public C API,
via ctypes) are read back by TileDB-Py and compared with numpy.

Checks per case: A[:] equals the expected array (fill value where nothing was written),
A.nonempty_domain() is the bounding box of the writes, and the aggregates
sum/min/max agree with numpy over the written cells (TileDB skips unwritten cells of
dense arrays; padding inside tiles must never leak) and count is the number of cells
queried (TileDB counts unwritten cells of a dense array too).

Usage: check_dense_write.py [--lib path/to/libradi.so] [--quick] [-k substring] [-v] [--keep]
(default library: $RADI_LIB, else the newest build*/libradi.so of the repository)
Exit status 0 when every case passes. Meant as a helper for the permanent pytest oracle
suite; it needs only numpy and tiledb (0.36.1) besides the library.
"""
import argparse
import ctypes as C
import itertools
import os
import shutil
import sys
import tempfile
import traceback

import numpy as np
import tiledb

# ------------------------------------------------------------------ radi via ctypes --

RADI_DENSE = 0
ROW, COL = 0, 1
DT = {  # numpy dtype -> radi_datatype
    np.dtype("int32"): 0, np.dtype("int64"): 1, np.dtype("float32"): 2, np.dtype("float64"): 3,
    np.dtype("int8"): 5, np.dtype("uint8"): 6, np.dtype("int16"): 7, np.dtype("uint16"): 8,
    np.dtype("uint32"): 9, np.dtype("uint64"): 10, np.dtype("bool"): 41,
}
FILTER = {"none": 0, "gzip": 1, "zstd": 2, "lz4": 3, "rle": 4, "dd": 6, "bitshuffle": 8,
          "byteshuffle": 9, "posdelta": 10, "delta": 19}


class FilterList(C.Structure):
    _fields_ = [("max_chunk_size", C.c_uint32), ("count", C.c_uint32),
                ("filters", C.c_uint8 * (16 * 8))]


class FieldBuffer(C.Structure):
    _fields_ = [("attr", C.c_char_p), ("data", C.c_void_p), ("size", C.c_uint64),
                ("validity", C.c_void_p)]


class Config(C.Structure):
    _fields_ = [("memory_budget", C.c_uint64), ("concurrency", C.c_uint32),
                ("format_version", C.c_uint32)]


class Radi:
    def __init__(self, path, format_version=None, concurrency=None):
        self.lib = L = C.CDLL(path)
        L.radi_errmsg.restype = C.c_char_p
        for name in ("radi_ctx_create", "radi_schema_create", "radi_schema_set_order",
                     "radi_schema_add_dim", "radi_schema_add_attr", "radi_filter_list_add",
                     "radi_array_create", "radi_array_open", "radi_array_write_dense"):
            getattr(L, name).restype = C.c_int
        L.radi_array_write_dense.argtypes = [C.c_void_p, C.POINTER(C.c_int64), C.c_int, C.c_uint32,
                                             C.POINTER(FieldBuffer), C.c_uint64]
        L.radi_schema_add_dim.argtypes = [C.c_void_p, C.c_char_p, C.c_int, C.c_void_p, C.c_void_p,
                                          C.c_void_p, C.c_void_p]
        L.radi_schema_add_attr.argtypes = [C.c_void_p, C.c_char_p, C.c_int, C.c_uint32, C.c_int,
                                           C.c_void_p, C.c_void_p, C.c_uint64]
        L.radi_array_open.argtypes = [C.c_void_p, C.c_char_p, C.c_uint64, C.c_uint64, C.c_void_p]
        L.radi_array_create.argtypes = [C.c_void_p, C.c_char_p, C.c_void_p]
        L.radi_schema_set_order.argtypes = [C.c_void_p, C.c_int, C.c_int]
        L.radi_schema_set_validity_filters.argtypes = [C.c_void_p, C.c_void_p]
        L.radi_array_close.argtypes = [C.c_void_p]
        L.radi_schema_free.argtypes = [C.c_void_p]
        cfg = Config()
        L.radi_config_init(C.byref(cfg))
        if format_version:
            cfg.format_version = format_version
        if concurrency:
            cfg.concurrency = concurrency
        self.ctx = C.c_void_p()
        self.check(L.radi_ctx_create(C.byref(cfg), C.byref(self.ctx)))

    def check(self, st):
        if st != 0:
            raise RuntimeError(f"radi status {st}: {self.lib.radi_errmsg().decode()}")

    def filters(self, names):
        fl = FilterList()
        self.lib.radi_filter_list_init(C.byref(fl))
        for n in names:
            lvl = -1
            if ":" in n:
                n, lvl = n.split(":")
                lvl = int(lvl)
            self.check(self.lib.radi_filter_list_add(C.byref(fl), FILTER[n], lvl))
        return fl

    def create(self, uri, dims, attrs, tile_order=ROW, cell_order=ROW, validity_filters=None):
        """dims: [(name, np.int dtype, lo, hi, extent)]; attrs: [(name, dtype, filters,
        nullable, fill or None)]."""
        s = C.c_void_p()
        self.check(self.lib.radi_schema_create(RADI_DENSE, C.byref(s)))
        try:
            self.check(self.lib.radi_schema_set_order(s, tile_order, cell_order))
            if validity_filters is not None:
                vf = self.filters(validity_filters)
                self.check(self.lib.radi_schema_set_validity_filters(s, C.byref(vf)))
            for name, dt, lo, hi, ext in dims:
                v = np.array([lo, hi, ext], dtype=dt)
                p = v.ctypes.data
                sz = v.itemsize
                self.check(self.lib.radi_schema_add_dim(s, name.encode(), DT[np.dtype(dt)], p,
                                                        p + sz, p + 2 * sz, None))
            for name, dt, flt, nullable, fill, *cvn in attrs:
                fl = self.filters(flt)
                fv = None if fill is None else np.array([fill], dtype=dt)
                self.check(self.lib.radi_schema_add_attr(
                    s, name.encode(), DT[np.dtype(dt)], cvn[0] if cvn else 1, int(nullable),
                    C.byref(fl),
                    None if fv is None else fv.ctypes.data, 0 if fv is None else fv.itemsize))
            self.check(self.lib.radi_array_create(self.ctx, uri.encode(), s))
        finally:
            self.lib.radi_schema_free(s)

    def write(self, uri, box, data, layout=ROW, timestamp=0):
        """box: [(lo, hi)] per dim; data: {attr: ndarray or (ndarray, validity)}."""
        a = C.c_void_p()
        self.check(self.lib.radi_array_open(self.ctx, uri.encode(), 0, 0, C.byref(a)))
        try:
            sub = (C.c_int64 * (2 * len(box)))(*[v for r in box for v in r])
            bufs = (FieldBuffer * len(data))()
            keep = []
            for i, (name, val) in enumerate(data.items()):
                arr, valid = val if isinstance(val, tuple) else (val, None)
                arr = np.asfortranarray(arr) if layout == COL else np.ascontiguousarray(arr)
                raw = arr.ravel(order="F" if layout == COL else "C")
                keep.append(raw)
                bufs[i].attr = name.encode()
                bufs[i].data = raw.ctypes.data
                bufs[i].size = raw.nbytes
                if valid is not None:
                    vr = np.ascontiguousarray(valid.astype(np.uint8).ravel(
                        order="F" if layout == COL else "C"))
                    keep.append(vr)
                    bufs[i].validity = vr.ctypes.data
            self.check(self.lib.radi_array_write_dense(a, sub, layout, len(data), bufs, timestamp))
        finally:
            self.lib.radi_array_close(a)


# ---------------------------------------------------------------------- cases --

def default_fill(dt):
    dt = np.dtype(dt)
    if dt.kind == "f":
        return np.nan
    if dt.kind == "b":
        return 0  # TileDB's bool fill is uint8 max (255); read back as True
    if dt.kind == "u":
        return np.iinfo(dt).max
    return np.iinfo(dt).min


def random_values(rng, dt, shape):
    dt = np.dtype(dt)
    if dt.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 100).astype(dt)
    info = np.iinfo(dt)
    lo, hi = max(info.min, -1000), min(info.max, 1000)
    return rng.integers(lo, hi, size=shape, endpoint=True).astype(dt)


def run_case(radi, tmp, case, verbose=False):
    name = case["name"]
    uri = os.path.join(tmp, name)
    shape = case["shape"]
    exts = case["extents"]
    dt = np.dtype(case["dtype"])
    nullable = case.get("nullable", False)
    ddt, org = np.dtype(case.get("dim_dtype", "int32")), case.get("origin", 0)
    dims = [(n, ddt, org, org + s - 1, e) for n, s, e in zip("xyzt", shape, exts)]
    radi.create(uri, dims, [("a", dt, case.get("filters", []), nullable, None)],
                case.get("tile_order", ROW), case.get("cell_order", ROW),
                case.get("validity_filters"))
    rng = np.random.default_rng(abs(hash(name)) % (2 ** 32))
    written = np.zeros(shape, dtype=bool)
    expect = np.zeros(shape, dtype=dt)
    valid = np.zeros(shape, dtype=bool)
    boxes = case["boxes"](shape) if callable(case["boxes"]) else case["boxes"]
    for k, box in enumerate(boxes):
        sl = tuple(slice(lo, hi + 1) for lo, hi in box)
        vals = random_values(rng, dt, tuple(hi - lo + 1 for lo, hi in box))
        if case.get("monotonic"):
            vals = np.arange(vals.size).reshape(vals.shape).astype(dt)
        if nullable:
            v = rng.random(vals.shape) > 0.3
            radi.write(uri, [(lo + org, hi + org) for lo, hi in box], {"a": (vals, v)},
                       case.get("layout", ROW))
            valid[sl] = v
        else:
            radi.write(uri, [(lo + org, hi + org) for lo, hi in box], {"a": vals},
                       case.get("layout", ROW))
            valid[sl] = True
        expect[sl] = vals
        written[sl] = True

    with tiledb.open(uri) as A:
        got = A[:]["a"]
        ned = A.nonempty_domain()
        mask = np.ma.getmaskarray(got) if np.ma.isMaskedArray(got) else None
        gotv = np.ma.getdata(got)
        # values where written (and valid)
        sel = written & valid
        if not np.array_equal(gotv[sel], expect[sel], equal_nan=dt.kind == "f"):
            bad = np.argwhere(sel & (gotv != expect))
            raise AssertionError(f"values differ at {bad[:5].tolist()} "
                                 f"got {gotv[tuple(bad[0])]} want {expect[tuple(bad[0])]}")
        if nullable and mask is not None:
            if not np.array_equal(mask[written], ~valid[written]):
                raise AssertionError("validity differs")
        # unwritten cells hold the fill value
        if (~written).any() and dt.kind != "b":
            fv = gotv[~written]
            fill = default_fill(dt)
            ok = np.isnan(fv).all() if dt.kind == "f" else (fv == fill).all()
            if not ok:
                raise AssertionError(f"unwritten cells are not the fill value: {np.unique(fv)[:5]}")
        # non-empty domain: bounding box of the writes
        want_ned = tuple((min(b[d][0] for b in boxes) + org, max(b[d][1] for b in boxes) + org)
                         for d in range(len(shape)))
        if tuple(tuple(int(v) for v in r) for r in ned) != want_ned:
            raise AssertionError(f"nonempty_domain {ned} != {want_ned}")
        # aggregates over written cells
        if dt.kind != "b":
            ops = ["sum", "min", "max", "count"]
            if nullable:
                ops.append("null_count")
            agg = A.query().agg({"a": ops})[:]
            w = expect[written & valid]
            if dt.kind == "f":
                ws = w.astype(np.float64).sum()
            elif dt.kind == "u":
                ws = int(w.astype(np.uint64).sum())
            else:
                ws = int(w.astype(np.int64).sum())
            want = {"sum": ws, "min": w.min() if w.size else None, "max": w.max() if w.size else None,
                    # TileDB 2.30 counts every cell of a dense query's subarray,
                    # written or not (checked on TileDB-written arrays too)
                    "count": int(written.size)}
            if nullable:
                want["null_count"] = int((written & ~valid).sum())
            for op, wv in want.items():
                gv = agg[op]
                if wv is None:
                    continue
                if dt.kind == "f" and op == "sum":
                    if not np.isclose(float(gv), float(wv), rtol=1e-6, atol=1e-6):
                        raise AssertionError(f"agg {op}: {gv} != {wv}")
                elif gv != wv:
                    raise AssertionError(f"agg {op}: {gv} != {wv}")
    if verbose:
        print(f"ok   {name}")


# ------------------------------------------------- fragment metadata, decoded --

def _gt_decode(buf, off):
    """Payload of the generic tile at off (TileDB writes them through GZIP; a NONE or
    empty pipeline is handled too) and the offset just past it."""
    import struct
    import zlib
    ver, persisted, tile_size, _dt, _cs, _enc, fp_size = struct.unpack_from("<IQQBQBI", buf, off)
    pos = off + 34
    _mcs, nfilt = struct.unpack_from("<II", buf, pos)
    types = []
    q = pos + 8
    for _ in range(nfilt):
        t, olen = struct.unpack_from("<BI", buf, q)
        types.append(t)
        q += 5 + olen
    body = pos + fp_size
    nchunks, = struct.unpack_from("<Q", buf, body)
    q = body + 8
    out = b""
    for _ in range(nchunks):
        orig, filt, mlen = struct.unpack_from("<III", buf, q)
        q += 12
        meta, data = buf[q:q + mlen], buf[q + mlen:q + mlen + filt]
        q += mlen + filt
        if types == [1]:
            nm, nd = struct.unpack_from("<II", meta, 0)
            assert nm == 0 and nd >= 1
            parts, p = [], 0
            for i in range(nd):
                _o, comp = struct.unpack_from("<II", meta, 8 + 8 * i)
                parts.append(zlib.decompress(data[p:p + comp]))
                p += comp
            out += b"".join(parts)
        else:
            assert types in ([], [0]), types
            out += data
    assert len(out) == tile_size
    return out, body + persisted


def decode_fragment_metadata(path, nfields, ndim, coord_size):
    """Every section of a __fragment_metadata.tdb: {'footer': {...}, 'rtree': bytes,
    (group, field): bytes, 'mmsn': bytes, 'cond': bytes}."""
    import struct
    buf = open(path, "rb").read()
    flen, = struct.unpack_from("<Q", buf, len(buf) - 8)
    f0 = len(buf) - 8 - flen
    q = f0
    ver, = struct.unpack_from("<I", buf, q)
    nlen, = struct.unpack_from("<Q", buf, q + 4)
    q += 12
    name = buf[q:q + nlen].decode()
    q += nlen
    dense, null_ned = buf[q], buf[q + 1]
    q += 2
    ned = buf[q:q + 2 * ndim * coord_size]
    q += 2 * ndim * coord_size
    sparse_tiles, last_cells = struct.unpack_from("<QQ", buf, q)
    q += 16
    has_ts, has_dm = buf[q], buf[q + 1]
    q += 2
    sizes = struct.unpack_from("<%dQ" % (3 * nfields), buf, q)
    q += 24 * nfields
    rtree_off, = struct.unpack_from("<Q", buf, q)
    q += 8
    gts = struct.unpack_from("<%dQ" % (8 * nfields), buf, q)
    q += 64 * nfields
    mmsn_off, cond_off = struct.unpack_from("<QQ", buf, q)
    q += 16
    assert q == len(buf) - 8, "footer length mismatch"
    out = {"footer": dict(version=ver, schema=name, dense=dense, null_ned=null_ned, ned=ned,
                          sparse_tiles=sparse_tiles, last_cells=last_cells, has_ts=has_ts,
                          has_dm=has_dm, file_sizes=sizes[:nfields],
                          var_sizes=sizes[nfields:2 * nfields],
                          validity_sizes=sizes[2 * nfields:])}
    out["rtree"], end = _gt_decode(buf, rtree_off)
    groups = ["offsets", "var_offsets", "var_sizes", "validity_offsets", "mins", "maxs", "sums",
              "null_counts"]
    for g, name_ in enumerate(groups):
        for i in range(nfields):
            out[(name_, i)], _ = _gt_decode(buf, gts[g * nfields + i])
    out["mmsn"], _ = _gt_decode(buf, mmsn_off)
    out["cond"], end = _gt_decode(buf, cond_off)
    assert end == f0, "sections do not end where the footer starts"
    return out


def frag_dirs(uri):
    d = os.path.join(uri, "__fragments")
    return sorted(os.path.join(d, x) for x in os.listdir(d))


def run_twin(radi, tmp, case, verbose=False):
    """Writes the same cells with radi and with TileDB-Py into identically defined arrays
    (no data filters) and compares the fragments: data files byte for byte and every
    fragment metadata section (all but the version and schema name)."""
    name = case["name"]
    shape, exts, dt = case["shape"], case["extents"], np.dtype(case["dtype"])
    nullable = case.get("nullable", False)
    ddt, org = np.dtype(case.get("dim_dtype", "int32")), case.get("origin", 0)
    box = [(lo + org, hi + org) for lo, hi in case["box"]]
    ours, theirs = os.path.join(tmp, name + "_radi"), os.path.join(tmp, name + "_tiledb")
    cvn = case.get("cvn", 1)
    radi.create(ours, [(n, ddt, org, org + s - 1, e) for n, s, e in zip("xyzt", shape, exts)],
                [("a", dt, [], nullable, None, cvn)], case.get("tile_order", ROW),
                case.get("cell_order", ROW), [] if nullable and not case.get("rle") else None)
    order = {ROW: "row-major", COL: "col-major"}
    dom = tiledb.Domain(*[tiledb.Dim(n, (org, org + s - 1), e, dtype=ddt)
                          for n, s, e in zip("xyzt", shape, exts)])
    kw = {"validity_filters": tiledb.FilterList([])} if nullable and not case.get("rle") else {}
    rec = np.dtype([("", dt)] * cvn) if cvn > 1 else dt  # TileDB-Py's multi-value cells
    tiledb.Array.create(theirs, tiledb.ArraySchema(
        domain=dom, attrs=[tiledb.Attr("a", dtype=rec, nullable=nullable)],
        tile_order=order[case.get("tile_order", ROW)], cell_order=order[case.get("cell_order", ROW)],
        **kw))
    rng = np.random.default_rng(7)
    cshape = tuple(hi - lo + 1 for lo, hi in box)
    vals = random_values(rng, dt, cshape + ((cvn,) if cvn > 1 else ()))
    valid = rng.random(cshape) > 0.3
    radi.write(ours, box, {"a": (vals, valid) if nullable else vals})
    if cvn > 1:
        vals = np.ascontiguousarray(vals).view(rec).reshape(cshape)
    with tiledb.open(theirs, "w") as A:
        sl = tuple(slice(lo, hi + 1) for lo, hi in box)
        A[sl] = {"a": np.ma.masked_array(vals, mask=~valid)} if nullable else vals
    (fo,), (ft,) = frag_dirs(ours), frag_dirs(theirs)
    nf = 1 + 1 + len(shape)
    mo = decode_fragment_metadata(os.path.join(fo, "__fragment_metadata.tdb"), nf, len(shape),
                                  ddt.itemsize)
    mt = decode_fragment_metadata(os.path.join(ft, "__fragment_metadata.tdb"), nf, len(shape),
                                  ddt.itemsize)
    for k in set(mo) | set(mt):
        a, b = mo.get(k), mt.get(k)
        if k == "footer":
            a, b = dict(a), dict(b)
            for x in ("version", "schema"):
                a.pop(x), b.pop(x)
        if a != b:
            raise AssertionError(f"metadata section {k} differs:\n radi   {a!r}\n tiledb {b!r}")
    files = sorted(x for x in os.listdir(ft) if x != "__fragment_metadata.tdb")
    if sorted(x for x in os.listdir(fo) if x != "__fragment_metadata.tdb") != files:
        raise AssertionError(f"file sets differ: {os.listdir(fo)} vs {files}")
    for x in files:
        if open(os.path.join(fo, x), "rb").read() != open(os.path.join(ft, x), "rb").read():
            raise AssertionError(f"{x} differs")
    if verbose:
        print(f"ok   {name}")


def run_mixed(radi, tmp, case, verbose=False):
    """radi and TileDB-Py write overlapping boxes into one array (newest wins), then
    TileDB consolidates and vacuums it: A[:] and the aggregates must match after each."""
    import time
    name = case["name"]
    uri = os.path.join(tmp, name)
    shape, exts, dt = case["shape"], case["extents"], np.dtype(case["dtype"])
    if case.get("creator") == "tiledb":
        # a format-22 schema written by TileDB 2.30: radi writes v22 fragments into it
        dom = tiledb.Domain(*[tiledb.Dim(n, (0, s - 1), e, dtype=np.int32)
                              for n, s, e in zip("xyzt", shape, exts)])
        tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, attrs=[
            tiledb.Attr("a", dtype=dt, filters=[tiledb.ZstdFilter(5)])]))
    else:
        radi.create(uri, [(n, np.int32, 0, s - 1, e) for n, s, e in zip("xyzt", shape, exts)],
                    [("a", dt, case.get("filters", []), False, None)])
    rng = np.random.default_rng(11)
    expect = np.zeros(shape, dtype=dt)
    written = np.zeros(shape, dtype=bool)
    for who, box in case["writes"]:
        sl = tuple(slice(lo, hi + 1) for lo, hi in box)
        vals = random_values(rng, dt, tuple(hi - lo + 1 for lo, hi in box))
        if who == "radi":
            radi.write(uri, box, {"a": vals}, case.get("layout", ROW))
        else:
            with tiledb.open(uri, "w") as A:
                A[sl] = vals
        expect[sl] = vals
        written[sl] = True
        time.sleep(0.01)  # both writers stamp fragments with the clock's milliseconds

    def check(stage, aggregates=True):
        with tiledb.open(uri) as A:
            got = A[:]["a"]
            if not np.array_equal(got[written], expect[written], equal_nan=dt.kind == "f"):
                raise AssertionError(f"{stage}: values differ")
            if not aggregates:
                return
            agg = A.query().agg({"a": ["sum", "min", "max"]})[:]
            w = expect[written]
            if agg["min"] != w.min() or agg["max"] != w.max():
                raise AssertionError(f"{stage}: min/max {agg['min']}/{agg['max']} != {w.min()}/{w.max()}")
            ws = w.astype(np.float64 if dt.kind == "f" else np.int64).sum()
            if not np.isclose(float(agg["sum"]), float(ws), rtol=1e-6):
                raise AssertionError(f"{stage}: sum {agg['sum']} != {ws}")

    check("written")
    # After TileDB's own consolidation its aggregates count the fill-value padding of
    # partial tiles (reproduced with arrays written only by TileDB-Py 0.36.1), so only
    # the values are compared from here on.
    tiledb.consolidate(uri)
    check("consolidated", False)
    tiledb.vacuum(uri)
    check("vacuumed", False)
    if len(frag_dirs(uri)) != 1:
        raise AssertionError(f"vacuum left {len(frag_dirs(uri))} fragments")
    if verbose:
        print(f"ok   {name}")


def mixed_cases():
    out = []
    for dt, flt in [("float32", ["zstd"]), ("uint16", ["byteshuffle", "lz4"]), ("int64", [])]:
        out.append({"name": f"mixed_{dt}", "dtype": dt, "shape": (10, 9, 6), "extents": (4, 4, 3),
                    "filters": flt,
                    "writes": [("radi", [(0, 9), (1, 8), (0, 5)]),
                               ("tiledb", [(3, 9), (1, 4), (2, 4)]),
                               ("radi", [(2, 2), (3, 7), (1, 5)]),
                               ("radi", [(8, 9), (8, 8), (5, 5)])]})
    out.append({"name": "mixed_col_layout", "dtype": "int32", "shape": (7, 6, 5, 3),
                "extents": (3, 4, 2, 2), "filters": ["zstd"], "layout": COL,
                "writes": [("tiledb", [(0, 6), (0, 5), (0, 4), (0, 2)]),
                           ("radi", [(1, 5), (2, 5), (1, 3), (1, 2)])]})
    out.append({"name": "mixed_tiledb_created_v22", "dtype": "float64", "shape": (10, 9, 6),
                "extents": (4, 4, 3), "creator": "tiledb",
                "writes": [("radi", [(0, 9), (0, 8), (0, 5)]), ("tiledb", [(2, 7), (1, 3), (0, 5)]),
                           ("radi", [(5, 9), (4, 8), (1, 2)])]})
    return gzip_only(out)


def twin_cases():
    out = []
    for dt in ["uint8", "int8", "int16", "uint32", "int64", "uint64", "float32", "float64", "bool"]:
        out.append({"name": f"twin_{dt}", "dtype": dt, "shape": (9, 7, 5), "extents": (4, 3, 5),
                    "box": [(1, 6), (2, 5), (0, 3)]})
    out.append({"name": "twin_full_4d", "dtype": "int32", "shape": (6, 5, 4, 3),
                "extents": (3, 5, 2, 3), "box": [(0, 5), (0, 4), (0, 3), (0, 2)]})
    out.append({"name": "twin_nullable", "dtype": "float32", "shape": (9, 7, 5),
                "extents": (4, 3, 5), "box": [(1, 6), (2, 5), (0, 3)], "nullable": True})
    out.append({"name": "twin_cvn3_u16", "dtype": "uint16", "shape": (9, 7, 5),
                "extents": (4, 3, 5), "box": [(1, 6), (2, 5), (0, 3)], "cvn": 3})
    out.append({"name": "twin_cvn4_i16_4d", "dtype": "int16", "shape": (6, 5, 4, 3),
                "extents": (3, 5, 2, 3), "box": [(1, 5), (0, 3), (0, 3), (1, 2)], "cvn": 4})
    out.append({"name": "twin_nullable_rle", "dtype": "int32", "shape": (9, 7, 5),
                "extents": (4, 3, 5), "box": [(1, 6), (2, 5), (0, 3)], "nullable": True,
                "rle": True})
    out.append({"name": "twin_nullable_u16", "dtype": "uint16", "shape": (6, 5, 4, 3),
                "extents": (3, 5, 2, 3), "box": [(0, 5), (0, 4), (0, 3), (0, 2)], "nullable": True})
    for to, co in itertools.product([ROW, COL], [ROW, COL]):
        out.append({"name": f"twin_order_t{to}_c{co}", "dtype": "int16", "shape": (7, 6, 5, 4),
                    "extents": (3, 4, 2, 3), "box": [(1, 5), (0, 4), (1, 3), (2, 3)],
                    "tile_order": to, "cell_order": co})
    # (TileDB-Py's slice assignment wraps negative indices, so the twins use
    # non-negative origins; negative domains are covered by the single-writer cases.)
    for ddt, org in [("int64", 1000), ("uint8", 3), ("int16", 7), ("uint64", 2 ** 40),
                     ("int8", 100), ("uint32", 0)]:
        out.append({"name": f"twin_dims_{ddt}", "dtype": "int32", "shape": (9, 7, 5),
                    "extents": (4, 3, 2), "box": [(1, 6), (2, 5), (0, 3)], "dim_dtype": ddt,
                    "origin": org})
    out.append({"name": "twin_big", "dtype": "float32", "shape": (70, 66, 3), "extents": (70, 66, 1),
                "box": [(0, 69), (5, 60), (0, 2)]})
    return out


def box_full(shape):
    return [[(0, s - 1) for s in shape]]


def box_partial(shape):
    return [[(1, s - 2) if s > 2 else (0, s - 1) for s in shape]]


def box_overlap(shape):
    b1 = [(0, max(0, s // 2)) for s in shape]
    b2 = [(max(0, s // 3), s - 1) for s in shape]
    b3 = [(s // 4, s // 4) for s in shape]  # single cell (line in every dim)
    return [b1, b2, b3]


def cases(quick):
    out = []
    dtypes = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
              "float32", "float64", "bool"]
    geoms = [((9, 7, 5), (4, 3, 5)), ((6, 5, 4, 3), (4, 2, 3, 2))]
    writes = {"full": box_full, "partial": box_partial, "overlap": box_overlap}
    for dt, (shape, ext), (wn, wb) in itertools.product(dtypes, geoms, writes.items()):
        out.append({"name": f"{dt}_{len(shape)}d_{wn}", "dtype": dt, "shape": shape,
                    "extents": ext, "boxes": wb, "filters": ["zstd"]})
    filt = [[], ["zstd"], ["zstd:3"], ["lz4"], ["gzip"], ["gzip:9"], ["byteshuffle", "zstd"],
            ["bitshuffle", "zstd"], ["byteshuffle", "lz4"], ["delta", "zstd"], ["dd"],
            ["posdelta", "zstd"], ["rle"]]
    for f, dt in itertools.product(filt, ["uint16", "float32", "int32"]):
        if f and f[0] in ("delta", "dd", "posdelta") and dt == "float32":
            continue
        case = {"name": f"filters_{'-'.join(x.replace(':', '') for x in f) or 'none'}_{dt}",
                "dtype": dt, "shape": (20, 17, 9), "extents": (8, 8, 4),
                "boxes": box_overlap, "filters": f}
        if f and f[0] == "posdelta":
            # positive-delta refuses decreasing data (as in TileDB): whole aligned tiles
            # of increasing values, in the tiles' cell order
            case.update(shape=(16, 16, 8), extents=(16, 16, 8), boxes=box_full, monotonic=True)
        out.append(case)
    for to, co, lay in itertools.product([ROW, COL], [ROW, COL], [ROW, COL]):
        out.append({"name": f"order_t{to}_c{co}_l{lay}", "dtype": "int16", "shape": (7, 6, 5, 4),
                    "extents": (3, 4, 2, 3), "boxes": box_overlap, "filters": ["zstd"],
                    "tile_order": to, "cell_order": co, "layout": lay})
    for dt in ["uint8", "float64", "int32"]:
        for wn, wb in writes.items():
            out.append({"name": f"nullable_{dt}_{wn}", "dtype": dt, "shape": (8, 6, 5),
                        "extents": (3, 4, 5), "boxes": wb, "filters": ["lz4"], "nullable": True})
    for ddt, org in [("int64", -1000), ("int16", -7), ("int8", -100), ("uint64", 2 ** 40),
                     ("uint8", 3)]:
        out.append({"name": f"dims_{ddt}", "dtype": "float32", "shape": (9, 7, 5),
                    "extents": (4, 3, 2), "boxes": box_overlap, "filters": ["zstd"],
                    "dim_dtype": ddt, "origin": org})
    for shape, ext in [((50,), (7,)), ((13, 11), (5, 4))]:
        for wn, wb in writes.items():
            out.append({"name": f"{len(shape)}d_{wn}", "dtype": "int32", "shape": shape,
                        "extents": ext, "boxes": wb, "filters": ["zstd"], "origin": -5,
                        "dim_dtype": "int64"})
    # big tiles (several 64 KiB chunks) and a volume-like layout
    out.append({"name": "big_float32", "dtype": "float32", "shape": (64, 64, 40),
                "extents": (64, 64, 1), "boxes": box_overlap, "filters": ["zstd:3"]})
    out.append({"name": "big_uint16_4d", "dtype": "uint16", "shape": (40, 40, 12, 3),
                "extents": (40, 40, 12, 1), "boxes": box_partial, "filters": ["byteshuffle", "zstd"]})
    if quick:
        out = out[::7]
    return gzip_only(out)


def gzip_only(out):
    if os.environ.get("RADI_DW_GZIP_ONLY"):
        # for a library built with only the GZIP codec (development)
        for c in out:
            c["filters"] = ["gzip"] if c.get("filters") else []
            c["validity_filters"] = []
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--lib", default=os.environ.get("RADI_LIB"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-k", default="")
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the arrays written")
    ap.add_argument("--format", type=int, help="format version radi writes (20, 21, 22)")
    ap.add_argument("--concurrency", type=int, help="radi worker threads")
    args = ap.parse_args()
    lib = args.lib
    if not lib:
        import glob
        root = os.path.join(here, "..", "..", "..")
        # the most recently built library among the build directories (not sanitized
        # builds, which cannot be loaded into an uninstrumented python)
        found = sorted((p for p in glob.glob(os.path.join(root, "build*", "libradi.so"))
                        if "asan" not in p and "san" not in os.path.basename(os.path.dirname(p))),
                       key=os.path.getmtime, reverse=True)
        lib = found[0] if found else None
    if not lib:
        sys.exit("libradi.so not found: pass --lib or set RADI_LIB")
    radi = Radi(lib, args.format, args.concurrency)
    tmp = tempfile.mkdtemp(prefix="radi_dw_")
    fails = 0
    n = 0
    try:
        for fn, case in [(run_case, c) for c in cases(args.quick)] + \
                        [(run_twin, c) for c in twin_cases()] + \
                        [(run_mixed, c) for c in mixed_cases()]:
            if args.k not in case["name"]:
                continue
            n += 1
            try:
                fn(radi, tmp, case, args.v)
            except Exception as e:  # report and continue
                fails += 1
                print(f"FAIL {case['name']}: {e}")
                if args.v:
                    traceback.print_exc()
    finally:
        if args.keep:
            print("arrays kept in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{n - fails}/{n} cases passed")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
