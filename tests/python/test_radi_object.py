"""radi.RadiObject / VolumeCollection / Volume access (issue 9, item 5) against small
NIfTIs made with nibabel, ingested with RadiObject.from_niftis."""
import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

import radi
from radi import RadiObject, VolumeCollection

SUBJECTS = ["sub-01", "sub-02", "sub-03"]


def _affine(i):
    a = np.diag([1.0, 1.0, 2.0, 1.0])
    a[:3, 3] = [-30.0 + i, -32.0, -40.0]
    return a


def _write(path, data, affine):
    img = nib.Nifti1Image(data, affine)
    img.header.set_sform(affine, code=1)
    img.header.set_qform(affine, code=1)
    nib.save(img, str(path))
    return path


@pytest.fixture(scope="module")
def niftis(tmp_path_factory):
    d = tmp_path_factory.mktemp("nii")
    rng = np.random.default_rng(7)
    files = {"FLAIR": [], "T1w": []}
    for i, s in enumerate(SUBJECTS):
        for c, dt in (("FLAIR", np.int16), ("T1w", np.float32)):
            data = (rng.integers(0, 1000, size=(12, 10, 6)) + i).astype(dt)
            (d / c).mkdir(exist_ok=True)
            files[c].append(_write(d / c / f"{s}_{c}.nii.gz", data, _affine(i)))
    return d, files


@pytest.fixture(scope="module")
def ds(niftis, tmp_path_factory):
    d, files = niftis
    uri = str(tmp_path_factory.mktemp("ds") / "brats")
    import pandas as pd
    meta = pd.DataFrame({"obs_subject_id": SUBJECTS, "age": [40, 55, 61],
                         "grade": ["HGG", "LGG", "HGG"]})
    return RadiObject.from_niftis(uri, images={"FLAIR": str(d / "FLAIR" / "*.nii.gz"),
                                               "T1w": str(d / "T1w")},
                                  obs_meta=meta)


