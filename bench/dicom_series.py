"""A synthetic CT series for bench_dicom.py, in each lossless transfer syntax radi decodes.

One volume of 512 x 512 x N (default 300) slices, 0.7 mm pixels, 1.25 mm apart, axial
(IOP 1,0,0,0,1,0), IPP along +z: a torso in HU (air -1000, fat -100, muscle/organs
40-60, lungs -850 with vessels, spine and ribs ~700, a contrast-filled aorta 250),
smooth (tanh) edges and Gaussian noise of 12 HU, so that lossless codecs compress it
about as much as a real CT (2-3x). Stored as int16 with RescaleIntercept -1024, slope 1
(stored = HU + 1024), BitsStored 16, PixelRepresentation 1: the usual CT encoding, and
the one for which radi decides int16 HU from the voxels (docs/dataset.md §10.3).

Each syntax is a directory <root>/<syntax>/s1/IM00001.dcm ...; made once and reused
(a marker file records the parameters). The encoders are the tools Debian ships:
pydicom for explicit VR LE, deflated and RLE; dcmtk's dcmcjpeg (JPEG Lossless SV1) and
dcmcjpls (JPEG-LS); OpenJPEG's opj_compress (JPEG 2000 lossless) and OpenJPH's
ojph_compress (HTJ2K lossless), whose codestreams pydicom encapsulates. A syntax whose
tool is missing is skipped with the reason.
"""
import json
import multiprocessing
import os
import shutil
import subprocess
import tempfile

import numpy as np

ROWS = COLS = 512
PIXEL_MM = 0.7
STEP_MM = 1.25
INTERCEPT = -1024
SEED = 20261201
VERSION = 1  # bump when the content changes

# (key, label, transfer syntax UID name in pydicom.uid, tool it needs or None)
SYNTAXES = [
    ("explicit", "explicit VR LE (uncompressed)", "ExplicitVRLittleEndian", None),
    ("deflated", "deflated explicit VR LE", "DeflatedExplicitVRLittleEndian", None),
    ("rle", "RLE lossless", "RLELossless", None),
    ("jpegll", "JPEG Lossless SV1", "JPEGLosslessSV1", "dcmcjpeg"),
    ("jpegls", "JPEG-LS lossless", "JPEGLSLossless", "dcmcjpls"),
    ("j2k", "JPEG 2000 lossless", "JPEG2000Lossless", "opj_compress"),
    ("htj2k", "HTJ2K lossless", "HTJ2KLossless", "ojph_compress"),
]
LABEL = {k: lab for k, lab, _u, _t in SYNTAXES}


def _ellipse(yy, xx, cy, cx, ry, rx, edge=1.5):
    """Smooth inside-ness (0..1) of an ellipse, edge width ~edge pixels."""
    d = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    return 0.5 * (1 - np.tanh((d - 1) * min(ry, rx) / edge))


def slice_hu(z, n, rng):
    """Slice z (0..n-1) of the torso, float HU before noise."""
    t = z / max(n - 1, 1)  # 0 at the pelvis end, 1 at the shoulders
    yy, xx = np.mgrid[0:ROWS, 0:COLS].astype(np.float32)
    cy, cx = 270.0, 256.0
    body_ry, body_rx = 150 + 20 * np.sin(np.pi * t), 215 + 10 * np.cos(2 * t)
    body = _ellipse(yy, xx, cy, cx, body_ry, body_rx)
    inner = _ellipse(yy, xx, cy, cx, body_ry - 14, body_rx - 16)
    hu = -1000 + body * 900 + inner * 140  # fat ring -100, soft tissue 40
    # Organs: a few ellipses of 55-65 HU, drifting with z.
    for k, (oy, ox, ry, rx, v) in enumerate([(240, 180, 60, 70, 20), (250, 330, 55, 60, 15),
                                             (320, 256, 40, 90, 10)]):
        hu += v * _ellipse(yy, xx, oy + 10 * np.sin(t * 3 + k), ox, ry, rx, 3)
    # Lungs in the upper 55 % of the slices, with vessels.
    if t > 0.45:
        w = min(1.0, (t - 0.45) / 0.1)
        for ox in (165, 347):
            lung = w * _ellipse(yy, xx, 250, ox, 95 * w + 1, 70 * w + 1, 2)
            hu += lung * (-890)
            for v in range(6):
                vy, vx = 250 + 60 * np.sin(v * 1.7 + t * 4), ox + 40 * np.cos(v * 2.3 + t * 3)
                hu += lung * 850 * _ellipse(yy, xx, vy, vx, 3 + v % 3, 3 + v % 3, 1)
    # Spine, aorta, and ribs near the edge in the chest.
    hu += 660 * _ellipse(yy, xx, 385, 256, 22, 24, 1)
    hu += 200 * _ellipse(yy, xx, 340, 280, 13, 13, 1)
    if t > 0.45:
        ang = np.arctan2(yy - cy, (xx - cx) * body_ry / body_rx)
        ring = _ellipse(yy, xx, cy, cx, body_ry - 22, body_rx - 24) - \
            _ellipse(yy, xx, cy, cx, body_ry - 30, body_rx - 32)
        ribs = (np.cos(ang * 12 + z * 0.2) > 0.6).astype(np.float32)
        hu += 600 * ring * ribs
    noise = rng.normal(0, 12, (ROWS, COLS)).astype(np.float32)
    return hu + noise * np.maximum(body, 0.35)


