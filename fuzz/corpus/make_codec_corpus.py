#!/usr/bin/env python3
"""Regenerates the seed corpora of the DICOM decoder fuzz targets (fuzz_rle, fuzz_jpegll,
fuzz_j2k, fuzz_jls). Each seed is fuzz/dicom_fuzz_fmt.h's 3-byte format prefix followed by one
encoded frame: real frames of pydicom-data's small files, and 16x16 crops of MR_small.dcm
(signed 16-bit) and emri_small.dcm (12-bit) encoded by DCMTK's dcmcjpeg (every
predictor, a point transform), OpenJPEG's opj_compress (J2K, JP2,
lossy), OpenJPH's ojph_compress (HTJ2K) and dcmcjpls (JPEG-LS lossless and near-lossless,
every interleave mode). Run with the test venv, the Debian tools
installed (scripts/setup.sh):

    .venv/bin/python fuzz/corpus/make_codec_corpus.py

Seeds named regress_* are crash regressions found by fuzzing: kept, never regenerated.
"""
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.encaps import generate_frames
from pydicom.uid import ExplicitVRLittleEndian

HERE = Path(__file__).resolve().parent


def prefix(rows, cols, ba, bs, signed):
    assert 1 <= rows <= 256 and 1 <= cols <= 256
    return bytes([rows - 1, cols - 1, (1 if ba == 16 else 0) | ((bs - 1) << 1) | (0x80 if signed else 0)])


def put(target, name, ds_or_shape, frame):
    rows, cols, ba, bs, signed = ds_or_shape
    d = HERE / target
    d.mkdir(exist_ok=True)
    (d / name).write_bytes(prefix(rows, cols, ba, bs, signed) + frame)


def shape(ds):
    return ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation


def first_frame(name):
    ds = pydicom.dcmread(get_testdata_file(name))
    nf = int(getattr(ds, "NumberOfFrames", 1) or 1)
    return ds, next(generate_frames(ds.PixelData, number_of_frames=nf))


def crop(name, tmp, size=16):
    """A small uncompressed DICOM file: the top-left size x size of the file's first frame."""
    ds = pydicom.dcmread(get_testdata_file(name))
    arr = ds.pixel_array.reshape(-1, ds.Rows, ds.Columns)[0, 20:20 + size, 20:20 + size].copy()
    for kw in ("NumberOfFrames",):
        if kw in ds:
            del ds[kw]
    ds.Rows, ds.Columns = size, size
    ds.PixelData = arr.tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp / f"crop_{name}"
    ds.save_as(path, enforce_file_format=True)
    return path, arr, ds


def packbits(b):
    out = bytearray()
    i = 0
    while i < len(b):
        j = i
        while j + 1 < len(b) and b[j + 1] == b[i] and j - i < 127:
            j += 1
        if j > i:
            out += bytes([(257 - (j - i + 1)) & 0xFF, b[i]])
            i = j + 1
        else:
            k = i
            while k + 1 < len(b) and b[k + 1] != b[k] and k - i < 127:
                k += 1
            out += bytes([k - i]) + b[i:k + 1]
            i = k + 1
    return bytes(out)


