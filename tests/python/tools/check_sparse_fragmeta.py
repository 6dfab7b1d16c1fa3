#!/usr/bin/env python3
"""Writes the same rows once with TileDB-Py and once with radi into arrays of the same
sparse schema, decodes both __fragment_metadata.tdb files and compares them section by
section: footer (NED, tile count, last tile size, which files exist), R-tree, var tile
sizes, tile mins/maxs/sums/null counts, fragment aggregates. Tile byte offsets and file
sizes are only compared for presence (compressed sizes differ between codecs' builds).

Usage: RADI_LIB=<libradi.so> .venv/bin/python tests/python/tools/check_sparse_fragmeta.py
"""
import glob
import os
import shutil
import struct
import sys
import tempfile
import zlib

import numpy as np
import pandas as pd
import tiledb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_sparse_radi import Radi  # noqa: E402

FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


class Rd:
    def __init__(self, b, pos=0):
        self.b, self.p = b, pos

    def u(self, fmt):
        v = struct.unpack_from("<" + fmt, self.b, self.p)
        self.p += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def raw(self, n):
        v = self.b[self.p:self.p + n]
        self.p += n
        return v


def generic_tile(b, off):
    r = Rd(b, off)
    _ver, persisted, tile_size, _dt, _cs, _enc, fp_size = r.u("IQQBQBI")
    pr = Rd(r.raw(fp_size))
    _mcs, nf = pr.u("II")
    types = []
    for _ in range(nf):
        t = pr.u("B")
        n = pr.u("I")
        pr.raw(n)
        types.append(t)
    body = Rd(r.raw(persisted))
    out = b""
    for _ in range(body.u("Q")):
        orig, filt, mlen = body.u("III")
        meta, data = body.raw(mlen), body.raw(filt)
        if not types:
            out += data
            continue
        assert types == [1], types  # GZIP
        m = Rd(meta)
        nm, nd = m.u("II")
        pos = 0
        parts = []
        for _k in range(nm + nd):
            o, c = m.u("II")
            parts.append(zlib.decompress(data[pos:pos + c]))
            pos += c
        out += b"".join(parts[nm:])
    assert len(out) == tile_size
    return out


def parse(path, schema):
    b = open(path, "rb").read()
    flen = struct.unpack_from("<Q", b, len(b) - 8)[0]
    r = Rd(b, len(b) - 8 - flen)
    f = {}
    f["version"] = r.u("I")
    f["schema_name"] = r.raw(r.u("Q"))
    f["dense"], f["null_ned"] = r.u("BB")
    ned = []
    for d in schema.domain:
        if d.isvar:
            rl, ll = r.u("QQ")
            x = r.raw(rl)
            ned.append((x[:ll], x[ll:]))
        else:
            sz = np.dtype(d.dtype).itemsize
            ned.append((r.raw(sz), r.raw(sz)))
    f["ned"] = ned
    f["tile_num"], f["last_tile_cell_num"] = r.u("QQ")
    f["has_ts"], f["has_del"] = r.u("BB")
    N = schema.nattr + 1 + schema.ndim
    f["file_sizes"] = [r.u("Q") for _ in range(N)]
    f["file_var_sizes"] = [r.u("Q") for _ in range(N)]
    f["file_validity_sizes"] = [r.u("Q") for _ in range(N)]
    rtree_off = r.u("Q")
    offs = [[r.u("Q") for _ in range(N)] for _ in range(8)]
    mmsn_off, cond_off = r.u("QQ")
    f["rtree"] = generic_tile(b, rtree_off)
    names = ["tile_offsets", "var_offsets", "var_sizes", "validity_offsets", "mins", "maxs", "sums", "null_counts"]
    for k, name in enumerate(names):
        f[name] = [generic_tile(b, o) for o in offs[k]]
    f["mmsn"] = generic_tile(b, mmsn_off)
    f["proc_cond"] = generic_tile(b, cond_off)
    return f


def frag_meta(uri):
    frags = glob.glob(os.path.join(uri, "__fragments", "*"))
    assert len(frags) == 1, frags
    return os.path.join(frags[0], "__fragment_metadata.tdb"), sorted(os.listdir(frags[0]))


