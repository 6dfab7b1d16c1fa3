"""RadiObject.from_dicoms and append(dicom_dirs=...) with radiobject 0.1.1's signature and
names (collections named after the Modality, obs_ids "{subject}_{Modality}"), on
pydicom's real CT5N series (GE CT, InstanceNumbers running against the positions):

- radi's values are Hounsfield units in position order (0.1.1 stores raw values in
  InstanceNumber order; docs/dataset.md §10 lists the differences);
- radiobject 0.1.1 opens, validates and reads radi's DICOM dataset; radi reads the
  dataset 0.1.1's own from_dicoms writes;
- appends route series to the collection of their Modality (a new one is created);
- a directory with two series is refused, listing them, until series_uid picks one;
- all-or-nothing: a failing series leaves nothing at the URI.
"""
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import radi

pydicom = pytest.importorskip("pydicom")
from pydicom.pixels import apply_modality_lut  # noqa: E402

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
CT5N = TEST_FILES / "dicomdirtests" / "98892001" / "CT5N"
CT2 = TEST_FILES / "dicomdirtests" / "77654033" / "CT2"
MR_SMALL = TEST_FILES / "MR_small.dcm"


def copy_series(src, dest):
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(Path(src).iterdir()):
        if f.is_file():
            shutil.copy(f, dest / f.name)
    return dest


def hu_volume(files):
    """(x = column, y = row, z) HU volume, slices sorted along the slice normal."""
    ds = [pydicom.dcmread(str(f)) for f in files]
    iop = np.array(ds[0].ImageOrientationPatient, float)
    n = np.cross(iop[:3], iop[3:])
    ds.sort(key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, float))))
    return np.stack([apply_modality_lut(d.pixel_array, d).T for d in ds], axis=-1)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dcm_py")
    return {s: copy_series(CT5N, tmp / s / "ct") for s in ("p1", "p2", "p3")}


def test_from_dicoms_names_values_and_0_1_1_reads(dirs, tmp_path):
    uri = tmp_path / "ds"
    ro = radi.RadiObject.from_dicoms(str(uri), [(dirs["p1"], "p1"), (dirs["p2"], "p2")])
    assert list(ro.collection_names) == ["CT"]
    assert sorted(ro.CT.obs_ids) == ["p1_CT", "p2_CT"]
    want = hu_volume(sorted(CT5N.iterdir()))
    for oid in ("p1_CT", "p2_CT"):
        v = ro.CT.loc[oid]
        np.testing.assert_array_equal(v.to_numpy(), want)
        assert v.orientation_info.source == "dicom_iop"
    ro.validate()
    import radiobject
    old = radiobject.RadiObject(str(uri))
    old.validate()
    got = np.asarray(old.collection("CT").loc["p2_CT"].to_numpy())
    np.testing.assert_array_equal(got, want)


def test_radi_reads_0_1_1_from_dicoms(dirs, tmp_path):
    import radiobject
    uri = tmp_path / "old"
    radiobject.RadiObject.from_dicoms(str(uri), [(str(dirs["p1"]), "p1")])
    ro = radi.RadiObject(str(uri))
    assert list(ro.collection_names) == ["CT"]
    v = ro.CT.loc["p1_CT"]
    assert v.shape[:2] == (16, 16) and v.shape[2] == 5
    # 0.1.1 stores the raw values; radi reads them as stored.
    old = radiobject.RadiObject(str(uri)).collection("CT").loc["p1_CT"].to_numpy()
    np.testing.assert_array_equal(v.to_numpy(), np.asarray(old))


