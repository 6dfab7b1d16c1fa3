"""Oracle, direction (b): what TileDB-Py 0.36.1 writes (including its consolidations,
vacuums, fill values and timestamps), radi reads equal to TileDB-Py's own answer.

For every case radi reads the whole array and random subarrays (row-major, and one in
col-major), and its non-empty domain, fragment list and metadata are compared with
TileDB-Py's. Every radi read is wrapped in a hash of the array's directory tree: reading
never modifies the array. The matrix is pairwise over dtype × 3-D/4-D × tiling × codec ×
shuffle × cell/tile order × scenario.
"""
import zlib

import numpy as np
import pytest

import radi_capi as rc
from oracle_util import (DTYPES, SHAPE, assert_same, box_shape, box_slices, case_id,
                         extents, filters_for, pairwise, random_box, tiledb_create, tree_hash,
                         tdb_config, unaligned_box, values, wait_for_clock)

ORDERS = {"RR": ("row-major", "row-major"), "CC": ("col-major", "col-major"),
          "RC": ("row-major", "col-major"), "CR": ("col-major", "row-major")}

FACTORS = {
    "dtype": DTYPES,
    "ndim": [3, 4],
    "tiling": ["axial", "sagittal", "coronal", "isotropic", "custom"],
    "codec": ["zstd", "lz4", "gzip", "none"],
    "shuffle": ["none", "byte", "bit"],
    "order": list(ORDERS),
    "scenario": ["full", "partial_fill", "overlap", "consolidate", "consolidate_vacuum",
                 "fragment_meta", "commits", "array_meta", "timetravel"],
}
CASES = pairwise(FACTORS, seed=3) + pairwise(FACTORS, seed=13)

META = {"tile_orientation": "sagittal", "count": -5, "scale": 0.125, "note": "ü ✓",
        "shape": (240, 240, 155), "spacing": (0.5, 0.5, 1.25)}


def custom_fill(dt):
    return {"b": True, "f": -1.5}.get(dt.kind, 7)


def tdb_write(tiledb, uri, box, v, timestamp=None):
    kw = {} if timestamp is None else {"timestamp": timestamp}
    with tiledb.open(uri, "w", **kw) as T:
        T[box_slices(box)] = v


def build(case, tiledb, uri, rng):
    """Creates and writes the array (data and metadata, with TileDB-Py) as the scenario
    says, including its consolidation and vacuum."""
    shape = SHAPE[case["ndim"]]
    dt = np.dtype(case["dtype"])
    sc = case["scenario"]
    fill = custom_fill(dt) if sc == "partial_fill" else None
    tiledb_create(uri, shape, extents(case["tiling"], shape), dt,
                  filters_for(case["codec"], case["shuffle"]), fill=fill,
                  order=ORDERS[case["order"]])
    full = [(0, s - 1) for s in shape]
    if sc == "full":
        boxes = [full]
    elif sc == "partial_fill":
        boxes = [unaligned_box(rng, shape)]
    else:
        boxes = [full, unaligned_box(rng, shape), unaligned_box(rng, shape, 0)]
    stamps = [10, 20, 30] if sc == "timetravel" else [None] * len(boxes)
    for box, ts in zip(boxes, stamps):
        tdb_write(tiledb, uri, box, values(rng, dt, box_shape(box)), ts)
    with tiledb.open(uri, "w", **({"timestamp": 20} if sc == "timetravel" else {})) as T:
        for k, v in META.items():
            T.meta[k] = v
    # a second metadata write: a deletion and an overwrite (newest wins, per key)
    with tiledb.open(uri, "w", **({"timestamp": 30} if sc == "timetravel" else {})) as T:
        del T.meta["count"]
        T.meta["scale"] = 0.25
    if sc in ("consolidate", "consolidate_vacuum"):
        tiledb.consolidate(uri, config=tdb_config())
        if sc == "consolidate_vacuum":
            tiledb.vacuum(uri)
    elif sc in ("fragment_meta", "commits", "array_meta"):
        cfg = tdb_config(**{"sm.consolidation.mode": sc, "sm.vacuum.mode": sc})
        tiledb.consolidate(uri, config=cfg)
        if sc in ("commits", "array_meta"):
            tiledb.vacuum(uri, config=cfg)


def windows(case):
    """(radi t_start, t_end, TileDB-Py timestamp=) to compare at."""
    if case["scenario"] == "timetravel":
        return [(0, 20, 20), (15, 30, (15, 30)), (0, 10, 10), (0, 0, None)]
    return [(0, 0, None)]


def tdb_open(tiledb, uri, ts):
    return tiledb.open(uri) if ts is None else tiledb.open(uri, timestamp=ts)


