#!/usr/bin/env python3
"""Benchmark (not a test): a 100 000-row table with RadiObject's obs schema (two ASCII
dimensions, 15 attributes, ZSTD), written once by TileDB-Py and once by radi; full
scan, point lookup and a filter, radi vs TileDB-Py, each the best of several runs.

radi is timed through its C API (open + query + submit, results left in C buffers);
TileDB-Py through `A.query()[:]` / `multi_index` (numpy results). Both open the array
inside the timed region.

Usage: RADI_LIB=<libradi.so> .venv/bin/python tests/python/tools/check_sparse_bench.py
"""
import ctypes as C
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import tiledb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_sparse_oracle import OBS_COLS, OBS_F64, OBS_I32, OBS_STR, obs_schema  # noqa: E402
from check_sparse_radi import Radi, ReadStats  # noqa: E402

N = 100000
REPS = 5


def table():
    perm = np.random.default_rng(1).permutation(N)
    rows = {"obs_subject_id": ["sub-%d" % (k // 2) for k in perm],
            "obs_id": ["sub-%d_%s" % (k // 2, "T1w" if k % 2 else "FLAIR") for k in perm]}
    for c in OBS_STR:
        rows[c] = ["%s-%d" % (c, k % 17) if c != "series_type" else ("T1w" if k % 2 else "FLAIR") for k in perm]
    for c in OBS_I32:
        rows[c] = perm.astype(np.int32)
    for c in OBS_F64:
        rows[c] = perm.astype(np.float64) / 3
    return rows


def best(fn):
    t = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def tdb(uri, fn):
    with tiledb.open(uri) as A:
        return fn(A)


def radi_query(R, uri, point=None, filt=None):
    L = R.lib
    a = R.open(uri)
    q = C.c_void_p()
    R._ok(L.radi_sparse_query_create(a, C.byref(q)), "query")
    if point:
        b = point.encode()
        R._ok(L.radi_sparse_query_add_range(q, b"obs_subject_id", b, len(b), b, len(b)), "range")
    if filt:
        R._ok(L.radi_sparse_query_set_filter(q, filt.encode()), "filter")
    st = ReadStats()
    R._ok(L.radi_sparse_query_submit(q, C.byref(st)), "submit")
    n = L.radi_sparse_query_rows(q)
    L.radi_sparse_query_free(q)
    R.close(a)
    return n


def main():
    R = Radi()
    tmp = tempfile.mkdtemp(prefix="radi_sparse_bench_")
    try:
        rows = table()
        u_t, u_r = os.path.join(tmp, "tdb"), os.path.join(tmp, "radi")
        obs_schema(u_t)
        obs_schema(u_r)
        coords = (np.array(rows["obs_subject_id"], dtype=object), np.array(rows["obs_id"], dtype=object))
        vals = {c: (np.array(rows[c], dtype=object) if c in OBS_STR else rows[c]) for c in OBS_COLS[2:]}
        t0 = time.perf_counter()
        with tiledb.open(u_t, "w") as A:
            A[coords] = vals
        w_t = time.perf_counter() - t0
        prep = R.prepare(rows)
        t0 = time.perf_counter()
        R.write_prepared(u_r, prep)
        w_r = time.perf_counter() - t0
        filt = "datatype > 50000 and series_type == 'T1w'"
        qc = "datatype > 50000 and series_type == 'T1w'"
        print("%-34s %10s %10s %8s" % ("100 000 rows, obs schema", "radi s", "TileDB s", "ratio"))
        print("%-34s %10.4f %10.4f %8.2f   (one run, unsorted input)" % ("write", w_r, w_t, w_r / w_t))
        for label, uri in [("array written by TileDB-Py", u_t), ("array written by radi", u_r)]:
            print("-- " + label)
            assert radi_query(R, uri) == N
            cases = [
                ("full scan (all columns)", lambda: radi_query(R, uri),
                 lambda: tdb(uri, lambda A: A.query()[:])),
                ("point lookup (1 subject)", lambda: radi_query(R, uri, point="sub-4242"),
                 lambda: tdb(uri, lambda A: A.multi_index[["sub-4242"], :])),
                ("filter '%s'" % filt[:18], lambda: radi_query(R, uri, filt=filt),
                 lambda: tdb(uri, lambda A: A.query(cond=qc)[:])),
            ]
            for name, fr, ft in cases:
                tr, tt = best(fr), best(ft)
                print("%-34s %10.4f %10.4f %8.2f" % (name, tr, tt, tr / tt))
        print("bytes on disk: radi %d, TileDB-Py %d" % (du(u_r), du(u_t)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def du(p):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs)


if __name__ == "__main__":
    main()
