"""Oracle, direction (a): what radi writes, TileDB-Py 0.36.1 reads equal to numpy.

Each case is run twice side by side: radi writes array `ours`, TileDB-Py performs the same
writes (and the same consolidation/vacuum) on a twin array with the same schema. TileDB-Py
must then read `ours` equal to numpy (values, fill of unwritten cells, `.meta`,
`nonempty_domain()`, sum/min/max/count aggregates over written cells) and equal to its own
answers on the twin wherever the format leaves a choice (non-empty domain and fragment count
after consolidation). The matrix is pairwise over dtype × 3-D/4-D × tiling × codec × shuffle
× write pattern × consolidation × format version × tile/cell order × buffer layout × fill
value, so every pair of factor values is covered (twice: two independent covering arrays).
"""
import zlib

import numpy as np
import pytest

import radi_capi as rc
from oracle_util import (DTYPES, SHAPE, assert_same, box_shape, box_slices, case_id,
                         extents, filters_for, pairwise, random_box, tiledb_create,
                         tdb_config, tree_hash, unaligned_box, values, wait_for_clock)

FACTORS = {
    "dtype": DTYPES,
    "ndim": [3, 4],
    "tiling": ["axial", "sagittal", "coronal", "isotropic", "custom"],
    "codec": ["zstd", "lz4", "gzip", "none"],
    "shuffle": ["none", "byte", "bit"],
    "pattern": ["full", "partial", "overlap"],
    "post": ["none", "consolidate", "consolidate_vacuum", "meta_commits"],
    "format": [21, 20, 22],
    "order": ["RR", "CC", "RC", "CR"],       # tile order, cell order (row/col-major)
    "layout": ["row", "col"],                # order of the cells in radi's write buffers
    "fill": ["default", "custom"],           # the attribute's fill value
}
ORDERS = {"RR": (rc.ROW, rc.ROW), "CC": (rc.COL, rc.COL), "RC": (rc.ROW, rc.COL),
          "CR": (rc.COL, rc.ROW)}
TDB_ORDER = {rc.ROW: "row-major", rc.COL: "col-major"}
# Two independent covering arrays: each pair of values is met at least twice, in
# different company.
CASES = pairwise(FACTORS, seed=2) + pairwise(FACTORS, seed=12)

META = {"tile_orientation": "axial", "count": 42, "pi": 3.25,
        "spacing": (1.0, 1.0, 2.5), "ids": (7, -3, 11), "note": "naïve ünïcode ✓"}


def tdb_meta_put(meta, d):
    for k, v in d.items():
        meta[k] = v


def radi_meta_put(meta, d):
    for k, v in d.items():
        if isinstance(v, tuple):
            v = np.array(v, dtype=np.float64 if isinstance(v[0], float) else np.int64)
        elif isinstance(v, float):
            v = np.float64(v)
        elif isinstance(v, int):
            v = np.int64(v)
        meta.put(k, v)


def plan_writes(rng, case, shape):
    """[(box, data)] in write order, and the expected array with a written mask."""
    dt = np.dtype(case["dtype"])
    full = [(0, s - 1) for s in shape]
    boxes = {"full": [full],
             "partial": [unaligned_box(rng, shape)],
             "overlap": [full, unaligned_box(rng, shape), unaligned_box(rng, shape, 0)]}[
        case["pattern"]]
    writes = [(b, values(rng, dt, box_shape(b))) for b in boxes]
    expect = np.zeros(shape, dtype=dt)
    written = np.zeros(shape, dtype=bool)
    for b, v in writes:
        expect[box_slices(b)] = v
        written[box_slices(b)] = True
    return writes, expect, written


def post_ops(case, capi, tiledb, ours, twin):
    post = case["post"]
    if post in ("consolidate", "consolidate_vacuum"):
        capi.consolidate(ours, "fragments")
        tiledb.consolidate(twin, config=tdb_config())
        if post == "consolidate_vacuum":
            capi.vacuum(ours, "fragments")
            tiledb.vacuum(twin)
    elif post == "meta_commits":
        for mode in ("fragment_meta", "commits", "array_meta"):
            capi.consolidate(ours, mode)
            cfg = tdb_config(**{"sm.consolidation.mode": mode, "sm.vacuum.mode": mode})
            tiledb.consolidate(twin, config=cfg)
        for mode in ("commits", "array_meta"):
            capi.vacuum(ours, mode)
            tiledb.vacuum(twin, config=tiledb.Config({"sm.vacuum.mode": mode}))


