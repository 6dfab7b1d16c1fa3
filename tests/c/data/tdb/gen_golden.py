"""Regenerates the golden TileDB files used by tests/c/test_{schema,meta,group,array}.c.

Run with the oracle venv (TileDB-Py 0.36.1, TileDB 2.30):
    /work/main/.venv/bin/python tests/c/data/tdb/gen_golden.py
Each golden file is copied out of a real array/group made by TileDB, with a fixed name
so the tests can find it; expected.json records what TileDB-Py says about each one.
"""
import json
import os
import shutil
import tempfile

import numpy as np
import tiledb

HERE = os.path.dirname(os.path.abspath(__file__))


def plain(v):
    if isinstance(v, (tuple, list)):
        return [plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def only_file(d):
    names = sorted(n for n in os.listdir(d) if os.path.isfile(os.path.join(d, n)))
    return names


def copy_schema(uri, out):
    d = os.path.join(uri, "__schema")
    (name,) = only_file(d)
    shutil.copy(os.path.join(d, name), os.path.join(HERE, out))
    return name


def main():
    tmp = tempfile.mkdtemp()
    expected = {}

    # 1. Dense 3-D, int32 dims, float32 attribute with byteshuffle + ZSTD(3).
    uri = os.path.join(tmp, "dense3d")
    dom = tiledb.Domain(
        tiledb.Dim("x", domain=(0, 239), tile=240, dtype=np.int32),
        tiledb.Dim("y", domain=(0, 239), tile=240, dtype=np.int32),
        tiledb.Dim("z", domain=(0, 154), tile=1, dtype=np.int32),
    )
    att = tiledb.Attr("voxels", dtype=np.float32,
                      filters=tiledb.FilterList([tiledb.ByteShuffleFilter(), tiledb.ZstdFilter(level=3)]))
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, attrs=[att], sparse=False))
    copy_schema(uri, "schema_dense3d.tdb")

    # 2. Dense 4-D, col-major tiles and cells, uint16 attr with GZIP and a fill value,
    #    int64 dims, a second bool attribute, delta filter.
    uri = os.path.join(tmp, "dense4d")
    dom = tiledb.Domain(
        tiledb.Dim("x", domain=(0, 9), tile=5, dtype=np.int64),
        tiledb.Dim("y", domain=(-4, 5), tile=2, dtype=np.int64),
        tiledb.Dim("z", domain=(0, 3), tile=4, dtype=np.int64),
        tiledb.Dim("t", domain=(0, 1), tile=1, dtype=np.int64,
                   filters=tiledb.FilterList([tiledb.GzipFilter(level=9)])),
    )
    a1 = tiledb.Attr("v", dtype=np.uint16, fill=7,
                     filters=tiledb.FilterList([tiledb.DeltaFilter(), tiledb.GzipFilter(level=1)]))
    a2 = tiledb.Attr("flag", dtype=np.bool_)
    a3 = tiledb.Attr("d", dtype=np.float64, filters=tiledb.FilterList([tiledb.BitShuffleFilter(), tiledb.LZ4Filter()]))
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, attrs=[a1, a2, a3], sparse=False,
                                                cell_order="col-major", tile_order="col-major"))
    copy_schema(uri, "schema_dense4d.tdb")

    # 3. Sparse with a string dimension, allows duplicates, nullable and var-size attrs.
    uri = os.path.join(tmp, "sparse")
    dom = tiledb.Domain(
        tiledb.Dim("id", domain=(None, None), tile=None, dtype="ascii"),
        tiledb.Dim("n", domain=(0, 1000), tile=100, dtype=np.int64),
    )
    attrs = [
        tiledb.Attr("name", dtype=str, var=True, nullable=True,
                    filters=tiledb.FilterList([tiledb.ZstdFilter(level=-1)])),
        tiledb.Attr("age", dtype=np.int64, nullable=True),
        tiledb.Attr("score", dtype=np.float64),
    ]
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, attrs=attrs, sparse=True,
                                                allows_duplicates=True, capacity=500))
    copy_schema(uri, "schema_sparse.tdb")

    # 4. Array metadata: several files, a deletion, every type RadiObject uses.
    uri = os.path.join(tmp, "metaarr")
    dom = tiledb.Domain(tiledb.Dim("x", domain=(0, 3), tile=4, dtype=np.int32))
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, attrs=[tiledb.Attr("a", dtype=np.uint8)]))
    with tiledb.open(uri, "w", timestamp=1000) as A:
        A.meta["tile_orientation"] = "axial"
        A.meta["count"] = 42
        A.meta["spacing"] = (0.5, 0.5, 2.0)
        A.meta["gone"] = 1
    with tiledb.open(uri, "w", timestamp=2000) as A:
        A.meta["count"] = -7
        del A.meta["gone"]
        A.meta["pi"] = 3.25
    mdir = os.path.join(uri, "__meta")
    names = only_file(mdir)
    assert len(names) == 2, names
    os.makedirs(os.path.join(HERE, "meta_array", "__meta"), exist_ok=True)
    for n in names:
        shutil.copy(os.path.join(mdir, n), os.path.join(HERE, "meta_array", "__meta", n))
    with tiledb.open(uri) as A:
        expected["meta"] = {k: plain(v) for k, v in A.meta.items()}
    with tiledb.open(uri, timestamp=(0, 1500)) as A:
        expected["meta_at_1500"] = {k: plain(v) for k, v in A.meta.items()}

    # 5. A group: a relative member, an absolute named member, one removed.
    g = os.path.join(tmp, "grp")
    tiledb.Group.create(g)
    for sub in ("obs", "vol1", "vol2"):
        su = os.path.join(g, sub)
        tiledb.Array.create(su, tiledb.ArraySchema(domain=dom, attrs=[tiledb.Attr("a", dtype=np.uint8)]))
    tiledb.Group.create(os.path.join(g, "sub"))
    with tiledb.Group(g, "w") as G:
        G.add("obs", relative=True)
        G.add(os.path.join(g, "vol1"), name="volume_one")
        G.add("vol2", relative=True, name="v2")
        G.add("sub", relative=True, name="subgroup")
        G.meta["kind"] = "radiobject"
        G.meta["n"] = 3
    with tiledb.Group(g, "w") as G:
        G.remove("v2")
    gdir = os.path.join(g, "__group")
    os.makedirs(os.path.join(HERE, "group", "__group"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "group", "__meta"), exist_ok=True)
    for n in only_file(gdir):
        shutil.copy(os.path.join(gdir, n), os.path.join(HERE, "group", "__group", n))
    for n in only_file(os.path.join(g, "__meta")):
        shutil.copy(os.path.join(g, "__meta", n), os.path.join(HERE, "group", "__meta", n))
    with tiledb.Group(g) as G:
        expected["group"] = sorted([m.name or "", m.uri.replace(tmp, "TMP")] for m in G)
        expected["group_meta"] = {k: plain(v) for k, v in G.meta.items()}
    # 6. Fragment visibility: three writes at t=1000, 2000, 3000 into 8 cells, then the
    #    first two consolidated (a [1000,2000] fragment plus a .vac). dense_con also has
    #    its commits consolidated (.con), the .wrt files vacuumed, and the t=3000 fragment
    #    deleted afterwards (TileDB writes an .ign since its commit is inside the .con).
    arrays = os.path.join(HERE, "arrays")
    shutil.rmtree(arrays, ignore_errors=True)
    for name in ("dense", "dense_con", "sparse"):
        uri = os.path.join(tmp, "vis", name)
        dom1 = tiledb.Domain(tiledb.Dim("x", domain=(0, 7), tile=4, dtype=np.int32))
        tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom1, sparse=name == "sparse",
                                                    attrs=[tiledb.Attr("a", dtype=np.uint8)]))
        if name == "sparse":
            for ts, xs, v in [(1000, [0, 1], [1, 2]), (2000, [4, 5], [3, 4]), (3000, [1, 6], [5, 6])]:
                with tiledb.open(uri, "w", timestamp=ts) as A:
                    A[np.array(xs, dtype=np.int32)] = np.array(v, dtype=np.uint8)
        else:
            for ts, lo, hi, v in [(1000, 0, 3, 1), (2000, 4, 7, 2), (3000, 2, 5, 3)]:
                with tiledb.open(uri, "w", timestamp=ts) as A:
                    A[lo:hi + 1] = np.full(hi - lo + 1, v, dtype=np.uint8)
        tiledb.consolidate(uri, config=tiledb.Config({"sm.consolidation.timestamp_start": "1000",
                                                      "sm.consolidation.timestamp_end": "2000"}))
        if name == "dense_con":
            tiledb.consolidate(uri, config=tiledb.Config({"sm.consolidation.mode": "commits"}))
            tiledb.vacuum(uri, config=tiledb.Config({"sm.vacuum.mode": "commits"}))
            tiledb.Array.delete_fragments(uri, 2500, 3500)
        reads = {}
        for lo, hi in [(0, 1500), (1500, 2500), (0, 2500), (0, 5000), (2500, 5000)]:
            with tiledb.open(uri, timestamp=(lo, hi)) as A:
                if name == "sparse":
                    r = A[:]
                    reads[f"{lo}-{hi}"] = sorted(zip(r["x"].tolist(), r["a"].tolist()))
                else:
                    reads[f"{lo}-{hi}"] = A[:]["a"].tolist()
        expected["visibility_" + name] = reads
        shutil.copytree(uri, os.path.join(arrays, name))
    print(json.dumps(expected, indent=1))
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
