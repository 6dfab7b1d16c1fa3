"""Dataset writes beyond from_niftis (issue 9, items 2-5): appends (renumbering, user
obs_meta columns), collection renames, materialize (datasets and collections, views
too), the scaling policy and to_nifti. Every result is also read by radiobject 0.1.1 and
TileDB-Py, which must agree."""
import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

import radi
from radi import RadiObject, VolumeCollection

ro = pytest.importorskip("radiobject")


def _affine(i):
    a = np.diag([1.0, 1.0, 2.0, 1.0])
    a[:3, 3] = [-30.0 + i, -32.0, -40.0]
    return a


def _write(path, data, i=0, slope=None, inter=None):
    img = nib.Nifti1Image(data, _affine(i))
    img.header.set_sform(_affine(i), code=2)
    img.header.set_xyzt_units("mm")
    if slope is not None:
        img.header.set_slope_inter(slope, inter)
    nib.save(img, str(path))
    return str(path)


def _make(d, sid, coll, value, shape=(8, 7, 5), dtype=np.int16):
    return _write(d / f"{sid}_{coll}.nii.gz", np.full(shape, value, dtype), int(value) % 5)


@pytest.fixture
def base(tmp_path):
    """A dataset of sub-02, sub-04 (FLAIR, T1w) with a user column `age`."""
    d = tmp_path / "nii"
    d.mkdir()
    images = {c: [(_make(d, s, c, v + k), s) for s, v in (("sub-02", 20), ("sub-04", 40))]
              for k, c in enumerate(("FLAIR", "T1w"))}
    meta = pd.DataFrame({"obs_subject_id": ["sub-02", "sub-04"], "age": [52, 71]})
    r = RadiObject.from_niftis(str(tmp_path / "ds"), images=images, obs_meta=meta)
    return r, d


def _first_voxel(vol):
    return int(vol[0, 0, 0])


def _check_0_1_1(uri, expect):
    """radiobject 0.1.1 validates the dataset and reads by position what radi reads by
    obs_id: {collection: {obs_id: first voxel}}."""
    r = ro.RadiObject(str(uri))
    r.validate()
    for coll, want in expect.items():
        vc = r.collection(coll)
        assert sorted(vc.obs_ids) == sorted(want)
        for oid, v in want.items():
            assert int(vc.loc[oid].to_numpy()[0, 0, 0]) == v, (coll, oid)


def test_append_renumbers_and_keeps_user_columns(base):
    r, d = base
    new = [(_make(d, s, "FLAIR", v), s) for s, v in (("sub-01", 10), ("sub-03", 30), ("sub-05", 50))]
    meta = pd.DataFrame({"obs_subject_id": ["sub-01", "sub-03", "sub-05"], "age": [33, 44, 55]})
    r.append(images={"FLAIR": new}, obs_meta=meta)
    assert r.obs_subject_ids == ["sub-01", "sub-02", "sub-03", "sub-04", "sub-05"]
    assert r.FLAIR.obs_ids == [f"sub-0{i}_FLAIR" for i in range(1, 6)]
    for i in range(1, 6):
        assert _first_voxel(r.FLAIR.loc[f"sub-0{i}_FLAIR"]) == 10 * i
        # volumes/<k> is the k-th row: what 0.1.1's positional lookup needs.
        assert r.FLAIR.loc[f"sub-0{i}_FLAIR"].uri.endswith(f"/volumes/{i - 1}")
    ages = r.obs_meta.read().set_index("obs_subject_id")["age"].to_dict()
    assert ages == {"sub-01": 33, "sub-02": 52, "sub-03": 44, "sub-04": 71, "sub-05": 55}
    r.validate()
    _check_0_1_1(r.uri, {"FLAIR": {f"sub-0{i}_FLAIR": 10 * i for i in range(1, 6)},
                         "T1w": {"sub-02_T1w": 21, "sub-04_T1w": 41}})
    assert len(RadiObject(r.uri)) == 5


