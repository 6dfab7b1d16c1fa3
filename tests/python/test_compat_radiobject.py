"""Compatibility of radi's datasets with radiobject 0.1.1 from PyPI, both directions
(research/radiobject-0.1.1.md): datasets radi's C API writes open, read and validate in
0.1.1 with the same obs/obs_meta/affines it would write itself; datasets 0.1.1 writes
(unsorted volumes, `_unknown` obs_ids included) read correctly in radi, by obs_id.
"""
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

radiobject = pytest.importorskip("radiobject")
nib = pytest.importorskip("nibabel")

import radiobject_capi as rc  # noqa: E402
import radi  # noqa: E402
from radiobject import RadiObject  # noqa: E402

SUBJECTS = ["sub-03", "sub-01", "sub-02"]  # deliberately unsorted (0.1.1 defect D1)
MODS = ["FLAIR", "T1w"]


def _affine():
    a = np.diag([1.0, 1.0, 2.0, 1.0])
    a[:3, 3] = [-30.0, -32.0, -40.0]
    return a


@pytest.fixture
def niftis(tmp_path):
    """3 subjects x FLAIR/T1w, 6x5x4 int16, files named <sid>_<mod>.nii.gz."""
    rng = np.random.default_rng(7)
    images, data = {m: [] for m in MODS}, {}
    for s in SUBJECTS:
        for m in MODS:
            d = rng.integers(0, 1000, size=(6, 5, 4)).astype(np.int16)
            img = nib.Nifti1Image(d, _affine())
            img.header.set_xyzt_units("mm")
            p = tmp_path / f"{s}_{m}.nii.gz"
            nib.save(img, str(p))
            images[m].append((str(p), s))
            data[f"{s}_{m}"] = d
    return images, data


def _radi_ingest(uri, images):
    with rc.Dataset(str(uri), create=True) as ds:
        for m, srcs in images.items():
            ds.ingest(m, srcs)
        assert ds.validate() == []


def test_radi_dataset_opens_in_radiobject(tmp_path, niftis, oracle):
    images, data = niftis
    uri = tmp_path / "radi_ds"
    _radi_ingest(uri, images)
    r = RadiObject(str(uri))
    assert sorted(r.collection_names) == sorted(MODS)
    assert len(r) == 3
    r.validate()
    for m in MODS:
        vc = r.collection(m)
        assert len(vc) == 3 and vc.shape == (6, 5, 4)
        for i in range(3):  # positional lookup is right: volumes are in sorted order
            v = vc.iloc[i]
            np.testing.assert_array_equal(v.to_numpy(), data[v.obs_id])
        for s in SUBJECTS:
            v = vc.loc[f"{s}_{m}"]
            np.testing.assert_array_equal(v.to_numpy(), data[f"{s}_{m}"])
            np.testing.assert_array_equal(np.array(v.orientation_info.affine), _affine())
    np.testing.assert_array_equal(r.FLAIR.iloc[0].to_numpy(), data["sub-01_FLAIR"])

    # The same files through 0.1.1 itself: identical obs and obs_meta, same schemas.
    ref = RadiObject.from_niftis(str(tmp_path / "ref_ds"), images=images)
    pd_ = pytest.importorskip("pandas")
    pd_.testing.assert_frame_equal(r.obs_meta.read(), ref.obs_meta.read())
    for m in MODS:
        ours, theirs = r.collection(m).obs.read(), ref.collection(m).obs.read()
        pd_.testing.assert_frame_equal(ours, theirs)
        s_ours = oracle.ArraySchema.load(str(uri / "collections" / m / "obs"))
        s_ref = oracle.ArraySchema.load(str(tmp_path / "ref_ds" / "collections" / m / "obs"))
        assert [(a.name, a.dtype, a.isvar) for a in s_ours] == [(a.name, a.dtype, a.isvar) for a in s_ref]
        # Volume metadata key for key, matched by obs_id (0.1.1 numbers in input order).
        ref_meta = {}
        for i in range(3):
            with oracle.open(str(tmp_path / "ref_ds" / "collections" / m / "volumes" / str(i))) as B:
                ref_meta[B.meta["obs_id"]] = dict(B.meta)
        for i in range(3):
            with oracle.open(str(uri / "collections" / m / "volumes" / str(i))) as A:
                assert dict(A.meta) == ref_meta[A.meta["obs_id"]]
        with oracle.Group(str(uri / "collections" / m)) as g, \
                oracle.Group(str(tmp_path / "ref_ds" / "collections" / m)) as h:
            assert dict(g.meta) == dict(h.meta)
    with oracle.Group(str(uri)) as g:
        assert dict(g.meta) == {"subject_count": 3, "n_collections": 2}
        assert all(g.is_relative(o.name) for o in g)


