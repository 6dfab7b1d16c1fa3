"""Oracles on the S3 server (moto started by the suite), both directions:

- TileDB-Py 0.36.1 (vfs.s3.endpoint_override to moto, path-style, http) reads every array
  radi wrote to S3 equal to radi's reading (and nibabel's), walking the dataset tree;
- radi reads dense and sparse arrays TileDB-Py wrote to S3;
- radiobject 0.1.1, configured for the same endpoint, opens, reads and validate()s a
  dataset the radi CLI ingested to S3, and radi reads by obs_id a dataset 0.1.1 wrote to
  S3 with from_niftis.
"""
import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import tiledb

import radi
from radi import Dataframe, RadiObject, Volume
from s3_fixtures import radiobject_on, run_cli
from test_api import _data
from test_cli_dataset import SUBJECTS, make_niftis, nib_data
from test_dataset_ops import _write
from test_dataframe import same
from test_oracle_sparse import byte_sorted, mixed_frame, tdb_df


def test_tiledb_reads_every_array_radi_wrote(s3root, tmp_path):
    nii = make_niftis(tmp_path / "nii")
    meta = pd.DataFrame({"obs_subject_id": list(SUBJECTS), "age": [30, 40, 50]})
    ro = RadiObject.from_niftis(s3root.uri("ds"), images={"FLAIR": f"{nii}/*_FLAIR.nii.gz",
                                                          "seg": f"{nii}/*_seg.nii"}, obs_meta=meta)
    s3root.settle()
    ctx = s3root.tiledb_ctx()
    seen = {"array": [], "group": []}
    tiledb.walk(ro.uri, lambda uri, kind: seen[kind].append(uri.rstrip("/")), ctx=ctx)
    arrays = sorted(seen["array"])
    volumes = [u for u in arrays if "/volumes/" in u]
    tables = [u for u in arrays if "/volumes/" not in u]
    assert len(volumes) == 6
    assert sorted(u[len(ro.uri) + 1:] for u in tables) == ["collections/FLAIR/obs", "collections/seg/obs",
                                                          "obs_meta"]
    assert sorted(u[len(ro.uri) + 1:] for u in seen["group"]) == [
        "collections", "collections/FLAIR", "collections/FLAIR/volumes", "collections/seg",
        "collections/seg/volumes"]
    for uri in volumes:
        with tiledb.open(uri, ctx=ctx) as a:
            got = a[:]["voxels"]
            oid = a.meta["obs_id"]
        np.testing.assert_array_equal(got, Volume(uri).to_numpy(raw=True), err_msg=uri)
        coll = oid.split("_")[1]
        ext = ".nii.gz" if coll == "FLAIR" else ".nii"
        np.testing.assert_array_equal(got, nib_data(nii / f"{oid}{ext}"), err_msg=uri)
    for uri in tables:
        mine = Dataframe(uri).read()
        with tiledb.open(uri, ctx=ctx) as a:
            theirs = a.df[:]
        theirs = theirs.reset_index() if not set(Dataframe(uri).index_columns) <= set(theirs.columns) else theirs
        keys = list(Dataframe(uri).index_columns)
        theirs = theirs[mine.columns].sort_values(keys).reset_index(drop=True)
        mine = mine.sort_values(keys).reset_index(drop=True)
        for col in mine.columns:
            assert [str(v) for v in mine[col]] == [str(v) for v in theirs[col]], (uri, col)
    with tiledb.Group(ro.uri + "/collections", ctx=ctx) as g:
        assert sorted(m.name for m in g) == ["FLAIR", "seg"]


