"""radi's NIfTI reader and writer (include/radi/nifti.h) against nibabel, the reference.

Both directions: files nibabel writes are read by radi (voxels, scaling, affine, axis codes,
header fields) and files radi writes are read by nibabel; every datatype, 3-D and 4-D,
scaled and unscaled, sform-only, qform-only, both and neither, little- and big-endian,
NIfTI-1 and NIfTI-2, .nii and .nii.gz. radi returns the C-order (x, y, z[, t]) array, which
is np.asarray(img.dataobj) copied to C order.
"""
import ctypes as C

import numpy as np
import pytest

nib = pytest.importorskip("nibabel")

import radi_capi  # noqa: E402  (tests/python is on sys.path via conftest)

# radi_datatype codes
RT = {np.dtype("int32"): 0, np.dtype("int64"): 1, np.dtype("float32"): 2, np.dtype("float64"): 3,
      np.dtype("int8"): 5, np.dtype("uint8"): 6, np.dtype("int16"): 7, np.dtype("uint16"): 8,
      np.dtype("uint32"): 9, np.dtype("uint64"): 10}
NP = {v: k for k, v in RT.items()}
DTYPES = ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
          "float64"]
RADI_ANY = 17


# radi_nifti_header, as the package mirrors it (checked against the library's sizeof).
from radi._capi import NiftiHeader as Header, check_abi  # noqa: E402


class RadiError(RuntimeError):
    pass


_LIB = None


def lib():
    global _LIB
    if _LIB is None:
        d = C.CDLL(str(radi_capi.library_path()))
        check_abi(d, str(radi_capi.library_path()))
        P, H = C.c_void_p, C.POINTER(Header)
        for name, res, args in [
            ("radi_nifti_open", C.c_int, [C.c_char_p, C.POINTER(P)]),
            ("radi_nifti_open_memory", C.c_int, [C.c_char_p, C.c_size_t, C.c_char_p, C.POINTER(P)]),
            ("radi_nifti_close", None, [P]),
            ("radi_nifti_get_header", H, [P]),
            ("radi_nifti_has_scaling", C.c_int, [P]),
            ("radi_nifti_voxel_count", C.c_uint64, [P]),
            ("radi_nifti_read", C.c_int, [P, C.c_int, C.c_int, P, C.c_uint64]),
            ("radi_nifti_header_init", None, [H]),
            ("radi_nifti_write", C.c_int, [C.c_char_p, H, P]),
            ("radi_errmsg", C.c_char_p, []),
        ]:
            f = getattr(d, name)
            f.restype, f.argtypes = res, args
        _LIB = d
    return _LIB


def check(status):
    if status != 0:
        raise RadiError(f"{lib().radi_errmsg().decode()} [status {status}]")


class Image:
    def __init__(self, path):
        self.h = C.c_void_p()
        check(lib().radi_nifti_open(str(path).encode(), C.byref(self.h)))
        self.hdr = lib().radi_nifti_get_header(self.h).contents

    def close(self):
        lib().radi_nifti_close(self.h)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    @property
    def shape(self):
        return tuple(self.hdr.shape[: self.hdr.ndim])

    @property
    def affine(self):
        return np.array(self.hdr.affine[:]).reshape(4, 4)

    def read(self, scaled=False, dtype=None):
        dt = np.dtype(dtype) if dtype is not None else (
            np.dtype("float32") if scaled else NP[self.hdr.datatype])
        out = np.empty(self.shape, dtype=dt)
        check(lib().radi_nifti_read(self.h, int(scaled), RT[dt] if (scaled or dtype) else RADI_ANY,
                                    out.ctypes.data, out.nbytes))
        return out


def radi_write(path, data, affine, qform_code=1, sform_code=1, slope=0.0, inter=0.0, tr=None,
               xyzt_units=10, descrip=b""):
    h = Header()
    lib().radi_nifti_header_init(C.byref(h))
    data = np.ascontiguousarray(data)
    h.datatype = RT[data.dtype]
    h.ndim = data.ndim
    for i, n in enumerate(data.shape):
        h.shape[i] = n
    for i, v in enumerate(np.asarray(affine, dtype=np.float64).ravel()):
        h.affine[i] = v
    h.qform_code, h.sform_code = qform_code, sform_code
    h.scl_slope, h.scl_inter = slope, inter
    if tr is not None:
        h.pixdim[4] = tr
    h.xyzt_units = xyzt_units
    h.descrip = descrip
    check(lib().radi_nifti_write(str(path).encode(), C.byref(h), data.ctypes.data))


