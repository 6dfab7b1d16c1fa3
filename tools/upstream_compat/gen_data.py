"""Synthetic stand-ins for the datasets radiobject 0.1.1's notebooks and tests download.

0.1.1's release leaves out its `radiobject.data` module (the dataset registry), so its
notebooks and tests cannot fetch MSD BrainTumour ("BraTS") or MSD Lung. This script writes
look-alikes, deterministic (seeded), in the layout and form those files have:

  <out>/msd-brain-tumour/manifest.json          [{"sample_id", "image_path", "label_path"}]
  <out>/msd-brain-tumour/imagesTr/BRATS_001.nii.gz   240x240x155x4 float32 (FLAIR, T1w, T1gd, T2w)
  <out>/msd-brain-tumour/labelsTr/BRATS_001.nii.gz   240x240x155 uint8 labels 0..3
  <out>/msd-lung/imagesTr/lung_001.nii.gz       CT, int16 Hounsfield-like
  <out>/msd-lung/labelsTr/lung_001.nii.gz       uint8 tumour mask

Voxels are integer-valued (a head-like ellipsoid over zero background, with noise), so the
files compress like real scans; affine 1 mm RAS-ish with an offset, as MSD's.

Usage: python gen_data.py --out DIR [--brats N] [--lung N] [--brats-shape X,Y,Z]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import nibabel as nib
import numpy as np

BRATS_SHAPE = (240, 240, 155)  # MSD BrainTumour's; the notebooks index it (z=77, x=120, ...)
LUNG_SHAPE = (192, 192, 96)


def _ellipsoid(shape, center, radii):
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    r = sum(((g - c) / rr) ** 2 for g, c, rr in zip(grids, center, radii))
    return r <= 1.0


def brats(out: Path, n: int, shape=BRATS_SHAPE) -> None:
    d = out / "msd-brain-tumour"
    (d / "imagesTr").mkdir(parents=True, exist_ok=True)
    (d / "labelsTr").mkdir(parents=True, exist_ok=True)
    affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    affine[:3, 3] = [0.0, 239.0, 0.0]
    manifest = []
    for i in range(1, n + 1):
        sid = f"BRATS_{i:03d}"
        rng = np.random.default_rng(i)
        f = [s / b for s, b in zip(shape, BRATS_SHAPE)]  # geometry scales with the shape
        sc = lambda *v: tuple(x * k for x, k in zip(v, f))  # noqa: E731
        head = _ellipsoid(shape, sc(120 + i, 120 - i, 77), sc(85, 100, 65))
        tumour = _ellipsoid(shape, sc(100 + 5 * i, 130, 80), sc(15 + i, 12, 10))
        img = np.zeros(shape + (4,), dtype=np.float32)
        for m in range(4):
            base = 200.0 * (m + 1) + 40.0 * i
            vals = base + rng.integers(0, 64, size=shape)
            vals = np.where(tumour, vals * 1.5, vals)
            img[..., m] = np.where(head, vals, 0).astype(np.float32)
        lab = np.zeros(shape, dtype=np.uint8)
        lab[tumour] = 2
        lab[_ellipsoid(shape, sc(100 + 5 * i, 130, 80), sc(6, 5, 4))] = 3
        lab[_ellipsoid(shape, sc(100 + 5 * i, 130, 80), sc(3, 3, 2))] = 1
        for arr, sub in ((img, "imagesTr"), (lab, "labelsTr")):
            im = nib.Nifti1Image(arr, affine)
            im.header.set_xyzt_units("mm", "sec")
            nib.save(im, str(d / sub / f"{sid}.nii.gz"))
        manifest.append({"sample_id": sid, "image_path": f"imagesTr/{sid}.nii.gz",
                         "label_path": f"labelsTr/{sid}.nii.gz"})
        print(f"wrote {sid}", flush=True)
    (d / "manifest.json").write_text(json.dumps(manifest, indent=2))


def lung(out: Path, n: int) -> None:
    d = out / "msd-lung"
    (d / "imagesTr").mkdir(parents=True, exist_ok=True)
    (d / "labelsTr").mkdir(parents=True, exist_ok=True)
    affine = np.diag([0.8, 0.8, 2.5, 1.0])
    affine[:3, 3] = [-76.8, -76.8, -120.0]
    for i in range(1, n + 1):
        sid = f"lung_{i:03d}"
        rng = np.random.default_rng(100 + i)
        body = _ellipsoid(LUNG_SHAPE, (96, 96, 48), (80, 60, 60))
        lungs = (_ellipsoid(LUNG_SHAPE, (60, 96, 48), (25, 40, 40))
                 | _ellipsoid(LUNG_SHAPE, (132, 96, 48), (25, 40, 40)))
        tumour = _ellipsoid(LUNG_SHAPE, (60 + i, 90, 40 + i), (5, 5, 4))
        ct = np.full(LUNG_SHAPE, -1024, dtype=np.int16)
        ct[body] = 40
        ct[lungs] = -850
        ct[tumour] = 30
        ct = (ct + rng.integers(-20, 20, size=LUNG_SHAPE)).astype(np.int16)
        seg = tumour.astype(np.uint8)
        for arr, sub in ((ct, "imagesTr"), (seg, "labelsTr")):
            im = nib.Nifti1Image(arr, affine)
            im.header.set_xyzt_units("mm", "sec")
            nib.save(im, str(d / sub / f"{sid}.nii.gz"))
        print(f"wrote {sid}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--brats", type=int, default=5, help="BraTS-like subjects (notebooks need 5)")
    ap.add_argument("--lung", type=int, default=3, help="MSD-Lung-like subjects")
    ap.add_argument("--brats-shape", default="240,240,155",
                    help="X,Y,Z of the BraTS-like images (the test suite runs on a smaller one)")
    a = ap.parse_args()
    brats(a.out, a.brats, tuple(int(v) for v in a.brats_shape.split(",")))
    lung(a.out, a.lung)


if __name__ == "__main__":
    main()
