"""Golden dense arrays for tests/c/test_dense_read.c, written by TileDB-Py 0.36.1.

Run: /work/main/.venv/bin/python tests/c/data/dense/make_golden.py
Each array <name>/ comes with <name>.<attr>.bin: TileDB-Py's read of the whole domain, C order,
raw little-endian (fill values where nothing was written), and <name>.<attr>.valid.bin for
nullable attributes. manifest.txt lists, per array: its name; the domain; TileDB-Py's non-empty
domain; the number of visible fragments; then one line per attribute: name and nullable (0/1).
Timestamps are fixed so fragment order does not depend on the clock.
"""
import os
import shutil

import numpy as np
import tiledb

HERE = os.path.dirname(os.path.abspath(__file__))


def filt(kind):
    if kind == "zstd":
        return tiledb.FilterList([tiledb.ZstdFilter(level=3)])
    if kind == "lz4shuf":
        return tiledb.FilterList([tiledb.ByteShuffleFilter(), tiledb.LZ4Filter()])
    if kind == "gzip":
        return tiledb.FilterList([tiledb.GzipFilter(level=6)])
    if kind == "bitshuf_zstd":
        return tiledb.FilterList([tiledb.BitShuffleFilter(), tiledb.ZstdFilter(level=1)])
    if kind == "small_chunks":
        return tiledb.FilterList([tiledb.ZstdFilter(level=1)], chunksize=64)
    return tiledb.FilterList([])


def make(name, dims, attrs, cell_order, tile_order, writes, consolidate=None, evolve=None):
    """dims: [(name, np dtype, lo, hi, extent)]; attrs: [(name, dtype, filters, fill, nullable)];
    writes: [(timestamp, [slices], seed)]."""
    uri = os.path.join(HERE, name)
    if os.path.exists(uri):
        shutil.rmtree(uri)
    dom = tiledb.Domain(*[tiledb.Dim(name=n, domain=(lo, hi), tile=ext, dtype=dt)
                          for (n, dt, lo, hi, ext) in dims])
    tattrs = []
    for (an, adt, af, fill, nullable) in attrs:
        kw = {}
        if fill is not None:
            kw["fill"] = fill
        tattrs.append(tiledb.Attr(name=an, dtype=adt, filters=filt(af), nullable=nullable, **kw))
    schema = tiledb.ArraySchema(domain=dom, attrs=tattrs, sparse=False, cell_order=cell_order,
                                tile_order=tile_order)
    tiledb.Array.create(uri, schema)
    for wi, (ts, box, seed) in enumerate(writes):
        if evolve and wi == evolve[0]:
            # Schema evolution: a new attribute; older fragments lack it (fill values).
            (an, adt, af, fill, nullable) = evolve[1]
            se = tiledb.ArraySchemaEvolution()
            se.add_attribute(tiledb.Attr(name=an, dtype=adt, filters=filt(af), fill=fill))
            se.array_evolve(uri)
            attrs = attrs + [evolve[1]]
        rng = np.random.default_rng(seed)
        shape = tuple(hi - lo + 1 for (lo, hi) in box)
        data = {}
        for (an, adt, af, fill, nullable) in attrs:
            dt = np.dtype(adt)
            if dt == np.bool_:
                v = rng.integers(0, 2, size=shape).astype(np.bool_)
            elif dt.kind == "f":
                v = (rng.standard_normal(size=shape) * 100).astype(dt)
            else:
                info = np.iinfo(dt)
                v = rng.integers(max(info.min, -10000), min(info.max, 10000), size=shape,
                                 endpoint=True).astype(dt)
            if nullable:
                mask = rng.integers(0, 4, size=shape) == 0
                v = np.ma.masked_array(v, mask=mask)
            data[an] = v
        with tiledb.open(uri, "w", timestamp=ts) as A:
            A[tuple(slice(lo, hi + 1) for (lo, hi) in box)] = data
    if consolidate:
        for mode in consolidate:
            cfg = tiledb.Config({"sm.consolidation.mode": mode,
                                 "sm.consolidation.amplification": "1000"})
            tiledb.consolidate(uri, config=cfg)
    # The oracle: TileDB-Py's own read of the whole domain.
    with tiledb.open(uri) as A:
        full = A[tuple(slice(lo, hi + 1) for (_, _, lo, hi, _) in dims)]
        ned = A.nonempty_domain() or [(0, -1)] * len(dims)
    nfrag = len(tiledb.array_fragments(uri))
    lines = [name, " ".join("%d %d" % (lo, hi) for (_, _, lo, hi, _) in dims),
             " ".join("%d %d" % (int(lo), int(hi)) for (lo, hi) in ned), "%d" % nfrag]
    for (an, adt, af, fill, nullable) in attrs:
        v = full[an]
        if nullable:
            valid = (~np.ma.getmaskarray(v)).astype(np.uint8)
            raw = np.ma.getdata(v)
            np.ascontiguousarray(valid).tofile(os.path.join(HERE, "%s.%s.valid.bin" % (name, an)))
        else:
            raw = np.asarray(v)
        np.ascontiguousarray(raw).astype(np.dtype(adt).newbyteorder("<")).tofile(
            os.path.join(HERE, "%s.%s.bin" % (name, an)))
        lines.append("%s %d" % (an, 1 if nullable else 0))
    return "\n".join(lines)


