"""TileDB-Py side of the manual oracle check (see writer.c for how to run)."""
import sys, numpy as np, tiledb
root = sys.argv[1]
for v in (20, 21, 22):
    s = tiledb.ArraySchema.load(f"{root}/dense3d_v{v}")
    assert not s.sparse and s.ndim == 3 and s.domain.dim(2).tile == 1 and s.domain.dim(0).domain == (0, 239)
    a = s.attr("voxels"); assert a.dtype == np.float32 and np.isnan(a.fill[0])
    assert [type(f).__name__ for f in a.filters] == ["ByteShuffleFilter", "ZstdFilter"] and a.filters[1].level == 3
    assert s.capacity == 10000 and s.cell_order == "row-major"
    s4 = tiledb.ArraySchema.load(f"{root}/dense4d_v{v}")
    assert s4.cell_order == "col-major" and s4.tile_order == "col-major"
    assert s4.domain.dim("y").domain == (-4, 5) and s4.domain.dim("y").tile == 2
    assert type(s4.domain.dim("t").filters[0]).__name__ == "GzipFilter" and s4.domain.dim("t").filters[0].level == 9
    assert s4.attr("v").fill[0] == 7 and s4.attr("flag").dtype == np.bool_
    assert s4.attr("i8").ncells == 3 and list(s4.attr("i8").fill[0]) == [-128, -128, -128], s4.attr("i8").fill
    assert [type(f).__name__ for f in s4.attr("d").filters] == ["BitShuffleFilter", "LZ4Filter"]
    assert [type(f).__name__ for f in s4.attr("v").filters] == ["DeltaFilter", "GzipFilter"]
    sp = tiledb.ArraySchema.load(f"{root}/sparse_v{v}")
    assert sp.sparse and sp.allows_duplicates and sp.capacity == 500
    assert sp.domain.dim("id").dtype == np.bytes_ and sp.domain.dim("f").domain == (-1.5, 2.5)
    assert sp.attr("name").isvar and sp.attr("name").isnullable and sp.attr("age").isnullable
    with tiledb.open(f"{root}/dense3d_v{v}") as A:
        meta = dict(A.meta.items())
        assert meta == {"tile_orientation": "axial", "count": -7, "spacing": (0.5, 0.5, 2.0), "pair": (1, -2)}, meta
        assert A.nonempty_domain() is None
        r = A[0:2, 0:2, 0:1]["voxels"]
        assert np.isnan(r).all()
    with tiledb.open(f"{root}/dense4d_v{v}") as A:
        r = A[0:2, -4:-2, 0:1]
        assert (r["v"] == 7).all() and (r["flag"] == 0).all()
    with tiledb.open(f"{root}/sparse_v{v}") as A:
        assert len(A.df[:]) == 0
    # TileDB writes into our arrays too.
    with tiledb.open(f"{root}/dense3d_v{v}", "w") as A:
        A[0:2, 0:2, 0:1] = np.ones((2, 2, 1), np.float32)
    with tiledb.open(f"{root}/dense3d_v{v}") as A:
        assert (A[0:2, 0:2, 0:1]["voxels"] == 1).all()
        assert A.meta["count"] == -7
    print("v", v, "ok; schema version read by TileDB:", s.version)
with tiledb.Group(f"{root}/grp") as G:
    mem = sorted((m.name or "", m.uri, m.type.__name__) for m in G)
    print(mem)
    assert len(mem) == 3
    assert ("external", f"file://{root}/ext", "Array") in mem
    assert ("", f"file://{root}/grp/obs", "Array") in mem
    assert ("subgroup", f"file://{root}/grp/sub", "Group") in mem
    assert dict(G.meta.items()) == {"kind": "radiobject", "n": 3}, dict(G.meta.items())
    assert G["subgroup"].uri.endswith("/grp/sub")
print(tiledb.object_type(f"{root}/grp"), tiledb.object_type(f"{root}/ext"))
# TileDB adds to a group we made, and removes; we re-read that later from C.
with tiledb.Group(f"{root}/grp", "w") as G:
    G.add("vol2", relative=True, name="again")
    G.remove("subgroup")
with tiledb.Group(f"{root}/grp") as G:
    print(sorted((m.name or "", m.uri) for m in G))
print("ALL OK")
