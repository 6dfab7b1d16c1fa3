#!/usr/bin/env python3
"""Generates the sparse golden arrays in tests/c/data/sparse/ with TileDB-Py, plus the
rows TileDB-Py reads back (one .tsv per array and query) that test_sparse_golden.c
compares radi's reads against.

Row format (shared with the C test): fields joined by TAB, in the query's column order;
integers in decimal, floats as '%.17g' (float32: '%.9g'), strings as raw UTF-8 with
\\, TAB and newline escaped as \\\\, \\t and \\n; NULL as \\N.

Usage: .venv/bin/python tests/python/tools/check_sparse_make_golden.py [outdir]
"""
import os
import shutil
import sys

import numpy as np
import pandas as pd
import tiledb

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "c", "data", "sparse")


def fmt(v, dtype=None):
    if v is None or (isinstance(v, float) and dtype is None and False):
        return "\\N"
    if isinstance(v, (bytes, np.bytes_)):
        v = bytes(v).decode("utf-8")
    if isinstance(v, str):
        if len(v.encode()) > 1000:  # long strings: length and first byte keep the file small
            return "#len=%d:%s" % (len(v.encode()), v[0])
        return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (np.floating, float)):
        if isinstance(v, np.float32):
            return "%.9g" % float(v)
        return "%.17g" % float(v)
    return str(int(v))


def rows_of(d, cols, nullmask=None):
    """d: dict name -> array as TileDB-Py returns; nullable columns come as masked/None."""
    n = len(d[cols[0]])
    out = []
    for i in range(n):
        parts = []
        for c in cols:
            v = d[c][i]
            if nullmask and c in nullmask and not nullmask[c][i]:
                parts.append("\\N")
            elif v is None or (isinstance(v, float) and np.isnan(v) and nullmask and c in nullmask):
                parts.append("\\N")
            else:
                parts.append(fmt(v))
        out.append("\t".join(parts))
    return out


def write_tsv(name, lines):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        for l in lines:
            f.write(l + "\n")


def obs_schema(capacity=3):
    z = tiledb.FilterList([tiledb.ZstdFilter(3)])
    dom = tiledb.Domain(
        tiledb.Dim(name="obs_subject_id", dtype="ascii", filters=tiledb.FilterList([tiledb.ZstdFilter(-1)])),
        tiledb.Dim(name="obs_id", dtype="ascii", filters=tiledb.FilterList([tiledb.ZstdFilter(-1)])),
    )
    attrs = [
        tiledb.Attr(name="series_type", dtype=str, filters=z),
        tiledb.Attr(name="datatype", dtype=np.int32, filters=z),
        tiledb.Attr(name="scl_slope", dtype=np.float64, filters=z),
        tiledb.Attr(name="source_path", dtype=str, filters=z),
    ]
    return tiledb.ArraySchema(domain=dom, attrs=attrs, sparse=True, capacity=capacity,
                              cell_order="row-major", tile_order="row-major", allows_duplicates=False)


def obs_write(uri, subj, oid, ts):
    n = len(subj)
    with tiledb.open(uri, "w", timestamp=ts) as A:
        A[np.array(subj, dtype=object), np.array(oid, dtype=object)] = {
            "series_type": np.array([o.split("_")[-1] for o in oid], dtype=object),
            "datatype": np.arange(n, dtype=np.int32) + ts,
            "scl_slope": np.linspace(0.5, 2.5, n) * ts,
            "source_path": np.array(["/data/%s/é_%d.nii.gz" % (o, ts) for o in oid], dtype=object),
        }


OBS_COLS = ["obs_subject_id", "obs_id", "series_type", "datatype", "scl_slope", "source_path"]


def make_obs():
    uri = os.path.join(OUT, "obs")
    tiledb.Array.create(uri, obs_schema())
    subj = ["sub-2", "sub-10", "sub-1", "a0", "Sub-1", "sub-1", "sub-11", "sub-3", "sub-1", ""]
    oid = ["sub-2_T1w", "sub-10_T1w", "sub-1_T1w", "a0_FLAIR", "Sub-1_T1w", "sub-1_FLAIR",
           "sub-11_T1w", "sub-3_T1w", "sub-1_T2w", "empty_T1w"]
    obs_write(uri, subj, oid, 1000)
    # Upsert: two existing keys and one new one.
    obs_write(uri, ["sub-1", "sub-3", "sub-4"], ["sub-1_FLAIR", "sub-3_T1w", "sub-4_dwi"], 2000)
    obs_write(uri, ["a0"], ["a0_FLAIR"], 3000)
    with tiledb.open(uri) as A:
        d = A[:]
        write_tsv("obs.all.tsv", rows_of(d, OBS_COLS))
        d = A.multi_index[["sub-1"], :]
        write_tsv("obs.point_sub-1.tsv", rows_of(d, OBS_COLS))
        d = A.multi_index[slice("sub-1", "sub-2"), slice("sub-1_FLAIR", "sub-3")]
        write_tsv("obs.range.tsv", rows_of(d, OBS_COLS))
        q = A.query(attrs=["datatype"], dims=["obs_id"])
        d = q[:]
        write_tsv("obs.cols.tsv", rows_of(d, ["obs_id", "datatype"]))
    with tiledb.open(uri, timestamp=1500) as A:
        write_tsv("obs.at1500.tsv", rows_of(A[:], OBS_COLS))