def test_moved_radi_dataset_still_opens(tmp_path, niftis):
    images, data = niftis
    _radi_ingest(tmp_path / "a", images)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "a")
    r = RadiObject(str(tmp_path / "b"))
    r.validate()
    np.testing.assert_array_equal(r.T1w.loc["sub-02_T1w"].to_numpy(), data["sub-02_T1w"])
    with rc.Dataset(str(tmp_path / "b")) as ds:
        np.testing.assert_array_equal(ds.read("FLAIR", "sub-03_FLAIR"), data["sub-03_FLAIR"])


def test_moved_radiobject_dataset_still_opens(tmp_path, niftis):
    """0.1.1 records absolute member URIs; moved, they name the old place. radi reads the
    members by name inside the new root (as 0.1.1 does), so the move changes nothing."""
    images, data = niftis
    RadiObject.from_niftis(str(tmp_path / "a"), images=images)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "a")
    r = radi.RadiObject(str(tmp_path / "b"))
    for oid in ("sub-01_T1w", "sub-03_T1w"):
        np.testing.assert_array_equal(r.T1w.loc[oid].to_numpy(), data[oid])
    p = subprocess.run([str(radi._lib.cli_path()), "validate", str(tmp_path / "b")],
                       capture_output=True, text=True, timeout=120)
    assert "outside" not in p.stdout + p.stderr, p.stdout + p.stderr


def test_radiobject_unsorted_dataset_reads_by_obs_id(tmp_path, niftis):
    images, data = niftis
    uri = str(tmp_path / "ref_ds")
    RadiObject.from_niftis(uri, images=images)  # volumes/<i> in input order: sub-03 first
    with rc.Dataset(uri) as ds:
        assert sorted(ds.collection_names) == sorted(MODS)
        assert ds.subject_ids == sorted(SUBJECTS)
        for m in MODS:
            rows = ds.volumes(m)
            assert [r[1] for r in rows] == [f"{s}_{m}" for s in sorted(SUBJECTS)]
            # resolved by the volume's metadata, not by position
            assert rows[0][2].endswith("/volumes/1")
            for s in SUBJECTS:
                np.testing.assert_array_equal(ds.read(m, f"{s}_{m}"), data[f"{s}_{m}"])
        msgs = ds.validate()
        assert any("position mismatch" in x for x in msgs), msgs
    # 0.1.1 itself returns the wrong voxels here (defect D1); radi does not copy that.
    assert RadiObject(uri).FLAIR.loc["sub-01_FLAIR"].obs_id == "sub-03_FLAIR"


def test_radiobject_unknown_obs_ids(tmp_path):
    (tmp_path / "fl").mkdir()
    (tmp_path / "t1").mkdir()
    vals = {}
    for d, base in (("fl", 1), ("t1", 2)):
        for s in ("BraTS002", "BraTS001"):
            arr = np.full((4, 3, 2), base * 10 + int(s[-1]), np.uint8)
            nib.save(nib.Nifti1Image(arr, np.eye(4)), str(tmp_path / d / f"{s}.nii.gz"))
            vals[(d, s)] = arr
    uri = str(tmp_path / "unk")
    RadiObject.from_niftis(uri, images={
        "FLAIR": [(str(tmp_path / "fl" / f"{s}.nii.gz"), s) for s in ("BraTS002", "BraTS001")]})
    with rc.Dataset(uri) as ds:
        assert [r[1] for r in ds.volumes("FLAIR")] == ["BraTS001_unknown", "BraTS002_unknown"]
        for s in ("BraTS001", "BraTS002"):
            np.testing.assert_array_equal(ds.read("FLAIR", f"{s}_unknown"), vals[("fl", s)])


