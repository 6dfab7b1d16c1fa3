"""radiobject 0.1.1's API of Volume (create, from_nifti, set_obs_id, statistics,
histograms), Dataframe.create and the public helper modules (indexing, orientation,
imaging_metadata, utils, ingest, parallel), each compared with 0.1.1 run on the same data.
Deliberate differences are asserted as such (docs/differences-volume.md).
"""
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

radiobject = pytest.importorskip("radiobject")
nib = pytest.importorskip("nibabel")
tiledb = pytest.importorskip("tiledb")

import radi  # noqa: E402
import radi.volume as rv  # noqa: E402
from radi import imaging_metadata as RM  # noqa: E402
from radi import ingest as RI  # noqa: E402
from radi import orientation as RO  # noqa: E402
from radi import parallel as RP  # noqa: E402
from radi import utils as RU  # noqa: E402
from radi.indexing import Index  # noqa: E402
from radiobject import imaging_metadata as OM  # noqa: E402
from radiobject import ingest as OI  # noqa: E402
from radiobject import orientation as OO  # noqa: E402
from radiobject import parallel as OP  # noqa: E402
from radiobject import utils as OU  # noqa: E402
from radiobject.dataframe import Dataframe as ODataframe  # noqa: E402
from radiobject.indexing import Index as OIndex  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning",
                                      "ignore:Converting input from bool:RuntimeWarning",
                                      "ignore:invalid value encountered:RuntimeWarning")


def _outcome(fn, *args, **kwargs):
    """("ok", value) or (exception type name, message): errors compare like results."""
    try:
        return "ok", fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the exception is the result compared
        return type(e).__name__, str(e)


def _same_float(a, b) -> bool:
    return type(a) is type(b) and (a == b or (np.isnan(a) and np.isnan(b)))


# ------------------------------------------------------------------- Index --

def test_index_matches_0_1_1():
    keys = ["sub-03", "sub-01", "sub-02"]
    r, o = Index.build(keys), OIndex.build(keys)
    assert r.keys == o.keys == tuple(keys)
    assert dict(r.key_to_idx) == o.key_to_idx
    assert len(r) == len(o) == 3
    assert ("sub-01" in r, "x" in r) == ("sub-01" in o, "x" in o) == (True, False)
    for k in keys:
        assert r.get_index(k) == o.get_index(k)
    for i in range(3):
        assert r.get_key(i) == o.get_key(i)
    for call in (("get_index", "nope"), ("get_key", 3), ("get_key", -1)):
        assert _outcome(getattr(r, call[0]), call[1]) == _outcome(getattr(o, call[0]), call[1])
    assert _outcome(Index.build, ["a", "b", "a", "b"]) == _outcome(OIndex.build, ["a", "b", "a", "b"])
    assert len(Index.build([])) == 0
    with pytest.raises(AttributeError):
        r.keys = ()


# ------------------------------------------------------------------ Volume --

def _cases():
    rng = np.random.default_rng(11)
    nan = rng.random((20, 20, 20)).astype(np.float32)
    nan[rng.random(nan.shape) < 0.01] = np.nan
    return {
        "float32": (rng.standard_normal((40, 37, 23)) * 50 + 3).astype(np.float32),
        # Over the std block size: the blockwise pairwise tree has several levels.
        "float32-large": (rng.standard_normal((96, 80, 40)) * 10 + 1e3).astype(np.float32),
        "float64-4d": rng.standard_normal((20, 22, 10, 3)),
        "int16": rng.integers(-1000, 3000, (31, 40, 17)).astype(np.int16),
        "uint8": rng.integers(0, 255, (30, 20, 10)).astype(np.uint8),
        "int32-constant": np.full((8, 8, 8), 3, np.int32),
        "float32-nan": nan,
        "bool": rng.random((10, 11, 12)) < 0.3,
        "int8": rng.integers(-128, 127, (9, 10, 11), endpoint=True).astype(np.int8),
        "uint64-wide": rng.integers(0, 2**64 - 1, (7, 8, 9), dtype=np.uint64, endpoint=True),
        "int64": rng.integers(-2**62, 2**62, (7, 8, 10)).astype(np.int64),
        "float64-inf-zeros": np.where(rng.random((12, 11, 10)) < 0.1, -0.0,
                                      np.where(rng.random((12, 11, 10)) < 0.05, np.inf, rng.standard_normal((12, 11, 10)))),
    }


