#!/usr/bin/env python3
"""radi vs TileDB-Py on a 100 000-row table with RadiObject's obs schema (two ASCII key
dimensions, 15 attributes of which 8 UTF-8 strings, ZSTD), in one run.

The table is written once by radi (`Dataframe.update`) and once by TileDB-Py (`A[...] =`),
then each copy is read by both libraries as a pandas DataFrame: full scan, point lookup of
one subject, a range of subjects, a filter (radi's `value_filter` / TileDB-Py's query
condition) and a two-column read. Every figure is the median of several runs, radi and
TileDB-Py interleaved; each run opens the array (both libraries), as a user's call would.
Not a test: it asserts only that both return the same frame.

    .venv/bin/python bench/bench_sparse.py [--rows N] [--reps N] [--dir PATH] [--json FILE]
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd

import radi

STR_COLS = ["series_type", "voxel_spacing", "dimensions", "spatial_units", "axcodes",
            "affine_json", "orientation_source", "source_path"]
ATTRS = [("series_type", str), ("voxel_spacing", str), ("dimensions", str),
         ("datatype", np.int32), ("bitpix", np.int32), ("scl_slope", np.float64),
         ("scl_inter", np.float64), ("xyzt_units", np.int32), ("spatial_units", str),
         ("qform_code", np.int32), ("sform_code", np.int32), ("axcodes", str),
         ("affine_json", str), ("orientation_source", str), ("source_path", str)]
KEYS = ["obs_subject_id", "obs_id"]


def obs_schema(tiledb, uri):
    dz = tiledb.FilterList([tiledb.ZstdFilter(-1)])
    z3 = tiledb.FilterList([tiledb.ZstdFilter(3)])
    tiledb.Array.create(uri, tiledb.ArraySchema(
        domain=tiledb.Domain(*[tiledb.Dim(name=k, dtype="ascii", filters=dz) for k in KEYS]),
        attrs=[tiledb.Attr(name=n, dtype=t, filters=z3) for n, t in ATTRS], sparse=True,
        capacity=10000, allows_duplicates=False, offsets_filters=dz,
        validity_filters=tiledb.FilterList([tiledb.RleFilter(-1)])))


def table(n):
    perm = np.random.default_rng(1).permutation(n)
    df = pd.DataFrame({"obs_subject_id": ["sub-%d" % (k // 2) for k in perm],
                       "obs_id": ["sub-%d_%s" % (k // 2, "T1w" if k % 2 else "FLAIR") for k in perm]})
    for name, t in ATTRS:
        if name == "series_type":
            df[name] = ["T1w" if k % 2 else "FLAIR" for k in perm]
        elif t is str:
            df[name] = ["%s-%d/é" % (name, k % 17) for k in perm]
        elif t is np.int32:
            df[name] = perm.astype(np.int32)
        else:
            df[name] = perm.astype(np.float64) / 3
    return df


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def tdb_frame(d):
    return d.reset_index(drop=not isinstance(d.index, pd.MultiIndex) and d.index.name is None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--dir", help="work directory (default: a temporary one, removed)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    import tiledb

    tmp = args.dir or tempfile.mkdtemp(prefix="radi_bench_sparse_")
    os.makedirs(tmp, exist_ok=True)
    results = {"rows": args.rows, "reps": args.reps, "radi": radi.library_version(),
               "tiledb_py": tiledb.__version__, "cases": []}
    try:
        df = table(args.rows)
        u_r, u_t = os.path.join(tmp, "by_radi"), os.path.join(tmp, "by_tiledb")
        for u in (u_r, u_t):
            shutil.rmtree(u, ignore_errors=True)
            obs_schema(tiledb, u)
        w_r, _ = timed(lambda: radi.Dataframe(u_r).update(df))

        def tdb_write():
            with tiledb.open(u_t, "w") as A:
                A[df.obs_subject_id.to_numpy(object), df.obs_id.to_numpy(object)] = {
                    n: (df[n].to_numpy(object) if n in STR_COLS else df[n].to_numpy()) for n, _ in ATTRS}
        w_t, _ = timed(tdb_write)

        subj = "sub-%d" % (args.rows // 4)
        cond = "datatype > %d and series_type == 'T1w'" % (args.rows // 2)
        cases = [
            ("full scan, all columns", lambda D: D.read(), lambda A: A.df[:]),
            ("point lookup, 1 subject", lambda D: D.loc[subj], lambda A: A.df[[subj], :]),
            ("range sub-1000..sub-1999", lambda D: D.loc["sub-1000":"sub-1999"],
             lambda A: A.df["sub-1000":"sub-1999", :]),
            ("filter (half the rows, 2 conds)", lambda D: D.read(value_filter=cond),
             lambda A: A.query(cond=cond).df[:]),
            ("2 columns (1 string, 1 int)", lambda D: D.read(columns=["bitpix", "axcodes"]),
             lambda A: A.query(attrs=["bitpix", "axcodes"]).df[:]),
        ]
        hdr = "%-34s %11s %11s %7s" % ("%d rows, obs schema" % args.rows, "radi ms", "TileDB ms", "ratio")
        print(hdr)
        print("-" * len(hdr))
        print("%-34s %11.1f %11.1f %7.2f   (one run)" % ("write (one fragment)", w_r * 1e3, w_t * 1e3, w_r / w_t))
        results["cases"].append({"case": "write", "radi_s": w_r, "tiledb_s": w_t})
        for label, uri in (("array written by radi", u_r), ("array written by TileDB-Py", u_t)):
            print("-- " + label)
            for name, fr, ft in cases:
                tr, tt = [], []
                for _ in range(args.reps):
                    t, got = timed(lambda: fr(radi.Dataframe(uri)))
                    tr.append(t)

                    def tdb_read():
                        with tiledb.open(uri) as A:
                            return ft(A)
                    t, want = timed(tdb_read)
                    tt.append(t)
                pd.testing.assert_frame_equal(got, tdb_frame(want).reset_index(drop=True))
                mr, mt = statistics.median(tr), statistics.median(tt)
                print("%-34s %11.1f %11.1f %7.2f   (%d rows)" % (name, mr * 1e3, mt * 1e3, mr / mt, len(got)))
                results["cases"].append({"case": name, "array": label, "radi_s": mr, "tiledb_s": mt,
                                         "rows": len(got)})
        print("ratio = radi / TileDB-Py (below 1: radi faster); medians of %d runs" % args.reps)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        if not args.dir:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
