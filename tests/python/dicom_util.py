"""Helpers of the DICOM acceptance tests (test_dicom_oracles.py, test_dicom_hostile.py):

- an oblique NIfTI volume written as a single-frame DICOM series by pydicom (RAS -> LPS,
  IOP/IPP/PixelSpacing from the affine, CT rescale), in each transfer syntax radi reads
  that a tool here can produce (pydicom: explicit LE, deflated, RLE; DCMTK: JPEG Lossless
  SV1, JPEG-LS; OpenJPEG: J2K; OpenJPH: HTJ2K);
- small hand-built DICOM files, valid and hostile, written byte by byte (pydicom refuses
  to write most of the hostile ones);
- oracles: dcm2niix's NIfTI and SimpleITK's image of a series, as nibabel images.

Run as a script to refresh the hostile seeds of fuzz/corpus/dicom/ (hostile_*):

    .venv/bin/python tests/python/dicom_util.py --corpus fuzz/corpus/dicom
"""
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

import nibabel as nib
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, RLELossless, JPEG2000Lossless,
                         HTJ2KLossless, CTImageStorage, PYDICOM_IMPLEMENTATION_UID)
from pydicom.valuerep import format_number_as_ds

CT_INTERCEPT = -1024

# --------------------------------------------------------------- NIfTI --


def rotation(ax, ay, az):
    """Rotation about x, then y, then z (degrees)."""
    a, b, c = np.radians([ax, ay, az])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def oblique_nifti(shape=(40, 32, 24), spacing=(0.8, 1.1, 2.5), angles=(10, -15, 20),
                  origin=(-30.5, 12.25, 40.0), seed=7, frames=1):
    """int16 NIfTI, values in [-1024, 3071] (12-bit CT once the intercept is removed): a
    gradient over i, j, k (every slice and row distinct) plus noise and a bright
    asymmetric block, so that any flip, transpose or slice swap shows. frames > 1: 4-D,
    each time point the first plus 100 * t."""
    rng = np.random.default_rng(seed)
    i, j, k = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    vol = (i * 17 + j * 5 + k * 29 - 600 + rng.integers(-40, 41, shape)).astype(np.int16)
    vol[2:7, 3:5, 1:4] = 2900
    if frames > 1:
        vol = np.stack([vol + 100 * t for t in range(frames)], axis=-1).astype(np.int16)
    aff = np.eye(4)
    aff[:3, :3] = rotation(*angles) @ np.diag(spacing)
    aff[:3, 3] = origin
    assert -1024 <= vol.min() and vol.max() <= 3071
    return nib.Nifti1Image(vol, aff)


def canonical(data, affine):
    """(voxels, affine) of nibabel's closest canonical (RAS+) orientation."""
    img = nib.as_closest_canonical(nib.Nifti1Image(np.asarray(data), affine))
    return np.asarray(img.dataobj), img.affine


# ------------------------------------------------------- DICOM series --


def ds_str(v):
    return format_number_as_ds(float(v))


