#!/usr/bin/env python3
"""Regenerates the seed corpora of the fuzz targets from small arrays written by TileDB-Py
(the real format, not radi's idea of it). Run with the test venv:

    .venv/bin/python fuzz/corpus/make_corpus.py

schema/  whole __schema/<name> files (a generic tile around the schema payload)
footer/  fragment metadata footers (the bytes before the trailing u64 length) of arrays
         shaped like fuzz_footer.c's fixed schemas
tile/    fuzz_tile.c inputs: u8 type index | u8 cell multiplier | u16 pipeline length |
         serialized pipeline | one chunked tile (the data file of a one-tile fragment)
expr/    filter expression texts over fuzz_expr.c's fixed columns
rtree/   R-tree payloads (the first generic tile of __fragment_metadata.tdb, decoded) of
         sparse fragments shaped like fuzz_rtree.c's orders, plus synthetic ones
group/   group details files (verbatim) and their decoded payloads
meta/    array directories (fuzz/fuzz_tree.h's tree format) with __meta files, before and
         after TileDB-Py's metadata consolidation, plus "@=" record payloads
commits/ array directories (tree format) after writes, commit consolidation, fragment
         consolidation and vacuums, as TileDB-Py leaves them
sparse/  sparse array directories (tree format): int64, string and int16 dimensions,
         nullable and var-size attributes, duplicates, consolidated fragment metadata
Every seed is a few hundred bytes to a few KB. Seeds named regress_* are crash
regressions found by fuzzing: they are kept, never regenerated.
"""
import os
import shutil
import struct
import tempfile
import zlib

import numpy as np
import tiledb

HERE = os.path.dirname(os.path.abspath(__file__))


def dense(uri, dims, attrs, cell_order="row-major", tile_order="row-major"):
    dom = tiledb.Domain(*[tiledb.Dim(n, d, e, dtype=t) for n, d, e, t in dims])
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, attrs=attrs, cell_order=cell_order,
                                                tile_order=tile_order))


def files(uri, sub):
    d = os.path.join(uri, sub)
    return sorted(os.path.join(d, f) for f in os.listdir(d) if not os.path.isdir(os.path.join(d, f)))


def footer(path):
    b = open(path, "rb").read()
    n, = struct.unpack_from("<Q", b, len(b) - 8)
    return b[len(b) - 8 - n: len(b) - 8]


