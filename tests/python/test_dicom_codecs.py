"""radi's DICOM pixel decoders (src/io/dicom/codec_*.c) on real files, through the driver
tests/c/dicom_decode_check ($RADI_BUILD_DIR, default <repo>/build): each encoded frame is
cut out of the file with pydicom, decoded by radi and compared with an oracle.

- Lossless RLE, JPEG-LS and JPEG 2000 files: bit-identical to their uncompressed siblings
  (pydicom-data's MR_small, emri_small, 693 and MR2 families).
- JPEG Lossless (no uncompressed sibling, and pydicom here has no JPEG plugin): DCMTK's
  dcmdjpeg output, and pydicom's own reference pixel values for JPEG-LL.dcm and the 8-bit
  file; plus every predictor 1-7 and point transforms encoded by DCMTK's dcmcjpeg from
  uncompressed siblings.
- Lossy JPEG 2000: OpenJPEG's opj_decompress output (the same library, so identical), and
  a PSNR against the uncompressed sibling.
- HTJ2K: codestreams made by OpenJPH's ojph_compress from the uncompressed siblings,
  which OpenJPEG 2.5 decodes; bit-identical.
The Debian tools (dcmtk, libopenjp2-tools, openjph-tools) are installed by
scripts/setup.sh; a test whose tool is missing is skipped and says which.
"""
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402
from pydicom.encaps import generate_frames  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

TS = {
    "1.2.840.10008.1.2.5": "rle",
    "1.2.840.10008.1.2.4.57": "jpegll",
    "1.2.840.10008.1.2.4.70": "jpegll",
    "1.2.840.10008.1.2.4.80": "jls",
    "1.2.840.10008.1.2.4.81": "jls",
    "1.2.840.10008.1.2.4.90": "j2k",
    "1.2.840.10008.1.2.4.91": "j2k",
    "1.2.840.10008.1.2.4.201": "htj2k",
}


def driver():
    build = Path(os.environ.get("RADI_BUILD_DIR") or REPO / "build")
    exe = build / "tests" / "c" / "dicom_decode_check"
    assert exe.exists(), f"{exe} is missing: build the project (cmake --build build) first"
    return str(exe)


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (scripts/setup.sh installs it)")


def data(name):
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} is not in pydicom/pydicom-data")
    return pydicom.dcmread(path)


