#!/usr/bin/env python3
"""Writes a small BraTS-like set of NIfTI files for demos and benchmarks.

    make_demo_niftis.py OUTDIR [--subjects N] [--shape X Y Z] [--seed S]

For each of N subjects: <subject>_{FLAIR,T1w,T1gd,T2w}.nii.gz (int16) and
<subject>_seg.nii.gz (uint8 labels 0, 1 necrosis, 2 oedema, 4 enhancing, as BraTS),
240x240x155 at 1 mm, RAS affine centred on the head. The images have structure, not
noise: a head ellipsoid with skin/skull, brain with white matter, grey matter and CSF
(ventricles), a tumour with necrotic core, enhancing rim and oedema whose contrasts
follow each sequence, a smooth multiplicative bias field, Rician-like noise and a zero
background. Needs numpy and nibabel.
"""
import argparse
import os
import sys

import numpy as np

# Tissue intensities per sequence (arbitrary units, roughly BraTS-like contrasts):
# background, skull/skin, CSF, grey matter, white matter, oedema, enhancing, necrosis.
CONTRAST = {
    "FLAIR": (0, 350, 150, 700, 550, 1300, 1150, 450),
    "T1w":   (0, 600, 300, 650, 850, 500, 600, 280),
    "T1gd":  (0, 620, 320, 680, 870, 520, 1500, 300),
    "T2w":   (0, 300, 1700, 900, 650, 1400, 1100, 1800),
}
MODALITIES = tuple(CONTRAST)


def smooth_noise(rng, shape, scale):
    """Low-frequency random field: coarse noise upsampled by linear interpolation."""
    coarse = rng.standard_normal(tuple(max(2, s // scale) for s in shape))
    out = coarse
    for ax, n in enumerate(shape):
        src = np.linspace(0, out.shape[ax] - 1, n)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, out.shape[ax] - 1)
        w = (src - i0).reshape([-1 if a == ax else 1 for a in range(len(shape))])
        out = np.take(out, i0, axis=ax) * (1 - w) + np.take(out, i1, axis=ax) * w
    return out


def subject(rng, shape):
    """Returns (labels, tissue) arrays: tissue classes 0..7 as in CONTRAST, seg labels."""
    X, Y, Z = shape
    x, y, z = np.meshgrid(np.arange(X, dtype=np.float32) - X / 2,
                          np.arange(Y, dtype=np.float32) - Y / 2,
                          np.arange(Z, dtype=np.float32) - Z / 2 + 5, indexing="ij")
    # Head size varies a little per subject; the surface wobbles smoothly.
    a, b, c = (rng.uniform(0.80, 0.90) * X / 2, rng.uniform(0.85, 0.95) * Y / 2,
               rng.uniform(0.78, 0.88) * Z / 2)
    wobble = 0.03 * smooth_noise(rng, shape, 40).astype(np.float32)
    r = np.sqrt((x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2) + wobble
    tissue = np.zeros(shape, np.uint8)
    tissue[r < 1.0] = 1                       # skin and skull
    tissue[r < 0.92] = 2                      # CSF around the brain
    # Cortex (grey matter) with sulci: CSF clefts where a fine field crosses a threshold.
    fold = smooth_noise(rng, shape, 5).astype(np.float32)
    tissue[(r < 0.88) & ~((np.abs(fold) < 0.12) & (r > 0.74))] = 3
    # White matter follows the folds (gyral cores), a few voxels inside the cortex.
    tissue[r + 0.05 * fold < 0.74] = 4
    # Lateral ventricles: two small ellipsoids either side of the midline.
    for side in (-1, 1):
        v = ((x - side * 0.12 * a) / (0.08 * a)) ** 2 + (y / (0.35 * b)) ** 2 + ((z - 0.1 * c) / (0.18 * c)) ** 2
        tissue[v < 1] = 2
    # Tumour in one hemisphere: oedema > enhancing rim > necrotic core.
    centre = np.array([rng.uniform(0.2, 0.45) * a * rng.choice((-1, 1)),
                       rng.uniform(-0.4, 0.4) * b, rng.uniform(-0.3, 0.3) * c], np.float32)
    rad = rng.uniform(12, 22)
    d = np.sqrt((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2)
    d = d + 4 * smooth_noise(rng, shape, 16).astype(np.float32)
    seg = np.zeros(shape, np.uint8)
    brain = (tissue >= 2) & (r < 0.9)
    seg[(d < rad * 2.0) & brain] = 2          # oedema
    seg[(d < rad) & brain] = 4                # enhancing tumour
    seg[(d < rad * 0.6) & brain] = 1          # necrotic core
    tissue[seg == 2] = 5
    tissue[seg == 4] = 6
    tissue[seg == 1] = 7
    return tissue, seg


def image(rng, tissue, modality, bias):
    lut = np.asarray(CONTRAST[modality], np.float32)
    img = lut[tissue]
    img *= 1 + 0.05 * smooth_noise(rng, tissue.shape, 6).astype(np.float32)  # texture
    img *= bias
    sigma = 0.03 * float(lut.max())
    # Rician-like magnitude noise, only inside the head (background stays exactly 0).
    re = img + rng.normal(0, sigma, img.shape).astype(np.float32)
    im = rng.normal(0, sigma, img.shape).astype(np.float32)
    img = np.sqrt(re * re + im * im)
    img[tissue == 0] = 0
    return np.clip(np.rint(img), 0, 32767).astype(np.int16)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--subjects", type=int, default=4)
    ap.add_argument("--shape", type=int, nargs=3, default=(240, 240, 155), metavar=("X", "Y", "Z"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import nibabel as nib

    os.makedirs(args.outdir, exist_ok=True)
    shape = tuple(args.shape)
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = [-(shape[0] - 1) / 2, -(shape[1] - 1) / 2, -(shape[2] - 1) / 2]
    rng = np.random.default_rng(args.seed)
    for s in range(args.subjects):
        sid = f"BraTS-{s + 1:05d}"
        tissue, seg = subject(rng, shape)
        bias = np.exp(0.15 * smooth_noise(rng, shape, 60)).astype(np.float32)
        for m in MODALITIES:
            img = nib.Nifti1Image(image(rng, tissue, m, bias), affine)
            img.header.set_xyzt_units("mm", "sec")
            nib.save(img, os.path.join(args.outdir, f"{sid}_{m}.nii.gz"))
        img = nib.Nifti1Image(seg, affine)
        img.header.set_xyzt_units("mm", "sec")
        nib.save(img, os.path.join(args.outdir, f"{sid}_seg.nii.gz"))
        print(f"{sid}: {', '.join(MODALITIES)}, seg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