def slice_datasets(img, series_uid="1.2.826.0.1.3680043.8.498.1001", modality="CT"):
    """One pydicom Dataset per (slice, time point) of img: x = column, y = row, z = slice,
    as radi stores a series, the affine's RAS turned into DICOM's LPS. CT: stored =
    value + 1024 (uint16, 12 bits) with intercept -1024; MR: int16 as is."""
    data = np.asarray(img.dataobj)
    frames = data.shape[3] if data.ndim == 4 else 1
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ img.affine
    col_step, row_step = lps[:3, 0], lps[:3, 1]
    dr, dc = np.linalg.norm(col_step), np.linalg.norm(row_step)
    iop = list(col_step / dr) + list(row_step / dc)
    out = []
    for t in range(frames):
        for k in range(data.shape[2]):
            plane = data[:, :, k, t] if data.ndim == 4 else data[:, :, k]
            ipp = lps[:3, :3] @ [0, 0, k] + lps[:3, 3]
            ds = Dataset()
            ds.SOPClassUID = CTImageStorage if modality == "CT" else "1.2.840.10008.5.1.4.1.1.4"
            ds.SOPInstanceUID = f"{series_uid}.{t + 1}.{k + 1}"
            ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1000"
            ds.SeriesInstanceUID = series_uid
            ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.1002"
            ds.Modality = modality
            ds.Manufacturer = "radi-test"
            ds.SeriesDescription = "synthetic oblique"
            ds.SeriesNumber = 3
            ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
            ds.PatientID = "synthetic"
            ds.ImagePositionPatient = [ds_str(v) for v in ipp]
            ds.ImageOrientationPatient = [ds_str(v) for v in iop]
            ds.PixelSpacing = [ds_str(dc), ds_str(dr)]  # row spacing (along y), column spacing (along x)
            ds.SliceThickness = ds_str(np.linalg.norm(lps[:3, 2]))
            if frames > 1:
                ds.TemporalPositionIdentifier = t + 1
                ds.NumberOfTemporalPositions = frames
            ds.Rows, ds.Columns = plane.shape[1], plane.shape[0]
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.BitsAllocated = 16
            if modality == "CT":
                ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, 0
                ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = CT_INTERCEPT, 1, "HU"
                pix = (plane.T.astype(np.int32) - CT_INTERCEPT).astype("<u2")
            else:
                ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 15, 1
                pix = plane.T.astype("<i2")
            ds.PixelData = np.ascontiguousarray(pix).tobytes()
            ds["PixelData"].VR = "OW"
            ds.file_meta = FileMetaDataset()
            ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
            out.append(ds)
    return out