def make_volume(n):
    """(n, ROWS, COLS) int16 stored values (HU + 1024, HU clipped to [-1024, 3071])."""
    rng = np.random.default_rng(SEED)
    out = np.empty((n, ROWS, COLS), np.int16)
    for z in range(n):
        hu = np.clip(np.rint(slice_hu(z, n, rng)), -1024, 3071)
        out[z] = (hu - INTERCEPT).astype(np.int16)
    return out


def _base_dataset(uids, z, n, stored, ts_uid):
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import CTImageStorage
    ds = pydicom.Dataset()
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = CTImageStorage
    fm.MediaStorageSOPInstanceUID = f"{uids['sop']}.{z + 1}"
    fm.TransferSyntaxUID = ts_uid
    ds.file_meta = fm
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = fm.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uids["study"], uids["series"]
    ds.FrameOfReferenceUID = uids["for"]
    ds.Modality, ds.Manufacturer = "CT", "radi bench"
    ds.PatientID, ds.PatientName = "BENCH001", "Bench^Synthetic"
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = "20261201"
    ds.SeriesDescription, ds.SeriesNumber = "synthetic chest-abdomen 1.25 mm", 3
    ds.InstanceNumber = z + 1
    ds.KVP, ds.SliceThickness = 120, STEP_MM
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    x0 = -(COLS - 1) * PIXEL_MM / 2
    ds.ImagePositionPatient = [round(x0, 4), round(x0 + 20, 4), round(-400 + z * STEP_MM, 4)]
    ds.SliceLocation = ds.ImagePositionPatient[2]
    ds.PixelSpacing = [PIXEL_MM, PIXEL_MM]
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = INTERCEPT, 1, "HU"
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = stored.tobytes()
    return ds


def _uids():
    root = "1.2.826.0.1.3680043.8.498.20261201"
    return {"study": root + ".1", "series": root + ".2", "for": root + ".3", "sop": root + ".4"}


def _write_native(args):
    path, z, n, stored, ts_name = args
    import pydicom.uid as U
    ds = _base_dataset(_uids(), z, n, stored, getattr(U, ts_name))
    ds.save_as(path, enforce_file_format=True)


def _write_rle(args):
    path, z, n, stored = args
    import pydicom.uid as U
    ds = _base_dataset(_uids(), z, n, stored, U.ExplicitVRLittleEndian)
    ds.compress(U.RLELossless, stored, encoding_plugin="pydicom")
    ds.save_as(path, enforce_file_format=True)


