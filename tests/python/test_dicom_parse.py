"""radi's DICOM Part-10 parser against pydicom 3.0.2, over every file of pydicom's test
files and pydicom-data (`pydicom.data.get_testdata_files()`), through the C driver
tests/c/dicom_check (built with the library; $RADI_BUILD_DIR, default <repo>/build).

Per file, one of:
- pydicom reads it and radi parses it: the transfer syntax, UIDs, image format, frame
  count, per-frame ImagePositionPatient / ImageOrientationPatient / PixelSpacing /
  rescale (Enhanced files: per-frame group, else shared, else top level - as the standard
  says, every per-frame item), and each frame's bytes (native: the slice of
  ds.PixelData; encapsulated: pydicom.encaps.generate_frames) must be equal;
- pydicom reads it but radi refuses it: only allowed when the file cannot give pixels
  in pydicom either (pixel_array / frame generation fails) or radi names a documented
  unsupported case (1-bit pixel data);
- pydicom cannot read it (or it is no DICOM file at all): radi must return an error.
Legacy files without a preamble are read by pydicom with force=True only when radi's
probe takes them for DICOM (force=True "reads" any file).
"""
import gzip
import json
import os
import subprocess
import zlib
from pathlib import Path

import pytest

pydicom = pytest.importorskip("pydicom")
from pydicom import encaps  # noqa: E402
from pydicom.data import get_testdata_files  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
BIG_ENDIAN = "1.2.840.10008.1.2.2"


def driver():
    build = Path(os.environ.get("RADI_BUILD_DIR") or REPO / "build")
    exe = build / "tests" / "c" / "dicom_check"
    assert exe.exists(), f"{exe} is missing: build the project (cmake --build build) first"
    return str(exe)


FILES = sorted(f for f in get_testdata_files() if os.path.isfile(f))


def nibabel_files(tmp):
    """nibabel's DICOM test files (Enhanced MR philips_mprage, Siemens mosaics), gunzipped
    into tmp: real Enhanced files with per-frame groups, which pydicom-data lacks."""
    try:
        import nibabel
    except ImportError:
        return []
    d = Path(nibabel.__file__).parent / "nicom" / "tests" / "data"
    out = []
    for f in sorted(d.glob("*.dcm")) + sorted(d.glob("*.dcm.gz")):
        if f.suffix == ".gz":
            dst = tmp / f.stem
            dst.write_bytes(gzip.decompress(f.read_bytes()))
            f = dst
        out.append(str(f))
    return out


@pytest.fixture(scope="module")
def all_files(tmp_path_factory):
    seeds = sorted(str(f) for f in (REPO / "fuzz" / "corpus" / "dicom").glob("*.dcm"))
    return FILES + nibabel_files(tmp_path_factory.mktemp("nibabel_dicom")) + seeds


@pytest.fixture(scope="module")
def radi_results(all_files):
    out = {}
    batch = 64
    for i in range(0, len(all_files), batch):
        p = subprocess.run([driver(), *all_files[i:i + batch]], capture_output=True, text=True, timeout=600)
        assert p.returncode == 0 and "Sanitizer" not in p.stderr, p.stderr[-2000:]
        for line in p.stdout.splitlines():
            r = json.loads(line)
            out[r["file"]] = r
    return out


def read_pydicom(path, probe):
    """The dataset, or None if pydicom cannot read it; every element is decoded."""
    try:
        ds = pydicom.dcmread(path)
    except pydicom.errors.InvalidDicomError:
        if not probe:
            return None
        try:
            ds = pydicom.dcmread(path, force=True)
        except Exception:
            return None
    except Exception:
        return None
    try:
        for _ in ds.iterall():
            pass
    except Exception:
        return None
    return ds


def seq_first(ds, tag):
    s = ds.get(tag)
    return s[0] if s is not None and len(s.value) else None


def lookup(datasets, seq_tag, tag):
    """The value of `tag` inside sequence `seq_tag` of the first dataset that has it."""
    for d in datasets:
        if d is None:
            continue
        if seq_tag is None:
            if tag in d and d[tag].value not in (None, "", b""):
                return d[tag].value
            continue
        item = seq_first(d, seq_tag)
        if item is not None and tag in item and item[tag].value not in (None, "", b""):
            return item[tag].value
    return None


