"""Generates the NIfTI fixtures of tests/c/test_nifti.c with nibabel (the reference reader).

Run from anywhere: /work/main/.venv/bin/python tests/c/data/nifti/make_fixtures.py
Voxel (x, y, z[, t]) holds x + 10*y + 100*z + 1000*t (in the stored type), so the C test
can check the layout without a copy of the data. expected.txt lists, per file, the affine
nibabel derives (16 numbers, row-major) and its axis codes.
"""
import gzip
import os

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def volume(shape, dtype):
    idx = np.indices(shape)
    v = idx[0] + 10 * idx[1] + 100 * idx[2]
    if len(shape) == 4:
        v = v + 1000 * idx[3]
    return v.astype(dtype)


def rot_affine():
    c, s = np.cos(0.3), np.sin(0.3)
    a = np.array([[c * 2, -s * 2, 0, -10], [s * 2, c * 2, 0, 20], [0, 0, 3, -5], [0, 0, 0, 1]])
    return a


def save(img, name, expected):
    path = os.path.join(HERE, name)
    nib.save(img, path)
    back = nib.load(path)
    aff = back.affine
    codes = "".join(nib.aff2axcodes(aff))
    expected.append(f"{name} {codes} " + " ".join(repr(float(x)) for x in aff.ravel()))
    return path


def main():
    exp = []
    # uint8 3-D, sform and qform code 1
    img = nib.Nifti1Image(volume((4, 3, 2), np.uint8), np.diag([1.5, 2, 3, 1]) + [[0, 0, 0, 5], [0] * 4, [0] * 4, [0] * 4])
    img.header.set_sform(img.affine, 1)
    img.header.set_qform(img.affine, 1)
    img.header["descrip"] = b"radi fixture"
    save(img, "u8_3d.nii", exp)

    # int16 scaled, gzip
    img = nib.Nifti1Image(volume((4, 3, 2), np.int16), np.eye(4))
    img.header.set_slope_inter(2.0, 10.0)
    save(img, "i16_scaled.nii.gz", exp)

    # float32 4-D big-endian, TR 2.5, xyzt mm/s
    data = volume((3, 2, 2, 3), np.float32)
    hdr = nib.Nifti1Header(endianness=">")
    img = nib.Nifti1Image(data, np.diag([-1, 1, 1, 1]), header=hdr)
    img.header.set_zooms((1, 1, 1, 2.5))
    img.header.set_xyzt_units("mm", "sec")
    save(img, "f32_4d_be.nii", exp)

    # NIfTI-2 int32, rotated sform only
    img = nib.Nifti2Image(volume((4, 3, 2), np.int32), rot_affine())
    img.header.set_sform(rot_affine(), 2)
    img.header.set_qform(None, 0)
    save(img, "n2_i32_sform.nii", exp)

    # qform only (rotated, LPS-like)
    aff = rot_affine() @ np.diag([-1, -1, 1, 1])
    img = nib.Nifti1Image(volume((4, 3, 2), np.uint16), aff)
    img.header.set_qform(aff, 1)
    img.header.set_sform(None, 0)
    save(img, "u16_qform.nii", exp)

    # neither code: pixdim fallback
    img = nib.Nifti1Image(volume((4, 3, 2), np.float64), None)
    img.header.set_zooms((2, 3, 4))
    img.header.set_qform(None, 0)
    img.header.set_sform(None, 0)
    save(img, "f64_nocode.nii", exp)

    # .hdr/.img pair, int8
    img = nib.Nifti1Pair(volume((4, 3, 2), np.int8), np.eye(4))
    save(img, "pair_i8.hdr", exp)

    # two gzip members: the header in one, the voxels in the other
    src = os.path.join(HERE, "u8_3d.nii")
    raw = open(src, "rb").read()
    with open(os.path.join(HERE, "u8_multimember.nii.gz"), "wb") as f:
        f.write(gzip.compress(raw[:352]) + gzip.compress(raw[352:]))
    exp.append(exp[0].replace("u8_3d.nii", "u8_multimember.nii.gz", 1))

    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.write("\n".join(exp) + "\n")


if __name__ == "__main__":
    main()