CASES = _cases()


@pytest.fixture(scope="module")
def volumes(tmp_path_factory):
    """Each case written by radi and by 0.1.1 (from_numpy) from the same array."""
    d = tmp_path_factory.mktemp("vols")
    return {k: (radi.Volume.from_numpy(str(d / f"r_{k}"), a), radiobject.Volume.from_numpy(str(d / f"o_{k}"), a))
            for k, a in CASES.items()}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("percentiles", [None, [1, 25, 50.5, 75, 99.9], [0, 100, 33.3333, 66.6, 0.01, 50, 99.99]])
def test_statistics_equal_0_1_1(volumes, case, percentiles):
    r, o = volumes[case]
    got, want = _outcome(r.get_statistics, percentiles), _outcome(o.get_statistics, percentiles)
    assert got[0] == want[0]
    if got[0] != "ok":  # e.g. numpy refuses percentiles of booleans: the same error
        assert got == want
        return
    got, want = got[1], want[1]
    assert list(got) == list(want)
    assert all(_same_float(got[k], want[k]) for k in want), (got, want)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("bins,value_range", [(256, None), (10, (0.0, 1.0)), ([0, 1, 5, 100, 1e4], None),
                                              (7, (-5, 5))])
def test_histogram_equal_0_1_1(volumes, case, bins, value_range):
    r, o = volumes[case]
    got, want = _outcome(r.compute_histogram, bins, value_range), _outcome(o.compute_histogram, bins, value_range)
    assert got[0] == want[0]
    if got[0] != "ok":  # NaN with an automatic range: numpy's ValueError either way
        assert got == want
        return
    (gc, ge), (wc, we) = got[1], want[1]
    assert gc.dtype == wc.dtype and ge.dtype == we.dtype
    assert np.array_equal(gc, wc) and np.array_equal(ge, we)