def save(kind, name, data):
    d = os.path.join(HERE, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def make_arrays(tmp):
    rng = np.random.default_rng(1)
    out = {}
    # 1. a radi volume: x, y, z int32, float32 voxels, axial tiles, ZSTD-3; two fragments
    u = os.path.join(tmp, "vol3")
    dense(u, [("x", (0, 23), 24, np.int32), ("y", (0, 19), 20, np.int32), ("z", (0, 7), 1, np.int32)],
          [tiledb.Attr("voxels", dtype=np.float32, filters=tiledb.FilterList([tiledb.ZstdFilter(3)]))])
    with tiledb.open(u, "w") as A:
        A[:] = rng.standard_normal((24, 20, 8)).astype(np.float32)
    with tiledb.open(u, "w") as A:
        A[3:9, 2:5, 1:4] = np.ones((6, 3, 3), np.float32)
    out["vol3"] = u
    # 2. 4-D int16, col-major, shuffle + LZ4, custom fill
    u = os.path.join(tmp, "vol4")
    dense(u, [(n, (0, 5), 3, np.int32) for n in "xyzt"],
          [tiledb.Attr("voxels", dtype=np.int16, fill=7,
                       filters=tiledb.FilterList([tiledb.ByteShuffleFilter(), tiledb.LZ4Filter()]))],
          cell_order="col-major", tile_order="col-major")
    with tiledb.open(u, "w") as A:
        A[1:4, 0:6, 2:3, 0:2] = rng.integers(-100, 100, (3, 6, 1, 2)).astype(np.int16)
    out["vol4"] = u
    # 3. sparse, int64 dims, float64 + nullable uint8 + string attributes
    u = os.path.join(tmp, "sparse2")
    dom = tiledb.Domain(tiledb.Dim("x", (0, 239), 240, dtype=np.int64),
                        tiledb.Dim("y", (0, 239), 240, dtype=np.int64))
    tiledb.Array.create(u, tiledb.ArraySchema(domain=dom, sparse=True, capacity=4, attrs=[
        tiledb.Attr("voxels", dtype=np.float64, filters=tiledb.FilterList([tiledb.GzipFilter(6)])),
        tiledb.Attr("flag", dtype=np.uint8, nullable=True),
        tiledb.Attr("label", dtype=str, var=True)]))
    with tiledb.open(u, "w") as A:
        A[np.array([1, 5, 7, 200, 3]), np.array([2, 2, 9, 100, 4])] = {
            "voxels": np.arange(5, dtype=np.float64),
            "flag": np.ma.masked_array(np.arange(5, dtype=np.uint8), mask=[0, 1, 0, 0, 1]),
            "label": np.array(["a", "bb", "", "dddd", "e"], dtype=object)}
    out["sparse2"] = u
    # 3b. the same sparse shape with only the float64 attribute (fuzz_footer's fixed schema)
    u = os.path.join(tmp, "sparse1")
    tiledb.Array.create(u, tiledb.ArraySchema(domain=dom, sparse=True, capacity=2, attrs=[
        tiledb.Attr("voxels", dtype=np.float64, filters=tiledb.FilterList([tiledb.ZstdFilter(3)]))]))
    with tiledb.open(u, "w") as A:
        A[np.array([0, 9, 239]), np.array([4, 4, 100])] = np.array([1.5, -2.0, 3.25])
    out["sparse1"] = u
    # 4. dense 2-D uint8 with delta + gzip, string-free, and a second attribute
    u = os.path.join(tmp, "d2")
    dense(u, [("r", (1, 16), 4, np.int64), ("c", (-8, 7), 16, np.int64)],
          [tiledb.Attr("a", dtype=np.uint8, filters=tiledb.FilterList([tiledb.DeltaFilter(),
                                                                       tiledb.GzipFilter(9)])),
           tiledb.Attr("b", dtype=np.float64, filters=tiledb.FilterList([tiledb.BitShuffleFilter(),
                                                                         tiledb.ZstdFilter(-1)]))])
    out["d2"] = u
    return out


# fuzz_tile.c's TYPES order
TYPE_INDEX = {np.dtype(t): i for i, t in enumerate(
    ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
     "float64", "bool"])}
COMPRESSOR = {"gzip": 1, "zstd": 2, "lz4": 3, "rle": 4, "double_delta": 6, "delta": 8}
FTYPE = {"gzip": 1, "zstd": 2, "lz4": 3, "rle": 4, "double_delta": 6, "bitshuffle": 8,
         "byteshuffle": 9, "positive_delta": 10, "delta": 19}


def pipeline_bytes(spec, max_chunk=65536):
    """The filter pipeline as a format-22 schema stores it."""
    out = struct.pack("<II", max_chunk, len(spec))
    for name, level in spec:
        if name in ("bitshuffle", "byteshuffle"):
            out += struct.pack("<BI", FTYPE[name], 0)
        elif name == "positive_delta":
            out += struct.pack("<BII", FTYPE[name], 4, 1024)
        elif name in ("delta", "double_delta"):
            out += struct.pack("<BIBiB", FTYPE[name], 6, COMPRESSOR[name], level, 17)
        else:
            out += struct.pack("<BIBi", FTYPE[name], 5, COMPRESSOR[name], level)
    return out


TILE_CASES = [
    ("float32", [("zstd", 3)]),
    ("int16", [("byteshuffle", 0), ("lz4", -1)]),
    ("uint8", [("gzip", 6)]),
    ("int32", [("delta", -1), ("zstd", 1)]),
    ("float64", [("bitshuffle", 0), ("zstd", 3)]),
    ("int64", [("double_delta", -1)]),
    ("uint16", [("positive_delta", 0)]),
    ("uint32", []),
]