def test_append_routes_by_modality(dirs, tmp_path):
    uri = tmp_path / "ds"
    ro = radi.RadiObject.from_dicoms(str(uri), [(dirs["p1"], "p1")])
    mr = tmp_path / "mr" / "p9"
    mr.mkdir(parents=True)
    shutil.copy(MR_SMALL, mr / "MR_small.dcm")
    ro.append(dicom_dirs=[(dirs["p3"], "p3"), (mr, "p9")],
              obs_meta=pd.DataFrame({"obs_subject_id": ["p3", "p9"]}))
    assert sorted(ro.collection_names) == ["CT", "MR"]
    assert sorted(ro.CT.obs_ids) == ["p1_CT", "p3_CT"]
    assert list(ro.MR.obs_ids) == ["p9_MR"]
    want = pydicom.dcmread(str(MR_SMALL)).pixel_array.T
    np.testing.assert_array_equal(ro.MR.loc["p9_MR"].to_numpy()[:, :, 0], want)
    ro.validate()


def test_two_series_listed_then_picked(dirs, tmp_path):
    both = copy_series(CT5N, tmp_path / "both")
    shutil.copy(MR_SMALL, both / "MR_small.dcm")
    with pytest.raises(ValueError, match="2 image series") as e:
        radi.RadiObject.from_dicoms(str(tmp_path / "ds"), [(both, "p1")])
    assert "series_uid" in str(e.value)
    assert not (tmp_path / "ds").exists()
    uid = str(pydicom.dcmread(str(MR_SMALL)).SeriesInstanceUID)
    ro = radi.RadiObject.from_dicoms(str(tmp_path / "ds"), [(both, "p1")], series_uid=uid)
    assert list(ro.collection_names) == ["MR"]


def test_failing_series_leaves_nothing(dirs, tmp_path):
    uri = tmp_path / "ds"
    with pytest.raises(radi.RadiError, match="202.5"):
        radi.RadiObject.from_dicoms(str(uri), [(dirs["p1"], "p1"), (CT2, "p2")])
    assert not uri.exists() or not any(uri.iterdir())


def test_bad_arguments(dirs, tmp_path):
    with pytest.raises(TypeError):
        radi.RadiObject.from_dicoms(str(tmp_path / "b"), str(dirs["p1"]))
    with pytest.raises(ValueError, match="pairs"):
        radi.RadiObject.from_dicoms(str(tmp_path / "c"), [str(dirs["p1"])])


def test_volume_from_dicom(dirs, tmp_path):
    v = radi.Volume.from_dicom(str(tmp_path / "v"), dirs["p1"])
    want = hu_volume(sorted(CT5N.iterdir()))
    np.testing.assert_array_equal(v.to_numpy(), want)
    assert v.orientation_info.source == "dicom_iop" and v.obs_id is None
    f = radi.Volume.from_dicom(str(tmp_path / "f"), dirs["p1"], dtype=np.float32)
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.to_numpy(), want.astype(np.float32))
    import tiledb
    with tiledb.open(str(tmp_path / "v")) as a:
        assert a.meta["orientation_source"] == "dicom_iop"
    with pytest.raises(radi.RadiError, match="202.5"):
        radi.Volume.from_dicom(str(tmp_path / "bad"), CT2)


def test_volume_collection_from_dicoms_and_append(dirs, tmp_path):
    uri = tmp_path / "vc"
    vc = radi.VolumeCollection.from_dicoms(str(uri), [(dirs["p1"], "p1"), (dirs["p2"], "p2")])
    assert vc.name == "CT" and sorted(vc.obs_ids) == ["p1_CT", "p2_CT"]
    np.testing.assert_array_equal(vc.loc["p2_CT"].to_numpy(), hu_volume(sorted(CT5N.iterdir())))
    assert not [p for p in tmp_path.iterdir() if ".radi-tmp-" in p.name]  # the temporary dataset went
    with pytest.raises(ValueError, match="valid_subject_ids"):
        radi.VolumeCollection.from_dicoms(str(tmp_path / "x"), [(dirs["p1"], "p1")], valid_subject_ids=["p2"])
    # append to a dataset's collection
    ro = radi.RadiObject.from_dicoms(str(tmp_path / "ds"), [(dirs["p1"], "p1")])
    ro.CT.append(dicom_dirs=[(dirs["p3"], "p3")])
    assert sorted(radi.RadiObject(str(tmp_path / "ds")).CT.obs_ids) == ["p1_CT", "p3_CT"]
