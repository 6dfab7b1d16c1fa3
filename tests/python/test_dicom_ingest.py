"""DICOM ingest through the CLI (`radi ingest URI NAME=DIR`) on pydicom's real files
(docs/dataset.md, "DICOM collections"; research/dicom.md §5-§7):

- CT5N (GE CT, 5 slices whose InstanceNumbers run against their positions): voxels and
  affine equal dcm2niix's NIfTI (after nibabel's as_closest_canonical; 1e-4 mm), values
  in HU equal to pydicom's apply_modality_lut over the files sorted by position;
- the MR_small family in every transfer syntax (explicit/implicit LE, both big-endian
  files, RLE, JPEG-LS, JPEG 2000) gives identical volumes, equal to pydicom's pixels;
- refusals, one line each, nothing left behind: CT2 (uneven gaps, named), MR700
  (orientation varies), two series in one directory (listed; --series-uid picks one),
  a Siemens mosaic, a colour image;
- radiobject 0.1.1 opens and validates the dataset and reads the volumes; TileDB-Py
  reads the volume arrays;
- one series from an s3:// prefix into a dataset on S3 (moto).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import radi
from radi import _lib
from s3_fixtures import run_cli

nib = pytest.importorskip("nibabel")
pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402
from pydicom.pixels import apply_modality_lut  # noqa: E402

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
DIRTESTS = TEST_FILES / "dicomdirtests"
CT5N = DIRTESTS / "98892001" / "CT5N"
CT2 = DIRTESTS / "77654033" / "CT2"
MR700 = DIRTESTS / "98892003" / "MR700"
# dcm2niix from PyPI, beside the interpreter (the venv's bin) or on PATH.
DCM2NIIX = Path(sys.executable).parent / "dcm2niix"
if not DCM2NIIX.exists():
    DCM2NIIX = Path(shutil.which("dcm2niix") or DCM2NIIX)
MR_SMALL = ["MR_small", "MR_small_implicit", "MR_small_bigendian", "MR_small_expb", "MR_small_RLE",
            "MR_small_jpeg_ls_lossless", "MR_small_jp2klossless"]
# radiobject 0.1.1's DICOM obs columns, in its order (research/radiobject-0.1.1.md §3.4).
OBS_0_1_1 = ["voxel_spacing", "dimensions", "modality", "series_description", "kvp", "exposure",
             "repetition_time", "echo_time", "magnetic_field_strength", "axcodes", "affine_json",
             "orientation_source", "source_path"]


def cli(*args, env=None):
    return subprocess.run([str(_lib.cli_path()), *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env)


def ingest(*args):
    p = cli("ingest", "--json", *args)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def one_line_error(p):
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("radi: "), p.stderr
    return lines[0]


def copy_series(src, dest, names=None):
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(Path(src).iterdir()):
        if f.is_file() and (names is None or f.name in names):
            shutil.copy(f, dest / f.name)
    return dest


def dcm2niix(series_dir, out):
    """dcm2niix's NIfTI of one series directory (the only .nii it writes)."""
    if not DCM2NIIX.exists():
        pytest.skip("dcm2niix is not installed in .venv")
    out.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([str(DCM2NIIX), "-z", "n", "-b", "n", "-o", str(out), str(series_dir)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    files = sorted(out.glob("*.nii"))
    assert len(files) == 1, (files, p.stdout)
    return nib.load(str(files[0]))


def by_position(files):
    """pydicom datasets sorted along the slice normal (the geometry rule)."""
    ds = [pydicom.dcmread(str(f)) for f in files]
    iop = np.array(ds[0].ImageOrientationPatient, float)
    n = np.cross(iop[:3], iop[3:])
    return sorted(ds, key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, float))))


def hu_volume(files):
    """(x = column, y = row, z) HU volume from pydicom, as radi lays it out."""
    return np.stack([apply_modality_lut(d.pixel_array, d).T for d in by_position(files)], axis=-1)


@pytest.fixture(scope="module")
def ct_ds(tmp_path_factory):
    """Two subjects, each a copy of CT5N."""
    tmp = tmp_path_factory.mktemp("dicom_ct")
    for s in ("p1", "p2"):
        copy_series(CT5N, tmp / "ct" / s)
    doc = ingest(tmp / "ds", f"CT={tmp / 'ct'}")
    assert doc["collections"] == [{"name": "CT", "format": "dicom", "volumes": 2}]
    assert doc["subject_count"] == 2
    return tmp