def test_radi_reads_what_tiledb_wrote(s3root):
    ctx = s3root.tiledb_ctx()
    # Dense: a volume as RadiObject writes it (legacy orientation key), two fragments.
    uri = s3root.uri("dense")
    data = _data((10, 12, 7), np.float32)
    dom = tiledb.Domain(*[tiledb.Dim(name=n, domain=(0, s - 1), tile=t, dtype=np.int32, ctx=ctx)
                          for n, s, t in zip("xyz", data.shape, (10, 12, 1))], ctx=ctx)
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, sparse=False, ctx=ctx, attrs=[
        tiledb.Attr(name="voxels", dtype=np.float32, filters=[tiledb.ZstdFilter(3)], ctx=ctx)]), ctx=ctx)
    with tiledb.open(uri, "w", ctx=ctx) as a:
        a[:] = data
        a.meta["slice_orientation"] = "axial"
    with tiledb.open(uri, "w", ctx=ctx) as a:
        a[2:4, :, 1:3] = np.full((2, 12, 2), 5.0, np.float32)
    data[2:4, :, 1:3] = 5.0
    vol = Volume(uri)
    assert vol.tile_orientation is radi.SliceOrientation.AXIAL
    np.testing.assert_array_equal(vol.to_numpy(), data)
    np.testing.assert_array_equal(vol[2:9:3, -1, 1:], data[2:9:3, -1, 1:])
    # Sparse: TileDB-Py's from_pandas table, point and range lookups and filters.
    src = mixed_frame(120)
    uri = s3root.uri("sparse")
    tiledb.from_pandas(uri, src.set_index("sid"), sparse=True, capacity=16, allows_duplicates=False, ctx=ctx)
    df = Dataframe(uri)
    assert df.index_columns == ("sid",)
    with tiledb.open(uri, ctx=ctx) as A:
        same(df.read(), tdb_df(A))
        same(df.read(), byte_sorted(src, ["sid"]))
        for key in ["s0003", ["s0100", "s0007", "zz"], slice("s0010", "s0050")]:
            same(df.loc[key], tdb_df(A, key))
        same(df.read(columns=["ni", "ns"], value_filter="age >= 50"),
             tdb_df(A.query(cond="age >= 50", attrs=["ni", "ns"])))
    # Groups TileDB-Py made: radi's info sees the members.
    tiledb.Group.create(s3root.uri("g"), ctx=ctx)
    with tiledb.Group(s3root.uri("g"), "w", ctx=ctx) as g:
        g.add(s3root.uri("dense"), name="dense")
    p = run_cli(s3root.env(), "info", "--json", s3root.uri("g"))
    assert p.returncode == 0, p.stderr
    assert [m["name"] for m in json.loads(p.stdout)["members"]] == ["dense"]


def test_radiobject_011_reads_what_the_cli_ingested(s3root, tmp_path):
    nii = make_niftis(tmp_path / "nii")
    uri = s3root.uri("cli_ds")
    p = run_cli(s3root.env(), "ingest", uri, f"FLAIR={nii}/*_FLAIR.nii.gz", f"T1={nii}/*_T1.nii.gz")
    assert p.returncode == 0, p.stderr
    with radiobject_on(s3root.server.url) as ro011:
        r = ro011.RadiObject(uri)
        r.validate()
        assert sorted(r.collection_names) == ["FLAIR", "T1"] and len(r) == 3
        for s in SUBJECTS:
            np.testing.assert_array_equal(r.FLAIR.loc[f"{s}_FLAIR"].to_numpy(), nib_data(nii / f"{s}_FLAIR.nii.gz"))
        # 0.1.1 reads the stored (unscaled) values of a scaled NIfTI, as radi's raw reads.
        np.testing.assert_array_equal(r.T1.iloc[1].to_numpy(),
                                      RadiObject(uri).T1.iloc[1].to_numpy(raw=True))
        assert r.FLAIR.iloc[2].axial(5).shape == (32, 30)
        assert sorted(r.obs_meta.read()["obs_subject_id"]) == list(SUBJECTS)


def test_radi_reads_radiobject_011_dataset_by_obs_id(s3root, tmp_path):
    rng = np.random.default_rng(3)
    subjects = ["sub-03", "sub-01", "sub-02"]  # unsorted: 0.1.1 stores volumes in input order
    srcs, want = [], {}
    for s in subjects:
        d = rng.integers(0, 1000, size=(6, 5, 4)).astype(np.int16)
        srcs.append((_write(tmp_path / f"{s}_FLAIR.nii.gz", d), s))
        want[s] = d
    uri = s3root.uri("ds011")
    with radiobject_on(s3root.server.url) as ro011:
        ro011.RadiObject.from_niftis(uri, images={"FLAIR": srcs})
    assert s3root.exists("ds011/collections/FLAIR/volumes/2")
    r = RadiObject(uri)
    assert r.obs_subject_ids == sorted(subjects) and len(r) == 3
    for v in r.FLAIR:
        np.testing.assert_array_equal(v.to_numpy(), want[v.obs_id.split("_")[0]])
    for s in subjects:
        np.testing.assert_array_equal(r.FLAIR.loc[f"{s}_FLAIR"].to_numpy(), want[s])
    # Unsorted input makes 0.1.1's own positional lookup wrong; validate names that.
    with pytest.raises(ValueError, match="3 inconsistencies") as e:
        r.validate()
    assert str(e.value).count("position mismatch") == 3
    np.testing.assert_allclose(r.FLAIR.loc["sub-02_FLAIR"].affine,
                               nib.load(srcs[2][0]).affine)