def tile_seeds(tmp):
    rng = np.random.default_rng(2)
    for i, (dt, spec) in enumerate(TILE_CASES):
        u = os.path.join(tmp, f"tile{i}")
        flt = {"zstd": lambda l: tiledb.ZstdFilter(l), "lz4": lambda l: tiledb.LZ4Filter(),
               "gzip": lambda l: tiledb.GzipFilter(l), "byteshuffle": lambda l: tiledb.ByteShuffleFilter(),
               "bitshuffle": lambda l: tiledb.BitShuffleFilter(), "delta": lambda l: tiledb.DeltaFilter(),
               "double_delta": lambda l: tiledb.DoubleDeltaFilter(),
               "positive_delta": lambda l: tiledb.PositiveDeltaFilter()}
        n = 3000
        dense(u, [("x", (0, n - 1), n, np.int32)],
              [tiledb.Attr("v", dtype=np.dtype(dt), filters=tiledb.FilterList([flt[f](l) for f, l in spec]))])
        v = np.cumsum(rng.integers(0, 4, n)).astype(dt) if np.dtype(dt).kind in "iu" else \
            np.round(rng.standard_normal(n), 1).astype(dt)
        with tiledb.open(u, "w") as A:
            A[:] = v
        (frag,) = [os.path.join(u, "__fragments", d) for d in os.listdir(os.path.join(u, "__fragments"))]
        data = open(os.path.join(frag, "a0.tdb"), "rb").read()
        pipe = pipeline_bytes(spec)
        seed = struct.pack("<BBH", TYPE_INDEX[np.dtype(dt)], 0, len(pipe)) + pipe + data
        save("tile", f"{dt}_{'_'.join(f for f, _ in spec) or 'none'}", seed)


KINDS = ("schema", "footer", "tile", "expr", "rtree", "group", "meta", "commits", "sparse")


def clear_generated():
    """Removes the generated seeds, keeping the regress_* regression inputs."""
    for kind in KINDS:
        d = os.path.join(HERE, kind)
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            if not f.startswith("regress_"):
                os.remove(os.path.join(d, f))


def gt_payload(b, off=0):
    """The payload of the generic tile at off (TileDB writes them through GZIP, a zlib
    stream per chunk)."""
    _ver, _pers, _tsz, _dt, _cs, _enc, fps = struct.unpack_from("<IQQBQBI", b, off)
    off += 34 + fps
    n, = struct.unpack_from("<Q", b, off)
    off += 8
    out = b""
    for _ in range(n):
        _o, f, m = struct.unpack_from("<III", b, off)
        off += 12 + m
        out += zlib.decompress(b[off:off + f])
        off += f
    return out


def tree(root, skip=()):
    """The directory at root in fuzz_tree.h's format (files verbatim, empty dirs kept)."""
    out = b""
    for d, dirs, fs in sorted(os.walk(root)):
        rel = os.path.relpath(d, root)
        if rel != "." and not dirs and not fs:
            out += b"@" + rel.encode() + b"/\n\n"
        for f in sorted(fs):
            r = os.path.normpath(os.path.join(rel, f))
            if any(r.startswith(x) for x in skip):
                continue
            data = open(os.path.join(d, f), "rb").read()
            if b"\n@" in data:  # compressed bytes that look like a separator: sized form
                out += b"@#%d:" % len(data) + r.encode() + b"\n" + data + b"\n"
            else:
                out += b"@" + r.encode() + b"\n" + data + b"\n"
    return out


EXPRS = [
    "age > 40 and site == 'A'",
    "not (grade in ['A', 'B']) or site != \"B\"",
    "score >= 1e3 | flag",
    "`obs.id` not in ['AB', '', 'Z\xc3\xbcrich']",
    "big > 9223372036854775807 and big <= 18446744073709551615",
    "i64 < -1 && u8 != 255 || i16 == -32768",
    "f32 != f32",
    "(age == 40) & ~flag",
    "True",
    "age > 40 and",
    "40 < age",
    "site in ('A', \"AB\") and not u32 in [0, 4294967295, 3.5]",
    "score == inf or score < -1e308 or f32 > 0x10",
    "((((u16 > 1))))",
    "site == 'it\\'s'",
    "grade >= 'B' and grade < 'a'",
    "age = 4",
    "flag and not not flag",
]