def test_order_statistics_are_sorted_values():
    """radi_order_statistics: the values numpy's sort puts at each rank (NaN last), for
    every numeric type, any rank order and repeats; `a` is left as it was."""
    rng = np.random.default_rng(8)
    for dt in (np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
               np.uint64, np.bool_):
        for n in (1, 2, 5, 1000, 70001):
            if np.dtype(dt).kind == "f":
                a = (rng.standard_normal(n) * 1e3).astype(dt)
                a[rng.random(n) < 0.05] = np.nan
                a[rng.random(n) < 0.05] = -np.inf
            elif dt is np.bool_:
                a = rng.random(n) < 0.5
            else:
                a = rng.integers(np.iinfo(dt).min, np.iinfo(dt).max, n, dtype=dt, endpoint=True)
            before = a.copy()
            ranks = [int(k) for k in rng.integers(0, n, 6)] + [0, n - 1, n // 2]
            got = rv._order_statistics(a, ranks)
            want = np.sort(a)[ranks]
            assert np.array_equal(np.array(got, dtype=dt), want, equal_nan=a.dtype.kind == "f"), (dt, n)
            assert np.array_equal(a, before, equal_nan=a.dtype.kind == "f")
    with pytest.raises(radi.RadiError, match="rank 5 of 5"):
        rv._order_statistics(np.zeros(5), [5])


def test_std_blockwise_is_numpys(monkeypatch):
    """The blockwise std is numpy's bit for bit at any length, for block sizes from
    numpy's own unsplit block (128) up."""
    rng = np.random.default_rng(5)
    for block in (128, 1000, rv._STD_BLOCK):
        monkeypatch.setattr(rv, "_STD_BLOCK", block)
        for n in (1, 7, 64, 129, 1000, 4097, 100003, 300007):
            for a in (rng.standard_normal(n).astype(np.float32) * 1e3, rng.integers(-9, 9, n).astype(np.int16),
                      rng.standard_normal(n)):
                got, want = rv._std(a), a.std()
                assert got.dtype == want.dtype and got == want, (block, n, a.dtype)


def test_statistics_memory_is_one_read(tmp_path):
    """get_statistics holds the volume once plus small blocks; 0.1.1's std alone makes a
    float64 copy of an int16 volume (4x its size)."""
    a = np.random.default_rng(3).integers(0, 4000, (128, 128, 64)).astype(np.int16)
    r = radi.Volume.from_numpy(str(tmp_path / "r"), a)
    o = radiobject.Volume.from_numpy(str(tmp_path / "o"), a)
    peaks = {}
    for name, vol in (("radi", r), ("0.1.1", o)):
        tracemalloc.start()
        stats = vol.get_statistics([5, 95])
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        peaks[name + "-stats"] = stats
    assert peaks["radi-stats"] == peaks["0.1.1-stats"]
    assert peaks["radi"] < a.nbytes + (2 << 20), peaks
    assert peaks["0.1.1"] > 3 * a.nbytes, peaks  # what the bound saves


def test_create_matches_0_1_1(tmp_path):
    r = radi.Volume.create(str(tmp_path / "r"), (6, 7, 8), dtype=np.int16)
    o = radiobject.Volume.create(str(tmp_path / "o"), (6, 7, 8), dtype=np.int16)
    assert str(tiledb.ArraySchema.load(str(tmp_path / "r"))) == str(tiledb.ArraySchema.load(str(tmp_path / "o")))
    with tiledb.open(str(tmp_path / "r")) as A, tiledb.open(str(tmp_path / "o")) as B:
        assert dict(A.meta) == dict(B.meta) == {"tile_orientation": "axial"}
    assert (repr(r), r.shape, r.dtype, r.tile_orientation) == (repr(o), o.shape, o.dtype, o.tile_orientation)
    # Unwritten voxels read as TileDB's fill value, in radi as in 0.1.1.
    assert np.array_equal(r.to_numpy(), radiobject.Volume(str(tmp_path / "r")).to_numpy())
    data = np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8)
    with tiledb.open(str(tmp_path / "r"), "w") as A:
        A[:] = data
    assert np.array_equal(radi.Volume(str(tmp_path / "r")).to_numpy(), data)
    r4 = radi.Volume.create(str(tmp_path / "r4"), (4, 5, 6, 2))
    o4 = radiobject.Volume.create(str(tmp_path / "o4"), (4, 5, 6, 2))
    assert str(tiledb.ArraySchema.load(str(tmp_path / "r4"))) == str(tiledb.ArraySchema.load(str(tmp_path / "o4")))
    assert r4.dtype == o4.dtype == np.float32
    for shape in ((4, 5), (1, 2, 3, 4, 5)):
        got = _outcome(radi.Volume.create, str(tmp_path / "bad"), shape)
        assert got == _outcome(radiobject.Volume.create, str(tmp_path / "bad"), shape)
        assert got[0] == "ValueError"


def test_set_obs_id(tmp_path):
    r = radi.Volume.from_numpy(str(tmp_path / "r"), np.zeros((3, 4, 5), np.uint8))
    assert r.obs_id is None and repr(r) == "Volume(shape=3x4x5, dtype=uint8)"
    r.set_obs_id("sub-01_T1w")
    assert r.obs_id == "sub-01_T1w"
    assert repr(r) == "Volume(shape=3x4x5, dtype=uint8, obs_id='sub-01_T1w')"
    assert radiobject.Volume(str(tmp_path / "r")).obs_id == "sub-01_T1w"
    o = radiobject.Volume.from_numpy(str(tmp_path / "o"), np.zeros((3, 4, 5), np.uint8))
    o.set_obs_id("sub-02_T1w")
    assert radi.Volume(str(tmp_path / "o")).obs_id == "sub-02_T1w"
    r.set_obs_id("renamed")  # a second write wins
    assert radi.Volume(str(tmp_path / "r")).obs_id == "renamed" == r.obs_id
    with pytest.raises(TypeError):
        r.set_obs_id(5)