# ------------------------------------------------------------------ helpers --

def pattern(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 100).astype(dt)
    info = np.iinfo(dt)
    lo, hi = max(info.min, -(2 ** 40)), min(info.max, 2 ** 40)
    return rng.integers(lo, hi, size=shape, endpoint=True).astype(dt)


def rotated(flip=(1, 1, 1), angle=0.4):
    c, s = np.cos(angle), np.sin(angle)
    a = np.array([[c * 1.5, 0, s * 3, -20.5], [0, 2.0, 0, 31.25], [-s * 1.5, 0, c * 3, 7.0],
                  [0, 0, 0, 1]])
    return a @ np.diag(list(flip) + [1])


def nib_image(data, affine, mode, version=1, endian="<", slope=None, inter=None):
    cls, hcls = (nib.Nifti1Image, nib.Nifti1Header) if version == 1 else (nib.Nifti2Image, nib.Nifti2Header)
    # nibabel stamps an sform on save whenever the image has an affine and no code is set
    img = cls(data, None if mode == "neither" else affine, header=hcls(endianness=endian),
              dtype=data.dtype)
    img.header.set_sform(affine if mode in ("sform", "both") else None, 1 if mode in ("sform", "both") else 0)
    img.header.set_qform(affine if mode in ("qform", "both") else None, 1 if mode in ("qform", "both") else 0)
    if mode == "neither":
        img.header.set_zooms(tuple([1.5, 2.0, 3.0] + [2.5] * (data.ndim - 3)))
    if slope is not None:
        img.header.set_slope_inter(slope, inter)
    return img


def nib_reference(path):
    img = nib.load(str(path))
    return img, np.ascontiguousarray(np.asarray(img.dataobj.get_unscaled()))


# ------------------------------------------------------ nibabel -> radi --

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 4, 3), (5, 4, 3, 2)])
@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("version", [1, 2])
def test_read_every_dtype(tmp_path, dtype, shape, ext, endian, version):
    data = pattern(shape, dtype)
    path = tmp_path / f"img{ext}"
    nib.save(nib_image(data, rotated(), "both", version, endian), str(path))
    ref, raw = nib_reference(path)
    with Image(path) as im:
        assert im.shape == shape
        assert im.hdr.gzip == (ext == ".nii.gz")
        assert (im.hdr.version, im.hdr.big_endian) == (version, endian == ">")
        got = im.read()
        assert got.dtype == raw.dtype.newbyteorder("=")
        np.testing.assert_array_equal(got, raw)
        np.testing.assert_array_equal(got, data)
        np.testing.assert_array_equal(im.affine, ref.affine)
        assert im.hdr.axcodes.decode() == "".join(nib.aff2axcodes(ref.affine))
        np.testing.assert_array_equal(im.read(scaled=True, dtype="float64"), ref.get_fdata())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_read_scaled(tmp_path, dtype, ext):
    data = pattern((6, 5, 4), dtype)
    path = tmp_path / f"scaled{ext}"
    nib.save(nib_image(data, np.eye(4), "sform", slope=2.5, inter=-7.25), str(path))
    ref = nib.load(str(path))
    assert (ref.dataobj.slope, ref.dataobj.inter) == (2.5, -7.25)
    with Image(path) as im:
        assert (im.hdr.scl_slope, im.hdr.scl_inter) == (2.5, -7.25)  # recorded, not baked in
        assert lib().radi_nifti_has_scaling(im.h) == 1
        np.testing.assert_array_equal(im.read(), np.asarray(ref.dataobj.get_unscaled()))
        np.testing.assert_array_equal(im.read(scaled=True, dtype="float64"), ref.get_fdata())
        np.testing.assert_allclose(im.read(scaled=True), ref.get_fdata(dtype=np.float32), rtol=2e-7)