def rle_frame(arr, ba):
    planes = [arr.astype(f"<u{ba // 8}").view(np.uint8).reshape(-1, ba // 8)[:, k].tobytes()
              for k in reversed(range(ba // 8))]
    segs = [packbits(p) for p in planes]
    header = [len(segs)] + [0] * 15
    off = 64
    for i, s in enumerate(segs):
        header[1 + i] = off
        off += len(s)
    return np.array(header, "<u4").tobytes() + b"".join(segs)


def main():
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        # RLE: a real frame, and crops (16-bit signed, 12-bit, 8-bit).
        ds, fr = first_frame("MR_small_RLE.dcm")
        put("rle", "MR_small_RLE", shape(ds), fr)
        for name in ("MR_small.dcm", "emri_small.dcm"):
            _, arr, cds = crop(name, tmp)
            put("rle", "crop_" + name.replace(".dcm", ""), shape(cds), rle_frame(arr, 16))
        arr8 = (np.arange(12 * 20) * 7 % 251).astype(np.uint8).reshape(12, 20)
        arr8[3:6] = 9
        put("rle", "synthetic_8bit", (12, 20, 8, 8, 0), rle_frame(arr8, 8))

        # JPEG Lossless: DCMTK on the crops, every predictor; a point transform (dcmcjpeg
        # writes no restart intervals; the C tests cover those).
        for name, tag in (("MR_small.dcm", "mr"), ("emri_small.dcm", "emri")):
            path, _, cds = crop(name, tmp)
            for sv in range(1, 8):
                for extra, label in (([], ""), (["+pt", "2"], "_pt2")):
                    if extra and sv not in (1, 6):
                        continue
                    out = tmp / "enc.dcm"
                    subprocess.run(["dcmcjpeg", "+el", "+sv", str(sv), *extra, str(path), str(out)], check=True)
                    eds, efr = first_frame_path(out)
                    put("jpegll", f"{tag}_sv{sv}{label}", shape(eds), efr)
        ds, fr = first_frame("JPGLosslessP14SV1_1s_1f_8b.dcm")  # too large for the format prefix: SOF3 only
        put("jpegll", "real_8bit_head", (16, 16, 8, 8, 0), fr[:600])

        # JPEG 2000: opj_compress (J2K lossless and lossy, JP2), ojph_compress (HTJ2K), a real frame.
        ds, fr = first_frame("MR_small_jp2klossless.dcm")
        put("j2k", "MR_small_jp2klossless", shape(ds), fr)
        _, arr, cds = crop("emri_small.dcm", tmp)
        pgm = tmp / "crop.pgm"
        pgm.write_bytes(b"P5\n16 16\n4095\n" + arr.astype(">u2").tobytes())
        for args, label in ((["-n", "3"], "j2k_lossless"), (["-n", "3", "-r", "8"], "j2k_lossy"),
                            (["-n", "2", "-SOP", "-EPH"], "j2k_sop")):
            out = tmp / "o.j2k"
            subprocess.run(["opj_compress", "-i", str(pgm), "-o", str(out), *args], check=True, capture_output=True)
            put("j2k", label, shape(cds), out.read_bytes())
        out = tmp / "o.jp2"
        subprocess.run(["opj_compress", "-i", str(pgm), "-o", str(out), "-n", "3"], check=True, capture_output=True)
        put("j2k", "jp2", shape(cds), out.read_bytes())
        out = tmp / "o.j2c"
        subprocess.run(["ojph_compress", "-i", str(pgm), "-o", str(out), "-reversible", "true", "-num_decomps", "2"],
                       check=True, capture_output=True)
        put("j2k", "htj2k", shape(cds), out.read_bytes())

        # JPEG-LS: a real frame, and DCMTK's dcmcjpls on the crops (lossless, near-lossless
        # with two deviations, a non-default reset interval) and on an 8-bit crop.
        ds, fr = first_frame("MR_small_jpeg_ls_lossless.dcm")
        put("jls", "MR_small_jpeg_ls_lossless", shape(ds), fr)
        for name, tag in (("MR_small.dcm", "mr"), ("emri_small.dcm", "emri")):
            path, _, cds = crop(name, tmp)
            for extra, label in (([], "lossless"), (["+en"], "near2"), (["+en", "+md", "5"], "near5"),
                                 (["+rs", "16"], "reset16")):
                if extra[:1] == ["+en"] and cds.PixelRepresentation:
                    continue  # dcmcjpls has no near-lossless mode for signed samples
                out = tmp / "enc.dcm"
                subprocess.run(["dcmcjpls", *extra, str(path), str(out)], check=True)
                eds, efr = first_frame_path(out)
                put("jls", f"{tag}_{label}", shape(eds), efr)
        path, _, cds = crop("MR_small.dcm", tmp)
        ds8 = pydicom.dcmread(path)
        ds8.PixelData = (ds8.pixel_array.astype(np.int32) % 251).astype(np.uint8).tobytes()
        ds8.BitsAllocated = ds8.BitsStored = 8
        ds8.HighBit = 7
        ds8.PixelRepresentation = 0
        ds8.save_as(tmp / "crop8.dcm", enforce_file_format=True)
        out = tmp / "enc8.dcm"
        subprocess.run(["dcmcjpls", str(tmp / "crop8.dcm"), str(out)], check=True)
        eds, efr = first_frame_path(out)
        put("jls", "crop8_lossless", shape(eds), efr)


def first_frame_path(path):
    ds = pydicom.dcmread(path)
    return ds, next(generate_frames(ds.PixelData, number_of_frames=1))


if __name__ == "__main__":
    main()
