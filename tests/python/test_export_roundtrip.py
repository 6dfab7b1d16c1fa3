"""NIfTI -> dataset -> NIfTI round trips, with nibabel as the reference.

Source files are written by nibabel (every datatype the ingest supports, 3-D and 4-D,
scaled and unscaled, sform-only, qform-only, both and neither), ingested into a dataset
with `radi ingest` or `radi.RadiObject.from_niftis`, written back with `radi export`
(.nii and .nii.gz) and read with nibabel: the raw voxels (bit for bit, in the source's
datatype), the shape, the affine, the sform/qform codes, xyzt_units, scl_slope/scl_inter
and the zooms must be the source's. The dataset's own record (obs attributes read by
TileDB-Py, `radi ls`) is checked against the source headers too.
"""
import json
import subprocess

import nibabel as nib
import numpy as np
import pytest

import radi
from radi import _lib

CLI = str(_lib.cli_path())
# get_fdata of float extremes times a slope overflows to inf, in the source and the copy
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
DTYPES = ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
          "float64"]
MODES = ["sform", "qform", "both", "neither"]
SHAPES = {"3d": (5, 6, 7), "4d": (5, 6, 7, 3)}
SCALING = {"raw": None, "scaled": (2.5, -7.25)}
NEITHER_ZOOMS = (1.5, 2.0, 3.0)


def run(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)


def affine(flip=(-1, 1, 1)):
    """A rotated, anisotropic affine whose values are exact in float32 (so an sform holds
    it exactly); flip (-1, 1, 1) makes it left-handed (qfac -1)."""
    c, s = np.cos(0.4), np.sin(0.4)
    a = np.array([[c * 1.5, 0, s * 3, -20.5], [0, 2.0, 0, 31.25], [-s * 1.5, 0, c * 3, 7.0],
                  [0, 0, 0, 1]]) @ np.diag(list(flip) + [1])
    return a.astype(np.float32).astype(np.float64)


def voxels(shape, dtype, seed=0):
    """Random values plus the type's extremes (and NaN, +-inf, -0.0, a subnormal for
    floats), so that any conversion on the way shows."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        a = (rng.standard_normal(shape) * 100).astype(dt)
        fi = np.finfo(dt)
        special = [np.nan, np.inf, -np.inf, -0.0, fi.max, fi.min, fi.tiny / 4, fi.eps]
    else:
        ii = np.iinfo(dt)
        a = rng.integers(ii.min, ii.max, size=shape, endpoint=True, dtype=dt)
        special = [ii.min, ii.max, 0, ii.min + 1, ii.max - 1]
    a.flat[: len(special)] = np.array(special, dtype=dt)
    return a


def source_image(dtype, shape, mode, scaling=None, version=1, endian="<", units=("mm", "msec"),
                 flip=(-1, 1, 1), codes=None, tr=None, seed=0):
    data = voxels(shape, dtype, seed)
    cls, hcls = (nib.Nifti1Image, nib.Nifti1Header) if version == 1 else \
        (nib.Nifti2Image, nib.Nifti2Header)
    aff = affine(flip)
    img = cls(data, None if mode == "neither" else aff, header=hcls(endianness=endian),
              dtype=data.dtype)
    scode, qcode = codes if codes else (int(mode in ("sform", "both")), int(mode in ("qform", "both")))
    img.header.set_sform(aff if scode else None, scode)
    img.header.set_qform(aff if qcode else None, qcode)
    if mode == "neither":
        img.header.set_zooms(NEITHER_ZOOMS + (1.0,) * (len(shape) - 3))
    if tr is not None:
        img.header.set_zooms(tuple(img.header.get_zooms()[:3]) + (tr,))
    img.header.set_xyzt_units(*units)
    if scaling is not None:
        img.header.set_slope_inter(*scaling)
    return img


def native(dt):
    return np.dtype(dt).newbyteorder("=")


def bits(a):
    """The array's bytes in native order: compares floats bit for bit (-0.0, NaN)."""
    a = np.ascontiguousarray(a)
    return a.astype(native(a.dtype)).view(np.uint8)


def file_header(path):
    """The header as stored in the file (scl_slope/scl_inter untouched)."""
    cls = type(nib.load(str(path)).header)
    with nib.openers.ImageOpener(str(path)) as f:
        return cls.from_fileobj(f)


