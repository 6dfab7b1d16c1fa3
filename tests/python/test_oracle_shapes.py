"""Oracle, both directions, for what the volume matrix does not reach: 1-D and 2-D arrays,
every integer dimension type with domains that do not start at 0 (negative for signed
types), and tiles much larger than one 64 KiB chunk (so tiles are split into chunks and
shuffles/codecs run per chunk)."""
import zlib

import numpy as np
import pytest

import radi_capi as rc
from oracle_util import (assert_same, box_shape, box_slices, filters_for, random_box,
                         tdb_config, tiledb_filters, tree_hash, unaligned_box, values,
                         wait_for_clock)

DIM_TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
DIM_CASES = [(dt, nd, ["float32", "int16", "uint8", "float64", "int64", "bool"][i % 6])
             for i, (dt, nd) in enumerate((d, n) for d in DIM_TYPES for n in (1, 2))]


def tdb_create(uri, dims, dtype, spec, order="row-major"):
    """dims: [(name, dim dtype, lo, hi, extent)]."""
    import tiledb
    d = [tiledb.Dim(n, (lo, hi), ext, dtype=np.dtype(t)) for n, t, lo, hi, ext in dims]
    tiledb.Array.create(uri, tiledb.ArraySchema(
        domain=tiledb.Domain(*d), sparse=False, tile_order=order, cell_order=order,
        attrs=[tiledb.Attr("voxels", dtype=np.dtype(dtype), filters=tiledb_filters(spec))]))


def tdb_write_box(T, box, data):
    """Writes data into the inclusive coordinate box (TileDB-Py's [] treats negative
    numbers as Python indices, so coordinates go through a Subarray)."""
    import tiledb
    sub = tiledb.Subarray(T)
    sub.add_ranges([[(lo, hi)] for lo, hi in box])
    T[sub] = data


def tdb_read_box(T, box):
    return T.multi_index[tuple(slice(lo, hi) for lo, hi in box)]["voxels"]


def shifted(box, org):
    return [(lo + o, hi + o) for (lo, hi), o in zip(box, org)]


@pytest.mark.parametrize("dim_type,ndim,dtype", DIM_CASES,
                         ids=[f"{d}-{n}d-{a}" for d, n, a in DIM_CASES])
def test_dimension_types(dim_type, ndim, dtype, capi, oracle, tmp_path):
    tiledb = oracle
    rng = np.random.default_rng(zlib.crc32(f"{dim_type}{ndim}{dtype}".encode()))
    signed = np.dtype(dim_type).kind == "i"
    shape = (37,) if ndim == 1 else (29, 21)
    exts = (8,) if ndim == 1 else (6, 5)
    org = [(-13 if signed else 3)] * ndim
    dims = [(n, dim_type, o, o + s - 1, e) for n, s, e, o in zip("xy", shape, exts, org)]
    spec = filters_for("zstd", "byte")
    ours, theirs = str(tmp_path / "ours"), str(tmp_path / "theirs")
    capi.create_dense(ours, dims, [("voxels", np.dtype(dtype), spec, None)])
    tdb_create(theirs, dims, dtype, spec)
    writes = [([(0, s - 1) for s in shape], None), (unaligned_box(rng, shape), None),
              (unaligned_box(rng, shape, 0), None)]
    writes = [(b, values(rng, dtype, box_shape(b))) for b, _ in writes]
    expect = np.empty(shape, dtype=dtype)
    for box, v in writes:
        expect[box_slices(box)] = v  # the first write covers everything
    with capi.open(ours) as a:
        for box, v in writes:
            a.write(shifted(box, org), {"voxels": v})
    for box, v in writes:
        with tiledb.open(theirs, "w") as T:
            tdb_write_box(T, shifted(box, org), v)
    wait_for_clock(ours)
    with tiledb.open(ours) as A, tiledb.open(theirs) as T:
        assert A.nonempty_domain() == T.nonempty_domain()
        dom = [(o, o + s - 1) for o, s in zip(org, shape)]
        got = tdb_read_box(A, dom)
        assert_same(got, tdb_read_box(T, dom), "TileDB reads radi")
        assert_same(got, expect, "TileDB reads radi, vs numpy")
        assert [d.dtype for d in A.schema.domain] == [np.dtype(dim_type)] * ndim
    before = tree_hash(theirs)
    with capi.open(theirs) as a, tiledb.open(theirs) as T:
        assert a.nonempty_domain() == [tuple(map(int, r)) for r in T.nonempty_domain()]
        assert_same(a.read()["voxels"], tdb_read_box(T, dom), "radi reads TileDB")
        for _ in range(4):
            box = random_box(rng, dom)
            assert_same(a.read(box)["voxels"], tdb_read_box(T, box), f"box {box}")
    assert tree_hash(theirs) == before
    # consolidation by radi keeps every answer
    capi.consolidate(ours)
    capi.vacuum(ours)
    wait_for_clock(ours)
    with tiledb.open(ours) as A, tiledb.open(theirs) as T:
        assert_same(tdb_read_box(A, dom), tdb_read_box(T, dom), "after radi consolidation")


