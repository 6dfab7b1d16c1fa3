"""reorient=True at ingest (src/model/source_reorient.c), against radiobject 0.1.1 and nibabel.

For NIfTI files in LAS (scaled int16), LPS, a permuted oblique PSR, a permuted 4-D and RAS
orientation: radi's from_niftis / VolumeCollection.from_niftis / append / Volume.from_nifti
with reorient=True store what 0.1.1's do (shape, voxels as read, every volume metadata key
but the scaling ones radi records differently, orientation_info, tiling), and the voxels
are nibabel's as_closest_canonical. DICOM: a series ingested with reorient=True holds
dcm2niix's NIfTI of it reoriented by nibabel.
"""
import ctypes as C
import json

import numpy as np
import pytest

import radi
from radi import _lib

nib = pytest.importorskip("nibabel")
radiobject = pytest.importorskip("radiobject")
tiledb = pytest.importorskip("tiledb")

# radi keeps raw values and records the file's scaling (0.1.1 stores scaled floats and
# records 1.0 / 0.0), and keeps a 4-D image's time step (docs/differences-volume.md).
_SCALING_KEYS = {"nifti_scl_slope", "nifti_scl_inter", "nifti_pixdim4"}


def _rot(deg_x, deg_z):
    a, c = np.radians([deg_x, deg_z])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ rx


@pytest.fixture(scope="module")
def niftis(tmp_path_factory):
    d = tmp_path_factory.mktemp("nii")
    rng = np.random.default_rng(17)
    out = {}

    def save(name, data, affine, slope=None, code=1):
        img = nib.Nifti1Image(data, affine)
        img.header.set_xyzt_units("mm", "sec")
        img.header.set_sform(affine, code=code)
        img.header.set_qform(affine, code=1)
        if slope:
            img.header.set_slope_inter(*slope)
        p = d / f"{name}.nii.gz"
        nib.save(img, str(p))
        out[name] = str(p)

    save("las", rng.integers(-100, 300, (12, 13, 7)).astype(np.int16), np.diag([-1.5, 2, 2.5, 1]), slope=(2, 10))
    lps = np.diag([-0.9, -1.1, 3.0, 1.0])
    lps[:3, 3] = [40.5, 61.25, -12.0]
    save("lps", rng.random((10, 9, 6)).astype(np.float32), lps, code=2)
    # voxel x -> P, y -> S, z -> R, slightly oblique
    psr = np.zeros((4, 4))
    psr[:3, :3] = _rot(7, -5) @ np.array([[0, 0, 1.3], [-0.8, 0, 0], [0, 2.2, 0]])
    psr[:3, 3] = [-20.0, 33.3, 5.5]
    psr[3, 3] = 1
    save("psr_oblique", rng.integers(0, 4000, (11, 8, 9)).astype(np.uint16), psr)
    ail = np.array([[0, -2, 0, 10], [1.5, 0, 0, -3], [0, 0, -2.5, 7], [0, 0, 0, 1.0]])
    save("ail_4d", rng.integers(0, 500, (6, 7, 5, 3)).astype(np.int16), ail)
    ras = np.diag([1.0, 1.2, 2.0, 1])
    save("ras", rng.random((5, 6, 4)).astype(np.float64), ras)
    return out


def _meta(uri):
    with tiledb.open(uri) as A:
        return dict(A.meta)


def _tiles(uri):
    schema = tiledb.ArraySchema.load(uri)
    return [int(schema.domain.dim(i).tile) for i in range(schema.domain.ndim)]


def _assert_same_volume(rv, ov, what, skip=()):
    """A radi volume and a 0.1.1 volume hold the same reoriented image."""
    assert rv.shape == ov.shape, what
    assert np.array_equal(rv.to_numpy(dtype=np.float64), np.asarray(ov.to_numpy(), dtype=np.float64)), what
    mr, mo = _meta(rv.uri), _meta(ov.uri)
    assert {k: v for k, v in mr.items() if k not in _SCALING_KEYS | set(skip)} == \
           {k: v for k, v in mo.items() if k not in _SCALING_KEYS | set(skip)}, what
    ri, oi = rv.orientation_info, ov.orientation_info
    assert (ri.axcodes, ri.is_canonical, ri.confidence, ri.source) == \
           (tuple(oi.axcodes), oi.is_canonical, oi.confidence, oi.source), what
    assert np.array_equal(ri.affine, np.array(oi.affine)), what
    assert _tiles(rv.uri) == _tiles(ov.uri), what


def _assert_nibabel_canonical(vol, path, what):
    """The stored voxels are nibabel's as_closest_canonical of the file; original_affine
    is the file's affine."""
    img = nib.load(path)
    canon = nib.as_closest_canonical(img)
    assert vol.shape == canon.shape, what
    assert np.array_equal(vol.to_numpy(dtype=np.float64), np.asarray(canon.dataobj, dtype=np.float64)), what
    np.testing.assert_allclose(vol.orientation_info.affine, canon.affine, atol=1e-4, err_msg=what)
    assert vol.orientation_info.axcodes == ("R", "A", "S"), what
    assert np.array_equal(np.array(json.loads(_meta(vol.uri)["original_affine"])), img.affine), what