def test_append_needs_user_columns_and_undoes_failures(base, tmp_path):
    r, d = base
    before = RadiObject(r.uri)
    # A new subject without its obs_meta row: refused before anything is written.
    with pytest.raises(radi.RadiError, match="sub-09"):
        r.append(images={"T1w": [(_make(d, "sub-09", "T1w", 90), "sub-09")]})
    # Unknown obs_meta columns are an error, not silently dropped (0.1.1 drops them).
    with pytest.raises(ValueError, match="weight"):
        r.append(images={"T1w": [(_make(d, "sub-09", "T1w", 90), "sub-09")]},
                 obs_meta=pd.DataFrame({"obs_subject_id": ["sub-09"], "age": [1], "weight": [2.0]}))
    # A corrupt file in a second collection undoes the first collection's append too.
    bad = tmp_path / "sub-00_T1w.nii.gz"
    whole = open(_write(tmp_path / "x.nii.gz", np.arange(280, dtype=np.int16).reshape(8, 7, 5)), "rb").read()
    bad.write_bytes(whole[:-30])
    with pytest.raises(radi.RadiError, match="sub-00_T1w.nii.gz"):
        r.append(images={"FLAIR": [(_make(d, "sub-00", "FLAIR", 5), "sub-00")],
                         "T1w": [(str(bad), "sub-00")]},
                 obs_meta=pd.DataFrame({"obs_subject_id": ["sub-00"], "age": [9]}))
    after = RadiObject(r.uri)
    assert after.obs_subject_ids == before.obs_subject_ids
    assert after.FLAIR.obs_ids == before.FLAIR.obs_ids and after.T1w.obs_ids == before.T1w.obs_ids
    after.validate()
    _check_0_1_1(r.uri, {"FLAIR": {"sub-02_FLAIR": 20, "sub-04_FLAIR": 40},
                         "T1w": {"sub-02_T1w": 21, "sub-04_T1w": 41}})


def test_append_routes_legacy_niftis_and_collection_append(base):
    r, d = base
    r.append(niftis=[(_make(d, "sub-03", "T1w", 31), "sub-03")],
             obs_meta=pd.DataFrame({"obs_subject_id": ["sub-03"], "age": [3]}))
    assert r.T1w.obs_ids == ["sub-02_T1w", "sub-03_T1w", "sub-04_T1w"]
    # No collection's name ends the file name: routed by series type (none for ADC), as 0.1.1.
    r.append(niftis=[(_make(d, "sub-03", "ADC", 1), "sub-03")])
    assert r.collection("unknown").obs_ids == ["sub-03_unknown"]
    fl = r.FLAIR
    fl.append(niftis=[(_make(d, "sub-03", "FLAIR", 30), "sub-03")])
    assert fl.obs_ids == ["sub-02_FLAIR", "sub-03_FLAIR", "sub-04_FLAIR"]
    assert _first_voxel(fl.loc["sub-03_FLAIR"]) == 30
    with pytest.raises(ValueError, match="view"):
        fl.iloc[0:1].append(niftis=[(_make(d, "sub-08", "FLAIR", 8), "sub-08")])
    with pytest.raises(TypeError, match="view"):
        fl.iloc[0:1].validate()
    with pytest.raises(ValueError, match="view"):
        r.head(1).append(images={"FLAIR": []})
    fl.validate()


def test_rename_collection(base):
    r, _d = base
    r.rename_collection("FLAIR", "FL")
    assert set(r.collection_names) == {"FL", "T1w"}
    assert _first_voxel(r.FL.loc["sub-04_FLAIR"]) == 40
    again = RadiObject(r.uri)
    assert set(again.collection_names) == {"FL", "T1w"}
    again.validate()
    with pytest.raises(radi.RadiExistsError):
        r.rename_collection("FL", "T1w")
    with pytest.raises(radi.RadiNotFoundError):
        r.rename_collection("nope", "X")
    # 0.1.1 and TileDB-Py open the renamed collection (0.1.1's own rename cannot).
    _check_0_1_1(r.uri, {"FL": {"sub-02_FLAIR": 20, "sub-04_FLAIR": 40}})
    import tiledb
    with tiledb.Group(f"{r.uri}/collections") as g:
        assert sorted(m.name for m in g) == ["FL", "T1w"]


def test_materialize_keeps_geometry_and_views(base, tmp_path):
    r, _d = base
    full = r.materialize(str(tmp_path / "copy"))
    assert full.collection_names == r.collection_names and len(full) == 2
    src = r.FLAIR.loc["sub-04_FLAIR"]
    cp = full.FLAIR.loc["sub-04_FLAIR"]
    np.testing.assert_array_equal(cp.to_numpy(), src.to_numpy())
    np.testing.assert_array_equal(cp.affine, src.affine)
    assert cp.orientation_info == src.orientation_info
    assert full.obs_meta.read()["age"].tolist() == [52, 71]
    pd.testing.assert_frame_equal(full.FLAIR.obs.read(), r.FLAIR.obs.read())
    # A view: one subject, one collection.
    part = r.loc["sub-04"].select_collections(["T1w"]).materialize(str(tmp_path / "part"))
    assert part.collection_names == ("T1w",) and part.obs_subject_ids == ["sub-04"]
    assert part.T1w.loc["sub-04_T1w"].uri.endswith("/volumes/0")
    assert part.obs_meta.read()["age"].tolist() == [71]
    part.validate()
    _check_0_1_1(part.uri, {"T1w": {"sub-04_T1w": 41}})
    with pytest.raises(radi.RadiExistsError):
        r.materialize(str(tmp_path / "part"))