def assert_same_nifti(got_path, src_path, qform_atol=1e-6):
    src, got = nib.load(str(src_path)), nib.load(str(got_path))
    sh, gh = src.header, got.header
    assert native(got.get_data_dtype()) == native(src.get_data_dtype())
    assert got.shape == src.shape
    raw_src = np.asarray(src.dataobj.get_unscaled())
    raw_got = np.asarray(got.dataobj.get_unscaled())
    assert native(raw_got.dtype) == native(raw_src.dtype)
    np.testing.assert_array_equal(bits(raw_got), bits(raw_src))
    # Scaling: the same (slope, inter) to nibabel, and the same scaled values.
    assert (got.dataobj.slope, got.dataobj.inter) == (src.dataobj.slope, src.dataobj.inter)
    if src.dataobj.slope != 1 or src.dataobj.inter != 0:
        # (nibabel's loaded header has the scaling moved into dataobj: read the file's)
        gr, sr = file_header(got_path), file_header(src_path)
        assert (float(gr["scl_slope"]), float(gr["scl_inter"])) == \
            (float(sr["scl_slope"]), float(sr["scl_inter"]))
    np.testing.assert_array_equal(got.get_fdata(), src.get_fdata())
    # Geometry.
    for key in ("sform_code", "qform_code", "xyzt_units"):
        assert int(gh[key]) == int(sh[key]), (key, int(gh[key]), int(sh[key]))
    assert gh.get_xyzt_units() == sh.get_xyzt_units()
    if int(sh["sform_code"]) or not int(sh["qform_code"]):
        np.testing.assert_array_equal(got.affine, src.affine)
    else:
        np.testing.assert_allclose(got.affine, src.affine, rtol=0, atol=qform_atol)
    if int(sh["qform_code"]):
        np.testing.assert_allclose(gh.get_qform(), sh.get_qform(), rtol=0, atol=qform_atol)
    if int(sh["sform_code"]):
        np.testing.assert_array_equal(gh.get_sform(), sh.get_sform())
    assert nib.aff2axcodes(got.affine) == nib.aff2axcodes(src.affine)
    np.testing.assert_allclose(gh.get_zooms()[:3], sh.get_zooms()[:3], rtol=1e-6)
    return src, got


# ---------------------------------------------------------------- datasets --

def coll_name(dtype, nd):
    return f"{dtype}_{nd}"


def subject(mode, scale):
    return f"{mode}-{scale}"


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """One directory per (dtype, 3d|4d) collection, one file per (mode, scaling) subject."""
    root = tmp_path_factory.mktemp("rt_src")
    out = {}
    for dtype in DTYPES:
        for nd, shape in SHAPES.items():
            d = root / coll_name(dtype, nd)
            d.mkdir()
            for i, mode in enumerate(MODES):
                for scale, sc in SCALING.items():
                    p = d / f"{subject(mode, scale)}_{coll_name(dtype, nd)}.nii.gz"
                    nib.save(source_image(dtype, shape, mode, sc, seed=i), str(p))
                    out[(dtype, nd, mode, scale)] = p
    return root, out


@pytest.fixture(scope="module")
def datasets(sources, tmp_path_factory):
    """The same files ingested by the CLI and by from_niftis, each collection on its own
    (one bad ingest fails only its own tests). Built lazily, cached."""
    root, _files = sources
    out_root = tmp_path_factory.mktemp("rt_ds")
    cache = {}

    def get(how, dtype, nd):
        key = (how, dtype, nd)
        if key not in cache:
            name = coll_name(dtype, nd)
            uri = out_root / f"{how}_{name}"
            if how == "cli":
                p = run("ingest", uri, f"{name}={root / name}")
                assert p.returncode == 0 and p.stderr == "", p.stderr
            else:
                radi.RadiObject.from_niftis(str(uri), images={name: str(root / name)})
            cache[key] = uri
        return cache[key]

    return get


def export(uri, coll, obs_id, out):
    p = run("export", uri, "--collection", coll, "--obs-id", obs_id, "-o", out)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and p.stderr == ""
    return out


# ------------------------------------------------------------ round trips --