def compare(label, schema_fn, df, key_cols):
    tmp = tempfile.mkdtemp(prefix="radi_fragmeta_")
    try:
        a_t, a_r = os.path.join(tmp, "tdb"), os.path.join(tmp, "radi")
        for u in (a_t, a_r):
            tiledb.Array.create(u, schema_fn())
        sch = tiledb.ArraySchema.load(a_t)
        with tiledb.open(a_t, "w") as A:
            coords = [np.array(df[k].tolist(), dtype=object) if df[k].dtype == object else df[k].to_numpy()
                      for k in key_cols]
            vals = {}
            for c in df.columns:
                if c in key_cols:
                    continue
                if df[c].dtype == object:
                    vals[c] = np.array(df[c].tolist(), dtype=object)
                else:
                    vals[c] = df[c].to_numpy()
            A[tuple(coords)] = vals
        cols = {}
        for c in df.columns:
            cols[c] = df[c].tolist() if df[c].dtype == object else df[c].to_numpy()
        Radi().write(a_r, cols)
        (pt, ft), (pr, fr) = frag_meta(a_t), frag_meta(a_r)
        check(ft == fr, "%s: same fragment files %s" % (label, fr))
        t, r = parse(pt, sch), parse(pr, sch)
        for k in ["version", "dense", "null_ned", "ned", "tile_num", "last_tile_cell_num", "has_ts", "has_del",
                  "rtree", "var_sizes", "mins", "maxs", "sums", "null_counts", "mmsn", "proc_cond"]:
            same = t[k] == r[k]
            check(same, "%s: %s" % (label, k))
            if not same and isinstance(t[k], list):
                for i, (x, y) in enumerate(zip(t[k], r[k])):
                    if x != y:
                        print("      slot %d: tiledb %r\n              radi   %r" % (i, x[:80], y[:80]))
            elif not same and isinstance(t[k], bytes):
                i = next((i for i in range(min(len(t[k]), len(r[k]))) if t[k][i] != r[k][i]), 0)
                print("      first difference at byte %d of %d/%d:\n      tiledb %r\n      radi   %r"
                      % (i, len(t[k]), len(r[k]), t[k][max(0, i - 16):i + 48], r[k][max(0, i - 16):i + 48]))
            elif not same:
                print("      tiledb %r\n      radi   %r" % (t[k], r[k]))
        for k in ["file_sizes", "file_var_sizes", "file_validity_sizes"]:
            check([x > 0 for x in t[k]] == [x > 0 for x in r[k]], "%s: %s present for the same slots" % (label, k))
        for k in ["tile_offsets", "var_offsets", "validity_offsets"]:
            check([len(x) for x in t[k]] == [len(x) for x in r[k]], "%s: %s section lengths" % (label, k))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def obs_schema():
    z = tiledb.FilterList([tiledb.ZstdFilter(3)])
    return tiledb.ArraySchema(
        domain=tiledb.Domain(tiledb.Dim(name="obs_subject_id", dtype="ascii", filters=tiledb.FilterList([tiledb.ZstdFilter(-1)])),
                             tiledb.Dim(name="obs_id", dtype="ascii", filters=tiledb.FilterList([tiledb.ZstdFilter(-1)]))),
        attrs=[tiledb.Attr(name="series_type", dtype=str, filters=z),
               tiledb.Attr(name="datatype", dtype=np.int32, filters=z),
               tiledb.Attr(name="scl_slope", dtype=np.float64, filters=z),
               tiledb.Attr(name="code", dtype="ascii", var=True, filters=z),
               tiledb.Attr(name="flag", dtype=np.uint8, filters=z)],
        sparse=True, capacity=5)


def int_schema(tile_order="row-major", cell_order="row-major"):
    return tiledb.ArraySchema(
        domain=tiledb.Domain(tiledb.Dim(name="x", domain=(-1000, 1000), tile=64, dtype=np.int64),
                             tiledb.Dim(name="y", domain=(0, 99), tile=10, dtype=np.uint16)),
        attrs=[tiledb.Attr(name="v", dtype=np.float32), tiledb.Attr(name="s", dtype=str)],
        sparse=True, capacity=4, tile_order=tile_order, cell_order=cell_order)


def str_int_schema(order):
    return tiledb.ArraySchema(
        domain=tiledb.Domain(tiledb.Dim(name="k", dtype="ascii"),
                             tiledb.Dim(name="i", domain=(-50, 50), tile=7, dtype=np.int32)),
        attrs=[tiledb.Attr(name="v", dtype=np.int16, nullable=True)],
        sparse=True, capacity=3, tile_order=order, cell_order=order)


def main():
    rng = np.random.default_rng(2)
    n = 23
    subj = ["sub-%d" % i for i in rng.integers(0, 9, n)]
    df = pd.DataFrame({"obs_subject_id": subj, "obs_id": ["%s_%d" % (s, i) for i, s in enumerate(subj)],
                       "series_type": rng.choice(["T1w", "FLAIR", "é"], n),
                       "datatype": rng.integers(-9, 9, n).astype(np.int32),
                       "scl_slope": rng.normal(size=n), "code": rng.choice(["a", "bb", "", "zz"], n),
                       "flag": rng.integers(0, 2, n).astype(np.uint8)})
    compare("obs-like (2 string dims, capacity 5)", obs_schema, df, ["obs_subject_id", "obs_id"])
    m = 37
    xs = rng.choice(np.arange(-1000, 1001), m, replace=False).astype(np.int64)
    df = pd.DataFrame({"x": xs, "y": rng.integers(0, 100, m).astype(np.uint16),
                       "v": rng.normal(size=m).astype(np.float32), "s": ["s%d" % i for i in range(m)]})
    compare("int dims with extents (capacity 4)", int_schema, df, ["x", "y"])
    for to in ("row-major", "col-major"):
        for co in ("row-major", "col-major"):
            compare("int dims, tile order %s, cell order %s" % (to, co),
                    lambda: int_schema(to, co), df, ["x", "y"])
    k = 29
    df = pd.DataFrame({"k": rng.choice(["a", "bb", "", "b", "ab", "zz"], k),
                       "i": rng.choice(np.arange(-50, 51), k, replace=False).astype(np.int32),
                       "v": rng.integers(-9, 9, k).astype(np.int16)})
    for order in ("row-major", "col-major"):
        compare("string + int dims, %s" % order, lambda: str_int_schema(order), df, ["k", "i"])
    print("\n%d failure(s)" % len(FAILS))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
