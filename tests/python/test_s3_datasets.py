"""Datasets on local disk and on S3 (moto started by the suite), with the same assertions
for both roots: from_niftis from local NIfTIs and from NIfTIs stored on the root itself
(uploaded with boto3 on S3), appends (one renumbering: a subject that sorts first),
an append that fails and is undone, rename_collection, materialize, views, to_nifti onto
the root. nibabel is the reference for the voxels; TileDB-Py reads every array radi wrote
and radiobject 0.1.1 (configured for the same server) opens and validate()s the results.
"""
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import tiledb

import radi
from radi import RadiObject, VolumeCollection
from s3_fixtures import radiobject_on
from test_dataset_ops import _make, _write
from test_radi_object import SUBJECTS, niftis  # noqa: F401 (fixture: 3 subjects x FLAIR int16 / T1w float32)


def nib_data(path):
    return np.asarray(nib.load(str(path)).dataobj)


def check_with_tiledb(root, ro):
    """TileDB-Py reads every volume radi wrote equal to radi's reading, and the obs and
    obs_meta rows radi reads."""
    root.settle()
    ctx = root.tiledb_ctx()
    for name in ro.collection_names:
        vc = ro.collection(name)
        for v in vc:
            with tiledb.open(v.uri, ctx=ctx) as a:
                np.testing.assert_array_equal(a[:]["voxels"], v.to_numpy(raw=True), err_msg=v.uri)
                assert a.meta["obs_id"] == v.obs_id
        assert sorted(tdb_rows(f"{vc.uri}/obs", ctx)["obs_id"]) == sorted(vc.obs_ids)
    assert sorted(tdb_rows(f"{ro.uri}/obs_meta", ctx)["obs_subject_id"]) == sorted(ro.obs_subject_ids)


def tdb_rows(uri, ctx):
    """All rows of a table read by TileDB-Py, its dimensions as columns."""
    with tiledb.open(uri, ctx=ctx) as a:
        df = a.df[:]
    return df if "obs_subject_id" in df.columns else df.reset_index()


def check_with_0_1_1(root, uri, expect):
    """radiobject 0.1.1 validate()s the dataset and reads {collection: {obs_id: voxels}}."""
    with radiobject_on(root.server.url if root.is_s3 else None) as ro011:
        r = ro011.RadiObject(uri)
        r.validate()
        for coll, want in expect.items():
            vc = r.collection(coll)
            assert sorted(vc.obs_ids) == sorted(want)
            for oid, data in want.items():
                np.testing.assert_array_equal(vc.loc[oid].to_numpy(), data, err_msg=f"{coll} {oid}")


def check_ingested(root, ro, files):
    assert sorted(ro.collection_names) == ["FLAIR", "T1w"] and ro.obs_subject_ids == SUBJECTS
    for c in ("FLAIR", "T1w"):
        vc = ro.collection(c)
        assert vc.obs_ids == [f"{s}_{c}" for s in SUBJECTS] and vc.shape == (12, 10, 6)
        for i, s in enumerate(SUBJECTS):
            want = nib_data(files[c][i])
            v = vc.loc[f"{s}_{c}"]
            np.testing.assert_array_equal(v.to_numpy(), want)
            np.testing.assert_allclose(v.affine, nib.load(str(files[c][i])).affine)
            np.testing.assert_array_equal(vc.iloc[i].axial(3), want[:, :, 3])
    ro.validate()
    again = RadiObject(ro.uri)
    assert again.obs_subject_ids == SUBJECTS
    assert again.filter("age > 50").obs_subject_ids == ["sub-02", "sub-03"]
    assert again.iloc[1:].FLAIR.obs_ids == ["sub-02_FLAIR", "sub-03_FLAIR"]
    assert again.loc["sub-03"].T1w.obs_ids == ["sub-03_T1w"]
    assert again.FLAIR.filter("obs_subject_id == 'sub-02'").obs_ids == ["sub-02_FLAIR"]
    assert list(again.obs_meta.read()["age"]) == [40, 55, 61]
    check_with_tiledb(root, again)
    check_with_0_1_1(root, ro.uri, {c: {f"{s}_{c}": nib_data(files[c][i]) for i, s in enumerate(SUBJECTS)}
                                    for c in ("FLAIR", "T1w")})


META = pd.DataFrame({"obs_subject_id": SUBJECTS, "age": [40, 55, 61], "grade": ["HGG", "LGG", "HGG"]})


def test_from_local_niftis(root, niftis):  # noqa: F811
    d, files = niftis
    ro = RadiObject.from_niftis(root.uri("ds"), images={"FLAIR": str(d / "FLAIR" / "*.nii.gz"),
                                                        "T1w": str(d / "T1w")}, obs_meta=META)
    assert ro.uri == root.uri("ds")
    check_ingested(root, ro, files)


