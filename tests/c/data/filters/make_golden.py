"""Generates golden filtered tiles with TileDB-Py 0.36.1 (TileDB 2.30.1).

For each case: a dense 1-D array with one attribute and one tile, written once. We keep
the raw tile file (<case>.tdb, the fragment's a0.tdb), the values (<case>.bin) and the
decompressed schema payload (<case>.schema, to check the serialized pipeline).
Run: /work/main/.venv/bin/python make_golden.py  (from this directory)
"""
import glob
import os
import shutil
import struct
import tempfile
import zlib

import numpy as np
import tiledb

HERE = os.path.dirname(os.path.abspath(__file__))


def smooth(n, dtype, scale=3):
    i = np.arange(n)
    return (np.round(np.sin(i / 17.0) * scale * 10) + i // 7).astype(dtype)


def runs(n, dtype):
    return (np.arange(n) // 37 % 5).astype(dtype)


def increasing(n, dtype):
    return np.cumsum(np.arange(n) % 9).astype(dtype)


CASES = [
    # name, values, filters
    ("none_i16", smooth(301, np.int16), []),
    ("byteshuffle_i32", smooth(201, np.int32), [tiledb.ByteShuffleFilter()]),
    ("byteshuffle_f64", smooth(93, np.float64), [tiledb.ByteShuffleFilter()]),
    ("byteshuffle_u16", smooth(177, np.uint16, 1) + 100, [tiledb.ByteShuffleFilter()]),
    ("bitshuffle_u32", smooth(301, np.uint32, 1) + 50, [tiledb.BitShuffleFilter()]),
    ("bitshuffle_i64", smooth(1100, np.int64), [tiledb.BitShuffleFilter()]),
    ("bitshuffle_u8", runs(301, np.uint8), [tiledb.BitShuffleFilter()]),
    ("bitshuffle_f32", smooth(2100, np.float32), [tiledb.BitShuffleFilter()]),
    ("delta_i32", smooth(200, np.int32), [tiledb.DeltaFilter()]),
    ("delta_u8", runs(301, np.uint8), [tiledb.DeltaFilter()]),
    ("doubledelta_i64", increasing(300, np.int64) * 1000, [tiledb.DoubleDeltaFilter()]),
    ("doubledelta_i16", smooth(200, np.int16), [tiledb.DoubleDeltaFilter()]),
    ("doubledelta_u32", smooth(300, np.uint32) + 100, [tiledb.DoubleDeltaFilter()]),
    ("positivedelta_u32", increasing(300, np.uint32), [tiledb.PositiveDeltaFilter()]),
    ("positivedelta_i64", increasing(300, np.int64), [tiledb.PositiveDeltaFilter(window=64)]),
    ("rle_u8", runs(1000, np.uint8), [tiledb.RleFilter()]),
    ("rle_i32", runs(399, np.int32), [tiledb.RleFilter()]),
    ("bwr_i32", smooth(400, np.int32), [tiledb.BitWidthReductionFilter()]),
    ("bwr_u64", smooth(200, np.uint64, 1) + 1000, [tiledb.BitWidthReductionFilter()]),
    ("bwr_i16", smooth(333, np.int16), [tiledb.BitWidthReductionFilter(window=100)]),
    ("xor_i32", smooth(200, np.int32), [tiledb.XORFilter()]),
    ("gzip6_i32", smooth(1000, np.int32), [tiledb.GzipFilter(level=6)]),
    ("gzipdef_u8", runs(2000, np.uint8), [tiledb.GzipFilter()]),
    ("gzip1_f32", smooth(700, np.float32), [tiledb.GzipFilter(level=1)]),
    ("zstd5_i32", smooth(1000, np.int32), [tiledb.ZstdFilter(level=5)]),
    ("zstddef_f64", smooth(500, np.float64), [tiledb.ZstdFilter()]),
    ("lz4_i16", smooth(1000, np.int16), [tiledb.LZ4Filter()]),
    ("shuf_zstd_f32", smooth(1000, np.float32), [tiledb.ByteShuffleFilter(), tiledb.ZstdFilter(level=3)]),
    ("shuf_gzip_i32", smooth(8, np.int32), [tiledb.ByteShuffleFilter(), tiledb.GzipFilter(level=6)]),
    ("bitshuf_lz4_u16", smooth(1234, np.uint16, 1) + 7, [tiledb.BitShuffleFilter(), tiledb.LZ4Filter()]),
    ("delta_gzip_i64", increasing(800, np.int64), [tiledb.DeltaFilter(), tiledb.GzipFilter(level=9)]),
    ("bwr_zstd_i32", smooth(900, np.int32), [tiledb.BitWidthReductionFilter(), tiledb.ZstdFilter(level=1)]),
    ("pd_shuf_zstd_u64", increasing(600, np.uint64),
     [tiledb.PositiveDeltaFilter(), tiledb.ByteShuffleFilter(), tiledb.ZstdFilter(level=2)]),
    ("dd_zstd_i32", increasing(700, np.int32), [tiledb.DoubleDeltaFilter(), tiledb.ZstdFilter(level=4)]),
    ("rle_zstd_u8", runs(1500, np.uint8), [tiledb.RleFilter(), tiledb.ZstdFilter(level=3)]),
    ("shuf_bitshuf_gzip_i16", smooth(999, np.int16),
     [tiledb.ByteShuffleFilter(), tiledb.BitShuffleFilter(), tiledb.GzipFilter(level=5)]),
    ("multichunk_delta_zstd_i32", increasing(40000, np.int32), [tiledb.DeltaFilter(), tiledb.ZstdFilter(level=3)]),
    ("multichunk_shuf_lz4_f64", np.repeat(np.arange(100, dtype=np.float64), 90),
     [tiledb.ByteShuffleFilter(), tiledb.LZ4Filter()]),
]


def schema_payload(path):
    """Decompressed body of a generic tile (the array schema)."""
    b = open(path, "rb").read()
    fp_size = struct.unpack_from("<I", b, 30)[0]
    at = 34 + fp_size
    nchunks = struct.unpack_from("<Q", b, at)[0]
    at += 8
    out = b""
    for _ in range(nchunks):
        orig, filt, meta = struct.unpack_from("<III", b, at)
        at += 12
        out += zlib.decompress(b[at + meta: at + meta + filt])
        at += meta + filt
    return out


def main():
    tmp = tempfile.mkdtemp()
    for name, vals, filters in CASES:
        uri = os.path.join(tmp, name)
        n = len(vals)
        dom = tiledb.Domain(tiledb.Dim(name="d", domain=(0, n - 1), tile=n, dtype=np.int32))
        attr = tiledb.Attr(name="a", dtype=vals.dtype, filters=tiledb.FilterList(filters))
        tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, attrs=[attr], sparse=False))
        with tiledb.open(uri, "w") as A:
            A[:] = vals
        frag = glob.glob(os.path.join(uri, "__fragments", "*"))[0]
        shutil.copy(os.path.join(frag, "a0.tdb"), os.path.join(HERE, name + ".tdb"))
        if not name.startswith("multichunk"):   # the C test regenerates these values
            vals.tofile(os.path.join(HERE, name + ".bin"))
        sch = [p for p in glob.glob(os.path.join(uri, "__schema", "*")) if os.path.isfile(p)][0]
        open(os.path.join(HERE, name + ".schema"), "wb").write(schema_payload(sch))
    var_case(tmp)
    shutil.rmtree(tmp)