def compare(capi, tiledb, uri, rng, t0, t1, ts):
    with tdb_open(tiledb, uri, ts) as T, capi.open(uri, t0, t1) as a:
        dom = a.domain()
        assert dom == [tuple(int(v) for v in d.domain) for d in T.schema.domain]
        ned = a.nonempty_domain()
        tned = T.nonempty_domain()
        assert (ned is None and tned is None) or tuple(map(tuple, ned)) == tned, (ned, tned)
        if ts is None:
            assert len(a.fragments()) == len(tiledb.array_fragments(uri)), "fragment count"
        fill = T.schema.attr(0).fill
        assert_same(np.asarray(a.attrs[0]["fill"]).reshape(1), np.asarray(fill).reshape(1)[:1],
                    "fill value")
        assert_same(a.read()["voxels"], T[:]["voxels"], f"whole array @{ts}")
        for _ in range(5):
            box = random_box(rng, dom)
            assert_same(a.read(box)["voxels"], T[box_slices(box)]["voxels"], f"box {box} @{ts}")
        box = random_box(rng, dom)
        assert_same(a.read(box, layout=rc.COL)["voxels"], T[box_slices(box)]["voxels"],
                    f"col-major box {box}")
        # one cell, and one full plane of each orientation
        cell = [(int(v), int(v)) for v in (rng.integers(lo, hi + 1) for lo, hi in dom)]
        assert_same(a.read(cell)["voxels"], T[box_slices(cell)]["voxels"], "one cell")
        for axis in range(3):
            plane = list(dom)
            k = int(rng.integers(dom[axis][0], dom[axis][1] + 1))
            plane[axis] = (k, k)
            assert_same(a.read(plane)["voxels"], T[box_slices(plane)]["voxels"],
                        f"plane axis {axis}")
        got_meta = a.meta.items()
        want_meta = dict(T.meta.items())
        assert set(got_meta) == set(want_meta)
        for k, v in want_meta.items():
            g = got_meta[k]
            if isinstance(v, str):
                assert g == v, k
            else:
                assert tuple(np.atleast_1d(g).tolist()) == (v if isinstance(v, tuple) else (v,)), k


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_tiledb_writes_radi_reads(case, oracle, tmp_path):
    tiledb = oracle
    capi = rc.Ctx(concurrency=2)
    rng = np.random.default_rng(zlib.crc32(case_id(case).encode()))
    uri = str(tmp_path / "arr")
    build(case, tiledb, uri, rng)
    before = tree_hash(uri)
    for t0, t1, ts in windows(case):
        compare(capi, tiledb, uri, rng, t0, t1, ts)
    assert tree_hash(uri) == before, "a radi read modified the array"


# Filters TileDB uses for coordinates and offsets, and that users may pick for integer
# volumes: radi must read all of them.
EXTRA = [
    ("int32", ["delta", ("zstd", 3)]),
    ("int16", ["double_delta"]),
    ("uint16", ["positive_delta", ("lz4", -1)]),
    ("uint8", ["rle"]),
    ("int64", ["double_delta", "bitshuffle", ("gzip", 9)]),
    ("uint32", ["delta", "byteshuffle", ("zstd", 19)]),
    ("float32", ["byteshuffle", ("zstd", -1)]),
]