def test_from_niftis_stored_on_the_root(root, niftis):  # noqa: F811
    """Sources on the same storage: a glob over an s3:// prefix, a directory prefix, and
    a list of (URI, subject) pairs."""
    _d, files = niftis
    for c in ("FLAIR", "T1w"):
        for p in files[c]:
            root.put(p, f"nii/{c}/{p.name}")
    ro = RadiObject.from_niftis(root.uri("ds"), images={"FLAIR": root.uri("nii/FLAIR/*.nii.gz"),
                                                        "T1w": root.uri("nii/T1w")}, obs_meta=META)
    check_ingested(root, ro, files)
    pairs = [(root.uri(f"nii/T1w/{s}_T1w.nii.gz"), s) for s in reversed(SUBJECTS)]
    two = RadiObject.from_niftis(root.uri("ds2"), images={"T1w": pairs})
    assert two.T1w.obs_ids == [f"{s}_T1w" for s in SUBJECTS]
    np.testing.assert_array_equal(two.T1w.loc["sub-01_T1w"].to_numpy(), nib_data(files["T1w"][0]))
    # A pattern matching nothing, and a corrupt source: errors naming them, nothing written.
    with pytest.raises(FileNotFoundError):
        RadiObject.from_niftis(root.uri("bad"), images={"FLAIR": root.uri("nii/FLAIR/*_PD.nii.gz")})
    bad = files["FLAIR"][0].parent.parent / "broken.nii.gz"
    bad.write_bytes(files["FLAIR"][0].read_bytes()[:-40])
    root.put(bad, "nii/broken/sub-09_FLAIR.nii.gz")
    with pytest.raises(radi.RadiError, match="sub-09_FLAIR.nii.gz"):
        RadiObject.from_niftis(root.uri("bad"), images={"FLAIR": root.uri("nii/FLAIR"),
                                                        "T1w": root.uri("nii/broken")})
    assert not root.exists("bad")


@pytest.fixture
def base(root, tmp_path):
    """sub-02, sub-04 x FLAIR, T1w (8x7x5 int16, constant 20/40, 21/41), user column `age`."""
    d = tmp_path / "nii"
    d.mkdir()
    images = {c: [(_make(d, s, c, v + k), s) for s, v in (("sub-02", 20), ("sub-04", 40))]
              for k, c in enumerate(("FLAIR", "T1w"))}
    meta = pd.DataFrame({"obs_subject_id": ["sub-02", "sub-04"], "age": [52, 71]})
    return RadiObject.from_niftis(root.uri("ds"), images=images, obs_meta=meta), d


def const(value, shape=(8, 7, 5)):
    return np.full(shape, value, np.int16)


def test_append_renumbers(root, base):
    r, d = base
    new = [(_make(d, s, "FLAIR", v), s) for s, v in (("sub-01", 10), ("sub-03", 30), ("sub-05", 50))]
    meta = pd.DataFrame({"obs_subject_id": ["sub-01", "sub-03", "sub-05"], "age": [33, 44, 55]})
    r.append(images={"FLAIR": new}, obs_meta=meta)
    assert r.obs_subject_ids == [f"sub-0{i}" for i in range(1, 6)]
    again = RadiObject(root.uri("ds"))
    assert again.FLAIR.obs_ids == [f"sub-0{i}_FLAIR" for i in range(1, 6)]
    for i in range(1, 6):
        v = again.FLAIR.loc[f"sub-0{i}_FLAIR"]
        np.testing.assert_array_equal(v.to_numpy(), const(10 * i))
        assert v.uri == root.uri(f"ds/collections/FLAIR/volumes/{i - 1}")  # the i-th row
    ages = again.obs_meta.read().set_index("obs_subject_id")["age"].to_dict()
    assert ages == {"sub-01": 33, "sub-02": 52, "sub-03": 44, "sub-04": 71, "sub-05": 55}
    again.validate()
    assert not [f for f in root.files("ds") if "__radi_staging" in f]  # the staging prefix is gone
    check_with_tiledb(root, again)
    check_with_0_1_1(root, r.uri, {"FLAIR": {f"sub-0{i}_FLAIR": const(10 * i) for i in range(1, 6)},
                                   "T1w": {"sub-02_T1w": const(21), "sub-04_T1w": const(41)}})
    # A collection append (sorting last), then a second renumbering one into T1w.
    r.T1w.append(niftis=[(_make(d, "sub-05", "T1w", 51), "sub-05")])
    r.append(images={"T1w": [(_make(d, "sub-01", "T1w", 11), "sub-01")]})
    again = RadiObject(root.uri("ds"))
    assert again.T1w.obs_ids == ["sub-01_T1w", "sub-02_T1w", "sub-04_T1w", "sub-05_T1w"]
    for i, v in zip((1, 2, 4, 5), again.T1w):
        np.testing.assert_array_equal(v.to_numpy(), const(10 * i + 1))
    again.validate()