def test_orientation_info_needs_both_keys(tmp_path):
    """As 0.1.1: without orientation_axcodes (or orientation_affine) there is no info."""
    uri = str(tmp_path / "v")
    radi.Volume.from_numpy(uri, np.zeros((2, 2, 2)))
    assert radi.Volume(uri).orientation_info is None is radiobject.Volume(uri).orientation_info
    with tiledb.open(uri, "w") as A:
        A.meta["orientation_affine"] = "[[2.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]"
    assert radi.Volume(uri).orientation_info is None is radiobject.Volume(uri).orientation_info
    with tiledb.open(uri, "w") as A:
        A.meta["orientation_axcodes"] = "RAS"
    assert _same_info(radi.Volume(uri).orientation_info, radiobject.Volume(uri).orientation_info)


def _oblique():
    th = 0.3
    rot = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
    a = np.eye(4)
    a[:3, :3] = rot @ np.diag([-1.0, 1.2, -3.0])
    a[:3, 3] = [4, 5, 6]
    return a


@pytest.fixture(scope="module")
def niftis(tmp_path_factory):
    """NIfTI files covering 0.1.1's cases (research §4): scaled int16 LAS, sform-only
    oblique float32, qform-only, neither code, identity sform, 4-D permuted axes."""
    d = tmp_path_factory.mktemp("nii")
    rng = np.random.default_rng(9)
    out = {}

    def save(name, data, affine, sform=None, qform=None, slope=None):
        img = nib.Nifti1Image(data, affine)
        img.header.set_xyzt_units("mm", "sec")
        if sform is not None:
            img.header.set_sform(affine if sform else None, code=sform)
        if qform is not None:
            img.header.set_qform(affine if qform else None, code=qform)
        if slope:
            img.header.set_slope_inter(*slope)
        p = d / f"{name}.nii.gz"
        nib.save(img, str(p))
        out[name] = str(p)

    save("scaled_las", rng.integers(-100, 300, (12, 13, 7)).astype(np.int16), np.diag([-1.5, 2, 2.5, 1]),
         sform=1, qform=1, slope=(2, 10))
    save("oblique", rng.random((9, 8, 7)).astype(np.float32), _oblique(), sform=1, qform=0)
    save("qform_only", rng.integers(0, 50, (6, 7, 5)).astype(np.uint8), np.diag([1.0, 1, 2, 1]), sform=0, qform=1)
    save("no_codes", rng.random((5, 6, 4)).astype(np.float64), np.diag([2.0, 2, 2, 1]), sform=0, qform=0)
    save("identity", rng.integers(0, 9, (4, 5, 6)).astype(np.int32), np.eye(4), sform=1)
    save("ail_4d", rng.integers(0, 500, (6, 7, 5, 3)).astype(np.int16),
         np.array([[0, -2, 0, 10], [1.5, 0, 0, -3], [0, 0, -2.5, 7], [0, 0, 0, 1.0]]))
    return out


def _meta(uri):
    with tiledb.open(uri) as A:
        return dict(A.meta)


# radi keeps raw values and records the file's scaling; 0.1.1 stores scaled float64 and
# records 1.0 / 0.0; radi also keeps a 4-D image's time step, which 0.1.1 loses
# (docs/differences-volume.md).
_SCALING_KEYS = {"nifti_scl_slope", "nifti_scl_inter", "nifti_pixdim4"}


@pytest.mark.parametrize("reorient", [False, True])
def test_from_nifti_matches_0_1_1(tmp_path, niftis, reorient):
    for name, path in niftis.items():
        r = radi.Volume.from_nifti(str(tmp_path / f"r_{name}"), path, reorient=reorient)
        o = radiobject.Volume.from_nifti(str(tmp_path / f"o_{name}"), path, reorient=reorient)
        assert r.shape == o.shape, name
        assert np.array_equal(r.to_numpy(dtype=np.float64), o.to_numpy().astype(np.float64)), name
        if name != "scaled_las":
            assert r.dtype == o.dtype, name
        mr, mo = _meta(str(tmp_path / f"r_{name}")), _meta(str(tmp_path / f"o_{name}"))
        assert {k: v for k, v in mr.items() if k not in _SCALING_KEYS} == \
               {k: v for k, v in mo.items() if k not in _SCALING_KEYS}, name
        assert ("nifti_pixdim4" in mr) == (len(r.shape) == 4) and "nifti_pixdim4" not in mo, name
        if name == "scaled_las":
            assert (mr["nifti_scl_slope"], mr["nifti_scl_inter"]) == ("2.0", "10.0")
            assert (mo["nifti_scl_slope"], mo["nifti_scl_inter"]) == ("1.0", "0.0")
        ri, oi = r.orientation_info, o.orientation_info
        assert (ri.axcodes, ri.is_canonical, ri.confidence, ri.source) == \
               (tuple(oi.axcodes), oi.is_canonical, oi.confidence, oi.source), name
        assert np.array_equal(ri.affine, np.array(oi.affine)), name
        assert r.get_statistics([10, 90]) == o.get_statistics([10, 90]), name
        gc, ge = r.compute_histogram(32)
        wc, we = o.compute_histogram(32)
        assert np.array_equal(gc, wc) and np.array_equal(ge, we), name