def test_import_is_light():
    code = ("import sys, radi; bad = [m for m in ('pandas', 'nibabel', 'pyarrow') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ})
    assert r.returncode == 0, r.stdout + r.stderr


def test_basics_and_repr(ds):
    assert isinstance(ds.collection_names, tuple)
    assert sorted(ds.collection_names) == ["FLAIR", "T1w"]
    assert len(ds) == 3
    assert ds.obs_subject_ids == SUBJECTS
    names = ", ".join(ds.collection_names)
    assert repr(ds) == f"RadiObject(3 subjects, 2 collections: [{names}])"
    assert not ds.is_view and ds.uri
    assert isinstance(ds.FLAIR, VolumeCollection)
    assert ds.collection("T1w").name == "T1w"
    with pytest.raises(AttributeError):
        ds.nope
    with pytest.raises(KeyError):
        ds.collection("nope")
    ds.validate()


def test_seed_cell2_form(ds):
    # The seed notebook's cell 2, with its output form on 0.1.1 (radiobject-0.1.1.md §2).
    radi_ = RadiObject(ds.uri)
    out = [f"Loaded: {radi_}", f"Collections: {radi_.collection_names}"]
    vol = radi_.FLAIR.iloc[0]
    out.append(f"\nSample volume shape: {vol.shape}")
    assert out[0].startswith("Loaded: RadiObject(3 subjects, 2 collections: [")
    assert out[1] in ("Collections: ('FLAIR', 'T1w')", "Collections: ('T1w', 'FLAIR')")
    assert out[2] == "\nSample volume shape: (12, 10, 6)"


def test_subject_ids_from_file_names(ds):
    assert ds.FLAIR.obs_ids == [f"{s}_FLAIR" for s in SUBJECTS]
    assert ds.T1w.subjects == SUBJECTS


def test_voxels_equal_nibabel(ds, niftis):
    _d, files = niftis
    for c in ("FLAIR", "T1w"):
        for i, s in enumerate(SUBJECTS):
            img = nib.load(str(files[c][i]))
            want = np.asarray(img.dataobj)
            v = ds.collection(c).loc[f"{s}_{c}"]
            np.testing.assert_array_equal(v.to_numpy(), want)
            assert v.dtype == want.dtype
            assert v.obs_id == f"{s}_{c}"
            assert repr(v) == f"Volume(shape=12x10x6, dtype={want.dtype}, obs_id='{s}_{c}')"
            np.testing.assert_allclose(v.affine, img.affine)
            oi = v.orientation_info
            assert oi.axcodes == ("R", "A", "S") and oi.is_canonical
            assert oi.affine.shape == (4, 4) and oi.source == "nifti_sform"
            assert v.spacing == pytest.approx((1.0, 1.0, 2.0))
            np.testing.assert_array_equal(ds.collection(c).iloc[i][:, :, 3], want[:, :, 3])


def test_volume_without_geometry(tmp_path):
    v = radi.Volume.from_numpy(str(tmp_path / "v"), np.zeros((4, 4, 4), np.float32))
    assert v.obs_id is None and v.orientation_info is None
    np.testing.assert_array_equal(v.affine, np.eye(4))
    assert repr(v) == "Volume(shape=4x4x4, dtype=float32)"


def test_collection(ds):
    vc = ds.FLAIR
    assert len(vc) == 3 and vc.shape == (12, 10, 6) and vc.is_uniform
    assert repr(vc) == "VolumeCollection('FLAIR', 3 volumes, shape=12x10x6)"
    assert [v.obs_id for v in vc] == vc.obs_ids
    assert vc.iloc[-1].obs_id == "sub-03_FLAIR"
    view = vc.iloc[[2, 0]]
    assert view.is_view and view.obs_ids == ["sub-03_FLAIR", "sub-01_FLAIR"]
    assert repr(view) == "VolumeCollection('FLAIR', 2 volumes, shape=12x10x6, view)"
    assert list(view.obs["obs_id"]) == ["sub-03_FLAIR", "sub-01_FLAIR"]
    assert vc.iloc[np.array([True, False, True])].obs_ids == ["sub-01_FLAIR", "sub-03_FLAIR"]
    assert vc.loc[["sub-02_FLAIR"]].subjects == ["sub-02"]
    obs = vc.obs.read()
    assert list(obs["obs_id"]) == vc.obs_ids and "dimensions" in obs.columns
    assert vc.filter("obs_subject_id == 'sub-02'").obs_ids == ["sub-02_FLAIR"]
    assert vc.head(1).obs_ids == ["sub-01_FLAIR"] and vc.tail(1).obs_ids == ["sub-03_FLAIR"]
    with pytest.raises(KeyError, match="Key 'x' not found in index"):
        vc.loc["x"]
    with pytest.raises(IndexError):
        vc.iloc[3]
    alone = VolumeCollection(ds.uri + "/collections/T1w")
    assert len(alone) == 3 and alone.iloc[0].obs_id == "sub-01_T1w"


def test_views(ds):
    v = ds.iloc[1:]
    assert v.is_view and v.obs_subject_ids == ["sub-02", "sub-03"] and len(v) == 2
    assert repr(v).endswith(" (view)")
    # D4 fixed: a subject view filters its collections.
    assert v.FLAIR.obs_ids == ["sub-02_FLAIR", "sub-03_FLAIR"]
    assert ds.iloc[0].T1w.obs_ids == ["sub-01_T1w"]
    assert ds.loc["sub-03"].obs_subject_ids == ["sub-03"]
    assert ds["sub-02"].FLAIR.iloc[0].obs_id == "sub-02_FLAIR"
    with pytest.raises(KeyError, match="obs_subject_id 'zz' not found"):
        ds.loc["zz"]
    f = ds.filter("age > 50")
    assert f.obs_subject_ids == ["sub-02", "sub-03"]
    assert f.filter("grade == 'HGG'").obs_subject_ids == ["sub-03"]
    assert ds.head(2).obs_subject_ids == SUBJECTS[:2]
    assert ds.tail(1).obs_subject_ids == SUBJECTS[2:]
    assert len(ds.sample(2, seed=1)) == 2
    sel = ds.select_collections(["T1w"])
    assert sel.collection_names == ("T1w",) and not hasattr(sel, "FLAIR")
    with pytest.raises(KeyError):
        ds.select_collections(["nope"])
    # Views are immutable derivations: the original is unchanged.
    assert len(ds) == 3 and not ds.is_view


def test_obs_meta(ds):
    om = ds.obs_meta
    assert isinstance(om, radi.Dataframe)
    df = om.read()
    assert list(df.columns[:2]) == ["obs_subject_id", "obs_id"]
    assert list(df["age"]) == [40, 55, 61]
    sub = ds.iloc[[0]].obs_meta
    assert list(sub["obs_subject_id"]) == ["sub-01"]
    text = ds.describe()
    assert "Subjects: 3" in text and "FLAIR: 3 volumes, shape=12x10x6" in text
    assert "grade" in text


def test_list_sources_and_default_meta(niftis, tmp_path):
    _d, files = niftis
    uri = str(tmp_path / "ds2")
    ro = RadiObject.from_niftis(uri, images={"seg": [(files["T1w"][1], "b"),
                                                     (files["T1w"][0], "a")]},
                                validate_alignment=True)
    assert ro.obs_subject_ids == ["a", "b"]
    assert ro.seg.obs_ids == ["a_seg", "b_seg"]
    np.testing.assert_array_equal(ro.seg.loc["b_seg"].to_numpy(),
                                  np.asarray(nib.load(str(files["T1w"][1])).dataobj))
    assert list(ro.obs_meta.read().columns) == ["obs_subject_id", "obs_id"]


def test_ingest_errors_leave_nothing(niftis, tmp_path):
    d, files = niftis
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"not a nifti")
    uri = tmp_path / "ds3"
    with pytest.raises(radi.RadiError, match="bad.nii.gz"):
        RadiObject.from_niftis(str(uri), images={"FLAIR": str(d / "FLAIR"),
                                                 "T1w": [(files["T1w"][0], "sub-01"), (bad, "sub-02")]})
    assert not uri.exists()
    with pytest.raises(FileNotFoundError):
        RadiObject.from_niftis(str(uri), images={"FLAIR": str(tmp_path / "none*.nii.gz")})
    assert not uri.exists()
    import pandas as pd
    with pytest.raises(ValueError, match="sub-03"):
        RadiObject.from_niftis(str(uri), images={"FLAIR": str(d / "FLAIR")},
                               obs_meta=pd.DataFrame({"obs_subject_id": ["sub-01", "sub-02"]}))
    assert not uri.exists()
    with pytest.raises(radi.RadiError):
        RadiObject.from_niftis(str(uri), images={"FLAIR": [(files["FLAIR"][0], "s"),
                                                           (files["FLAIR"][1], "s")]})
    assert not uri.exists()