@pytest.mark.parametrize("scale", list(SCALING))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("nd", list(SHAPES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how,out_ext", [("cli", ".nii"), ("cli", ".nii.gz"), ("python", ".nii.gz")])
def test_round_trip(sources, datasets, tmp_path, how, out_ext, dtype, nd, mode, scale):
    _root, files = sources
    uri = datasets(how, dtype, nd)
    name = coll_name(dtype, nd)
    out = export(uri, name, f"{subject(mode, scale)}_{name}", tmp_path / f"out{out_ext}")
    with open(out, "rb") as f:
        assert (f.read(2) == b"\x1f\x8b") == (out_ext == ".nii.gz")
    assert_same_nifti(out, files[(dtype, nd, mode, scale)])


@pytest.mark.parametrize("nd", list(SHAPES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_dataset_records_the_header(sources, datasets, oracle, dtype, nd):
    """obs (read by TileDB-Py) and `radi ls` hold what the source headers say."""
    _root, files = sources
    uri = datasets("cli", dtype, nd)
    name = coll_name(dtype, nd)
    with oracle.open(str(uri / "collections" / name / "obs")) as a:
        df = a.df[:]
    rows = {r["obs_id"]: r for _, r in df.iterrows()}
    assert len(rows) == len(MODES) * len(SCALING)
    doc = json.loads(run("ls", "--json", uri).stdout)
    vols = {v["obs_id"]: v for v in doc["collections"][0]["volumes"]}
    for mode in MODES:
        for scale, sc in SCALING.items():
            oid = f"{subject(mode, scale)}_{name}"
            h = nib.load(str(files[(dtype, nd, mode, scale)])).header
            r = rows[oid]
            assert r["obs_subject_id"] == subject(mode, scale)
            assert int(r["datatype"]) == int(h["datatype"])
            assert int(r["bitpix"]) == int(h["bitpix"])
            assert (float(r["scl_slope"]), float(r["scl_inter"])) == (sc if sc else (1.0, 0.0))
            assert int(r["sform_code"]) == int(h["sform_code"])
            assert int(r["qform_code"]) == int(h["qform_code"])
            assert int(r["xyzt_units"]) == int(h["xyzt_units"])
            assert r["dimensions"] == str(tuple(int(x) for x in h.get_data_shape()[:3]))
            assert vols[oid]["shape"] == list(SHAPES[nd]) and vols[oid]["dtype"] == dtype


VARIANTS = [
    dict(version=2), dict(endian=">"), dict(version=2, endian=">"),
    dict(units=("unknown", "unknown")), dict(units=("micron", "sec")),
    dict(units=("meter", "usec")), dict(units=("mm", "unknown")),
    dict(flip=(1, 1, 1)), dict(flip=(1, -1, -1)), dict(flip=(-1, -1, -1)),
    dict(scaling=(0.5, 0.0)), dict(scaling=(1.0, 100.0)), dict(scaling=(-3.0, 1e6)),
]
# sform/qform codes other than 1 (2 aligned, 3 Talairach, 4 MNI): both forms are set.
CODES = [dict(codes=(2, 1)), dict(codes=(3, 0)), dict(codes=(4, 2)), dict(codes=(0, 3))]


def variant_id(v):
    return "-".join(f"{k}={v[k]}" for k in v).replace(" ", "")


@pytest.mark.parametrize("mode,variant", [pytest.param(m, v, id=f"{m}-{variant_id(v)}")
                                          for m in MODES for v in VARIANTS] +
                         [pytest.param("both", v, id=variant_id(v)) for v in CODES])
@pytest.mark.parametrize("src_ext", [".nii", ".nii.gz"])
def test_source_variants(tmp_path, variant, mode, src_ext):
    """NIfTI-2 and big-endian sources, units, handedness, scalings and NIfTI codes other
    than 1 (aligned, Talairach, MNI) come back as nibabel reads the source."""
    d = tmp_path / "src"
    d.mkdir()
    src = d / f"s1_V{src_ext}"
    nib.save(source_image("int16", (5, 6, 7), mode, **variant), str(src))
    uri = tmp_path / "ds"
    p = run("ingest", uri, f"V={d}")
    assert p.returncode == 0, p.stderr
    assert_same_nifti(export(uri, "V", "s1_V", tmp_path / "o.nii"), src)


@pytest.mark.parametrize("dtype", ["int16", "float32"])
@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_export_is_stable(tmp_path, dtype, ext):
    """An exported file ingests and exports again to the same bytes (.nii) / voxels."""
    d = tmp_path / "src"
    d.mkdir()
    src = d / "s1_V.nii.gz"
    nib.save(source_image(dtype, (5, 6, 7, 2), "both", (2.0, 1.0)), str(src))
    assert run("ingest", tmp_path / "ds1", f"V={d}").returncode == 0
    again = tmp_path / "again"
    again.mkdir()
    first = export(tmp_path / "ds1", "V", "s1_V", again / f"s1_V{ext}")
    assert run("ingest", tmp_path / "ds2", f"V={again}").returncode == 0
    second = export(tmp_path / "ds2", "V", "s1_V", tmp_path / f"second{ext}")
    assert_same_nifti(first, src)
    assert_same_nifti(second, src)
    if ext == ".nii":
        assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("tr", [2.5, 0.8])
def test_export_keeps_time_step(tmp_path, tr):
    d = tmp_path / "src"
    d.mkdir()
    src = d / "s1_B.nii.gz"
    nib.save(source_image("float32", (5, 6, 7, 4), "sform", tr=tr), str(src))
    assert nib.load(str(src)).header.get_zooms()[3] == np.float32(tr)
    uri = tmp_path / "ds"
    assert run("ingest", uri, f"B={d}").returncode == 0
    out = export(uri, "B", "s1_B", tmp_path / "o.nii.gz")
    assert_same_nifti(out, src)
    np.testing.assert_array_equal(nib.load(str(out)).header.get_zooms(),
                                  nib.load(str(src)).header.get_zooms())


@pytest.mark.parametrize("how", ["cli", "python"])
def test_python_volume_to_nifti(sources, datasets, tmp_path, how):
    """Volume.to_nifti (radiobject 0.1.1's name), when the package has it, writes what
    `radi export` writes."""
    if not hasattr(radi.Volume, "to_nifti"):
        pytest.skip("radi.Volume has no to_nifti in this build")
    _root, files = sources
    for dtype in ("uint8", "int64", "float64"):
        uri = datasets(how, dtype, "4d")
        name = coll_name(dtype, "4d")
        ro = radi.RadiObject(str(uri))
        for mode in MODES:
            for scale in SCALING:
                oid = f"{subject(mode, scale)}_{name}"
                out = tmp_path / f"{oid}.nii.gz"
                ro.collection(name).loc[oid].to_nifti(str(out))
                assert_same_nifti(out, files[(dtype, "4d", mode, scale)])