def test_from_nifti_refuses_what_it_cannot_read(tmp_path):
    bad = tmp_path / "bad.nii"
    bad.write_bytes(b"not a nifti file" * 40)
    with pytest.raises(radi.RadiError, match="bad.nii"):
        radi.Volume.from_nifti(str(tmp_path / "v"), str(bad))
    with pytest.raises(radi.RadiError, match="missing.nii"):
        radi.Volume.from_nifti(str(tmp_path / "v"), str(tmp_path / "missing.nii"))


# --------------------------------------------------------------- Dataframe --

_SCHEMA = {"age": np.int64, "w": np.float32, "name": str, "flag": bool, "b": np.bytes_, "u8": "uint8"}


def test_dataframe_create_matches_0_1_1(tmp_path):
    pd = pytest.importorskip("pandas")
    r = radi.Dataframe.create(str(tmp_path / "r"), _SCHEMA)
    o = ODataframe.create(str(tmp_path / "o"), _SCHEMA)
    assert str(tiledb.ArraySchema.load(str(tmp_path / "r"))) == str(tiledb.ArraySchema.load(str(tmp_path / "o")))
    for attr in ("columns", "all_columns", "index_columns", "dtypes"):
        assert getattr(r, attr) == getattr(o, attr), attr
    assert len(r) == len(o) == 0
    rows = pd.DataFrame({"obs_subject_id": ["s2", "s1", "s3"], "obs_id": ["s2_T1", "s1_T1", "s3_T1"],
                         "age": [30, 40, 50], "w": np.float32([1, 2, 3]), "name": ["a", "bé", "c"],
                         "flag": [True, False, True], "b": [b"x", b"y", b"z"], "u8": np.uint8([1, 2, 3])})
    for uri in (tmp_path / "r", tmp_path / "o"):
        with tiledb.open(str(uri), "w") as A:
            A[rows.obs_subject_id.to_numpy(), rows.obs_id.to_numpy()] = {c: rows[c].to_numpy() for c in _SCHEMA}
    r, o = radi.Dataframe(str(tmp_path / "o")), ODataframe(str(tmp_path / "r"))  # each reads the other's
    no_bool = [c for c in _SCHEMA if c != "flag"]
    for kw in ({"columns": no_bool}, {"columns": ["age", "name"]}, {"columns": no_bool, "value_filter": "age > 35"},
               {"columns": no_bool, "include_index": False}, {"columns": ["obs_id", "w"]}):
        got, want = r.read(**kw), o.read(**kw)
        assert list(got.columns) == list(want.columns), kw
        pd.testing.assert_frame_equal(got, want, check_dtype=True)
    # Booleans: radi reads them as uint8 0/1 (TileDB-Py's dataframe path), 0.1.1 as bool.
    assert r.read(columns=["flag"])["flag"].tolist() == [0, 1, 1]
    assert o.read(columns=["flag"])["flag"].tolist() == [False, True, True]
    assert len(r) == len(o) == 3
    assert r.shape == (3, 6)  # 0.1.1's is (b's3', 6): defect D12
    assert o.shape == (b"s3", 6)


def test_dataframe_create_errors_match_0_1_1(tmp_path):
    for i, schema in enumerate(({"obs_id": np.int64}, {"x": "notatype"}, {"a\x00": int},
                                {"obs_subject_id": str})):
        got = _outcome(radi.Dataframe.create, str(tmp_path / f"r{i}"), schema)
        want = _outcome(ODataframe.create, str(tmp_path / f"o{i}"), schema)
        assert got == want and got[0] != "ok", schema
    # Types radi's Dataframe cannot read back are refused up front (0.1.1 creates them).
    for dt in (np.complex64, "datetime64[ns]"):
        with pytest.raises(TypeError, match="column 'x'"):
            radi.Dataframe.create(str(tmp_path / "c"), {"x": dt})