def test_existing_uri_refused(ds, niftis):
    d, _files = niftis
    with pytest.raises(radi.RadiExistsError):
        RadiObject.from_niftis(ds.uri, images={"FLAIR": str(d / "FLAIR")})
    assert len(RadiObject(ds.uri)) == 3


def test_reads_radiobject_011_dataset_by_obs_id(tmp_path):
    ro011 = pytest.importorskip("radiobject")
    rng = np.random.default_rng(3)
    subjects = ["sub-03", "sub-01", "sub-02"]  # unsorted: 0.1.1 stores volumes in input order
    srcs, want = [], {}
    for s in subjects:
        d = rng.integers(0, 1000, size=(6, 5, 4)).astype(np.int16)
        p = _write(tmp_path / f"{s}_FLAIR.nii.gz", d, _affine(0))
        srcs.append((str(p), s))
        want[s] = d
    uri = str(tmp_path / "ds011")
    ro011.RadiObject.from_niftis(uri, images={"FLAIR": srcs})
    r = RadiObject(uri)
    assert r.obs_subject_ids == sorted(subjects) and len(r) == 3
    for v in r.FLAIR:
        s = v.obs_id.split("_")[0]
        np.testing.assert_array_equal(v.to_numpy(), want[s])
    assert r.FLAIR.subjects == sorted(subjects)


def test_from_niftis_dataset_opens_in_radiobject_011(ds, niftis):
    ro011 = pytest.importorskip("radiobject")
    _d, files = niftis
    r = ro011.RadiObject(ds.uri)
    r.validate()
    assert sorted(r.collection_names) == ["FLAIR", "T1w"] and len(r) == 3
    np.testing.assert_array_equal(r.FLAIR.loc["sub-02_FLAIR"].to_numpy(),
                                  np.asarray(nib.load(str(files["FLAIR"][1])).dataobj))
    assert list(r.obs_meta.read()["age"]) == [40, 55, 61]


def test_mixed_shapes_and_plain_obs_meta(tmp_path):
    import pandas as pd
    a = _write(tmp_path / "a_T2w.nii", np.ones((4, 5, 6), np.uint8), _affine(0))
    b = _write(tmp_path / "b_T2w.nii", np.zeros((4, 5, 7), np.uint8), _affine(0))
    ro = RadiObject.from_niftis(str(tmp_path / "mixed"), images={"T2w": str(tmp_path / "*.nii")},
                                obs_meta=pd.DataFrame({"obs_subject_id": ["a", "b"]}))
    vc = ro.T2w
    assert vc.obs_ids == ["a_T2w", "b_T2w"]
    assert vc.shape is None and not vc.is_uniform
    assert repr(vc) == "VolumeCollection('T2w', 2 volumes, shape=heterogeneous)"
    assert ro.loc["b"].T2w.shape == (4, 5, 7)  # a view of one shape is uniform
    assert "mixed shapes" in ro.describe()
    with pytest.raises(radi.RadiError):
        RadiObject.from_niftis(str(tmp_path / "mixed2"), images={"T2w": [(a, "a"), (b, "b")]},
                               validate_alignment=True)
    assert not (tmp_path / "mixed2").exists()