def write_series(img, out_dir, order="reversed", seed=3, **kw):
    """Writes img as a series in out_dir under shuffled file names. order: "reversed"
    (InstanceNumber runs against the slice index k, so the first file written holds the
    last slice) or "shuffled" (a random permutation). Returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dss = slice_datasets(img, **kw)
    rng = np.random.default_rng(seed)
    n = len(dss)
    numbers = np.arange(n, 0, -1) if order == "reversed" else rng.permutation(n) + 1
    names = rng.permutation(n)
    paths = []
    for ds, num, name in zip(dss, numbers, names):
        ds.InstanceNumber = int(num)
        p = out_dir / f"IM{name * 7919 % 100003:06d}"
        ds.save_as(p, enforce_file_format=True)
        paths.append(p)
    return paths


def _encapsulated(ds, frame_bytes, ts):
    ds.PixelData = encapsulate([frame_bytes])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = ts


def transcode(src_dir, dst_dir, syntax, tmp):
    """The series of src_dir rewritten in dst_dir in one transfer syntax: "deflated", "rle"
    (pydicom), "jpegll" (DCMTK dcmcjpeg, SV1), "jpegls" (dcmcjpls), "j2k" (OpenJPEG
    opj_compress, reversible), "htj2k" (OpenJPH ojph_compress, reversible). Returns None
    when the tool is missing."""
    tool = {"jpegll": "dcmcjpeg", "jpegls": "dcmcjpls", "j2k": "opj_compress", "htj2k": "ojph_compress"}.get(syntax)
    if tool and shutil.which(tool) is None:
        return None
    dst_dir = Path(dst_dir)
    dst_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    for src in sorted(Path(src_dir).iterdir()):
        dst = dst_dir / src.name
        if syntax in ("jpegll", "jpegls"):
            args = [tool, "+e1", str(src), str(dst)] if syntax == "jpegll" else [tool, str(src), str(dst)]
            subprocess.run(args, check=True, capture_output=True)
            continue
        ds = pydicom.dcmread(src)
        if syntax == "deflated":
            ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
        elif syntax == "rle":
            ds.compress(RLELossless)
        elif syntax in ("j2k", "htj2k"):
            raw = tmp / "frame.rawl"
            out = tmp / ("frame.j2k" if syntax == "j2k" else "frame.j2c")
            signed = bool(ds.PixelRepresentation)
            np.frombuffer(ds.PixelData, "<i2" if signed else "<u2").tofile(raw)
            if syntax == "j2k":
                cmd = ["opj_compress", "-i", str(raw), "-o", str(out),
                       "-F", f"{ds.Columns},{ds.Rows},1,{ds.BitsStored},{'s' if signed else 'u'}"]
                ts = JPEG2000Lossless
            else:
                cmd = ["ojph_compress", "-i", str(raw.with_suffix(".yuv")), "-o", str(out), "-reversible", "true",
                       "-dims", f"{{{ds.Columns},{ds.Rows}}}", "-num_comps", "1",
                       "-signed", "true" if signed else "false", "-bit_depth", str(ds.BitsStored),
                       "-downsamp", "{1,1}"]
                raw.rename(raw.with_suffix(".yuv"))
                ts = HTJ2KLossless
            subprocess.run(cmd, check=True, capture_output=True)
            _encapsulated(ds, out.read_bytes(), ts)
        else:
            raise ValueError(syntax)
        ds.save_as(dst, enforce_file_format=True)
    return dst_dir


# ------------------------------------------------------------------ CLI --

def cli(*args, timeout=300):
    """radi's CLI ($RADI_CLI, else the packaged one)."""
    from radi import _lib
    return subprocess.run([str(_lib.cli_path()), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def cli_ingest(*args):
    """`radi ingest --json ARGS` that must succeed: its JSON summary."""
    p = cli("ingest", "--json", *args)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def one_line_error(p):
    """The single `radi: ...` line of a CLI run that failed with exit code 1 (no signal,
    no usage error, nothing else on stderr)."""
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("radi: "), p.stderr
    return lines[0]


def tree(path):
    """{relative path: file bytes} of everything under path (a dataset's whole state)."""
    path = Path(path)
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()}


# --------------------------------------------------------------- oracles --

def dcm2niix_exe():
    exe = Path(sys.executable).parent / "dcm2niix"
    return exe if exe.exists() else (Path(shutil.which("dcm2niix")) if shutil.which("dcm2niix") else None)


def dcm2niix(series_dir, out):
    """dcm2niix's NIfTI images of one directory (a list: it may split a series)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([str(dcm2niix_exe()), "-z", "n", "-b", "n", "-f", "%s_%z_%j", "-o", str(out),
                        str(series_dir)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return [nib.load(str(f)) for f in sorted(out.glob("*.nii"))], p.stdout


def sitk_image(files):
    """SimpleITK's (GDCM's) reading of the files: (voxels x, y, z, affine RAS)."""
    import SimpleITK as sitk
    files = [str(f) for f in files]
    # One (multi-frame) file: read alone, as a 3-D image (a list of one gives 4-D).
    img = sitk.ReadImage(files[0] if len(files) == 1 else files)
    arr = sitk.GetArrayFromImage(img)  # (z, y, x)
    data = arr.transpose(2, 1, 0)
    d = np.array(img.GetDirection()).reshape(3, 3)
    aff = np.eye(4)
    aff[:3, :3] = d @ np.diag(img.GetSpacing())
    aff[:3, 3] = img.GetOrigin()
    aff = np.diag([-1.0, -1.0, 1.0, 1.0]) @ aff
    return data, aff


# ------------------------------------------------ hand-built DICOM bytes --
# Explicit VR little endian element encoders; enough to build any hostile shape.

LONG_VRS = {b"OB", b"OW", b"OD", b"OF", b"OL", b"OV", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
UNDEF = 0xFFFFFFFF


def el(group, elem, vr, value=b"", length=None):
    """One explicit VR LE element; length overrides the encoded length (the value's
    bytes are written as given)."""
    vr = vr.encode() if isinstance(vr, str) else vr
    if isinstance(value, str):
        value = value.encode()
        if len(value) % 2:
            value += b"\0" if vr == b"UI" else b" "
    n = len(value) if length is None else length
    if vr in LONG_VRS:
        return struct.pack("<HH2sHI", group, elem, vr, 0, n) + value
    return struct.pack("<HH2sH", group, elem, vr, n) + value


def us(group, elem, v):
    return el(group, elem, "US", struct.pack("<H", v))


def item(value=b"", length=None):
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(value) if length is None else length) + value


ITEM_DELIM = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
SEQ_DELIM = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def meta(ts="1.2.840.10008.1.2.1", sop_uid="1.2.826.0.1.3680043.8.498.9.1", with_ts=True):
    body = el(0x0002, 0x0001, "OB", b"\0\1")
    body += el(0x0002, 0x0002, "UI", CTImageStorage)
    body += el(0x0002, 0x0003, "UI", sop_uid)
    if with_ts:
        body += el(0x0002, 0x0010, "UI", ts)
    body += el(0x0002, 0x0012, "UI", PYDICOM_IMPLEMENTATION_UID)
    return b"\0" * 128 + b"DICM" + el(0x0002, 0x0000, "UL", struct.pack("<I", len(body))) + body


def header(rows=8, cols=6, z=0.0, instance=1, sop_uid="1.2.826.0.1.3680043.8.498.9.1",
           series_uid="1.2.826.0.1.3680043.8.498.9", rows_el=None, frames_el=b"", bits=16, extra=b""):
    """The dataset before PixelData of a small axial CT slice (tags in ascending order;
    `extra` goes after (0020,0037), rows_el replaces Rows, frames_el is NumberOfFrames)."""
    b = el(0x0008, 0x0016, "UI", CTImageStorage)
    b += el(0x0008, 0x0018, "UI", sop_uid)
    b += el(0x0008, 0x0060, "CS", "CT")
    b += el(0x0020, 0x000D, "UI", "1.2.826.0.1.3680043.8.498.8")
    b += el(0x0020, 0x000E, "UI", series_uid)
    b += el(0x0020, 0x0013, "IS", str(instance))
    b += el(0x0020, 0x0032, "DS", f"-20\\-15\\{z:g}")
    b += el(0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0")
    b += extra
    b += us(0x0028, 0x0002, 1)
    b += el(0x0028, 0x0004, "CS", "MONOCHROME2")
    b += frames_el
    b += rows_el if rows_el is not None else us(0x0028, 0x0010, rows)
    b += us(0x0028, 0x0011, cols)
    b += el(0x0028, 0x0030, "DS", "0.5\\0.75")
    b += us(0x0028, 0x0100, bits)
    b += us(0x0028, 0x0101, bits)
    b += us(0x0028, 0x0102, bits - 1)
    b += us(0x0028, 0x0103, 1)
    b += el(0x0028, 0x1052, "DS", "0")
    b += el(0x0028, 0x1053, "DS", "1")
    return b


def pixels(rows=8, cols=6, z=0):
    """int16 frame (rows, cols), distinct values."""
    return (np.arange(rows * cols, dtype=np.int16).reshape(rows, cols) * 3 - 50 + 1000 * int(z)).astype("<i2")


def small_ct(rows=8, cols=6, z=0.0, instance=1, **kw):
    """A valid explicit VR LE CT slice (~500 bytes), PixelData last."""
    uid = f"1.2.826.0.1.3680043.8.498.9.{instance}"
    px = pixels(rows, cols, z).tobytes()
    return (meta(sop_uid=uid) + header(rows, cols, z, instance, sop_uid=uid, **kw)
            + el(0x7FE0, 0x0010, "OW", px))


def nested_sequences(depth, undefined):
    """A private sequence (0009,1010) nested `depth` deep: undefined lengths (walked to
    find their ends) or defined lengths (jumped over whole)."""
    inner = b""
    for _ in range(depth):
        if undefined:
            inner = (struct.pack("<HH2sHI", 0x0009, 0x1010, b"SQ", 0, UNDEF) + item(inner, UNDEF) + ITEM_DELIM
                     + SEQ_DELIM)
        else:
            inner = el(0x0009, 0x1010, "SQ", item(inner))
    return el(0x0009, 0x0010, "LO", "RADI TEST") + inner


def hostile_files():
    """name -> (bytes, words radi's error must contain). Each is one small CT slice that
    probes as DICOM; radi must refuse it with a one-line error naming the file."""
    uid = "1.2.826.0.1.3680043.8.498.9.1"
    m, h = meta(sop_uid=uid), header(sop_uid=uid)
    px = pixels().tobytes()
    pix = el(0x7FE0, 0x0010, "OW", px)

    def ow(n):  # a PixelData header declaring n bytes
        return struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, n)

    def encaps(frags):  # encapsulated PixelData: an empty offset table, then frags
        return struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, UNDEF) + item() + frags

    rle = meta(ts="1.2.840.10008.1.2.5", sop_uid=uid)
    huge = dict(sop_uid=uid, rows=65535, cols=65535)
    return {
        # Pixel data present but short: the element is consistent, its value too small.
        "truncated_pixels": (m + h + el(0x7FE0, 0x0010, "OW", px[:-6]),
                             ["(7FE0,0010) PixelData", "90 bytes, expected 96"]),
        # The file ends inside pixel data whose length says more.
        "pixels_cut": (m + h + ow(len(px)) + px[:40], ["(7FE0,0010) PixelData", "runs past the end"]),
        # No (0002,0010): the dataset is read as it is written (explicit LE here, as
        # pydicom does), but its pixel data is encapsulated, which no native syntax has.
        "missing_ts_encapsulated": (meta(sop_uid=uid, with_ts=False) + h + encaps(item(px) + SEQ_DELIM),
                                    ["encapsulated pixel data", "(none)"]),
        # Bad values: Rows as the DS string "abc" (padded to 4 bytes, not a US); a
        # negative NumberOfFrames.
        "rows_ds_abc": (m + header(sop_uid=uid, rows_el=el(0x0028, 0x0010, "DS", "abc")) + pix,
                        ["(0028,0010) Rows", "length 4, expected 2"]),
        "frames_negative": (m + header(sop_uid=uid, frames_el=el(0x0028, 0x0008, "IS", "-5")) + pix,
                            ["(0028,0008) NumberOfFrames", '"-5"']),
        # Lengths near 2^32: on an ordinary element, on pixel data, on a fragment.
        "len_fffffff0_element": (m + header(sop_uid=uid, extra=el(0x0020, 0x4000, "UT", b"comment!",
                                                                    length=0xFFFFFFF0)) + pix,
                                 ["(0020,4000)", "length 4294967280", "runs past the end"]),
        "len_fffffff0_pixels": (m + h + ow(0xFFFFFFF0) + px, ["(7FE0,0010) PixelData", "length 4294967280"]),
        "fragment_fffffff0": (rle + h + encaps(item(px[:16], length=0xFFFFFFF0)),
                              ["(7FE0,0010)", "length 4294967280 runs past the end"]),
        "fragment_past_end": (rle + h + encaps(item(px[:16], length=0x1000)),
                              ["(7FE0,0010)", "length 4096 runs past the end"]),
        # Sizes that overflow: 65535 x 65535 x 2^31 frames of 16 bits is ~2^63 bytes;
        # 2^20 frames (radi's bound) of 65535^2 is 9e15 bytes, far beyond the file.
        "frames_2e31": (m + header(**huge, frames_el=el(0x0028, 0x0008, "IS", str(2 ** 31))) + pix,
                        ["(0028,0008) NumberOfFrames", "2147483648 frames"]),
        "frames_2e20_huge": (m + header(**huge, frames_el=el(0x0028, 0x0008, "IS", str(2 ** 20))) + pix,
                             ["(7FE0,0010) PixelData", "96 bytes, expected 9006924378931200"]),
        # Sequences 10^4 deep with undefined lengths (walked to find their end): refused
        # at radi's depth bound, no stack overflow.
        "nested_1e4": (m + h + nested_sequences(10 ** 4, True) + pix, ["(0009,1010)", "nested deeper than"]),
    }


# ------------------------------------------------------------- corpus --

def write_corpus(dest):
    """Small hostile seeds for fuzz/corpus/dicom/ (the 10^4-deep one made 34 deep: still past radi's bound of 32)."""
    dest = Path(dest)
    for name, (data, _) in hostile_files().items():
        if name == "nested_1e4":
            uid = "1.2.826.0.1.3680043.8.498.9.1"
            data = (meta(sop_uid=uid) + header(sop_uid=uid) + nested_sequences(34, True)
                    + el(0x7FE0, 0x0010, "OW", pixels().tobytes()))
            name = "nested_34"
        assert len(data) < 2048, (name, len(data))
        # No .dcm: test_dicom_parse compares every corpus *.dcm with pydicom, which reads
        # several of these leniently (a length past the end clamped, 34 nested
        # sequences) where radi refuses by design; test_dicom_hostile checks them.
        (dest / f"hostile_{name}").write_bytes(data)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--corpus":
        write_corpus(sys.argv[2])
    else:
        sys.exit(__doc__)


# ------------------------------------------------------ cut-file worker --

def cut_worker(spec_json):
    """Run in a subprocess by test_dicom_hostile.py (so that a crash is a signal the test
    sees, not a dead pytest): for each seed file and each length n < its size, the seed
    cut to n bytes alone in a directory, ingested through RadiObject.from_dicoms (the
    Python scan, then the C ingest) and, every spec[seed]-th length (0: never) and the
    last 4, straight through the C ingest (the directory as the source, no Python scan:
    ~50 ms a call, as it sets up and rolls back a dataset); the whole seed must
    ingest. Prints one JSON line: {seed: {"full": error or null, "bad": [[n, path,
    message], ...], "kinds": {exception type: count}}}."""
    import radi
    from radi import _lib
    spec = json.loads(spec_json)
    root = Path(spec["root"])
    ctx = _lib.context()
    report = {}
    for name, direct in spec["seeds"].items():
        full = (root / "seeds" / name).read_bytes()
        res = {"full": None, "bad": [], "kinds": {}}
        d = root / name / "full" / "s"
        d.mkdir(parents=True)
        (d / "x.dcm").write_bytes(full)
        try:
            radi.RadiObject.from_dicoms(str(root / name / "full_ds"), [(d, "p")])
        except Exception as e:  # noqa: BLE001 - reported
            res["full"] = f"{type(e).__name__}: {e}"
        for n in range(len(full)):
            d = root / name / str(n)
            d.mkdir(parents=True)
            (d / "x.dcm").write_bytes(full[:n])
            ways = [("py", lambda uri: radi.RadiObject.from_dicoms(uri, [(d, "p")]))]
            if direct and (n % direct == 0 or n >= len(full) - 4):
                ways.append(("c", lambda uri: radi.RadiObject._create_and_ingest(
                    uri, ctx, [], [("CT", [(str(d), "p", None, None)])], False, None, False)))
            for way, call in ways:
                uri = root / name / f"{n}_{way}"
                try:
                    call(str(uri))
                    res["bad"].append([n, way, "ingested"])
                    continue
                except Exception as e:  # noqa: BLE001 - classified by the test
                    err = e
                msg, kind = str(err), type(err).__name__
                res["kinds"][kind] = res["kinds"].get(kind, 0) + 1
                ok_kind = isinstance(err, radi.RadiError) or (isinstance(err, ValueError) and "no image series" in msg)
                if not ok_kind or "\n" in msg or str(d) not in msg or uri.exists():
                    res["bad"].append([n, way, f"{kind}: {msg} (uri exists: {uri.exists()})"])
        report[name] = res
    print(json.dumps(report))