def dtype_of(ds):
    return np.dtype(("<i" if ds.PixelRepresentation else "<u") + str(ds.BitsAllocated // 8))


def decode_frame(tmp_path, ts, frame, rows, cols, ba, bs, pixrep, repeat=1):
    src, dst = tmp_path / "frame.bin", tmp_path / "out.bin"
    src.write_bytes(frame)
    p = subprocess.run([driver(), ts, str(rows), str(cols), str(ba), str(bs), str(pixrep), str(src), str(dst),
                        str(repeat)], capture_output=True, text=True, timeout=120)
    return p, dst


def decode(tmp_path, ds, ts=None):
    """All frames of ds decoded by radi, shape (frames, rows, cols)."""
    ts = ts or TS[str(ds.file_meta.TransferSyntaxUID)]
    nf = int(getattr(ds, "NumberOfFrames", 1) or 1)
    frames = []
    for fr in generate_frames(ds.PixelData, number_of_frames=nf):
        p, dst = decode_frame(tmp_path, ts, fr, ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored,
                              ds.PixelRepresentation)
        assert p.returncode == 0, p.stderr
        frames.append(np.fromfile(dst, dtype_of(ds)).reshape(ds.Rows, ds.Columns))
    assert len(frames) == nf
    return np.stack(frames)


def native(name):
    ds = data(name)
    return ds, ds.pixel_array.reshape(-1, ds.Rows, ds.Columns)


LOSSLESS = [
    ("MR_small_RLE.dcm", "MR_small.dcm"),
    ("emri_small_RLE.dcm", "emri_small.dcm"),
    ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),
    ("emri_small_jpeg_ls_lossless.dcm", "emri_small.dcm"),
    ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
    ("693_J2KR.dcm", "693_UNCR.dcm"),
    ("MR2_J2KR.dcm", "MR2_UNCR.dcm"),
    ("emri_small_jpeg_2k_lossless.dcm", "emri_small.dcm"),
]


@pytest.mark.parametrize("name,sibling", LOSSLESS)
def test_lossless_equals_uncompressed_sibling(tmp_path, name, sibling):
    ds = data(name)
    ours = decode(tmp_path, ds)
    _, ref = native(sibling)
    assert ours.shape == ref.shape
    assert np.array_equal(ours, ref), f"{name}: {np.count_nonzero(ours != ref)} samples differ from {sibling}"


# pydicom's reference values (pydicom's tests/pixels/pixels_reference.py) for the two
# JPEG Lossless files it checks: (row, column slice) -> values.
JPEGLL_SPOTS = {
    "JPEG-LL.dcm": [((400, slice(124, 132)), (60, 58, 61, 68, 59, 65, 64, 67)),
                    ((600, slice(124, 132)), (3, 1, 2, 0, 2, 1, 2, 0))],
    "JPGLosslessP14SV1_1s_1f_8b.dcm": [((300, slice(512, 520)), (26, 26, 25, 22, 19, 16, 14, 15)),
                                       ((600, slice(512, 520)), (45, 43, 41, 38, 33, 30, 26, 21))],
}


@pytest.mark.parametrize("name", ["JPEG-LL.dcm", "bad_sequence.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm"])
def test_jpeg_lossless_real_files(tmp_path, name):
    ds = data(name)
    ours = decode(tmp_path, ds)[0]
    for (row, cols), values in JPEGLL_SPOTS.get(name, []):
        assert tuple(int(v) for v in ours[row, cols]) == values
    need("dcmdjpeg")
    out = tmp_path / "dcmdjpeg.dcm"
    subprocess.run(["dcmdjpeg", get_testdata_file(name), str(out)], check=True, capture_output=True)
    ref = pydicom.dcmread(out).pixel_array
    assert np.array_equal(ours, ref), f"{name}: {np.count_nonzero(ours != ref)} samples differ from dcmdjpeg"


@pytest.mark.parametrize("sibling", ["MR_small.dcm", "693_UNCR.dcm", "emri_small.dcm"])
@pytest.mark.parametrize("pred,pt", [(1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (1, 2), (6, 3)])
def test_jpeg_lossless_predictors_dcmcjpeg(tmp_path, sibling, pred, pt):
    """Every selection value and point transforms, encoded by DCMTK (process 14)."""
    need("dcmcjpeg")
    src = get_testdata_file(sibling)
    if src is None:
        pytest.skip(f"{sibling} is not in pydicom/pydicom-data")
    enc = tmp_path / "enc.dcm"
    subprocess.run(["dcmcjpeg", "+el", "+sv", str(pred), "+pt", str(pt), src, str(enc)], check=True,
                   capture_output=True)
    ds = pydicom.dcmread(enc)
    assert str(ds.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.4.57"
    ours = decode(tmp_path, ds)
    _, ref = native(sibling)
    if pt:  # the point transform drops the low pt bits of the stored pattern
        bits = ds.BitsStored
        pattern = ref.astype(np.int64) & ((1 << bits) - 1)
        pattern = (pattern >> pt) << pt
        if ds.PixelRepresentation:
            pattern = np.where(pattern >= 1 << (bits - 1), pattern - (1 << bits), pattern)
        ref = pattern.astype(ref.dtype)
    assert np.array_equal(ours, ref), f"SV{pred} Pt{pt}: {np.count_nonzero(ours != ref)} samples differ"


@pytest.mark.parametrize("name,sibling", [("693_J2KI.dcm", "693_UNCR.dcm"), ("MR2_J2KI.dcm", "MR2_UNCR.dcm")])
def test_lossy_j2k(tmp_path, name, sibling):
    ds = data(name)
    ours = decode(tmp_path, ds)[0]
    _, ref = native(sibling)
    ref = ref[0].astype(np.float64)
    mse = np.mean((ours.astype(np.float64) - ref) ** 2)
    peak = float(ref.max() - ref.min())
    psnr = 10 * np.log10(peak * peak / mse) if mse else np.inf
    assert psnr > 30, f"{name}: PSNR {psnr:.1f} dB against {sibling}"
    need("opj_decompress")
    j2k = tmp_path / "frame.j2k"
    j2k.write_bytes(next(generate_frames(ds.PixelData, number_of_frames=1)))
    raw = tmp_path / "opj.rawl"
    subprocess.run(["opj_decompress", "-i", str(j2k), "-o", str(raw)], check=True, capture_output=True)
    opj = np.fromfile(raw, dtype_of(ds)).reshape(ds.Rows, ds.Columns)
    assert np.array_equal(ours, opj), f"{name}: {np.count_nonzero(ours != opj)} samples differ from opj_decompress"


# 693_UNCR is signed with negative samples: OpenJPH's own ojph_expand returns them, but
# OpenJPEG 2.5.0 decodes OpenJPH 0.9.0's codestream with every negative sample saturated
# (-2000 -> 8191 at 14 bits, 32767 at 16), and opj_decompress does the same. A library
# disagreement radi inherits, kept here so that a fixed OpenJPEG shows up (strict xfail).
HTJ2K_SIGNED_GAP = pytest.mark.xfail(strict=True, reason="OpenJPEG 2.5.0 saturates negative samples of "
                                     "OpenJPH-encoded signed HTJ2K")


@pytest.mark.parametrize("sibling", ["MR_small.dcm", "emri_small.dcm", pytest.param("693_UNCR.dcm",
                                     marks=HTJ2K_SIGNED_GAP), "MR2_UNCR.dcm"])
def test_htj2k_from_openjph(tmp_path, sibling):
    """HTJ2K (no real file is shipped): OpenJPH's encoder on the sibling's pixels."""
    need("ojph_compress")
    ds, ref = native(sibling)
    frame = ref[0]
    signed = bool(ds.PixelRepresentation)
    raw = tmp_path / "in.yuv"
    frame.astype(dtype_of(ds)).tofile(raw)
    out = tmp_path / "out.j2c"
    subprocess.run(["ojph_compress", "-i", str(raw), "-o", str(out), "-reversible", "true",
                    "-dims", f"{{{ds.Columns},{ds.Rows}}}", "-num_comps", "1",
                    "-signed", "true" if signed else "false", "-bit_depth", str(ds.BitsStored),
                    "-downsamp", "{1,1}"], check=True, capture_output=True)
    stream = out.read_bytes()
    assert b"\xff\x50" in stream[:200], "no CAP marker: not an HTJ2K codestream"
    p, dst = decode_frame(tmp_path, "htj2k", stream, ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored,
                          ds.PixelRepresentation)
    assert p.returncode == 0, p.stderr
    ours = np.fromfile(dst, dtype_of(ds)).reshape(ds.Rows, ds.Columns)
    assert np.array_equal(ours, frame), f"{np.count_nonzero(ours != frame)} samples differ"


def test_htj2k_reaches_openjpeg(tmp_path):
    """The HTJ2K syntax goes to OpenJPEG, whose error text becomes radi's one-line message."""
    import struct
    siz = struct.pack(">HIIIIIIIIH", 0, 8, 8, 0, 0, 8, 8, 0, 0, 1) + bytes([15, 1, 1])
    stream = b"\xff\x4f\xff\x51" + struct.pack(">H", len(siz) + 2) + siz  # SOC, SIZ and nothing else
    p, _ = decode_frame(tmp_path, "htj2k", stream, 8, 8, 16, 16, 0)
    assert p.returncode == 1
    assert "JPEG 2000: reading the header failed: Stream too short" in p.stderr
    assert p.stderr.count("\n") == 1
    p, _ = decode_frame(tmp_path, "htj2k", stream, 9, 8, 16, 16, 0)  # refused before OpenJPEG
    assert p.returncode == 1 and "image is 8 x 8 (columns x rows), expected 8 x 9" in p.stderr


def test_near_lossless_jpeg_ls(tmp_path):
    """JPEGLSNearLossless_16.dcm has no sibling: decodes, right shape, full 16-bit range used."""
    ds = data("JPEGLSNearLossless_16.dcm")
    ours = decode(tmp_path, ds)
    assert ours.shape == (1, ds.Rows, ds.Columns)
    assert ours.min() == 0 and ours.max() == 65535


@pytest.mark.parametrize("name,msg", [("JPGExtended.dcm", "JPEG Extended"),
                                      ("SC_rgb_jpeg_dcmtk.dcm", "JPEG Baseline")])
def test_unsupported_syntaxes_refused(tmp_path, name, msg):
    ds = data(name)
    fr = next(generate_frames(ds.PixelData, number_of_frames=1))
    ts = "extended" if "4.51" in str(ds.file_meta.TransferSyntaxUID) else "baseline"
    p, _ = decode_frame(tmp_path, ts, fr, ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, 0)
    assert p.returncode == 1
    assert "RADI_E_UNSUPPORTED" in p.stderr and msg in p.stderr and "not supported" in p.stderr


def test_truncated_real_frames_fail_cleanly(tmp_path):
    """Each real lossless family, cut short: a one-line error naming the input, never a crash."""
    for name in ["MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm", "JPEG-LL.dcm"]:
        ds = data(name)
        fr = next(generate_frames(ds.PixelData, number_of_frames=1))
        for cut in (0, 10, len(fr) // 2, len(fr) - 3):
            p, _ = decode_frame(tmp_path, TS[str(ds.file_meta.TransferSyntaxUID)], fr[:cut], ds.Rows, ds.Columns,
                                ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation)
            assert p.returncode == 1, f"{name} cut to {cut}: {p.stderr}"
            assert "frame.bin" in p.stderr and p.stderr.count("\n") == 1


def test_jpeg_lossless_speed(tmp_path):
    """bad_sequence.dcm (real CT, 512x512x16): at least 100 MB/s of output, best of 20."""
    ds = data("bad_sequence.dcm")
    fr = next(generate_frames(ds.PixelData, number_of_frames=1))
    p, _ = decode_frame(tmp_path, "jpegll", fr, ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored,
                        ds.PixelRepresentation, repeat=20)
    assert p.returncode == 0, p.stderr
    rate = float(p.stdout.split()[0])
    print(f"JPEG Lossless decode of bad_sequence.dcm: {p.stdout.strip()}")
    if os.environ.get("RADI_SANITIZED") or "asan" in driver():
        return  # sanitizers make it several times slower
    assert rate >= 100, p.stdout