def test_failed_ingest_leaves_dataset_readable(tmp_path, niftis):
    images, _ = niftis
    uri = tmp_path / "ds"
    _radi_ingest(uri, {"FLAIR": images["FLAIR"]})
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with rc.Dataset(str(uri)) as ds:
        with pytest.raises(rc.RadiCError, match="bad.nii.gz"):
            ds.ingest("T1w", images["T1w"][:2] + [(str(bad), "sub-09")])
        with pytest.raises(rc.RadiCError, match="duplicate"):
            ds.ingest("T1w", [images["T1w"][0], (images["T1w"][1][0], images["T1w"][0][1])])
        assert ds.collection_names == ["FLAIR"]
    assert not (uri / "collections" / "T1w").exists()
    r = RadiObject(str(uri))
    r.validate()
    assert r.collection_names == ("FLAIR",) and len(r) == 3


def test_scaled_nifti_stored_raw(tmp_path, oracle):
    d = np.arange(24, dtype=np.int16).reshape(4, 3, 2)
    img = nib.Nifti1Image(d, _affine())
    img.header.set_slope_inter(2.0, 10.0)
    p = tmp_path / "s1_ADC.nii.gz"
    nib.save(img, str(p))
    uri = tmp_path / "ds"
    with rc.Dataset(str(uri), create=True) as ds:
        ds.ingest("ADC", [(str(p), "s1")])
        raw = ds.read("ADC", "s1_ADC")
    np.testing.assert_array_equal(raw, d)
    with oracle.open(str(uri / "collections" / "ADC" / "volumes" / "0")) as A:
        assert A.meta["nifti_scl_slope"] == "2.0" and A.meta["nifti_scl_inter"] == "10.0"
    np.testing.assert_allclose(raw * 2.0 + 10.0, np.asarray(nib.load(str(p)).dataobj))
    obs = RadiObject(str(uri)).ADC.obs.read()
    assert obs["scl_slope"].tolist() == [2.0] and obs["scl_inter"].tolist() == [10.0]


def test_radi_append_keeps_radiobject_positional_lookup(tmp_path, niftis):
    images, data = niftis
    uri = tmp_path / "ds"
    _radi_ingest(uri, images)
    d = np.full((6, 5, 4), 4242, np.int16)
    img = nib.Nifti1Image(d, _affine())
    img.header.set_xyzt_units("mm")
    p = tmp_path / "sub-04_FLAIR.nii.gz"
    nib.save(img, str(p))
    d0 = np.full((6, 5, 4), -7, np.int16)
    img0 = nib.Nifti1Image(d0, _affine())
    p0 = tmp_path / "sub-00_FLAIR.nii.gz"
    nib.save(img0, str(p0))
    with rc.Dataset(str(uri)) as ds:
        ds.ingest("FLAIR", [(str(p), "sub-04")])
        # sub-00 sorts first: radi renumbers volumes/<k> so the positions stay sorted.
        ds.ingest("FLAIR", [(str(p0), "sub-00")])
        assert ds.validate() == []
    r = RadiObject(str(uri))
    r.validate()
    assert len(r) == 5 and len(r.FLAIR) == 5
    # 0.1.1 resolves by position: right only because the volumes were renumbered.
    np.testing.assert_array_equal(r.FLAIR.loc["sub-04_FLAIR"].to_numpy(), d)
    np.testing.assert_array_equal(r.FLAIR.iloc[4].to_numpy(), d)
    np.testing.assert_array_equal(r.FLAIR.iloc[0].to_numpy(), d0)
    np.testing.assert_array_equal(r.FLAIR.loc["sub-00_FLAIR"].to_numpy(), d0)
    np.testing.assert_array_equal(r.FLAIR.loc["sub-02_FLAIR"].to_numpy(), data["sub-02_FLAIR"])


def _rotated_affine():
    c, s = np.cos(0.3), np.sin(0.3)
    a = np.array([[c, -s, 0, -10.5], [s, c, 0, 7.25], [0, 0, 1.5, -3.0], [0, 0, 0, 1]])
    return a @ np.diag([0.9375, 0.9375, 1, 1])