def test_dataframe_from_pandas_takes_obs_keys(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"obs_subject_id": ["a", "b"], "obs_id": ["a_T1", "b_T1"], "age": [1, 2]})
    r = radi.Dataframe.from_pandas(str(tmp_path / "r"), df)
    assert r.index_columns == ("obs_subject_id", "obs_id")
    assert ODataframe(str(tmp_path / "r")).read().to_dict("list") == {
        "obs_subject_id": ["a", "b"], "obs_id": ["a_T1", "b_T1"], "age": [1, 2]}
    bad = df.drop(columns=["obs_id"])
    got = _outcome(radi.Dataframe.from_pandas, str(tmp_path / "bad_r"), bad)
    want = _outcome(ODataframe.from_pandas, str(tmp_path / "bad_o"), bad)
    assert got[0] == want[0] == "ValueError" or (got[0] == "RadiInvalidError" and want[0] == "ValueError")
    assert got[1].startswith(want[1]), (got, want)  # 0.1.1's words, then how else to say the keys


# ------------------------------------------------------------- orientation --

def _same_info(r, o) -> bool:
    return (r.axcodes == tuple(o.axcodes) and np.array_equal(r.affine, np.array(o.affine))
            and (r.is_canonical, r.confidence, r.source) == (o.is_canonical, o.confidence, o.source))


def test_detect_nifti_orientation_matches_0_1_1(niftis):
    for name, path in niftis.items():
        img = nib.load(path)
        want = OO.detect_nifti_orientation(img)
        assert _same_info(RO.detect_nifti_orientation(path), want), name
        assert _same_info(RO.detect_nifti_orientation(Path(path)), want), name
        assert _same_info(RO.detect_nifti_orientation(img), want), name
        assert RO.is_orientation_valid(RO.detect_nifti_orientation(path)) == OO.is_orientation_valid(want), name
        assert RO.orientation_info_to_metadata(RO.detect_nifti_orientation(path), img.affine) == \
               OO.orientation_info_to_metadata(want, img.affine)


def test_is_orientation_valid_matches_0_1_1():
    skew = np.eye(4)
    skew[0, 1] = 0.5
    for a in (np.eye(4), np.diag([1e-3, 1e-3, 1e-3, 1]), np.diag([1e3, 1e3, 2, 1]), skew, _oblique(),
              np.diag([-1.0, 1, 1, 1])):
        info = RO.OrientationInfo(axcodes=RO.axcodes_of(a), affine=a, is_canonical=False, confidence="header",
                                  source="nifti_sform")
        oinfo = OO.OrientationInfo(axcodes=tuple(RO.axcodes_of(a)), affine=OU.affine_to_list(a), is_canonical=False,
                                   confidence="header", source="nifti_sform")
        assert RO.is_orientation_valid(info) == OO.is_orientation_valid(oinfo)


def test_axcodes_match_nibabel():
    rng = np.random.default_rng(2)
    for _ in range(50):
        a = np.eye(4)
        a[:3, :3] = rng.standard_normal((3, 3))
        assert RO.axcodes_of(a) == nib.aff2axcodes(a)


@pytest.mark.parametrize("target", ["RAS", "LAS", "LPS"])
def test_reorient_to_canonical_matches_0_1_1(niftis, target):
    for name, path in niftis.items():
        img = nib.load(path)
        data = np.asarray(img.dataobj)
        gd, ga = RO.reorient_to_canonical(data, img.affine, target)
        wd, wa = OO.reorient_to_canonical(data, img.affine, target)
        assert np.array_equal(gd, wd) and gd.shape == wd.shape, name
        assert np.array_equal(ga, wa), name
    with pytest.raises(ValueError, match="target"):
        RO.reorient_to_canonical(data, img.affine, "XYZ")


