"""radi.ml vs radiobject 0.1.1's ML datasets vs .npy memory maps: 64^3 patches from 8
volumes, (A) uniform and (B) pos/neg 1:1 on a label mask. A benchmark, not a test.

Every system runs in a fresh process (peak RSS is its own) on the same data, in the same
run; ratios are printed against radi. Reported: patches/s (wall), CPU seconds, peak RSS,
and for B the fraction of patches whose centre voxel is foreground (0.5 is the target).

  .venv/bin/python bench/bench_ml.py [--quick] [--shape X Y Z] [--batches N]

radiobject 0.1.1's datasets need torch (skipped, with a note, without it). Its
SegmentationDataset(foreground_sampling=True) is rejection sampling (<= 10 reads per
patch for >= 1 % foreground), not 1:1; it is the closest it offers.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
P = 64


def make_data(root, n, shape):
    import nibabel as nib

    import radi

    rng = np.random.default_rng(0)
    img, seg = [], []
    os.makedirs(f"{root}/nii", exist_ok=True)
    os.makedirs(f"{root}/npy", exist_ok=True)
    for k in range(n):
        sid = f"S{k:02d}"
        # BraTS-like: int16, zero outside a head-shaped ellipsoid, smooth tissue plus noise
        g = np.stack(np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij"))
        inside = (g ** 2).sum(0) < 0.8
        x = np.where(inside, 400 + 200 * np.sin(3 * g[0]) * np.cos(2 * g[1]) + rng.normal(0, 20, shape), 0)
        x = x.astype(np.int16)
        m = np.zeros(shape, np.uint8)
        c = rng.integers(np.array(shape) // 4, 3 * np.array(shape) // 4)
        r = max(3, min(shape) // 12)
        m[c[0] - r:c[0] + r, c[1] - r:c[1] + r, c[2] - r:c[2] + r] = 1
        nib.save(nib.Nifti1Image(x, np.eye(4)), f"{root}/nii/{sid}_T1w.nii.gz")
        nib.save(nib.Nifti1Image(m, np.eye(4)), f"{root}/nii/{sid}_seg.nii.gz")
        np.save(f"{root}/npy/{sid}_T1w.npy", x)
        np.save(f"{root}/npy/{sid}_seg.npy", m)
        img.append((f"{root}/nii/{sid}_T1w.nii.gz", sid))
        seg.append((f"{root}/nii/{sid}_seg.nii.gz", sid))
    radi.configure(tile=radi.TileConfig(orientation="isotropic"))
    radi.RadiObject.from_niftis(f"{root}/ds", images={"T1w": img, "seg": seg})


def _vm_hwm_mb():
    """Peak RSS of this process (VmHWM; ru_maxrss would carry the parent's over exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(system, workload, root, batches, bs):
    import radi

    t0 = time.perf_counter()
    c0 = time.process_time()
    n_fg = n_tot = 0
    if system == "radi":
        import radi.ml as ml

        ds = radi.RadiObject(f"{root}/ds")
        cfg = ml.DatasetConfig(loading_mode="patch", patch_size=(P, P, P), patches_per_volume=10_000)
        if workload == "uniform":
            d = ml.VolumeCollectionDataset(ds.T1w, cfg)
        else:
            d = ml.SegmentationDataset(ds.T1w, ds.seg, cfg, sampler=ml.PosNegSampler(1, 1))
        n = len(d)
        order = np.random.default_rng(1).permutation(n)[: (batches + 2) * bs]
        d.__getitems__(list(order[:bs]))  # warm-up (opens, label indexes)
        t0, c0 = time.perf_counter(), time.process_time()
        for b in range(batches):
            out = d.__getitems__([int(i) for i in order[(b + 1) * bs:(b + 2) * bs]])
            if workload != "uniform":
                for s in out:
                    n_fg += int(s["mask"][0, P // 2, P // 2, P // 2] > 0)
                    n_tot += 1
    elif system == "radiobject":
        try:
            import torch  # noqa: F401
            from radiobject import RadiObject
            from radiobject.ml import DatasetConfig, LoadingMode, SegmentationDataset, VolumeCollectionDataset
        except ImportError as e:
            return {"skipped": f"no torch/radiobject.ml ({e})"}
        ro = RadiObject(f"{root}/ds")
        cfg = DatasetConfig(loading_mode=LoadingMode.PATCH, patch_size=(P, P, P), patches_per_volume=10_000)
        if workload == "uniform":
            d = VolumeCollectionDataset(ro.T1w, cfg)
        else:
            d = SegmentationDataset(ro.T1w, ro.seg, cfg, foreground_sampling=True)
        order = np.random.default_rng(1).permutation(len(d))[: (batches + 2) * bs]
        for i in order[:bs]:
            d[int(i)]
        t0, c0 = time.perf_counter(), time.process_time()
        for b in range(batches):
            for i in order[(b + 1) * bs:(b + 2) * bs]:
                s = d[int(i)]
                if workload != "uniform":
                    n_fg += int(s["mask"][0, P // 2, P // 2, P // 2] > 0)
                    n_tot += 1
    elif system == "npy":
        import glob

        imgs = [np.load(f, mmap_mode="r") for f in sorted(glob.glob(f"{root}/npy/*_T1w.npy"))]
        masks = [np.load(f, mmap_mode="r") for f in sorted(glob.glob(f"{root}/npy/*_seg.npy"))]
        rng = np.random.default_rng(1)
        fg = None
        if workload != "uniform":  # MONAI-style: foreground indices of every whole mask, up front
            fg = [np.argwhere(np.asarray(m) > 0) for m in masks]
        t0, c0 = time.perf_counter(), time.process_time()
        for b in range(batches):
            batch = np.empty((bs, 1, P, P, P), np.float32)  # float32 as the other systems give
            for j in range(bs):
                v = int(rng.integers(len(imgs)))
                shp = imgs[v].shape
                if fg is not None and rng.random() < 0.5:
                    c = fg[v][rng.integers(len(fg[v]))]
                    st = [int(np.clip(ci - P // 2, 0, s - P)) for ci, s in zip(c, shp)]
                else:
                    st = [int(rng.integers(0, s - P + 1)) for s in shp]
                batch[j, 0] = imgs[v][st[0]:st[0] + P, st[1]:st[1] + P, st[2]:st[2] + P]
                if fg is not None:
                    n_fg += int(masks[v][st[0] + P // 2, st[1] + P // 2, st[2] + P // 2] > 0)
                    n_tot += 1
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {"patches_s": batches * bs / wall, "cpu_s": cpu, "wall_s": wall,
            "peak_rss_mb": _vm_hwm_mb(),
            "fg_fraction": (n_fg / n_tot) if n_tot else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--shape", type=int, nargs=3, default=None)
    ap.add_argument("--batches", type=int, default=None)
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        system, workload, root, batches = a.worker
        print(json.dumps(worker(system, workload, root, int(batches), 32)))
        return
    shape = tuple(a.shape or ((128, 128, 96) if a.quick else (240, 240, 155)))
    batches = a.batches or (5 if a.quick else 20)
    with tempfile.TemporaryDirectory(prefix="bench-ml-") as root:
        t = time.perf_counter()
        make_data(root, 8, shape)
        print(f"data: 8 volumes {shape} int16 + uint8 masks, radi 64^3 tiles ({time.perf_counter() - t:.1f} s); "
              f"{batches} batches of 32 patches of {P}^3 after one warm-up batch")
        for workload in ("uniform", "posneg"):
            res = {}
            for system in ("radi", "radiobject", "npy"):
                out = subprocess.run([sys.executable, __file__, "--worker", system, workload, root, str(batches)],
                                     capture_output=True, text=True, env=os.environ)
                try:
                    res[system] = json.loads(out.stdout.strip().splitlines()[-1])
                except (IndexError, ValueError):
                    res[system] = {"skipped": (out.stderr.strip().splitlines() or ["failed"])[-1]}
            print(f"\n[{workload}]" + (" (radi: PosNegSampler(1,1); radiobject: foreground_sampling=True; "
                                       "npy: whole-mask fg indices, 1:1)" if workload == "posneg" else ""))
            base = res["radi"].get("patches_s")
            for system, r in res.items():
                if "skipped" in r:
                    print(f"  {system:11s} skipped: {r['skipped']}")
                    continue
                ratio = f"{base / r['patches_s']:.1f}x" if base and system != "radi" else ""
                fg = f"  fg {r['fg_fraction']:.2f}" if r["fg_fraction"] is not None else ""
                print(f"  {system:11s} {r['patches_s']:8.1f} patches/s  cpu {r['cpu_s']:6.2f} s  "
                      f"wall {r['wall_s']:6.2f} s  peak RSS {r['peak_rss_mb']:7.1f} MB{fg}"
                      + (f"  (radi is {ratio} faster)" if ratio else ""))


if __name__ == "__main__":
    main()
