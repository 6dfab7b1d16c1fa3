#!/usr/bin/env python3
"""Regenerates the seed corpora of the fuzz targets from small arrays written by TileDB-Py
(the real format, not radi's idea of it). Run with the test venv:

    .venv/bin/python fuzz/corpus/make_corpus.py

schema/  whole __schema/<name> files (a generic tile around the schema payload)
footer/  fragment metadata footers (the bytes before the trailing u64 length) of arrays
         shaped like fuzz_footer.c's fixed schemas
tile/    fuzz_tile.c inputs: u8 type index | u8 cell multiplier | u16 pipeline length |
         serialized pipeline | one chunked tile (the data file of a one-tile fragment)
Every seed is a few hundred bytes to a few KB.
"""
import os
import shutil
import struct
import tempfile

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


def main():
    for kind in ("schema", "footer", "tile"):
        shutil.rmtree(os.path.join(HERE, kind), ignore_errors=True)
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
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