def as_floats(v, n):
    try:
        vals = [float(x) for x in (v if isinstance(v, (list, tuple, pydicom.multival.MultiValue)) else [v])]
    except (TypeError, ValueError):
        return None
    return vals if len(vals) == n else None


def expected_frames(ds, nframes):
    """Per-frame (ipp, iop, spacing, slope, intercept) as pydicom sees them."""
    per = ds.get((0x5200, 0x9230))
    shared = seq_first(ds, (0x5200, 0x9229))
    out = []
    for k in range(nframes):
        pf = per[k] if per is not None and k < len(per.value) else None
        srcs = [pf, shared]

        def get(seq_tag, tag, n):
            v = lookup(srcs, seq_tag, tag)
            if v is None:
                v = lookup([ds], None, tag)
            return as_floats(v, n) if v is not None else None

        slope = get((0x0028, 0x9145), (0x0028, 0x1053), 1)
        inter = get((0x0028, 0x9145), (0x0028, 0x1052), 1)
        out.append(dict(ipp=get((0x0020, 0x9113), (0x0020, 0x0032), 3),
                        iop=get((0x0020, 0x9116), (0x0020, 0x0037), 6),
                        spacing=get((0x0028, 0x9110), (0x0028, 0x0030), 2),
                        slope=slope[0] if slope else 1.0, intercept=inter[0] if inter else 0.0))
    return out


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return abs(a - b) <= 1e-9 * max(1.0, abs(a))


def crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def pydicom_frames(ds, ts, nframes, r):
    """Each frame's bytes as pydicom gives them (raises when pydicom cannot)."""
    data = ds.PixelData
    if ts in NATIVE or not ts:
        size = r["rows"] * r["cols"] * r["samples_per_pixel"] * (r["bits_allocated"] // 8)
        if ds.get("PhotometricInterpretation") == "YBR_FULL_422" and r["samples_per_pixel"] == 3:
            size = size // 3 * 2
        if len(data) < size * nframes:
            raise ValueError("pixel data too short")
        frames = [data[k * size:(k + 1) * size] for k in range(nframes)]
        if ts == BIG_ENDIAN and r["bits_allocated"] > 8:
            import numpy as np
            dt = np.dtype(f">u{r['bits_allocated'] // 8}")
            frames = [np.frombuffer(f, dt).astype(dt.newbyteorder("<")).tobytes() for f in frames]
        return frames
    eot = None
    if (0x7FE0, 0x0001) in ds and (0x7FE0, 0x0002) in ds:
        eot = (ds[0x7FE0, 0x0001].value, ds[0x7FE0, 0x0002].value)
    return list(encaps.generate_frames(data, number_of_frames=nframes, extended_offsets=eot))


def pixels_fail_in_pydicom(ds):
    try:
        nf = int(ds.get("NumberOfFrames") or 1)
        ts = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
        r = dict(rows=int(ds.Rows), cols=int(ds.Columns), samples_per_pixel=int(ds.get("SamplesPerPixel", 1)),
                 bits_allocated=int(ds.BitsAllocated))
        frames = pydicom_frames(ds, ts, nf, r)
        return len(frames) != nf or r["bits_allocated"] % 8 != 0
    except Exception:
        return True


def compare(path, ds, r):
    """A list of differences between radi's result r and pydicom's dataset ds."""
    diffs = []
    ts = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
    if ts and r["ts_uid"] != ts:
        diffs.append(f"ts {r['ts_uid']} != {ts}")
    for key, kw in [("sop_class_uid", "SOPClassUID"), ("sop_instance_uid", "SOPInstanceUID"),
                    ("study_uid", "StudyInstanceUID"), ("series_uid", "SeriesInstanceUID"),
                    ("frame_of_reference_uid", "FrameOfReferenceUID"), ("modality", "Modality")]:
        want = str(ds.get(kw, "") or "").strip().rstrip("\0")
        if r[key] != want[:64]:
            diffs.append(f"{kw} {r[key]!r} != {want!r}")
    for key, kw, dflt in [("rows", "Rows", 0), ("cols", "Columns", 0), ("bits_allocated", "BitsAllocated", 0),
                          ("bits_stored", "BitsStored", 0), ("samples_per_pixel", "SamplesPerPixel", 1),
                          ("pixel_representation", "PixelRepresentation", 0)]:
        v = ds.get(kw)
        want = dflt if v is None or v == "" else int(v)
        if r[key] != want:
            diffs.append(f"{kw} {r[key]} != {want}")
    if "PixelData" not in ds:
        if r["has_pixels"]:
            diffs.append("radi found pixel data, pydicom none")
        return diffs
    nframes = int(ds.get("NumberOfFrames") or 1)
    if r["nframes"] != nframes:
        return diffs + [f"nframes {r['nframes']} != {nframes}"]
    for k, (want, got) in enumerate(zip(expected_frames(ds, nframes), r["frames"])):
        for key in ("ipp", "iop", "spacing", "slope", "intercept"):
            if not close(got[key], want[key]):
                diffs.append(f"frame {k} {key} {got[key]} != {want[key]}")
                break
    frames = pydicom_frames(ds, ts, nframes, r)
    if len(frames) != nframes:
        return diffs + [f"pydicom made {len(frames)} frames of {nframes}"]
    for k, (f, got) in enumerate(zip(frames, r["frames"])):
        if got.get("len") != len(f) or got.get("crc") != crc(f):
            diffs.append(f"frame {k} bytes: radi {got.get('len')} bytes crc {got.get('crc')}, "
                         f"pydicom {len(f)} bytes crc {crc(f)}")
            break
    return diffs[:8]


def classify(path, r):
    ds = read_pydicom(path, r.get("probe"))
    if ds is None:
        return ("agree" if not r["ok"] else "disagree", "pydicom cannot read it"
                + ("" if not r["ok"] else ", radi parsed it"))
    if not r["ok"]:
        if "1-bit" in r["error"] or pixels_fail_in_pydicom(ds):
            return "agree", "both refuse the pixels: " + r["error"]
        return "disagree", "radi refused a file pydicom reads: " + r["error"]
    try:
        diffs = compare(path, ds, r)
    except Exception as e:  # pydicom cannot make the frames radi made
        return "disagree", f"pydicom failed on frames radi made: {e!r}"
    return ("agree", "") if not diffs else ("disagree", "; ".join(diffs))


def test_every_test_file_agrees_with_pydicom(radi_results, all_files):
    assert len(FILES) > 200, "pydicom's and pydicom-data's test files are missing"
    files = all_files
    verdicts = {f: classify(f, radi_results[f]) for f in files}
    bad = {f: why for f, (v, why) in verdicts.items() if v != "agree"}
    parsed = sum(1 for f in files if radi_results[f]["ok"])
    enhanced = sum(1 for f in files if radi_results[f].get("enhanced"))
    print(f"\nradi vs pydicom: {len(files) - len(bad)} of {len(files)} files agree "
          f"({parsed} parsed by radi, {enhanced} of them Enhanced; {len(files) - parsed} refused)")
    for f, why in bad.items():
        print(f"  DISAGREE {os.path.basename(f)}: {why}")
    assert not bad, f"{len(bad)} files disagree: " + "; ".join(
        f"{os.path.basename(f)}: {why}" for f, why in list(bad.items())[:10])


def test_known_files(radi_results):
    """Spot checks of what the other parts of radi rely on."""
    by_name = {os.path.basename(f): r for f, r in radi_results.items()}
    ect = by_name["eCT_Supplemental.dcm"]
    assert ect["ok"] and ect["enhanced"] and ect["nframes"] == 2
    assert ect["frames"][0]["ipp"] != ect["frames"][1]["ipp"]  # every per-frame item is used
    rle = by_name["emri_small_RLE.dcm"]
    assert rle["ok"] and rle["nframes"] == 10 and rle["encapsulated"] and rle["nfrags"] == 10
    be = by_name["MR_small_bigendian.dcm"]
    le = by_name["MR_small.dcm"]
    assert be["ts"] == 3 and [f["crc"] for f in be["frames"]] == [f["crc"] for f in le["frames"]]
    trunc = by_name["MR_truncated.dcm"]
    assert not trunc["ok"] and "(7FE0,0010)" in trunc["error"]
    if "philips_mprage.dcm" in by_name:  # nibabel's: 176 per-frame items, oblique
        mp = by_name["philips_mprage.dcm"]
        assert mp["ok"] and mp["enhanced"] and mp["nframes"] == 176
        assert len({tuple(f["ipp"]) for f in mp["frames"]}) == 176
    bad = by_name["badVR.dcm"]
    assert not bad["ok"] and "(0028,0008)" in bad["error"]