@pytest.mark.parametrize("dtype,spec", EXTRA, ids=[f"{d}-{len(s)}" for d, s in EXTRA])
def test_tiledb_filters_radi_reads(dtype, spec, capi, oracle, tmp_path):
    tiledb = oracle
    rng = np.random.default_rng(5)
    shape = (32, 17, 9) if "positive_delta" in spec else (31, 17, 9)  # no padding: it breaks monotony
    uri = str(tmp_path / "arr")
    tiledb_create(uri, shape, (8, 17, 3), np.dtype(dtype), spec)
    # smooth data (what delta filters are for) with a long constant run (what RLE is for)
    v = np.cumsum(rng.integers(0, 3, size=shape), axis=2).astype(dtype)
    v[:10] = 4
    if "positive_delta" in spec:  # needs non-decreasing values in cell order
        v = (np.arange(v.size) // 3).reshape(shape).astype(dtype)
    tdb_write(tiledb, uri, [(0, s - 1) for s in shape], v)
    before = tree_hash(uri)
    with capi.open(uri) as a:
        assert_same(a.read()["voxels"], v, "whole array")
        box = unaligned_box(rng, shape)
        assert_same(a.read(box)["voxels"], v[box_slices(box)], f"box {box}")
    assert tree_hash(uri) == before


@pytest.mark.parametrize("concurrency", [1, 3])
def test_memory_budget_batches(concurrency, oracle, tmp_path):
    """A read bigger than the memory budget proceeds in batches and gives the same values."""
    tiledb = oracle
    shape, ext = (128, 96, 64), (32, 32, 32)       # 6 MiB of float32 in 128 KiB tiles
    uri = str(tmp_path / "big")
    tiledb_create(uri, shape, ext, np.float32, [("zstd", 1)])
    rng = np.random.default_rng(9)
    v = values(rng, np.float32, shape)
    tdb_write(tiledb, uri, [(0, s - 1) for s in shape], v)
    tdb_write(tiledb, uri, [(5, 70), (3, 90), (10, 40)], values(rng, np.float32, (66, 88, 31)))
    with tiledb.open(uri) as T:
        want = T[:]["voxels"]
    small = rc.Ctx(concurrency=concurrency, memory_budget=1 << 20)
    with small.open(uri) as a:
        stats = rc.ReadStats()
        assert_same(a.read(stats=stats)["voxels"], want, "whole array, 1 MiB budget")
        assert stats.batches > 1, "a 6 MiB read under a 1 MiB budget must take several batches"
        assert stats.tiles_read > 0 and stats.bytes_read > 0
        box = [(17, 100), (1, 95), (30, 33)]
        assert_same(a.read(box)["voxels"], want[box_slices(box)], "box, 1 MiB budget")
    small.close()


def test_tiledb_groups_radi_reads(capi, oracle, tmp_path):
    tiledb = oracle
    root, outer = str(tmp_path / "root"), str(tmp_path / "outer")
    tiledb.Group.create(root)
    tiledb_create(root + "/vol", (4, 4, 4), (2, 2, 2), np.int16, [])
    tiledb_create(outer, (4, 4, 4), (2, 2, 2), np.int16, [])
    tiledb.Group.create(root + "/sub")
    with tiledb.Group(root, "w") as G:
        G.add("vol", name="vol", relative=True)
        G.add(outer, name="outer")
        G.add("sub", name="sub", relative=True)
        G.meta["subject_count"] = 2
        G.meta["name"] = "study ✓"
        G.meta["spacing"] = (0.5, 1.25)
    before = tree_hash(root)
    assert capi.object_type(root) == rc.OBJECT_GROUP
    assert capi.object_type(root + "/vol") == rc.OBJECT_ARRAY
    assert capi.object_type(str(tmp_path / "nothing")) == rc.OBJECT_INVALID
    with capi.group(root) as g:
        members = {m["name"]: m for m in g.members()}
        assert set(members) == {"vol", "outer", "sub"}
        assert members["vol"]["relative"] and members["sub"]["relative"]
        assert not members["outer"]["relative"]
        assert members["vol"]["type"] == rc.OBJECT_ARRAY
        assert members["sub"]["type"] == rc.OBJECT_GROUP
        assert members["vol"]["resolved_uri"].rstrip("/").endswith("root/vol")
        assert members["outer"]["resolved_uri"].rstrip("/").endswith("outer")
        meta = g.meta.items()
        assert meta["name"] == "study ✓"
        assert meta["subject_count"].tolist() == [2]
        assert meta["spacing"].tolist() == [0.5, 1.25]
    assert tree_hash(root) == before


def test_schema_evolution(capi, oracle, tmp_path):
    """An attribute added by TileDB-Py's schema evolution: radi reads the old fragments
    with the new attribute's fill value, writes both attributes, and at a timestamp before
    the evolution sees the old schema."""
    tiledb = oracle
    uri = str(tmp_path / "evo")
    dom = tiledb.Domain(*[tiledb.Dim(n, (0, 9), 5, dtype=np.int32) for n in "xyz"])
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, attrs=[
        tiledb.Attr("voxels", dtype=np.float32, filters=tiledb.FilterList([tiledb.ZstdFilter(3)]))]))
    rng = np.random.default_rng(11)
    with tiledb.open(uri, "w", timestamp=1000) as T:
        T[:] = values(rng, np.float32, (10, 10, 10))
    se = tiledb.ArraySchemaEvolution()
    se.add_attribute(tiledb.Attr("mask", dtype=np.uint8, fill=9))
    se.array_evolve(uri)  # stamped "now", after 1000
    with tiledb.open(uri, "w") as T:
        T[2:5, 2:5, 2:5] = {"voxels": np.zeros((3, 3, 3), np.float32),
                            "mask": np.ones((3, 3, 3), np.uint8)}
    before = tree_hash(uri)
    with tiledb.open(uri) as T, capi.open(uri) as a:
        assert [x["name"] for x in a.attrs] == ["voxels", "mask"]
        got, want = a.read(), T[:]
        for k in ("voxels", "mask"):
            assert_same(got[k], want[k], k)
    with tiledb.open(uri, timestamp=1000) as T, capi.open(uri, 0, 1000) as a:
        assert [x["name"] for x in a.attrs] == ["voxels"]
        assert_same(a.read()["voxels"], T[:]["voxels"], "before the evolution")
    assert tree_hash(uri) == before
    with capi.open(uri) as a:
        a.write([(6, 9), (0, 3), (5, 5)], {"voxels": np.full((4, 4, 1), 2.5, np.float32),
                                            "mask": np.full((4, 4, 1), 3, np.uint8)})
    wait_for_clock(uri)
    with tiledb.open(uri) as T, capi.open(uri) as a:
        got, want = a.read(), T[:]
        for k in ("voxels", "mask"):
            assert_same(got[k], want[k], f"{k} after a radi write")
        assert (want["mask"][6:10, 0:4, 5] == 3).all()