def test_metadata_to_orientation_info(tmp_path, niftis):
    for name, path in niftis.items():
        uri = str(tmp_path / name)
        radi.Volume.from_nifti(uri, path)
        meta = _meta(uri)
        assert _same_info(RO.metadata_to_orientation_info(meta), OO.metadata_to_orientation_info(meta)), name
    assert RO.metadata_to_orientation_info({}) is None is OO.metadata_to_orientation_info({})


def test_utils_match_0_1_1(tmp_path, niftis):
    for a in (np.eye(4), _oblique(), np.diag([0.1, 1e-7, 3.0, 1])):
        assert RU.affine_to_list(a) == OU.affine_to_list(a)
        assert RU.affine_to_json(a) == OU.affine_to_json(a)
    # The C ingest writes the same text.
    v = radi.Volume.from_nifti(str(tmp_path / "v"), niftis["oblique"])
    assert _meta(str(tmp_path / "v"))["orientation_affine"] == RU.affine_to_json(v.orientation_info.affine)


# -------------------------------------------------------- imaging_metadata --

def test_extract_nifti_metadata_matches_0_1_1(niftis):
    for name, path in niftis.items():
        got, want = RM.extract_nifti_metadata(path).model_dump(), OM.extract_nifti_metadata(path).model_dump()
        if name == "scaled_las":  # radi reports the file's scaling, 0.1.1 nibabel's applied 1 / 0
            assert (got.pop("scl_slope"), got.pop("scl_inter")) == (2.0, 10.0)
            assert (want.pop("scl_slope"), want.pop("scl_inter")) == (1.0, 0.0)
        assert got == want, name
        assert all(type(got[k]) is type(want[k]) for k in want), name
    p = niftis["oblique"]
    with pytest.raises(AttributeError):
        RM.extract_nifti_metadata(p).axcodes = "LPS"  # frozen, as 0.1.1's model
    assert RM.extract_nifti_metadata(p).to_obs_dict("o", "s", "T1w") == \
           OM.extract_nifti_metadata(p).to_obs_dict("o", "s", "T1w")
    assert _outcome(RM.extract_nifti_metadata, "/nonexistent/x.nii") == \
           _outcome(OM.extract_nifti_metadata, "/nonexistent/x.nii")


def test_infer_series_type_matches_0_1_1(tmp_path):
    img = nib.Nifti1Image(np.zeros((2, 2, 2), np.uint8), np.eye(4))
    img.header["descrip"] = b"axial T2w fse"
    names = ["sub-01_ses-1_T1w.nii.gz", "sub-01_flair.nii", "T1_MPRAGE.nii.gz", "brain_t1ce.nii.gz",
             "LIVER_007.nii.gz", "patient_CT.nii.gz", "scan_dwi.nii", "x_bold.nii.gz", "scan001.nii.gz",
             "weird.name.nii.gz"]
    for n in names:
        for header in (None, img.header):
            assert RM.infer_series_type(Path(n), header) == OM.infer_series_type(Path(n), header), n
    assert RM.infer_series_type("scan001.nii.gz", img.header) == "T2w"
    assert RM.KNOWN_SERIES_TYPES == OM.KNOWN_SERIES_TYPES


# ------------------------------------------------------------------ ingest --

def test_ingest_discovery_matches_0_1_1(tmp_path):
    img = nib.Nifti1Image(np.zeros((2, 2, 2), np.uint8), np.eye(4))
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    for sid in ("case_02", "case_01", "case_03"):
        nib.save(img, str(tmp_path / "images" / f"{sid}.nii.gz"))
    nib.save(img, str(tmp_path / "labels" / "case_01.nii.gz"))
    nib.save(img, str(tmp_path / "labels" / "case_03.nii"))

    def norm(sources):
        return [(s.image_path, s.subject_id, s.label_path, s.has_label) for s in sources]

    for kw in ({}, {"label_dir": tmp_path / "labels"}, {"subject_id_fn": lambda p: p.name[:7].upper()}):
        assert norm(RI.discover_nifti_pairs(tmp_path / "images", **kw)) == \
               norm(OI.discover_nifti_pairs(tmp_path / "images", **kw)), kw
    for src in (str(tmp_path / "images" / "*.nii.gz"), tmp_path / "images",
                [(tmp_path / "x.nii", "s1")], str(tmp_path / "**" / "*.nii*")):
        assert RI.resolve_nifti_source(src) == OI.resolve_nifti_source(src)
    for call in ((RI.discover_nifti_pairs, OI.discover_nifti_pairs, tmp_path / "nope"),
                 (RI.discover_nifti_pairs, OI.discover_nifti_pairs, tmp_path / "labels" / ".."),
                 (RI.resolve_nifti_source, OI.resolve_nifti_source, str(tmp_path / "*.none"))):
        assert _outcome(call[0], call[2]) == _outcome(call[1], call[2])
    assert _outcome(RI.discover_nifti_pairs, tmp_path / "images", tmp_path / "nolabels") == \
           _outcome(OI.discover_nifti_pairs, tmp_path / "images", tmp_path / "nolabels")