def agg_ops(A, box):
    q = A.query().agg({"voxels": ["sum", "min", "max", "count"]})
    return q[box_slices(box)]


def numpy_agg(expect, written, box):
    sl = box_slices(box)
    w = expect[sl][written[sl]]
    dt = expect.dtype
    if dt.kind == "f":
        s = float(w.astype(np.float64).sum())
    elif dt.kind == "u":
        s = int(w.astype(np.uint64).sum())
    else:
        s = int(w.astype(np.int64).sum())
    return {"sum": s, "min": w.min() if w.size else None, "max": w.max() if w.size else None,
            "count": int(np.prod(box_shape(box)))}  # TileDB counts every cell of a dense query


def check_agg(got, want, kind, what):
    for op, wv in want.items():
        if wv is None:
            continue
        gv = got[op]
        if kind == "f" and op in ("sum", "min", "max"):
            assert np.isclose(float(gv), float(wv), rtol=1e-9, atol=1e-6), \
                f"{what}: agg {op} {gv} != {wv}"
        else:
            assert int(gv) == int(wv), f"{what}: agg {op} {gv} != {wv}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_radi_writes_tiledb_reads(case, oracle, tmp_path):
    tiledb = oracle
    capi = rc.Ctx(concurrency=2, format_version=case["format"])
    rng = np.random.default_rng(zlib.crc32(case_id(case).encode()))
    shape = SHAPE[case["ndim"]]
    ext = extents(case["tiling"], shape)
    dt = np.dtype(case["dtype"])
    spec = filters_for(case["codec"], case["shuffle"])
    ours, twin = str(tmp_path / "ours"), str(tmp_path / "twin")
    names = "xyzt"[: len(shape)]
    tile_order, cell_order = ORDERS[case["order"]]
    fill = None if case["fill"] == "default" else {"b": True, "f": -0.5}.get(dt.kind, 3)
    capi.create_dense(ours, [(n, np.int32, 0, s - 1, e) for n, s, e in zip(names, shape, ext)],
                      [("voxels", dt, spec, fill)], tile_order, cell_order)
    tiledb_create(twin, shape, ext, dt, spec, fill=fill,
                  order=(TDB_ORDER[tile_order], TDB_ORDER[cell_order]))

    writes, expect, written = plan_writes(rng, case, shape)
    meta = dict(META, tile_orientation=case["tiling"])
    with capi.open(ours) as a:
        layout = rc.COL if case["layout"] == "col" else rc.ROW
        for box, v in writes:
            a.write(box, {"voxels": v}, layout=layout)
        radi_meta_put(a.meta, meta)
    for box, v in writes:
        with tiledb.open(twin, "w") as T:
            T[box_slices(box)] = v
    with tiledb.open(twin, "w") as T:
        tdb_meta_put(T.meta, meta)
    post_ops(case, capi, tiledb, ours, twin)
    wait_for_clock(ours)

    with tiledb.open(ours) as A, tiledb.open(twin) as T:
        # schema as TileDB sees it
        assert [d.name for d in A.schema.domain] == list(names)
        assert [d.tile for d in A.schema.domain] == list(ext)
        assert A.schema.attr(0).dtype == dt
        assert_same(np.asarray(A.schema.attr(0).fill), np.asarray(T.schema.attr(0).fill), "fill")
        assert (A.schema.tile_order, A.schema.cell_order) == (T.schema.tile_order,
                                                               T.schema.cell_order)
        assert [type(f).__name__ for f in A.schema.attr(0).filters] == \
            [type(f).__name__ for f in T.schema.attr(0).filters]
        # values, including fill where nothing was written
        got = A[:]["voxels"]
        assert_same(got[written], expect[written], "written cells")
        assert_same(got, T[:]["voxels"], "whole array vs TileDB twin")
        # metadata
        assert dict(A.meta.items()) == dict(T.meta.items())
        assert A.meta["tile_orientation"] == case["tiling"]
        assert A.meta["spacing"] == (1.0, 1.0, 2.5) and A.meta["count"] == 42
        # non-empty domain
        assert A.nonempty_domain() == T.nonempty_domain()
        if case["post"] == "none":
            want_ned = tuple((min(b[d][0] for b, _ in writes), max(b[d][1] for b, _ in writes))
                             for d in range(len(shape)))
            assert A.nonempty_domain() == want_ned
        # aggregates over the whole domain and an unaligned box
        if dt.kind != "b":  # TileDB has no sum/min/max over bool
            for box in ([(0, s - 1) for s in shape], random_box(rng, [(0, s - 1) for s in shape])):
                want = numpy_agg(expect, written, box)
                check_agg(agg_ops(A, box), want, dt.kind, f"ours {box}")
                check_agg(agg_ops(T, box), want, dt.kind, f"twin {box}")
    assert len(tiledb.array_fragments(ours)) == len(tiledb.array_fragments(twin))

    # radi reads what it wrote, too (after its own consolidation), changing nothing
    before = tree_hash(ours)
    with capi.open(ours) as a:
        got = a.read()["voxels"]
        assert_same(got[written], expect[written], "radi read-back")
        box = random_box(rng, a.domain())
        with tiledb.open(twin) as T:
            assert_same(a.read(box)["voxels"], T[box_slices(box)]["voxels"], f"radi box {box}")
    assert tree_hash(ours) == before, "a radi read modified the array"
    # the format version asked for is the one written
    with tiledb.open(ours) as A:
        assert A.schema.version == case["format"]
    for f in tiledb.array_fragments(ours):
        assert f.version == case["format"], f.uri