def make_pandas_str():
    uri = os.path.join(OUT, "pdstr")
    n = 40
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "sid": ["s%03d" % i for i in rng.permutation(n)],
        "age": rng.integers(18, 90, n).astype(np.int64),
        "sex": rng.choice(["F", "M", "", "ünï"], n),
        "weight": rng.normal(70, 10, n),
        "flag": rng.integers(0, 2, n).astype(bool),
        "small": rng.integers(-100, 100, n).astype(np.int8),
        "u16": rng.integers(0, 60000, n).astype(np.uint16),
        "f32": rng.normal(0, 1, n).astype(np.float32),
    })
    df = df.set_index("sid")
    tiledb.from_pandas(uri, df, sparse=True, index_dims=["sid"], capacity=8)
    with tiledb.open(uri) as A:
        d = A.df[:]
        d = d.reset_index()
        cols = ["sid", "age", "sex", "weight", "flag", "small", "u16", "f32"]
        write_tsv("pdstr.all.tsv", rows_of({c: d[c].to_numpy() for c in cols}, cols))
        d = A.query(cond="age > 40 and sex == 'F'").df[:].reset_index()
        write_tsv("pdstr.filter.tsv", rows_of({c: d[c].to_numpy() for c in cols}, cols))


def make_pandas_int():
    uri = os.path.join(OUT, "pdint")
    n = 30
    rng = np.random.default_rng(3)
    ids = rng.permutation(n).astype(np.int64) * 7 - 50
    df = pd.DataFrame({"id": ids, "v": rng.normal(size=n), "name": ["n%d" % i for i in ids]})
    tiledb.from_pandas(uri, df, sparse=True, index_dims=["id"], capacity=4,
                       dim_filters=tiledb.FilterList([tiledb.ZstdFilter(-1)]))
    with tiledb.open(uri) as A:
        d = A[:]
        write_tsv("pdint.all.tsv", rows_of(d, ["id", "v", "name"]))
        d = A.multi_index[-20:40]
        write_tsv("pdint.range.tsv", rows_of(d, ["id", "v", "name"]))


def make_nullable():
    """Nullable int and string columns, empty strings, non-ASCII and a 70 000-byte string,
    written by from_pandas (TileDB-Py's plain writes ignore masked arrays)."""
    uri = os.path.join(OUT, "nullable")
    df = pd.DataFrame({
        "k": ["k1", "k2", "k3", "k4", "k5"],
        "ni": pd.array([1, None, 3, None, 5], dtype="Int32"),
        "ns": pd.array(["x", "", None, None, "日本"], dtype="string"),
        "big": ["", "b" * 70000, "c", "d" * 5, "e"],
    })
    tiledb.from_pandas(uri, df, sparse=True, index_dims=["k"], capacity=2)
    with tiledb.open(uri) as A:
        d = A.df[:].reset_index()
    lines = []
    for i in range(len(d)):
        parts = []
        for c in ["k", "ni", "ns", "big"]:
            v = d[c].iloc[i]
            parts.append("\\N" if v is pd.NA or v is None else fmt(v))
        lines.append("\t".join(parts))
    write_tsv("nullable.all.tsv", lines)


def make_consolidated():
    """Three writes consolidated by TileDB (per-cell timestamps in t.tdb) and vacuumed;
    reads at 1500, 2500 and now."""
    uri = os.path.join(OUT, "cons")
    dom = tiledb.Domain(tiledb.Dim(name="k", dtype="ascii"))
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, attrs=[tiledb.Attr(name="v", dtype=np.int32)],
                                                sparse=True, capacity=2))
    for ts, (keys, vals) in [(1000, (["a", "b", "c"], [1, 2, 3])), (2000, (["b", "d"], [20, 40])),
                             (3000, (["a"], [100]))]:
        with tiledb.open(uri, "w", timestamp=ts) as A:
            A[np.array(keys, dtype=object)] = {"v": np.array(vals, dtype=np.int32)}
    tiledb.consolidate(uri)
    tiledb.vacuum(uri)
    for ts in (1500, 2500, None):
        with tiledb.open(uri, timestamp=ts) as A:
            write_tsv("cons.at%s.tsv" % (ts or "now"), rows_of(A[:], ["k", "v"]))


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    make_obs()
    make_pandas_str()
    make_pandas_int()
    make_nullable()
    make_consolidated()


if __name__ == "__main__":
    main()