@pytest.mark.parametrize("case", ["qform_only", "sform_only", "neither", "four_d", "float64_identity"])
def test_header_metadata_matches_radiobject(tmp_path, oracle, case):
    """obs rows and volume metadata equal what 0.1.1 writes for the same file."""
    rng = np.random.default_rng(3)
    shape, dtype = (7, 6, 5), np.float32
    if case == "four_d":
        shape, dtype = (7, 6, 5, 3), np.uint8
    if case == "float64_identity":
        dtype = np.float64
    d = (rng.random(shape) * 200).astype(dtype)
    aff = np.eye(4) if case == "float64_identity" else _rotated_affine()
    img = nib.Nifti1Image(d, aff)
    img.header.set_xyzt_units("mm", "sec")
    if case == "qform_only":
        img.set_sform(None, code=0)
        img.set_qform(aff, code=1)
    elif case == "sform_only":
        img.set_qform(None, code=0)
        img.set_sform(aff, code=1)
    elif case == "neither":
        img.set_sform(None, code=0)
        img.set_qform(None, code=0)
    p = tmp_path / "s1_T2w.nii.gz"
    nib.save(img, str(p))
    with rc.Dataset(str(tmp_path / "radi"), create=True) as ds:
        ds.ingest("T2w", [(str(p), "s1")])
        np.testing.assert_array_equal(ds.read("T2w", "s1_T2w"), d)
    RadiObject.from_niftis(str(tmp_path / "ref"), images={"T2w": [(str(p), "s1")]})
    ours, ref = RadiObject(str(tmp_path / "radi")), RadiObject(str(tmp_path / "ref"))
    ours.validate()
    pd_ = pytest.importorskip("pandas")
    pd_.testing.assert_frame_equal(ours.T2w.obs.read(), ref.T2w.obs.read())
    with oracle.open(str(tmp_path / "radi/collections/T2w/volumes/0")) as A, \
            oracle.open(str(tmp_path / "ref/collections/T2w/volumes/0")) as B:
        ours_meta = dict(A.meta)
        # radi's one addition: a 4-D image's time step, which 0.1.1 loses.
        tr = ours_meta.pop("nifti_pixdim4", None)
        assert tr == (repr(float(img.header["pixdim"][4])) if d.ndim == 4 else None)
        assert ours_meta == dict(B.meta)
        assert A.schema == B.schema
    np.testing.assert_array_equal(ours.T2w.iloc[0].to_numpy(), ref.T2w.iloc[0].to_numpy())


def test_radi_append_repairs_an_unsorted_radiobject_dataset(tmp_path):
    """0.1.1 numbers volumes in input order: sub-03, sub-02, sub-01 gives volumes/0 =
    sub-03 and volumes/2 = sub-01, so 0.1.1 itself reads the wrong voxels (defect D1).
    A radi append that renumbers puts every volume at its sorted position (moving
    sub-03 and sub-01 through a spare name: their slots form a cycle), after which 0.1.1
    reads right and validates."""
    rng = np.random.default_rng(11)
    data, srcs = {}, []
    for s in ["sub-03", "sub-02", "sub-01", "sub-04"]:
        d = rng.integers(0, 1000, size=(6, 5, 4)).astype(np.int16)
        p = tmp_path / f"{s}_T1w.nii.gz"
        nib.save(nib.Nifti1Image(d, _affine()), str(p))
        data[f"{s}_T1w"] = d
        srcs.append((str(p), s))
    uri = tmp_path / "ds011"
    RadiObject.from_niftis(str(uri), images={"T1w": srcs[:3]})
    with pytest.raises(ValueError, match="mismatch"):
        RadiObject(str(uri)).validate()
    import radi
    r = radi.RadiObject(str(uri))
    for oid, d in list(data.items())[:3]:  # radi reads the 0.1.1 dataset right, by obs_id
        np.testing.assert_array_equal(r.T1w.loc[oid].to_numpy(), d)
    r.append(images={"T1w": srcs[3:]}, obs_meta=pd.DataFrame({"obs_subject_id": ["sub-04"]}))
    r.validate()
    old = RadiObject(str(uri))
    old.validate()
    for i, s in enumerate(["sub-01", "sub-02", "sub-03", "sub-04"]):
        np.testing.assert_array_equal(old.T1w.iloc[i].to_numpy(), data[f"{s}_T1w"])
        np.testing.assert_array_equal(r.T1w.loc[f"{s}_T1w"].to_numpy(), data[f"{s}_T1w"])
    assert not [p for p in (uri / "collections" / "T1w" / "volumes").iterdir() if "staging" in p.name]