def main():
    manifest = []
    # 2-D int16, tiles not aligned to the domain end, three overlapping fragments.
    manifest.append(make(
        "d2_i16", [("x", np.int32, 0, 19, 8), ("y", np.int32, 0, 29, 7)],
        [("a", np.int16, "zstd", None, False)], "row-major", "row-major",
        [(1000, [(0, 19), (0, 29)], 1), (2000, [(3, 10), (5, 20)], 2),
         (3000, [(8, 15), (0, 12)], 3)]))
    # 3-D float32, col-major tiles and cells, holes (custom fill), shuffle + LZ4.
    manifest.append(make(
        "d3_f32_col", [("x", np.int32, 0, 15, 4), ("y", np.int32, 0, 15, 8), ("z", np.int32, 0, 9, 3)],
        [("v", np.float32, "lz4shuf", -1.5, False)], "col-major", "col-major",
        [(1000, [(1, 9), (2, 13), (0, 4)], 4), (2000, [(5, 15), (0, 6), (3, 9)], 5)]))
    # 4-D uint8 with GZIP, row tiles and col cells, a domain not starting at 0.
    manifest.append(make(
        "d4_u8", [("x", np.int64, 3, 10, 2), ("y", np.int64, 10, 15, 3), ("z", np.int64, 0, 4, 2),
                  ("t", np.int64, 0, 2, 2)],
        [("v", np.uint8, "gzip", None, False)], "col-major", "row-major",
        [(1000, [(3, 8), (10, 15), (0, 3), (0, 2)], 6), (2000, [(6, 10), (11, 13), (2, 4), (1, 1)], 7)]))
    # Every fixed type, one nullable attribute, bit-shuffle, small chunks.
    manifest.append(make(
        "d3_types", [("x", np.uint16, 0, 11, 5), ("y", np.uint16, 0, 7, 4), ("z", np.uint16, 0, 5, 6)],
        [("i8", np.int8, "zstd", None, False), ("u16", np.uint16, "bitshuf_zstd", None, False),
         ("i32", np.int32, "small_chunks", 7, False), ("u32", np.uint32, "none", None, False),
         ("i64", np.int64, "zstd", None, False), ("u64", np.uint64, "lz4shuf", None, False),
         ("f64", np.float64, "gzip", None, False), ("b", np.bool_, "zstd", None, False),
         ("n8", np.uint8, "zstd", None, True)], "row-major", "row-major",
        [(1000, [(0, 11), (0, 7), (0, 3)], 8), (2000, [(2, 9), (1, 6), (2, 5)], 9)]))
    # Axial-like tiles (whole x,y plane, one z per tile): the transposing scatter.
    manifest.append(make(
        "axial_f32", [("x", np.int32, 0, 11, 12), ("y", np.int32, 0, 9, 10), ("z", np.int32, 0, 29, 1)],
        [("voxels", np.float32, "zstd", None, False)], "row-major", "row-major",
        [(1000, [(0, 11), (0, 9), (0, 29)], 10), (2000, [(5, 10), (3, 8), (7, 20)], 11)]))
    # The same as d2_i16, consolidated (fragments, then fragment metadata) without vacuum.
    manifest.append(make(
        "d2_i16_cons", [("x", np.int32, 0, 19, 8), ("y", np.int32, 0, 29, 7)],
        [("a", np.int16, "zstd", None, False)], "row-major", "row-major",
        [(1000, [(0, 19), (0, 29)], 1), (2000, [(3, 10), (5, 20)], 2),
         (3000, [(8, 15), (0, 12)], 3), (4000, [(1, 2), (25, 29)], 12)],
        consolidate=["fragment_meta"]))
    manifest.append(make(
        "d3_frag_cons", [("x", np.int32, 0, 15, 4), ("y", np.int32, 0, 15, 8), ("z", np.int32, 0, 9, 3)],
        [("v", np.float32, "zstd", -1.5, False)], "row-major", "col-major",
        [(1000, [(1, 9), (2, 13), (0, 4)], 4), (2000, [(5, 15), (0, 6), (3, 9)], 5),
         (3000, [(0, 3), (0, 3), (8, 9)], 13)],
        consolidate=["fragments", "fragment_meta"]))
    # Schema evolution: attribute "b" added after the first write.
    manifest.append(make(
        "d2_evolved", [("x", np.int32, 0, 9, 4), ("y", np.int32, 0, 11, 5)],
        [("a", np.int32, "zstd", None, False)], "row-major", "row-major",
        [(1000, [(0, 9), (0, 11)], 14), (2000, [(2, 6), (3, 8)], 15)],
        evolve=(1, ("b", np.float64, "lz4shuf", 2.5, False))))
    # No fragment at all: every cell is the fill value.
    manifest.append(make(
        "empty", [("x", np.int32, 0, 9, 4), ("y", np.int32, 0, 11, 5)],
        [("a", np.int32, "zstd", 42, False), ("n", np.uint16, "none", None, True)], "row-major", "row-major",
        []))
    with open(os.path.join(HERE, "manifest.txt"), "w") as f:
        f.write("\n\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