@pytest.mark.parametrize("mode", ["sform", "qform", "both", "neither"])
@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("flip", [(1, 1, 1), (-1, 1, 1), (-1, -1, 1), (1, -1, -1)])
def test_read_geometry(tmp_path, mode, version, endian, flip):
    data = pattern((4, 3, 5), "int16")
    aff = rotated(flip)
    path = tmp_path / "geom.nii"
    nib.save(nib_image(data, aff, mode, version, endian), str(path))
    ref = nib.load(str(path))
    with Image(path) as im:
        assert im.hdr.version == version
        assert im.hdr.big_endian == (endian == ">")
        assert (im.hdr.sform_code, im.hdr.qform_code) == (int(ref.header["sform_code"]), int(ref.header["qform_code"]))
        src = {"sform": 2, "both": 2, "qform": 1, "neither": 0}[mode]
        assert im.hdr.affine_source == src
        # qform arithmetic: nibabel works in float32, radi in double
        tol = 1e-5 if mode == "qform" else 0
        np.testing.assert_allclose(im.affine, ref.affine, rtol=0, atol=tol)
        assert im.hdr.axcodes.decode() == "".join(nib.aff2axcodes(ref.affine))
        np.testing.assert_array_equal(im.hdr.pixdim[:], ref.header["pixdim"])
        np.testing.assert_array_equal(im.read(), np.asarray(ref.dataobj))


def test_read_header_fields(tmp_path):
    data = pattern((4, 3, 2, 5), "float32")
    img = nib_image(data, np.eye(4), "sform", version=1)
    h = img.header
    h.set_zooms((1, 1, 1, 2.5))
    h.set_xyzt_units("mm", "msec")
    h["descrip"] = b"radi header test"
    h["intent_code"] = 2001
    h["intent_name"] = b"some intent"
    h["intent_p1"] = 1.5
    h["toffset"] = 3.25
    h["cal_min"], h["cal_max"] = -1, 7
    h["aux_file"] = b"aux"
    path = tmp_path / "fields.nii.gz"
    nib.save(img, str(path))
    with Image(path) as im:
        x = im.hdr
        assert x.pixdim[4] == 2.5
        assert x.xyzt_units == 2 | 16
        assert x.descrip == b"radi header test"
        assert (x.intent_code, x.intent_name, x.intent_p[0]) == (2001, b"some intent", 1.5)
        assert x.toffset == 3.25 and (x.cal_min, x.cal_max) == (-1, 7)
        assert x.aux_file == b"aux"
        assert x.file_ndim == 4 and x.ndim == 4


@pytest.mark.parametrize("ext", ["", ".gz"])
def test_pair(tmp_path, ext):
    data = pattern((4, 3, 2), "int16")
    path = tmp_path / f"pair.hdr{ext}"
    nib.save(nib.Nifti1Pair(data, rotated()), str(path))
    assert (tmp_path / f"pair.img{ext}").exists()
    for name in (f"pair.hdr{ext}", f"pair.img{ext}"):  # either half names the pair
        with Image(tmp_path / name) as im:
            assert im.hdr.gzip == (ext == ".gz")
            np.testing.assert_array_equal(im.read(), data)
            np.testing.assert_array_equal(im.affine, nib.load(str(path)).affine)
    (tmp_path / f"pair.img{ext}").unlink()
    with pytest.raises(RadiError, match="pair.img"):
        Image(path)


def test_big_volume_layout(tmp_path):
    """Blocked transposes across block edges, odd sizes, 4-D."""
    data = pattern((67, 45, 33, 3), "uint16")
    path = tmp_path / "big.nii.gz"
    nib.save(nib_image(data, np.eye(4), "sform"), str(path))
    with Image(path) as im:
        np.testing.assert_array_equal(im.read(), data)


# ------------------------------------------------------ radi -> nibabel --

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 4, 3), (5, 4, 3, 2)])
@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_write_every_dtype(tmp_path, dtype, shape, ext):
    data = pattern(shape, dtype, seed=3)
    aff = rotated((-1, 1, 1)).astype(np.float32).astype(np.float64)  # exact in an sform
    path = tmp_path / f"w{ext}"
    radi_write(path, data, aff, tr=2.0 if len(shape) == 4 else None, descrip=b"from radi")
    ref = nib.load(str(path))
    assert ref.get_data_dtype() == data.dtype
    assert ref.shape == shape
    np.testing.assert_array_equal(np.asarray(ref.dataobj), data)
    np.testing.assert_array_equal(ref.affine, aff)
    np.testing.assert_allclose(ref.header.get_qform(), aff, atol=1e-5)
    assert ref.header["descrip"].item() == b"from radi"
    assert ref.header.get_xyzt_units() == ("mm", "sec")
    if len(shape) == 4:
        assert ref.header.get_zooms()[3] == 2.0
    # and back through radi, exactly
    with Image(path) as im:
        np.testing.assert_array_equal(im.read(), data)
        np.testing.assert_array_equal(im.affine, aff)