# ---------------------------------------------------------------- parallel --

def test_map_on_threads_matches_0_1_1():
    items = list(range(40))
    assert RP.map_on_threads(lambda x: x * x, items) == OP.map_on_threads(lambda x: x * x, items)
    assert RP.map_on_threads(str, items, max_workers=3) == [str(i) for i in items]
    assert RP.map_on_threads(str, []) == []

    def boom(x):
        raise KeyError(x)

    assert _outcome(RP.map_on_threads, boom, [1]) == _outcome(OP.map_on_threads, boom, [1])
    w = RP.WriteResult(index=0, uri="u", obs_id="o", success=True)
    o = OP.WriteResult(index=0, uri="u", obs_id="o", success=True)
    assert [getattr(w, f) for f in ("index", "uri", "obs_id", "success", "error")] == \
           [getattr(o, f) for f in ("index", "uri", "obs_id", "success", "error")]
    assert RP.create_worker_ctx() is not None
    own = radi._lib.Context((("concurrency", "2"),))
    worker = RP.create_worker_ctx(own)  # a new context with own's settings, as 0.1.1 (tiledb.Ctx: test_ctx_compat)
    assert worker is not own and worker.key == own.key


# ------------------------------------------------------------------- DICOM --

def test_dicom_helpers_against_0_1_1(tmp_path):
    """extract_dicom_metadata / detect_dicom_orientation give radi's DICOM geometry: equal
    to 0.1.1's except the origin, which radi takes from the first slice along the slice
    normal and 0.1.1 from the first file by name (docs/differences-volume.md)."""
    pytest.importorskip("pydicom")
    import dicom_util as du

    du.write_series(du.oblique_nifti(shape=(12, 10, 6)), str(tmp_path / "ser"), order="sorted")
    got = RM.extract_dicom_metadata(tmp_path / "ser").model_dump()
    want = OM.extract_dicom_metadata(tmp_path / "ser").model_dump()
    ga, wa = np.array(json.loads(got.pop("affine_json"))), np.array(json.loads(want.pop("affine_json")))
    assert got == want
    assert np.allclose(ga[:3, :3], wa[:3, :3], atol=1e-9) and not np.allclose(ga[:3, 3], wa[:3, 3])
    r, o = RO.detect_dicom_orientation(tmp_path / "ser"), OO.detect_dicom_orientation(tmp_path / "ser")
    assert (r.axcodes, r.is_canonical, r.confidence, r.source) == (tuple(o.axcodes), o.is_canonical, o.confidence,
                                                                   o.source)
    assert np.array_equal(r.affine, ga)
    (tmp_path / "empty").mkdir()
    assert _same_info(RO.detect_dicom_orientation(tmp_path / "empty"), OO.detect_dicom_orientation(tmp_path / "empty"))
    for d in (tmp_path / "nope", tmp_path / "empty"):
        assert _outcome(RM.extract_dicom_metadata, d) == _outcome(OM.extract_dicom_metadata, d)


def test_helper_modules_are_attributes():
    for name in ("indexing", "orientation", "imaging_metadata", "utils", "ingest", "parallel"):
        assert getattr(radi, name).__name__ == f"radi.{name}"
    with pytest.raises(AttributeError):
        radi.no_such_module


def test_get_spatial_units_matches_0_1_1():
    for code in (0, 1, 2, 3, 4, 0x12, 0x0A):
        assert RM._get_spatial_units(code) == OM._get_spatial_units(code)