def test_failed_append_is_undone(root, base, tmp_path):
    """A corrupt file in the second collection undoes the first collection's (renumbering)
    append: afterwards the stored objects are exactly those of before."""
    r, d = base
    before = root.files("ds")
    whole = open(_write(tmp_path / "x.nii.gz", np.arange(280, dtype=np.int16).reshape(8, 7, 5)), "rb").read()
    bad = tmp_path / "sub-00_T1w.nii.gz"
    bad.write_bytes(whole[:-30])
    with pytest.raises(radi.RadiError, match="sub-00_T1w.nii.gz"):
        r.append(images={"FLAIR": [(_make(d, "sub-00", "FLAIR", 5), "sub-00")], "T1w": [(str(bad), "sub-00")]},
                 obs_meta=pd.DataFrame({"obs_subject_id": ["sub-00"], "age": [9]}))
    after = RadiObject(root.uri("ds"))
    assert after.obs_subject_ids == ["sub-02", "sub-04"]
    assert after.FLAIR.obs_ids == ["sub-02_FLAIR", "sub-04_FLAIR"]
    after.validate()
    assert root.files("ds") == before
    check_with_0_1_1(root, r.uri, {"FLAIR": {"sub-02_FLAIR": const(20), "sub-04_FLAIR": const(40)}})


def test_rename_collection(root, base):
    r, _d = base
    r.rename_collection("FLAIR", "FL")
    again = RadiObject(root.uri("ds"))
    assert set(again.collection_names) == {"FL", "T1w"}
    np.testing.assert_array_equal(again.FL.loc["sub-04_FLAIR"].to_numpy(), const(40))
    again.validate()
    assert not [f for f in root.files("ds") if f.startswith("collections/FLAIR/")]
    with pytest.raises(radi.RadiExistsError):
        r.rename_collection("FL", "T1w")
    with pytest.raises(radi.RadiNotFoundError):
        r.rename_collection("nope", "X")
    root.settle()
    with tiledb.Group(root.uri("ds/collections"), ctx=root.tiledb_ctx()) as g:
        assert sorted(m.name for m in g) == ["FL", "T1w"]
    check_with_0_1_1(root, r.uri, {"FL": {"sub-02_FLAIR": const(20), "sub-04_FLAIR": const(40)}})


def test_materialize_and_views(root, base):
    r, _d = base
    full = r.materialize(root.uri("copy"))
    assert full.collection_names == r.collection_names and len(full) == 2
    src, cp = r.FLAIR.loc["sub-04_FLAIR"], full.FLAIR.loc["sub-04_FLAIR"]
    np.testing.assert_array_equal(cp.to_numpy(), src.to_numpy())
    np.testing.assert_array_equal(cp.affine, src.affine)
    assert full.obs_meta.read()["age"].tolist() == [52, 71]
    part = r.loc["sub-04"].select_collections(["T1w"]).materialize(root.uri("part"))
    assert part.collection_names == ("T1w",) and part.obs_subject_ids == ["sub-04"]
    assert part.T1w.loc["sub-04_T1w"].uri == root.uri("part/collections/T1w/volumes/0")
    part.validate()
    vc = r.FLAIR.iloc[[1]].materialize(root.uri("one"), name="FLAIR_sub4")
    assert isinstance(vc, VolumeCollection) and VolumeCollection(root.uri("one")).obs_ids == ["sub-04_FLAIR"]
    with pytest.raises(radi.RadiExistsError):
        r.materialize(root.uri("part"))
    check_with_tiledb(root, RadiObject(root.uri("copy")))
    check_with_0_1_1(root, part.uri, {"T1w": {"sub-04_T1w": const(41)}})


def test_to_nifti_onto_the_root(root, tmp_path):
    raw = np.arange(8 * 7 * 5, dtype=np.int16).reshape(8, 7, 5) - 100
    p = _write(tmp_path / "s1_ADC.nii.gz", raw, slope=0.5, inter=-3.0)
    r = RadiObject.from_niftis(root.uri("ds"), images={"ADC": [(p, "s1")]})
    out = r.ADC.iloc[0].to_nifti(root.uri("out/deep/back.nii"))
    assert out == root.uri("out/deep/back.nii.gz")
    img = nib.load(str(root.get(out, tmp_path / "back.nii.gz")))
    assert img.get_data_dtype() == np.int16
    np.testing.assert_array_equal(np.asarray(img.dataobj.get_unscaled()), raw)
    np.testing.assert_array_equal(np.asarray(img.dataobj), np.asarray(nib.load(p).dataobj))
    assert root.files("out") == {"deep/back.nii.gz": (tmp_path / "back.nii.gz").stat().st_size}