def test_collection_from_niftis_matches_0_1_1_and_nibabel(tmp_path, niftis):
    for name, path in niftis.items():
        rc = radi.VolumeCollection.from_niftis(str(tmp_path / f"r_{name}"), [(path, "s1")], name="X",
                                               reorient=True)
        oc = radiobject.VolumeCollection.from_niftis(str(tmp_path / f"o_{name}"), [(path, "s1")], name="X",
                                                     reorient=True)
        # 0.1.1 names the obs_id after the file's series type ("s1_unknown"), radi after
        # the collection (docs/differences-from-radiobject-0.1.1.md)
        assert list(rc.obs_ids) == ["s1_X"] and len(oc.obs_ids) == 1, name
        rv, ov = rc.loc["s1_X"], oc.loc[oc.obs_ids[0]]
        _assert_same_volume(rv, ov, name, skip={"obs_id"})
        _assert_nibabel_canonical(rv, path, name)
        # obs describes the file, as 0.1.1's does (docs/dataset.md)
        row = rc.obs.read().iloc[0]
        assert row["dimensions"] == str(tuple(nib.load(path).shape[:3])), name
        assert row["axcodes"] == "".join(nib.aff2axcodes(nib.load(path).affine)), name


def test_radi_object_from_niftis_and_append_match_0_1_1(tmp_path, niftis):
    names = ["las", "psr_oblique", "ras"]
    pairs = [(niftis[n], f"sub-{k}") for k, n in enumerate(names)]
    r = radi.RadiObject.from_niftis(str(tmp_path / "r"), niftis=pairs[:2], collection_name="X", reorient=True)
    o = radiobject.RadiObject.from_niftis(str(tmp_path / "o"), niftis=pairs[:2], collection_name="X",
                                          reorient=True)

    def theirs(vc, sid):  # 0.1.1's X.append names obs_ids after the file's series type
        return vc.loc[next(o for o in vc.obs_ids if o.startswith(sid + "_"))]

    for (path, sid) in pairs[:2]:  # collection_name: both name obs_ids after the series type
        _assert_same_volume(r.X.loc[f"{sid}_unknown"], theirs(o.X, sid), path)
    # VolumeCollection.append through a dataset, the same file in both
    r.X.append(niftis=[pairs[2]], reorient=True)
    o.X.append(niftis=[pairs[2]], reorient=True)
    r, o = radi.RadiObject(str(tmp_path / "r")), radiobject.RadiObject(str(tmp_path / "o"))
    _assert_same_volume(r.X.loc["sub-2_X"], theirs(o.X, "sub-2"), "append ras", skip={"obs_id"})
    # RadiObject.append: a new subject, reoriented, next to one ingested without
    pd = pytest.importorskip("pandas")
    ro = radi.RadiObject.from_niftis(str(tmp_path / "r2"), images={"A": [(niftis["ras"], "s1")]})
    ro.append(images={"B": [(niftis["lps"], "s2")]}, reorient=True,
              obs_meta=pd.DataFrame({"obs_subject_id": ["s2"]}))
    _assert_nibabel_canonical(ro.B.loc["s2_B"], niftis["lps"], "RadiObject.append")
    assert "original_affine" not in _meta(ro.A.loc["s1_A"].uri)  # ingested without reorient


def test_volume_from_nifti_matches_0_1_1(tmp_path, niftis):
    for name, path in niftis.items():
        r = radi.Volume.from_nifti(str(tmp_path / f"r_{name}"), path, reorient=True)
        o = radiobject.Volume.from_nifti(str(tmp_path / f"o_{name}"), path, reorient=True)
        _assert_same_volume(r, o, name)
        n = radi.Volume.from_nifti(str(tmp_path / f"n_{name}"), path)  # None: 0.1.1's default, no reorient
        assert "original_affine" not in _meta(n.uri) and n.shape == nib.load(path).shape, name


@pytest.mark.parametrize("target", ["LAS", "LPS"])
def test_other_targets_match_0_1_1(tmp_path, niftis, target):
    """canonical_target LAS / LPS (radi_volume_from_nifti_reoriented's targets 2, 3),
    against 0.1.1 configured with that target."""
    from radiobject.ctx import OrientationConfig, configure, get_config

    code = {"LAS": 2, "LPS": 3}[target]
    saved = get_config().orientation
    configure(orientation=OrientationConfig(canonical_target=target))
    try:
        for name, path in niftis.items():
            uri = str(tmp_path / f"r_{name}")
            ctx = _lib.context()
            h = C.c_void_p()
            _lib.check(_lib.lib().radi_volume_from_nifti_reoriented(
                ctx.handle, _lib.encode_uri(uri), _lib.encode_uri(path), code, 1, None, None, C.byref(h)))
            _lib.lib().radi_volume_close(h)
            o = radiobject.Volume.from_nifti(str(tmp_path / f"o_{name}"), path, reorient=True)
            _assert_same_volume(radi.Volume(uri), o, f"{name} {target}")
    finally:
        configure(orientation=saved)