def test_ct5n_equals_dcm2niix_and_hu(ct_ds):
    ds = radi.RadiObject(str(ct_ds / "ds"))
    ds.validate()  # raises on any problem
    vol = ds.CT.loc["p1_CT"]
    data, aff = vol.to_numpy(), vol.affine
    assert data.shape == (16, 16, 5) and data.dtype == np.int16  # HU fit int16
    # HU: pydicom's modality LUT over the files sorted by position (not InstanceNumber).
    np.testing.assert_array_equal(data, hu_volume(sorted(CT5N.iterdir())))
    # dcm2niix: the same voxels and geometry once both are canonical.
    ref = dcm2niix(ct_ds / "ct" / "p1", ct_ds / "dcm2niix_p1")
    ours = nib.as_closest_canonical(nib.Nifti1Image(data, aff))
    theirs = nib.as_closest_canonical(ref)
    np.testing.assert_array_equal(np.asarray(ours.dataobj), np.asarray(theirs.get_fdata()).astype(np.int16))
    np.testing.assert_allclose(ours.affine, theirs.affine, atol=1e-4)
    # obs: 0.1.1's 13 columns first, then radi's; the true spacing and the rescale kept.
    obs = ds.CT.obs.read()
    cols = [c for c in obs.columns if c not in ("obs_subject_id", "obs_id")]
    assert cols[:13] == OBS_0_1_1
    row = obs[obs["obs_id"] == "p1_CT"].iloc[0]
    assert row["modality"] == "CT" and row["orientation_source"] == "dicom_iop"
    assert row["rescale_intercept"] == -1024.0 and row["stored_values"] == "physical"
    assert row["instance_order"] == "descending" and row["n_files"] == 5
    assert row["source_path"] == str((ct_ds / "ct" / "p1").resolve())
    assert "patient_id" not in obs.columns


def test_ct5n_tiledb_reads_volume(ct_ds, oracle):
    import tiledb
    ds = radi.RadiObject(str(ct_ds / "ds"))
    want = ds.CT.loc["p2_CT"].to_numpy()
    for k in (0, 1):
        uri = ct_ds / "ds" / "collections" / "CT" / "volumes" / str(k)
        with tiledb.open(str(uri)) as A:
            if A.meta["obs_id"] == "p2_CT":
                np.testing.assert_array_equal(A[:]["voxels"], want)
                assert A.meta["orientation_source"] == "dicom_iop"
                break
    else:
        pytest.fail("no volume holds p2_CT")


def test_ct5n_radiobject_0_1_1_reads(ct_ds):
    radiobject = pytest.importorskip("radiobject")
    r = radiobject.RadiObject(str(ct_ds / "ds"))
    r.validate()
    want = hu_volume(sorted(CT5N.iterdir()))
    for oid in ("p1_CT", "p2_CT"):
        np.testing.assert_array_equal(r.collection("CT").loc[oid].to_numpy(), want)
    np.testing.assert_array_equal(r.CT.iloc[0].to_numpy(), want)
    assert list(r.CT.obs.read().columns[2:15]) == OBS_0_1_1


def test_mr_small_every_syntax_identical(tmp_path):
    for name in MR_SMALL:
        d = tmp_path / "mr" / name
        d.mkdir(parents=True)
        shutil.copy(get_testdata_file(f"{name}.dcm"), d / f"{name}.dcm")
    doc = ingest(tmp_path / "ds", f"MR={tmp_path / 'mr'}")
    assert doc["files"] == len(MR_SMALL)
    ds = radi.RadiObject(str(tmp_path / "ds"))
    ref = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    want = ref.pixel_array.T[:, :, None]
    base = ds.MR.loc["MR_small_MR"]
    for name in MR_SMALL:
        vol = ds.MR.loc[f"{name}_MR"]
        np.testing.assert_array_equal(vol.to_numpy(), want, err_msg=name)
        np.testing.assert_array_equal(vol.affine, base.affine, err_msg=name)
    obs = ds.MR.obs.read()
    assert sorted(obs["transfer_syntax_uid"]) == sorted(
        str(pydicom.dcmread(get_testdata_file(f"{n}.dcm")).file_meta.TransferSyntaxUID) for n in MR_SMALL)
    # dcm2niix on the uncompressed one: the same pixels; the in-plane geometry equal.
    nii = dcm2niix(tmp_path / "mr" / "MR_small", tmp_path / "d2n")
    ours = nib.as_closest_canonical(nib.Nifti1Image(base.to_numpy(), base.affine))
    theirs = nib.as_closest_canonical(nii)
    np.testing.assert_array_equal(np.asarray(ours.dataobj).squeeze(), np.asarray(theirs.dataobj).squeeze())
    np.testing.assert_allclose(ours.affine[:3, [0, 1, 3]], theirs.affine[:3, [0, 1, 3]], atol=1e-4)