def rtree_bytes(fanout, levels, ndim_kinds):
    """Synthetic R-tree: levels root first, each a list of MBRs; an MBR is a list of
    (lo, hi) per dimension, ints packed by kind ('q', 'b', 'I') or bytes (strings)."""
    out = struct.pack("<II", fanout, len(levels))
    for lv in levels:
        out += struct.pack("<Q", len(lv))
        for mbr in lv:
            for kind, (lo, hi) in zip(ndim_kinds, mbr):
                if kind == "s":
                    out += struct.pack("<QQ", len(lo) + len(hi), len(lo)) + lo + hi
                else:
                    out += struct.pack("<" + kind * 2, lo, hi)
    return out


def rtree_seeds(tmp):
    rng = np.random.default_rng(3)
    dom = tiledb.Domain(tiledb.Dim("x", (0, 239), 240, dtype=np.int64),
                        tiledb.Dim("y", (0, 239), 240, dtype=np.int64))
    for i, n in enumerate((5, 23, 150)):
        u = os.path.join(tmp, f"rt{i}")
        tiledb.Array.create(u, tiledb.ArraySchema(domain=dom, sparse=True, capacity=2,
                                                  attrs=[tiledb.Attr("v", dtype=np.float64)]))
        with tiledb.open(u, "w", timestamp=7) as A:
            A[rng.integers(0, 240, n), rng.integers(0, 240, n)] = np.arange(n, dtype=np.float64)
        (frag,) = os.listdir(os.path.join(u, "__fragments"))
        b = open(os.path.join(u, "__fragments", frag, "__fragment_metadata.tdb"), "rb").read()
        save("rtree", f"int64x2_{n}cells", gt_payload(b))
    # string dimension (1-D order) and int8/uint32/string (3-D order)
    u = os.path.join(tmp, "rts")
    tiledb.Array.create(u, tiledb.ArraySchema(domain=tiledb.Domain(
        tiledb.Dim("obs_id", dtype="ascii")), sparse=True, capacity=2,
        attrs=[tiledb.Attr("v", dtype=np.int32)]))
    with tiledb.open(u, "w", timestamp=7) as A:
        A[np.array(["a", "bb", "c", "sub-01", "sub-02", "zz", ""], dtype=object)] = np.arange(7, dtype=np.int32)
    (frag,) = os.listdir(os.path.join(u, "__fragments"))
    b = open(os.path.join(u, "__fragments", frag, "__fragment_metadata.tdb"), "rb").read()
    save("rtree", "string_7cells", gt_payload(b))
    leaves = [[(-5, 3), (10, 2000), (b"a", b"c")], [(4, 9), (0, 5), (b"", b"zz")],
              [(-100, 100), (7, 7), (b"m", b"m")]]
    root = [[(-100, 100), (0, 2000), (b"", b"zz")]]
    save("rtree", "synthetic_3d", rtree_bytes(2, [root, [root[0], root[0]], leaves], "bIs"))
    save("rtree", "synthetic_empty", rtree_bytes(10, [], ""))
    save("rtree", "synthetic_1d_two_levels", rtree_bytes(3, [[[(b"a", b"z")]], [[(b"a", b"c")], [(b"d", b"z")]]], "s"))


def group_details(members):
    out = struct.pack("<IQ", 2, len(members))
    for typ, rel, uri, name, deleted in members:
        out += struct.pack("<IBBQ", 2, typ, rel, len(uri)) + uri
        out += struct.pack("<B", name is not None)
        if name is not None:
            out += struct.pack("<Q", len(name)) + name
        out += struct.pack("<B", deleted)
    return out


