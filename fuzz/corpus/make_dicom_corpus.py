#!/usr/bin/env python3
"""Regenerates fuzz/corpus/dicom/ (seeds of fuzz/fuzz_dicom.c): small synthetic DICOM files
written by pydicom 3.0.2, one per structure the parser reads. Run with the test venv:

    .venv/bin/python fuzz/corpus/make_dicom_corpus.py

implicit/explicit LE, explicit BE, deflated, legacy without preamble, Enhanced MR with
shared and per-frame functional groups (undefined-length sequences), RLE-like
encapsulated multi-frame with an empty offset table, JPEG-like fragments split across
frames with a Basic Offset Table, and an Extended Offset Table. Seeds named regress_*
are crash regressions found by fuzzing: they are kept, never regenerated.
"""
import io
import os
import struct

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, encapsulate_extended
from pydicom.sequence import Sequence
from pydicom.uid import (ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                         DeflatedExplicitVRLittleEndian, RLELossless, JPEGLosslessSV1, JPEG2000Lossless,
                         generate_uid)

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dicom")


def base(rows=4, cols=5, frames=1, bits=16):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["seed", str(rows), str(frames)])
    ds.StudyInstanceUID = "1.2.3"
    ds.SeriesInstanceUID = "1.2.3.4"
    ds.FrameOfReferenceUID = "1.2.3.5"
    ds.Modality = "MR"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SeriesNumber = 3
    ds.InstanceNumber = 7
    ds.ImagePositionPatient = [-10.5, 20, 32.5]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.75]
    ds.SliceThickness = 1.5
    ds.RescaleSlope = 2
    ds.RescaleIntercept = -1024
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    return ds


def pixels(rows, cols, frames, bits=16):
    dt = np.uint16 if bits == 16 else np.uint8
    return (np.arange(rows * cols * frames) % 251).astype(dt)


def save(name, ds, ts, preamble=True):
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buf = io.BytesIO()
    if preamble:
        ds.save_as(buf, enforce_file_format=True)
    else:
        del ds.file_meta
        ds.save_as(buf, implicit_vr=True, little_endian=True)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(buf.getvalue())


def native(name, ts, frames=1):
    ds = base(frames=frames)
    p = pixels(4, 5, frames)
    ds.PixelData = (p.byteswap() if ts == ExplicitVRBigEndian else p).tobytes()
    save(name, ds, ts)


def enhanced():
    ds = base(frames=3)
    for kw in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
               "RescaleSlope", "RescaleIntercept"):
        delattr(ds, kw)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"
    sh = Dataset()
    o = Dataset(); o.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    m = Dataset(); m.PixelSpacing = [0.8, 0.9]; m.SliceThickness = 2
    t = Dataset(); t.RescaleSlope = 3; t.RescaleIntercept = -5; t.RescaleType = "US"
    sh.PlaneOrientationSequence = Sequence([o])
    sh.PixelMeasuresSequence = Sequence([m])
    sh.PixelValueTransformationSequence = Sequence([t])
    ds.SharedFunctionalGroupsSequence = Sequence([sh])
    per = []
    for k in range(3):
        it = Dataset()
        pp = Dataset(); pp.ImagePositionPatient = [0, 0, 2 * k]
        fc = Dataset(); fc.TemporalPositionIndex = k + 1; fc.DimensionIndexValues = [1, k + 1]
        it.PlanePositionSequence = Sequence([pp])
        it.FrameContentSequence = Sequence([fc])
        per.append(it)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    ds.PixelData = pixels(4, 5, 3).tobytes()
    # Undefined lengths for the sequences: pydicom writes them when is_undefined_length is set.
    for s in (ds.SharedFunctionalGroupsSequence, ds.PerFrameFunctionalGroupsSequence):
        s.is_undefined_length = True
    ds["PerFrameFunctionalGroupsSequence"].is_undefined_length = True
    ds["SharedFunctionalGroupsSequence"].is_undefined_length = True
    save("enhanced_mr_3frames.dcm", ds, ExplicitVRLittleEndian)


def encapsulated():
    ds = base(frames=3)
    frags = [b"\x00\x00\x00\x01" + bytes(60) + bytes([k]) * 20 for k in range(3)]  # RLE-like headers
    ds.PixelData = encapsulate(frags, has_bot=False)
    ds["PixelData"].VR = "OB"
    save("rle_3frames_no_bot.dcm", ds, RLELossless)
    ds = base(frames=2)
    jp = [b"\xff\xd8" + bytes([k]) * 30 + b"\xff\xd9" for k in range(2)]
    ds.PixelData = encapsulate(jp, fragments_per_frame=2, has_bot=True)
    ds["PixelData"].VR = "OB"
    save("jpegll_2frames_bot_2frags.dcm", ds, JPEGLosslessSV1)
    ds = base(frames=2)
    j2 = [b"\xff\x4f\xff\x51" + bytes([k]) * 25 for k in range(2)]
    data, offsets, lengths = encapsulate_extended(j2)
    ds.PixelData = data
    ds["PixelData"].VR = "OB"
    ds.ExtendedOffsetTable = offsets
    ds.ExtendedOffsetTableLengths = lengths
    save("j2k_2frames_eot.dcm", ds, JPEG2000Lossless)


def main():
    os.makedirs(HERE, exist_ok=True)
    for f in os.listdir(HERE):
        if not f.startswith("regress_"):
            os.remove(os.path.join(HERE, f))
    native("implicit_le.dcm", ImplicitVRLittleEndian)
    native("explicit_le_2frames.dcm", ExplicitVRLittleEndian, frames=2)
    native("explicit_be.dcm", ExplicitVRBigEndian)
    native("deflated.dcm", DeflatedExplicitVRLittleEndian)
    ds = base()
    ds.PixelData = pixels(4, 5, 1).tobytes()
    save("legacy_no_preamble.dcm", ds, ImplicitVRLittleEndian, preamble=False)
    enhanced()
    encapsulated()


if __name__ == "__main__":
    main()
