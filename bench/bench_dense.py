#!/usr/bin/env python3
"""radi vs TileDB-Py on one BraTS-like float32 volume (240×240×155), in one run.

For axial tiles (240×240×1) and isotropic tiles (64³), both with ZSTD level 3, the same
synthetic volume is written by radi (`radi.Volume.from_numpy`) and by TileDB-Py (same
dimensions, tiles and filters), then read through handles opened once, outside the timing:
full volume, one axial / sagittal / coronal slice, an unaligned 64³ region. Each figure is
the median of several repetitions, radi and TileDB-Py interleaved so that machine noise
hits both alike. Also printed: bytes on disk, and .npy (np.load / memory map) and nibabel
.nii.gz as floors when available. Not a test: it asserts only that both read the same values.

    .venv/bin/python bench/bench_dense.py [--quick] [--reps N] [--dir PATH] [--json FILE]
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
from benchutil import du

SHAPE = (240, 240, 155)


# ---------------------------------------------------------------------------- data --

def _blur(a, passes=2):
    """Separable 3-tap box blur, a few passes (partial-volume effect), no SciPy needed."""
    a = a.astype(np.float32)
    for _ in range(passes):
        for ax in range(3):
            a = (np.roll(a, 1, ax) + a + np.roll(a, -1, ax)) / 3.0
    return a


def brain_volume(seed=0, shape=SHAPE):
    """A skull-stripped BraTS-like brain: white/grey matter, ventricles, a tumour with a
    necrotic core and oedema, partial-volume blur, a ±15 % smooth bias field, Rician noise,
    background exactly 0 (about 17 % of voxels non-zero)."""
    rng = np.random.default_rng(seed)
    x, y, z = np.meshgrid(*[np.linspace(-1, 1, n, dtype=np.float32) for n in shape],
                          indexing="ij")
    X, Y, Z = x * shape[0] / 2, y * shape[1] / 2, z * shape[2] / 2  # voxel units from centre
    r_brain = (X / 80) ** 2 + (Y / 95) ** 2 + (Z / 48) ** 2
    brain = r_brain <= 1.0
    vol = np.zeros(shape, np.float32)
    vol[brain] = 0.55                                             # grey matter
    wm = r_brain <= 0.62
    # a folded grey/white boundary
    wm &= (np.sin(X / 6) * np.sin(Y / 7) * np.sin(Z / 5)) > -0.55
    vol[wm] = 0.8                                                 # white matter
    vent = ((np.abs(X) - 9) / 6) ** 2 + (Y / 26) ** 2 + ((Z - 4) / 9) ** 2 <= 1.0
    vol[vent] = 0.2                                               # CSF
    d_tum = np.sqrt((X - 35) ** 2 + (Y + 25) ** 2 + (Z - 10) ** 2)
    vol[(d_tum <= 26) & brain] = 0.95                             # oedema
    vol[d_tum <= 15] = 1.15                                       # enhancing tumour
    vol[d_tum <= 7] = 0.3                                         # necrotic core
    vol = _blur(vol)
    bias = 1 + 0.15 * (0.6 * x + 0.3 * y ** 2 - 0.4 * z * x).astype(np.float32)
    vol *= bias * 1000
    sigma = 25.0
    n1 = rng.normal(0, sigma, shape).astype(np.float32)
    n2 = rng.normal(0, sigma, shape).astype(np.float32)
    vol = np.sqrt((vol + n1) ** 2 + n2 ** 2)                      # Rician
    vol[~brain] = 0.0
    return vol.astype(np.float32)


# ----------------------------------------------------------------------- systems --

def tiledb_create_write(tiledb, uri, data, ext):
    dims = [tiledb.Dim(n, (0, s - 1), e, dtype=np.int32) for n, s, e in zip("xyz", data.shape, ext)]
    schema = tiledb.ArraySchema(
        domain=tiledb.Domain(*dims), sparse=False, cell_order="row-major", tile_order="row-major",
        attrs=[tiledb.Attr("voxels", dtype=np.float32,
                           filters=tiledb.FilterList([tiledb.ZstdFilter(level=3)]))])
    tiledb.Array.create(uri, schema)
    with tiledb.open(uri, "w") as A:
        A[:] = data


def radi_write(radi, uri, data, orientation):
    radi.configure(tile=radi.TileConfig(orientation=orientation),
                   compression=radi.CompressionConfig(algorithm=radi.Compressor.ZSTD, level=3))
    radi.Volume.from_numpy(uri, data).close()


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t) * 1000, out


def median_ms(samples):
    return statistics.median(samples)


# -------------------------------------------------------------------------- main --

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions of each slice/region read")
    ap.add_argument("--dir", default=None, help="where to write the arrays (default: a temp dir)")
    ap.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = ap.parse_args()
    reps = args.reps or (5 if args.quick else 25)
    full_reps = max(3, reps // 3)
    write_reps = 2 if args.quick else 4

    import radi
    import tiledb

    root = args.dir or tempfile.mkdtemp(prefix="radi-bench-")
    os.makedirs(root, exist_ok=True)
    print(f"radi {radi.library_version()} ({radi._lib.library_path()}), TileDB-Py "
          f"{tiledb.__version__} (core {'.'.join(map(str, tiledb.libtiledb.version()))}), "
          f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    t, data = timed(lambda: brain_volume())
    nz = float((data != 0).mean())
    print(f"volume {data.shape} float32, {data.nbytes / 1e6:.1f} MB, {nz:.0%} non-zero "
          f"(synthesized in {t:.0f} ms); arrays under {root}")

    x0, y0, z0 = 37, 51, 45  # unaligned 64³ region
    roi = (slice(x0, x0 + 64), slice(y0, y0 + 64), slice(z0, z0 + 64))
    rng = np.random.default_rng(1)
    zs = rng.integers(20, 135, reps)
    xs = rng.integers(40, 200, reps)
    ys = rng.integers(40, 200, reps)

    results = []
    saved_config = radi.get_config()
    try:
        for tiling, orient, ext in (("axial", radi.SliceOrientation.AXIAL, (240, 240, 1)),
                                    ("isotropic", radi.SliceOrientation.ISOTROPIC, (64, 64, 64))):
            w_radi, w_tdb = [], []
            for k in range(write_reps):
                ur, ut = os.path.join(root, f"radi_{tiling}_{k}"), os.path.join(root, f"tdb_{tiling}_{k}")
                for u in (ur, ut):
                    shutil.rmtree(u, ignore_errors=True)
                w_radi.append(timed(lambda: radi_write(radi, ur, data, orient))[0])
                w_tdb.append(timed(lambda: tiledb_create_write(tiledb, ut, data, ext))[0])
            ur, ut = os.path.join(root, f"radi_{tiling}_0"), os.path.join(root, f"tdb_{tiling}_0")
            with tiledb.open(ur) as A:
                assert tuple(d.tile for d in A.schema.domain) == ext, "radi wrote other tiles"
            vol = radi.Volume(ur)
            A = tiledb.open(ut)
            try:
                # same answers, both ways
                assert np.array_equal(vol.to_numpy(), data)
                assert np.array_equal(A[:]["voxels"], data)
                with tiledb.open(ur) as B:
                    assert np.array_equal(B[roi]["voxels"], data[roi])
                ops = {
                    "full": (full_reps, lambda i: vol.to_numpy(), lambda i: A[:]["voxels"],
                             lambda i: data),
                    "axial": (reps, lambda i: vol.axial(int(zs[i])),
                              lambda i: A[:, :, int(zs[i])]["voxels"], lambda i: data[:, :, zs[i]]),
                    "sagittal": (reps, lambda i: vol.sagittal(int(xs[i])),
                                 lambda i: A[int(xs[i])]["voxels"], lambda i: data[xs[i]]),
                    "coronal": (reps, lambda i: vol.coronal(int(ys[i])),
                                lambda i: A[:, int(ys[i])]["voxels"], lambda i: data[:, ys[i]]),
                    "roi64": (reps, lambda i: vol[roi], lambda i: A[roi]["voxels"],
                              lambda i: data[roi]),
                }
                for op, (n, fr, ft, want) in ops.items():
                    tr, tt = [], []
                    fr(0), ft(0)  # warm-up (page cache, first-call costs) for both
                    for i in range(n):
                        a, got_r = timed(lambda: fr(i))
                        b, got_t = timed(lambda: ft(i))
                        tr.append(a)
                        tt.append(b)
                        if i == 0:
                            w = want(i)
                            assert np.array_equal(np.squeeze(got_r), np.squeeze(w)), op
                            assert np.array_equal(np.squeeze(got_t), np.squeeze(w)), op
                    results.append(dict(tiling=tiling, op=op, radi_ms=median_ms(tr),
                                        tiledb_ms=median_ms(tt), reps=n))
                results.append(dict(tiling=tiling, op="write", radi_ms=median_ms(w_radi),
                                    tiledb_ms=median_ms(w_tdb), reps=write_reps))
                results.append(dict(tiling=tiling, op="bytes", radi_bytes=du(ur), tiledb_bytes=du(ut)))
            finally:
                vol.close()
                A.close()
    finally:
        radi.configure(tile=saved_config.tile, compression=saved_config.compression)

    floors = npy_floor(root, data, roi, zs, xs, ys, reps, full_reps)
    floors.update(nibabel_floor(root, data, full_reps))
    print_table(results, floors, data.nbytes)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(results=results, floors=floors), f, indent=1)
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)
    slower = [r for r in results if "radi_ms" in r and r["op"] != "write"
              and r["radi_ms"] > r["tiledb_ms"]]
    if slower:
        print("\nradi slower than TileDB-Py on: " +
              ", ".join(f"{r['tiling']}/{r['op']}" for r in slower))
    return 0


def npy_floor(root, data, roi, zs, xs, ys, reps, full_reps):
    p = os.path.join(root, "vol.npy")
    np.save(p, data)
    out = {"npy_bytes": os.path.getsize(p)}
    out["npy_full_ms"] = median_ms([timed(lambda: np.load(p))[0] for _ in range(full_reps)])
    m = np.load(p, mmap_mode="r")
    out["npy_axial_ms"] = median_ms([timed(lambda: np.array(m[:, :, zs[i]]))[0] for i in range(reps)])
    out["npy_sagittal_ms"] = median_ms([timed(lambda: np.array(m[xs[i]]))[0] for i in range(reps)])
    out["npy_coronal_ms"] = median_ms([timed(lambda: np.array(m[:, ys[i]]))[0] for i in range(reps)])
    out["npy_roi64_ms"] = median_ms([timed(lambda: np.array(m[roi]))[0] for _ in range(reps)])
    del m
    return out


def nibabel_floor(root, data, full_reps):
    try:
        import nibabel as nib
    except ImportError:
        return {}
    p = os.path.join(root, "vol.nii.gz")
    nib.save(nib.Nifti1Image(data, np.eye(4)), p)
    ms = median_ms([timed(lambda: np.asarray(nib.load(p).dataobj))[0] for _ in range(full_reps)])
    return {"nii_gz_bytes": os.path.getsize(p), "nii_gz_full_ms": ms}


def print_table(results, floors, raw_bytes):
    print()
    print(f"{'tiles':<10} {'operation':<10} {'radi ms':>10} {'TileDB-Py ms':>13} {'radi/TileDB':>12} "
          f"{'.npy ms':>9}")
    print("-" * 68)
    for r in results:
        if r["op"] == "bytes":
            continue
        npy = floors.get(f"npy_{r['op']}_ms")
        ratio = r["radi_ms"] / r["tiledb_ms"] if r["tiledb_ms"] else float("nan")
        print(f"{r['tiling']:<10} {r['op']:<10} {r['radi_ms']:>10.2f} {r['tiledb_ms']:>13.2f} "
              f"{ratio:>11.2f}x {'' if npy is None else f'{npy:9.2f}':>9}")
    print()
    print(f"{'tiles':<10} {'bytes on disk':<14} {'radi':>12} {'TileDB-Py':>12}  (raw {raw_bytes / 1e6:.1f} MB)")
    for r in results:
        if r["op"] == "bytes":
            print(f"{r['tiling']:<10} {'':<14} {r['radi_bytes'] / 1e6:>10.2f}MB {r['tiledb_bytes'] / 1e6:>10.2f}MB"
                  f"  ratio {raw_bytes / r['radi_bytes']:.2f}x / {raw_bytes / r['tiledb_bytes']:.2f}x")
    if "nii_gz_full_ms" in floors:
        print(f"nibabel .nii.gz: {floors['nii_gz_bytes'] / 1e6:.2f} MB, full read "
              f"{floors['nii_gz_full_ms']:.1f} ms")
    print(f".npy: {floors['npy_bytes'] / 1e6:.2f} MB, np.load {floors['npy_full_ms']:.1f} ms "
          "(slices and region from a memory map)")


if __name__ == "__main__":
    sys.exit(main())