def test_degenerate_affine_refused(tmp_path):
    img = nib.Nifti1Image(np.zeros((3, 4, 5), np.int16), np.eye(4))
    img.header.set_sform(np.eye(4), code=2)
    img.header.set_qform(None, code=0)
    p = tmp_path / "flat.nii"
    nib.save(img, str(p))
    raw = bytearray(p.read_bytes())
    raw[312:328] = bytes(16)  # srow_z = 0: z has no direction (nibabel cannot write it)
    p.write_bytes(bytes(raw))
    with pytest.raises(radi.RadiError, match="degenerate"):
        radi.VolumeCollection.from_niftis(str(tmp_path / "c"), [(str(p), "s")], name="X", reorient=True)
    assert not (tmp_path / "c").exists()


# ----------------------------------------------------------------- DICOM --

def test_dicom_reoriented_equals_dcm2niix_canonical(tmp_path):
    import dicom_util as du

    if du.dcm2niix_exe() is None:
        pytest.skip("dcm2niix is not installed in .venv (requirements-test.txt)")
    img = du.oblique_nifti(shape=(20, 16, 12), spacing=(0.8, 1.1, 2.5), angles=(10, -15, 20))
    # rows running left, columns posterior, slices inferior: stored LPI as acquired
    img = nib.Nifti1Image(np.asarray(img.dataobj), img.affine @ np.diag([-1.0, -1.0, -1.0, 1.0]))
    du.write_series(img, tmp_path / "series" / "p1", order="shuffled")
    series = tmp_path / "series" / "p1"
    nii, log = du.dcm2niix(series, tmp_path / "d2n")
    assert len(nii) == 1, log
    canon = nib.as_closest_canonical(nii[0])
    want, want_aff = np.asarray(canon.dataobj), canon.affine
    plain = radi.Volume.from_dicom(str(tmp_path / "plain"), str(series))
    assert plain.orientation_info.axcodes != ("R", "A", "S")  # the series is not stored RAS as acquired
    ro = radi.RadiObject.from_dicoms(str(tmp_path / "ro"), [(series, "p1")], reorient=True)
    vc = radi.VolumeCollection.from_dicoms(str(tmp_path / "vc"), [(series, "p1")], reorient=True)
    vol = radi.Volume.from_dicom(str(tmp_path / "vol"), str(series), reorient=True)
    for what, v in (("RadiObject", ro.CT.loc["p1_CT"]), ("VolumeCollection", vc.loc["p1_CT"]), ("Volume", vol)):
        assert v.shape == want.shape, what
        assert np.array_equal(v.to_numpy().astype(np.int64), want.astype(np.int64)), what
        assert v.orientation_info.axcodes == ("R", "A", "S"), what
        assert float(np.abs(v.orientation_info.affine - want_aff).max()) <= 1e-4, what
        m, pm = _meta(v.uri), _meta(plain.uri)
        assert m["original_affine"] == pm["orientation_affine"], what
        assert (m["orientation_source"], m["orientation_confidence"]) == ("nifti_sform", "header"), what
    # the stand-alone DICOM volume with dtype converts the reoriented voxels
    f = radi.Volume.from_dicom(str(tmp_path / "f32"), str(series), reorient=True, dtype=np.float32)
    assert np.array_equal(f.to_numpy(), want.astype(np.float32))


def test_cli_ingest_reorient(tmp_path, niftis):
    """`radi ingest --reorient` stores what from_niftis(reorient=True) does; an unknown
    target is a usage error."""
    import shutil
    import subprocess

    src = tmp_path / "in"
    src.mkdir()
    for name in ("las", "psr_oblique", "ail_4d"):
        shutil.copy(niftis[name], src / f"{name.replace('_', '-')}.nii.gz")
    cli = str(_lib.cli_path())
    p = subprocess.run([cli, "ingest", "--reorient", str(tmp_path / "cli"), f"X={src}/*.nii.gz"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    py = radi.RadiObject.from_niftis(str(tmp_path / "py"), images={"X": str(src / "*.nii.gz")}, reorient=True)
    cl = radi.RadiObject(str(tmp_path / "cli"))
    assert list(cl.X.obs_ids) == list(py.X.obs_ids) and len(py.X.obs_ids) == 3
    for oid in py.X.obs_ids:
        a, b = cl.X.loc[oid], py.X.loc[oid]
        assert a.shape == b.shape and np.array_equal(a.to_numpy(), b.to_numpy()), oid
        assert _meta(a.uri) == _meta(b.uri), oid
        assert "original_affine" in _meta(a.uri), oid
    bad = subprocess.run([cli, "ingest", "--reorient=XYZ", str(tmp_path / "bad"), f"X={src}/*.nii.gz"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode not in (0, 1) and "RAS, LAS or LPS" in bad.stderr
    assert not (tmp_path / "bad").exists()
