"""Small datasets for the radi.ml tests: n subjects x (T1w int16 scaled 1.5/-3, seg uint8
with labels {0, 1, 2, 4}), written as .nii.gz with nibabel and ingested with the tiling
asked for; the numpy truth (physical float32, mask) comes back with them. make4d: the
same with 4-D images."""
import math
import os

import numpy as np

SHAPE = (70, 66, 37)  # 64^3 tiles: a 2 x 2 x 1 grid; axial: 37 tiles


def make(root, n=4, shape=SHAPE, tile="axial", seed=0):
    import nibabel as nib

    import radi

    rng = np.random.default_rng(seed)
    os.makedirs(f"{root}/nii", exist_ok=True)
    img, seg, truth = [], [], {}
    for k in range(n):
        sid = f"sub-{k:02d}"
        raw = rng.integers(-500, 1500, size=shape, dtype=np.int16)
        aff = np.diag([1.0, 1.2, 2.0, 1])
        im = nib.Nifti1Image(raw, aff)
        im.header.set_slope_inter(1.5, -3.0)
        p = f"{root}/nii/{sid}_T1w.nii.gz"
        nib.save(im, p)
        img.append((p, sid))
        m = np.zeros(shape, np.uint8)
        c = rng.integers(10, np.array(shape) - 10)
        m[c[0] - 3:c[0] + 3, c[1] - 3:c[1] + 3, c[2] - 3:c[2] + 3] = 1
        m[c[0] - 1:c[0] + 1, c[1] - 1:c[1] + 1, c[2] - 1:c[2] + 1] = 2
        m[5:8, 5:9, 5:7] = 4
        ps = f"{root}/nii/{sid}_seg.nii.gz"
        nib.save(nib.Nifti1Image(m, aff), ps)  # the image's space, as a real mask
        seg.append((ps, sid))
        # radi's physical values: raw * slope + inter in double, rounded once to float32
        truth[sid] = ((raw.astype(np.float64) * 1.5 - 3.0).astype(np.float32), m)
    old = radi.get_config().write.tile
    try:
        radi.configure(tile=radi.TileConfig(orientation="axial" if tile == "axial" else "isotropic"))
        ds = radi.RadiObject.from_niftis(f"{root}/ds", images={"T1w": img, "seg": seg})
    finally:
        radi.configure(tile=old)
    return ds, truth


def make4d(root, n=2, shape=(21, 18, 11), t=3, seed=1):
    """n subjects x (bold: 4-D int16 scaled 0.5/+2 with t timepoints and a non-trivial
    affine; seg: a 3-D uint8 mask, empty for the last subject), ingested with 8^3 tiles."""
    import nibabel as nib

    import radi

    rng = np.random.default_rng(seed)
    os.makedirs(f"{root}/nii", exist_ok=True)
    bold, seg, truth = [], [], {}
    aff = np.array([[0.0, -2.0, 0.0, 30.0], [1.5, 0.0, 0.0, -20.0], [0.0, 0.0, 3.0, 5.0], [0, 0, 0, 1]])
    for k in range(n):
        sid = f"sub-{k:02d}"
        raw = rng.integers(-300, 900, size=shape + (t,), dtype=np.int16)
        im = nib.Nifti1Image(raw, aff)
        im.header.set_slope_inter(0.5, 2.0)
        nib.save(im, f"{root}/nii/{sid}_bold.nii.gz")
        bold.append((f"{root}/nii/{sid}_bold.nii.gz", sid))
        m = np.zeros(shape, np.uint8)
        if k < n - 1:
            m[3:9, 4:8, 2:6] = 1
        nib.save(nib.Nifti1Image(m, aff), f"{root}/nii/{sid}_seg.nii.gz")
        seg.append((f"{root}/nii/{sid}_seg.nii.gz", sid))
        truth[sid] = ((raw.astype(np.float64) * 0.5 + 2.0).astype(np.float32), m)
    old = radi.get_config().write.tile
    try:
        radi.configure(tile=radi.TileConfig(orientation="isotropic", x=8, y=8, z=8))
        ds = radi.RadiObject.from_niftis(f"{root}/ds", images={"bold": bold, "seg": seg})
    finally:
        radi.configure(tile=old)
    return ds, truth, aff


def box(arr, start, shape, pad=0):
    """arr[start:start+shape] with cells outside arr set to pad."""
    out = np.full(shape, pad, dtype=arr.dtype)
    src, dst = [], []
    for s, n, N in zip(start, shape, arr.shape):
        lo, hi = max(s, 0), min(s + n, N)
        if hi <= lo:
            return out
        src.append(slice(lo, hi))
        dst.append(slice(lo - s, hi - s))
    out[tuple(dst)] = arr[tuple(src)]
    return out


def chi2_sf(x, k):
    """Upper tail of the chi-square distribution with k degrees of freedom
    (Wilson-Hilferty; accurate to well under the 0.001 level used, for k >= 10)."""
    z = ((x / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    return 0.5 * math.erfc(z / math.sqrt(2))


def rss_mb():
    """Current resident set size in MB (/proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