def test_ct2_uneven_refused(tmp_path):
    copy_series(CT2, tmp_path / "ct" / "q1")
    p = cli("ingest", tmp_path / "ds", f"CT={tmp_path / 'ct'}")
    line = one_line_error(p)
    assert "uneven slice spacing" in line and "202.5, 1.25, 1.25" in line, line
    assert not (tmp_path / "ds").exists()


def test_mr700_orientation_varies_refused(tmp_path):
    p = cli("ingest", tmp_path / "ds", f"MR={copy_series(MR700, tmp_path / 'mr700')}")
    line = one_line_error(p)
    assert "changes orientation" in line and "7 parts" in line, line
    assert not (tmp_path / "ds").exists()


def test_two_series_listed_then_picked(tmp_path):
    both = tmp_path / "both" / "s1"
    copy_series(CT5N, both)
    copy_series(CT2, both)
    p = cli("ingest", tmp_path / "ds", f"CT={tmp_path / 'both'}")
    line = one_line_error(p)
    assert "2 DICOM image series" in line and "--series-uid" in line, line
    uid5 = str(pydicom.dcmread(str(next(CT5N.iterdir()))).SeriesInstanceUID)
    uid2 = str(pydicom.dcmread(str(next(CT2.iterdir()))).SeriesInstanceUID)
    assert uid5 in line and uid2 in line and "5 files" in line and "4 files" in line
    ingest("--series-uid", uid5, tmp_path / "ds", f"CT={tmp_path / 'both'}")
    vol = radi.RadiObject(str(tmp_path / "ds")).CT.loc["s1_CT"]
    np.testing.assert_array_equal(vol.to_numpy(), hu_volume(sorted(CT5N.iterdir())))


def test_mosaic_and_colour_refused(tmp_path):
    mosaic = Path(nib.__file__).parent / "nicom" / "tests" / "data" / "0.dcm"
    cases = [(mosaic, "Siemens mosaic"), (get_testdata_file("SC_rgb.dcm"), "RGB")]
    for i, (f, words) in enumerate(cases):
        d = tmp_path / f"case{i}" / "s"
        d.mkdir(parents=True)
        shutil.copy(f, d / "x.dcm")
        p = cli("ingest", tmp_path / f"ds{i}", f"X={d}")
        line = one_line_error(p)
        assert words in line and str(d) in line, line
        assert not (tmp_path / f"ds{i}").exists()


def test_append_and_mixed_with_nifti(tmp_path):
    """A NIfTI and a DICOM collection in one call, then a DICOM subject appended."""
    copy_series(CT5N, tmp_path / "ct" / "b")
    img = nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4))
    (tmp_path / "nii").mkdir()
    nib.save(img, str(tmp_path / "nii" / "b_T1.nii.gz"))
    doc = ingest(tmp_path / "ds", f"T1={tmp_path / 'nii'}", f"CT={tmp_path / 'ct'}")
    assert [c["format"] for c in doc["collections"]] == ["nifti", "dicom"]
    copy_series(CT5N, tmp_path / "more" / "a")
    doc = ingest("--append", "--dicom", tmp_path / "ds", f"CT={tmp_path / 'more'}")
    assert doc["created"] is False
    ds = radi.RadiObject(str(tmp_path / "ds"))
    want = hu_volume(sorted(CT5N.iterdir()))
    for oid in ("a_CT", "b_CT"):
        np.testing.assert_array_equal(ds.CT.loc[oid].to_numpy(), want)
    assert cli("validate", tmp_path / "ds").returncode == 0
    # --nifti on a DICOM directory: no NIfTI there.
    p = cli("ingest", "--nifti", tmp_path / "ds2", f"CT={tmp_path / 'more'}")
    assert "no .nii or .nii.gz files" in one_line_error(p)


def test_s3_series(s3root, tmp_path):
    """One series from an s3:// prefix into a dataset on S3."""
    for f in sorted(CT5N.iterdir()):
        s3root.put(f, f"src/p1/{f.name}")
    uri = s3root.uri("ds")
    p = run_cli(s3root.env(), "ingest", "--json", uri, f"CT={s3root.uri('src')}/")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["collections"][0]["volumes"] == 1
    vol = radi.RadiObject(uri).CT.loc["p1_CT"]
    np.testing.assert_array_equal(vol.to_numpy(), hu_volume(sorted(CT5N.iterdir())))
    obs = radi.RadiObject(uri).CT.obs.read()
    assert obs["source_path"].iloc[0] == s3root.uri("src/p1")