def test_collection_materialize_is_standalone(base, tmp_path):
    r, _d = base
    vc = r.FLAIR.iloc[[1]].materialize(str(tmp_path / "one"), name="FLAIR_sub4")
    assert isinstance(vc, VolumeCollection) and not vc.is_view
    assert vc.name == "FLAIR_sub4" and vc.obs_ids == ["sub-04_FLAIR"]
    again = VolumeCollection(str(tmp_path / "one"))
    assert again.obs_ids == ["sub-04_FLAIR"] and again.subjects == ["sub-04"]
    np.testing.assert_array_equal(again.iloc[0].to_numpy(), r.FLAIR.loc["sub-04_FLAIR"].to_numpy())
    np.testing.assert_array_equal(again.iloc[0].affine, r.FLAIR.loc["sub-04_FLAIR"].affine)
    again.validate()
    assert len(again.obs.read()) == 1
    # It takes appends (test_standalone_append.py); a missing file changes nothing.
    with pytest.raises(FileNotFoundError, match="x.nii"):
        again.append(niftis=[("x.nii", "s")])
    assert VolumeCollection(str(tmp_path / "one")).obs_ids == ["sub-04_FLAIR"]
    # 0.1.1 opens it as a VolumeCollection too.
    v = ro.VolumeCollection(str(tmp_path / "one"))
    assert v.obs_ids == ["sub-04_FLAIR"] and int(v.iloc[0].to_numpy()[0, 0, 0]) == 40


def test_scaling_policy_and_to_nifti(tmp_path):
    raw = np.arange(8 * 7 * 5, dtype=np.int16).reshape(8, 7, 5) - 100
    p = _write(tmp_path / "s1_ADC.nii.gz", raw, slope=0.5, inter=-3.0)
    r = RadiObject.from_niftis(str(tmp_path / "ds"), images={"ADC": [(p, "s1")]})
    v = r.ADC.iloc[0]
    assert v.stored_dtype == np.int16 and v.dtype == np.float32 and v.scaling == (0.5, -3.0)
    phys = np.asarray(nib.load(p).dataobj)
    np.testing.assert_array_equal(v.to_numpy(), phys.astype(np.float32))
    np.testing.assert_array_equal(v.to_numpy(dtype=np.float64), raw * 0.5 - 3.0)
    np.testing.assert_array_equal(v.to_numpy(raw=True), raw)
    np.testing.assert_array_equal(v.axial(2), phys[:, :, 2].astype(np.float32))
    np.testing.assert_array_equal(v.raw[1:4, 2, ::2], raw[1:4, 2, ::2])
    assert repr(v).startswith("Volume(shape=8x7x5, dtype=float32")
    out = v.to_nifti(str(tmp_path / "back.nii"))
    assert out.endswith("back.nii.gz")
    img = nib.load(out)
    assert img.get_data_dtype() == np.int16
    np.testing.assert_array_equal(np.asarray(img.dataobj.get_unscaled()), raw)
    np.testing.assert_array_equal(np.asarray(img.dataobj), phys)
    np.testing.assert_array_equal(img.affine, _affine(0))
    assert int(img.header["sform_code"]) == 2
    with pytest.raises(ValueError):
        v.to_nifti(str(tmp_path / "x.nii.gz"), compression=False)
    # 0.1.1 stores scaled float64 and no scaling: radi reads it unscaled, as it is.
    r2 = ro.RadiObject.from_niftis(str(tmp_path / "ds011"), images={"ADC": [(p, "s1")]})
    v2 = RadiObject(str(tmp_path / "ds011")).ADC.iloc[0]
    assert v2.scaling is None and v2.dtype == np.float64
    np.testing.assert_array_equal(v2.to_numpy(), phys)
    assert r2 is not None


def test_user_obs_ids(tmp_path):
    d = tmp_path / "nii"
    d.mkdir()
    p = _make(d, "s1", "T1w", 7)
    r = RadiObject.from_niftis(str(tmp_path / "ds"), images={"T1w": [(p, "s1", "scan-A")]})
    assert r.T1w.obs_ids == ["scan-A"] and _first_voxel(r.T1w.loc["scan-A"]) == 7
    with pytest.raises(radi.RadiExistsError, match="scan-A"):
        r.append(images={"T2w": [(p, "s1", "scan-A")]})
    with pytest.raises(ValueError, match="triples"):
        r.append(images={"T2w": [(p, "s1", "x", "y")]})


def test_get_volume(base):
    r, _d = base
    assert _first_voxel(r.get_volume("sub-04_T1w")) == 41
    with pytest.raises(KeyError):
        r.get_volume("nope")
    # Volume metadata is a JSON affine (0.1.1's form).
    import tiledb
    with tiledb.open(r.T1w.loc["sub-02_T1w"].uri) as A:
        assert np.allclose(json.loads(A.meta["orientation_affine"]), _affine(1))