def var_case(tmp):
    """Var-size strings over several chunks: checks TileDB's var chunking rule. Cell i is
    the first (i*7) % 60 characters of "abcabc..." (the C test regenerates them)."""
    uri = os.path.join(tmp, "var")
    n = 4000
    vals = np.array([("abc" * 20)[: (i * 7) % 60] for i in range(n)], dtype=object)
    dom = tiledb.Domain(tiledb.Dim(name="d", domain=(0, n - 1), tile=n, dtype=np.int32))
    attr = tiledb.Attr(name="a", dtype=str, var=True, filters=tiledb.FilterList([tiledb.ZstdFilter(level=1)]))
    sch = tiledb.ArraySchema(domain=dom, attrs=[attr], sparse=False,
                             offsets_filters=tiledb.FilterList([tiledb.ZstdFilter(level=2)]))
    tiledb.Array.create(uri, sch)
    with tiledb.open(uri, "w") as A:
        A[:] = vals
    frag = glob.glob(os.path.join(uri, "__fragments", "*"))[0]
    shutil.copy(os.path.join(frag, "a0.tdb"), os.path.join(HERE, "var_zstd.offsets.tdb"))
    shutil.copy(os.path.join(frag, "a0_var.tdb"), os.path.join(HERE, "var_zstd.tdb"))


if __name__ == "__main__":
    main()