@pytest.mark.parametrize("codes", [(1, 1), (0, 1), (1, 0), (0, 0), (2, 4)])
def test_write_codes(tmp_path, codes):
    qcode, scode = codes
    data = pattern((4, 5, 6), "int16")
    aff = rotated((1, -1, 1)).astype(np.float32).astype(np.float64)
    path = tmp_path / "codes.nii"
    radi_write(path, data, aff, qform_code=qcode, sform_code=scode)
    ref = nib.load(str(path))
    assert (int(ref.header["qform_code"]), int(ref.header["sform_code"])) == (qcode, scode)
    with Image(path) as im:
        if scode:
            np.testing.assert_array_equal(ref.affine, aff)
        elif qcode:
            np.testing.assert_allclose(ref.affine, aff, atol=1e-5)
        np.testing.assert_allclose(im.affine, ref.affine, atol=1e-5)
        assert im.hdr.axcodes.decode() == "".join(nib.aff2axcodes(ref.affine))


def test_write_scaled(tmp_path):
    data = pattern((4, 5, 6), "int16")
    path = tmp_path / "s.nii.gz"
    radi_write(path, data, np.eye(4), slope=0.5, inter=100.0)
    ref = nib.load(str(path))
    assert (ref.dataobj.slope, ref.dataobj.inter) == (0.5, 100.0)
    np.testing.assert_array_equal(np.asarray(ref.dataobj.get_unscaled()), data)
    np.testing.assert_array_equal(ref.get_fdata(), data * 0.5 + 100.0)
    with Image(path) as im:
        np.testing.assert_array_equal(im.read(scaled=True, dtype="float64"), ref.get_fdata())


def test_axcodes_random_affines(tmp_path):
    rng = np.random.default_rng(7)
    for i in range(40):
        q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        aff = np.eye(4)
        aff[:3, :3] = q @ np.diag(rng.uniform(0.5, 3, 3))
        aff[:3, 3] = rng.uniform(-50, 50, 3)
        path = tmp_path / f"a{i}.nii"
        nib.save(nib_image(pattern((2, 2, 2), "uint8"), aff, "sform"), str(path))
        ref = nib.load(str(path))
        with Image(path) as im:
            assert im.hdr.axcodes.decode() == "".join(nib.aff2axcodes(ref.affine)), aff


# ------------------------------------------------------------- bad input --

def test_errors_name_the_file(tmp_path):
    with pytest.raises(RadiError, match="missing.nii"):
        Image(tmp_path / "missing.nii")
    good = tmp_path / "g.nii.gz"
    nib.save(nib_image(pattern((8, 8, 8), "int16"), np.eye(4), "sform"), str(good))
    blob = good.read_bytes()
    bad = tmp_path / "cut.nii.gz"
    bad.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(RadiError, match="cut.nii.gz.*truncated"):
        with Image(bad) as im:
            im.read()
    # a valid slope with a non-finite intercept: nibabel refuses to scale, so does radi
    nan_inter = tmp_path / "nan_inter.nii"
    img = nib_image(pattern((2, 2, 2), "int16"), np.eye(4), "sform")
    nib.save(img, str(nan_inter))
    blob = bytearray(nan_inter.read_bytes())
    blob[112:120] = np.array([2.0, np.nan], dtype="<f4").tobytes()
    nan_inter.write_bytes(bytes(blob))
    with Image(nan_inter) as im:
        im.read()  # raw is fine
        with pytest.raises(RadiError, match="nan_inter.nii.*scl_inter"):
            im.read(scaled=True)
    junk = tmp_path / "junk.nii"
    junk.write_bytes(b"\0" * 400)
    with pytest.raises(RadiError, match="junk.nii.*not a NIfTI"):
        Image(junk)