def group_seeds(tmp):
    g = os.path.join(tmp, "grp")
    tiledb.Group.create(g)
    for n in ("T1w", "FLAIR"):
        a = os.path.join(g, n)
        dense(a, [("x", (0, 3), 4, np.int32)], [tiledb.Attr("v", dtype=np.float32)])
    sub = os.path.join(g, "sub")
    tiledb.Group.create(sub)
    with tiledb.Group(g, "w") as G:
        G.add("T1w", name="T1w", relative=True)
        G.add(os.path.join(g, "FLAIR"), name="FLAIR")
        G.add("sub", relative=True)
    with tiledb.Group(g, "w") as G:
        G.remove("FLAIR")
    for i, f in enumerate(files(g, "__group")):
        b = open(f, "rb").read()
        save("group", f"tiledb_py_{i}", b)
        save("group", f"tiledb_py_{i}_payload", gt_payload(b))
    save("group", "synthetic_payload", group_details([
        (2, 1, b"vol", b"vol", 0), (1, 0, b"file:///data/g/obs", None, 0),
        (2, 1, b"vol", b"vol", 1), (2, 1, b"x/y", b"xy", 0)]))
    save("group", "synthetic_v1_member", struct.pack("<IQ", 2, 1) + struct.pack("<IBBQ", 1, 2, 1, 3) + b"abc" + b"\0")


def meta_payload(records):
    out = b""
    for key, delete, typ, count, value in records:
        out += struct.pack("<I", len(key)) + key + struct.pack("<B", delete)
        if not delete:
            out += struct.pack("<BI", typ, count) + value
    return out


def meta_seeds(tmp):
    u = os.path.join(tmp, "m")
    dense(u, [("x", (0, 3), 4, np.int32)], [tiledb.Attr("v", dtype=np.uint8)])
    for t, kv in ((10, {"a": 1, "s": "text"}), (11, {"f": np.array([1.5, 2.5])}), (12, {"a": 3})):
        with tiledb.open(u, "w", timestamp=t) as A:
            for k, v in kv.items():
                A.meta[k] = v
    with tiledb.open(u, "w", timestamp=13) as A:
        del A.meta["s"]
    save("meta", "tiledb_py_4files", tree(u))
    tiledb.consolidate(u, config=tiledb.Config({"sm.consolidation.mode": "array_meta"}))
    save("meta", "tiledb_py_consolidated", tree(u))
    tiledb.vacuum(u, config=tiledb.Config({"sm.vacuum.mode": "array_meta"}))
    save("meta", "tiledb_py_vacuumed", tree(u))
    schema = tree(u, skip=("__meta",))
    # TileDB type codes: 0 INT32, 1 INT64, 2 FLOAT32, 4 CHAR, 6 UINT8
    rec = meta_payload([(b"k", 0, 0, 1, struct.pack("<i", -7)), (b"dims", 0, 1, 3, struct.pack("<3q", 1, 2, 3)),
                        (b"name", 0, 4, 5, b"hello"), (b"k", 1, 0, 0, b""), (b"empty", 0, 2, 0, b"")])
    save("meta", "synthetic_records", schema + b"@=__meta/__20_20_0123456789abcdef0123456789abcdef\n" + rec + b"\n"
         + b"@=__meta/__21_21_00000000000000000000000000000001\n" + meta_payload([(b"dims", 1, 0, 0, b"")]) + b"\n")
    save("meta", "synthetic_vac", schema
         + b"@=__meta/__20_20_0123456789abcdef0123456789abcdef\n" + rec + b"\n"
         + b"@=__meta/__30_30_00000000000000000000000000000002\n" + meta_payload([(b"z", 0, 6, 1, b"\x05")]) + b"\n"
         + b"@__meta/__20_30_00000000000000000000000000000003.vac\n/__meta/__20_20_0123456789abcdef0123456789abcdef\n\n")