CHUNK_CASES = [(c, s) for c in ("zstd", "lz4", "gzip", "none") for s in ("none", "byte", "bit")]


@pytest.mark.parametrize("codec,shuffle", CHUNK_CASES, ids=[f"{c}-{s}" for c, s in CHUNK_CASES])
def test_multi_chunk_tiles(codec, shuffle, capi, oracle, tmp_path):
    """Tiles of 1.3 MB (about 20 chunks each), written by radi and by TileDB-Py, each read
    by the other; the last tile of each axis is partial."""
    tiledb = oracle
    rng = np.random.default_rng(zlib.crc32(f"{codec}{shuffle}".encode()))
    shape, ext = (70, 66, 40), (64, 64, 40)
    dims = [(n, "int32", 0, s - 1, e) for n, s, e in zip("xyz", shape, ext)]
    spec = filters_for(codec, shuffle)
    data = values(rng, np.float64, shape)
    data[:, :, :20] = np.round(data[:, :, :20])  # compressible half
    ours, theirs = str(tmp_path / "ours"), str(tmp_path / "theirs")
    capi.create_dense(ours, dims, [("voxels", np.float64, spec, None)])
    tdb_create(theirs, dims, np.float64, spec)
    full = [(0, s - 1) for s in shape]
    with capi.open(ours) as a:
        a.write(full, {"voxels": data})
    with tiledb.open(theirs, "w") as T:
        T[:] = data
    # a partial overwrite crossing tile and chunk boundaries, both ways
    box = [(3, 68), (60, 65), (1, 38)]
    patch = values(rng, np.float64, box_shape(box))
    with capi.open(ours) as a:
        a.write(box, {"voxels": patch})
    with tiledb.open(theirs, "w") as T:
        T[box_slices(box)] = patch
    want = data.copy()
    want[box_slices(box)] = patch
    wait_for_clock(ours)
    with tiledb.open(ours) as A:
        assert_same(A[:]["voxels"], want, "TileDB reads radi")
        agg = A.query().agg({"voxels": ["sum", "min", "max"]})[:]
        assert np.isclose(agg["sum"], want.sum(), rtol=1e-9)
        assert agg["min"] == want.min() and agg["max"] == want.max()
    with capi.open(theirs) as a:
        assert_same(a.read()["voxels"], want, "radi reads TileDB")
        roi = [(5, 68), (2, 65), (0, 39)]
        assert_same(a.read(roi)["voxels"], want[box_slices(roi)], "radi reads TileDB, region")
    tiledb.consolidate(theirs, config=tdb_config())
    with capi.open(theirs) as a:
        assert_same(a.read()["voxels"], want, "radi reads TileDB's consolidated fragment")