def _write_codestream(args):
    """J2K / HTJ2K: the tool encodes the raw frame, pydicom wraps the codestream."""
    path, z, n, stored, ts_name, tool = args
    import pydicom.uid as U
    from pydicom.encaps import encapsulate
    with tempfile.TemporaryDirectory() as td:
        if tool == "opj_compress":  # .rawl: little-endian raw samples
            src, cs = os.path.join(td, "f.rawl"), os.path.join(td, "f.j2k")
            stored.astype("<i2").tofile(src)
            cmd = [tool, "-i", src, "-o", cs, "-F", f"{COLS},{ROWS},1,16,s@1x1"]
        else:  # ojph_compress: .yuv of host-order samples
            src, cs = os.path.join(td, "f.yuv"), os.path.join(td, "f.j2c")
            stored.astype("=i2").tofile(src)
            cmd = [tool, "-i", src, "-o", cs, "-dims", f"{{{COLS},{ROWS}}}", "-num_comps", "1",
                   "-signed", "true", "-bit_depth", "16", "-downsamp", "{1,1}", "-reversible", "true"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0 or not os.path.exists(cs):
            raise RuntimeError(f"{' '.join(cmd)}: {p.stdout}{p.stderr}")
        with open(cs, "rb") as f:
            code = f.read()
    ds = _base_dataset(_uids(), z, n, stored, getattr(U, ts_name))
    ds.PixelData = encapsulate([code])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.save_as(path, enforce_file_format=True)


def _run_dcmtk(args):
    tool, src, dst = args
    p = subprocess.run([tool, src, dst], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{tool} {src}: {p.stdout}{p.stderr}")


def series_dir(root, key):
    return os.path.join(root, key, "s1")


def make_all(root, n, syntaxes, log=print):
    """Makes (or reuses) every syntax in `syntaxes` under root. Returns ({key: series
    dir}, {key: reason skipped}, stored volume (n, rows, cols) int16)."""
    os.makedirs(root, exist_ok=True)
    marker = os.path.join(root, "params.json")
    params = {"version": VERSION, "n": n, "rows": ROWS, "cols": COLS, "seed": SEED}
    have = {}
    if os.path.exists(marker):
        with open(marker) as f:
            have = json.load(f)
        if have.get("params") != params:
            log(f"  {root}: other parameters, regenerating")
            for k in [s[0] for s in SYNTAXES] + ["stored.npy"]:
                p = os.path.join(root, k)
                shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else \
                    (os.path.exists(p) and os.remove(p))
            have = {}
    done = set(have.get("done", []))
    npy = os.path.join(root, "stored.npy")
    if os.path.exists(npy):
        vol = np.load(npy)
    else:
        log(f"  generating the {COLS}x{ROWS}x{n} volume ...")
        vol = make_volume(n)
        np.save(npy, vol)
    names = [f"IM{z + 1:05d}.dcm" for z in range(n)]
    dirs, skipped = {}, {}
    nproc = max(1, min(2, os.cpu_count() or 1))
    for key, label, ts_name, tool in SYNTAXES:
        if key not in syntaxes:
            continue
        d = series_dir(root, key)
        if key in done:
            dirs[key] = d
            continue
        if tool and not shutil.which(tool):
            skipped[key] = f"{tool} not installed"
            continue
        log(f"  writing {label} ({n} files) ...")
        shutil.rmtree(os.path.dirname(d), ignore_errors=True)
        os.makedirs(d)
        paths = [os.path.join(d, nm) for nm in names]
        try:
            with multiprocessing.get_context("fork").Pool(nproc) as pool:
                if key in ("explicit", "deflated"):
                    pool.map(_write_native, [(p, z, n, vol[z], ts_name) for z, p in enumerate(paths)])
                elif key == "rle":
                    pool.map(_write_rle, [(p, z, n, vol[z]) for z, p in enumerate(paths)], chunksize=4)
                elif key in ("jpegll", "jpegls"):
                    src = series_dir(root, "explicit")
                    if "explicit" not in done and "explicit" not in dirs:
                        raise RuntimeError("needs the explicit VR LE series first")
                    pool.map(_run_dcmtk, [(tool, os.path.join(src, nm), p) for nm, p in zip(names, paths)])
                else:
                    pool.map(_write_codestream, [(p, z, n, vol[z], ts_name, tool)
                                                 for z, p in enumerate(paths)], chunksize=4)
        except Exception as e:  # noqa: BLE001 - a tool that fails skips its syntax
            shutil.rmtree(os.path.dirname(d), ignore_errors=True)
            skipped[key] = f"encoding failed: {e}"[:300]
            continue
        dirs[key] = d
        done.add(key)
        with open(marker, "w") as f:
            json.dump({"params": params, "done": sorted(done)}, f)
    return dirs, skipped, vol