# -------------------------------------------------- the Python package's writer --

ORIENTS = ["AXIAL", "SAGITTAL", "CORONAL", "ISOTROPIC"]
CODECS = ["ZSTD", "LZ4", "GZIP", "NONE"]
VOL_CASES = [(o, c, DTYPES[(i * 4 + j) % len(DTYPES)], 3 + (i + j) % 2)
             for i, o in enumerate(ORIENTS) for j, c in enumerate(CODECS)]


@pytest.mark.parametrize("orient,codec,dtype,ndim", VOL_CASES,
                         ids=[f"{o}-{c}-{d}-{n}d" for o, c, d, n in VOL_CASES])
def test_volume_from_numpy_tiledb_reads(orient, codec, dtype, ndim, oracle, tmp_path):
    import radi
    tiledb = oracle
    shape = (70, 9, 66) if ndim == 3 else (13, 11, 7, 2)
    rng = np.random.default_rng(ndim * 31 + len(dtype))
    data = values(rng, dtype, shape)
    before = radi.get_config()
    try:
        radi.configure(tile=radi.TileConfig(orientation=getattr(radi.SliceOrientation, orient)),
                       compression=radi.CompressionConfig(
                           algorithm=getattr(radi.Compressor, codec),
                           level={"ZSTD": 3, "LZ4": 1, "GZIP": 6, "NONE": 0}[codec]))
        tc = radi.get_config().tile
        uri = str(tmp_path / "vol")
        vol = radi.Volume.from_numpy(uri, data)
        assert vol.shape == shape and vol.dtype == np.dtype(dtype)
        want_ext = tuple(min(int(e), s) for e, s in zip(tc.extents_for_shape(shape), shape))
    finally:
        radi.configure(tile=before.tile, compression=before.compression)
    wait_for_clock(uri)
    with tiledb.open(uri) as A:
        assert [d.name for d in A.schema.domain] == list("xyzt"[:ndim])
        assert all(d.dtype == np.int32 for d in A.schema.domain)
        assert [(int(d.domain[0]), int(d.domain[1])) for d in A.schema.domain] == \
            [(0, s - 1) for s in shape]
        assert tuple(int(d.tile) for d in A.schema.domain) == want_ext
        assert A.schema.attr(0).name == "voxels"
        names = [type(f).__name__ for f in A.schema.attr(0).filters]
        want = {"ZSTD": "ZstdFilter", "LZ4": "LZ4Filter", "GZIP": "GzipFilter", "NONE": None}[codec]
        assert (names == []) if want is None else (want in names)
        assert A.meta["tile_orientation"] == orient.lower()
        assert_same(A[:]["voxels"], data, "TileDB reads radi.Volume")
        assert A.nonempty_domain() == tuple((0, s - 1) for s in shape)
    vol = radi.Volume(uri)
    assert_same(vol.to_numpy(), data, "to_numpy")
    assert_same(vol.axial(shape[2] // 2), data[:, :, shape[2] // 2], "axial")
    assert_same(vol.sagittal(1), data[1], "sagittal")
    assert_same(vol.coronal(shape[1] - 1), data[:, shape[1] - 1], "coronal")
    assert_same(vol[2:9, 1:, 3:5], data[2:9, 1:, 3:5], "slicing")


# ------------------------------------------------------------------------ groups --

def test_radi_groups_tiledb_reads(capi, oracle, tmp_path):
    tiledb = oracle
    root = tmp_path / "root"
    capi.group_create(root)
    # a member array inside the group (relative), one outside (absolute), a subgroup
    inner, outer, sub = root / "vol", tmp_path / "elsewhere", root / "sub"
    for u in (inner, outer):
        capi.create_dense(u, [("x", np.int32, 0, 3, 2)], [("voxels", np.float32, [], None)])
    capi.group_create(sub)
    with capi.group(root) as g:
        g.add("vol", relative=True, name="vol")
        g.add(str(outer), relative=False, name="outer")
        g.add("sub", relative=True, name="sub")
        g.add(str(outer), relative=False, name="doomed")
        radi_meta_put(g.meta, {"subject_count": 3, "dataset": "BraTS-like", "ratio": 0.5,
                               "shape": (240, 240, 155)})
    with capi.group(root) as g:
        g.remove("doomed")
        g.meta.put("late", "added after reopening")
    with capi.group(root) as g:
        assert {m["name"] for m in g.members()} == {"vol", "outer", "sub"}

    wait_for_clock(root)
    assert tiledb.object_type(str(root)) == "group"
    with tiledb.Group(str(root)) as G:
        assert len(G) == 3
        members = {m.name: m for m in G}
        assert set(members) == {"vol", "outer", "sub"}
        assert members["vol"].type is tiledb.Array and members["sub"].type is tiledb.Group
        assert members["outer"].type is tiledb.Array
        assert G.is_relative("vol") and G.is_relative("sub") and not G.is_relative("outer")
        assert members["vol"].uri.rstrip("/").endswith("root/vol")
        assert members["outer"].uri.rstrip("/").endswith("elsewhere")
        assert G.meta["subject_count"] == 3 and G.meta["dataset"] == "BraTS-like"
        assert G.meta["ratio"] == 0.5 and G.meta["shape"] == (240, 240, 155)
        assert G.meta["late"] == "added after reopening"
    with tiledb.open(str(root / "vol")) as A:
        assert A.schema.attr(0).name == "voxels"


# ------------------------------------------------------------------- time travel --

def test_radi_timestamps_tiledb_time_travel(capi, oracle, tmp_path):
    """Fragments radi writes at explicit timestamps are what TileDB-Py's timestamp=
    (end, or a (start, end) window) shows, and radi's own open window agrees."""
    tiledb = oracle
    rng = np.random.default_rng(4)
    shape, ext = (20, 17, 9), (7, 17, 3)
    uri = str(tmp_path / "tt")
    capi.create_dense(uri, [(n, np.int32, 0, s - 1, e) for n, s, e in zip("xyz", shape, ext)],
                      [("voxels", np.int16, filters_for("zstd", "byte"), None)])
    full = [(0, s - 1) for s in shape]
    boxes = {100: full, 200: [(2, 15), (3, 16), (1, 7)], 300: [(0, 5), (0, 4), (4, 8)]}
    planned = {t: (b, values(rng, np.int16, box_shape(b))) for t, b in boxes.items()}
    with capi.open(uri) as a:
        for t, (b, v) in planned.items():
            a.write(b, {"voxels": v}, timestamp=t)
        assert [f["t1"] for f in a.fragments()] == [100, 200, 300]
    fill = np.iinfo(np.int16).min

    def expected(t0, t1):
        e = np.full(shape, fill, np.int16)
        for t, (b, v) in sorted(planned.items()):
            if t0 <= t <= t1:
                e[box_slices(b)] = v
        return e

    for ts, window in ((150, (0, 150)), (250, (0, 250)), ((150, 300), (150, 300)),
                       ((250, 300), (250, 300)), (None, (0, 2**62))):
        kw = {} if ts is None else {"timestamp": ts}
        with tiledb.open(uri, **kw) as A:
            assert_same(A[:]["voxels"], expected(*window), f"TileDB at {ts}")
        with capi.open(uri, window[0], 0 if ts is None else window[1]) as a:
            assert_same(a.read()["voxels"], expected(*window), f"radi at {window}")