def commits_seeds(tmp):
    cfg = lambda m: tiledb.Config({"sm.consolidation.mode": m, "sm.vacuum.mode": m})
    u = os.path.join(tmp, "c")
    dense(u, [("x", (0, 3), 4, np.int32)], [tiledb.Attr("v", dtype=np.uint8)])
    for t in (10, 20, 30):
        with tiledb.open(u, "w", timestamp=t) as A:
            A[t // 10 - 1:t // 10 + 1] = np.array([t, t + 1], dtype=np.uint8)
    save("commits", "dense_3wrt", tree(u))
    tiledb.consolidate(u, config=cfg("commits"))
    save("commits", "dense_con", tree(u))
    tiledb.consolidate(u, config=cfg("fragments"))
    save("commits", "dense_con_vac", tree(u))
    tiledb.vacuum(u, config=cfg("fragments"))
    save("commits", "dense_vacuumed", tree(u))
    with tiledb.open(u, "w", timestamp=40) as A:
        A[0:1] = np.array([9], dtype=np.uint8)
    tiledb.vacuum(u, config=cfg("commits"))
    save("commits", "dense_commits_vacuumed", tree(u))
    s = os.path.join(tmp, "cs")
    tiledb.Array.create(s, tiledb.ArraySchema(domain=tiledb.Domain(
        tiledb.Dim("x", (0, 99), 100, dtype=np.int64)), sparse=True, capacity=2,
        attrs=[tiledb.Attr("v", dtype=np.int16)]))
    for t in (5, 6):
        with tiledb.open(s, "w", timestamp=t) as A:
            A[np.array([t, t + 50])] = np.array([t, -t], dtype=np.int16)
    tiledb.consolidate(s, config=cfg("fragments"))
    save("commits", "sparse_vac", tree(s))
    tiledb.consolidate(s, config=cfg("commits"))
    save("commits", "sparse_vac_con", tree(s))


def sparse_seeds(tmp, arrays):
    save("sparse", "sparse2", tree(arrays["sparse2"]))
    save("sparse", "sparse1", tree(arrays["sparse1"]))
    u = os.path.join(tmp, "sp_str")
    tiledb.Array.create(u, tiledb.ArraySchema(domain=tiledb.Domain(
        tiledb.Dim("obs_id", dtype="ascii"), tiledb.Dim("t", (0, 9), 5, dtype=np.int32)), sparse=True,
        capacity=3, attrs=[tiledb.Attr("age", dtype=np.int32, nullable=True),
                           tiledb.Attr("site", dtype=str, var=True)]))
    for ts, ids in ((3, ["sub-01", "sub-02", "a"]), (4, ["sub-02", "zz", "", "b"])):
        with tiledb.open(u, "w", timestamp=ts) as A:
            n = len(ids)
            A[np.array(ids, dtype=object), np.arange(n, dtype=np.int32)] = {
                "age": np.ma.masked_array(np.arange(n, dtype=np.int32) + 30, mask=[i == 1 for i in range(n)]),
                "site": np.array(["A", "", "BB", "C"][:n], dtype=object)}
    save("sparse", "string_dim_2frags", tree(u))
    tiledb.consolidate(u, config=tiledb.Config({"sm.consolidation.mode": "fragment_meta"}))
    save("sparse", "string_dim_fragment_meta", tree(u))
    d = os.path.join(tmp, "sp_dups")
    tiledb.Array.create(d, tiledb.ArraySchema(domain=tiledb.Domain(
        tiledb.Dim("x", (-50, 50), 10, dtype=np.int16)), sparse=True, allows_duplicates=True,
        capacity=2, cell_order="col-major", attrs=[tiledb.Attr("v", dtype=np.uint16)]))
    with tiledb.open(d, "w", timestamp=2) as A:
        A[np.array([-50, 3, 3, 50, 7], dtype=np.int16)] = np.arange(5, dtype=np.uint16)
    save("sparse", "int16_dups_colmajor", tree(d))


def main():
    clear_generated()
    tmp = tempfile.mkdtemp()
    try:
        arrays = make_arrays(tmp)
        for name, u in arrays.items():
            for i, f in enumerate(files(u, "__schema")):
                save("schema", f"{name}_{i}", open(f, "rb").read())
            fr = os.path.join(u, "__fragments")
            if name == "d2" or not os.path.isdir(fr):
                continue
            for i, d in enumerate(sorted(os.listdir(fr))):
                save("footer", f"{name}_{i}", footer(os.path.join(fr, d, "__fragment_metadata.tdb")))
        tile_seeds(tmp)
        for i, e in enumerate(EXPRS):
            save("expr", f"e{i:02d}", e.encode())
        rtree_seeds(tmp)
        group_seeds(tmp)
        meta_seeds(tmp)
        commits_seeds(tmp)
        sparse_seeds(tmp, arrays)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
