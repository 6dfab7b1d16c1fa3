"""Training loaders, one run, one patch plan: radi.ml vs radiobject 0.1.1, MONAI (Dataset
and CacheDataset on .nii.gz), TorchIO (Queue on .nii.gz), a zarr v3 store and .npy memory
maps. 64^3 patches from 8 BraTS-like volumes, (A) uniform and (B) pos/neg 1:1 on a label
mask. A benchmark, not a test.

  .venv/bin/python bench/bench_ml.py [--quick] [--shape X Y Z] [--batches N] [--only a,b]

Every system runs in a fresh process (its peak RSS, VmHWM, is its own) on the same files,
and its clock starts before it builds anything: dataset objects, MONAI's cache (loading
and decoding every volume), TorchIO's probability maps, the whole-mask foreground indices
of the .npy/zarr loops are all inside the time and the RSS. Reported: patches/s (wall,
setup included), the setup's share, CPU seconds of the process (all threads), peak RSS,
and for (B) the fraction of patches whose centre voxel is foreground.

The plan: (A) n patches = 8 volumes x n/8 starts drawn from one seed, read by every
system, in one shuffled order (TorchIO's Queue reads them subject by subject, 8 per visit:
that is how it works). (B) the same sequence of volumes for every system, each system's
own sampler choosing the patch: radi PosNegSampler(1, 1) on its stored label index
(built at ingest time, before the clock), MONAI RandCropByPosNegLabeld(pos=1, neg=1)
(CacheDataset: FgBgToIndicesd cached first, as MONAI advises), TorchIO
LabelSampler({0: 1, 1: 1}), radiobject's SegmentationDataset(foreground_sampling=True)
(rejection sampling, its closest offer, not 1:1), .npy/zarr: foreground indices of the
whole masks, a fair coin between a foreground centre and a uniform start.

radi runs twice: with its decoded-tile cache (the default, tile_cache_size 256 MiB; the 8
volumes' image tiles fit in it, as they fit in MONAI's cache) and with it off, which
decodes every tile a patch touches. Peers missing from the environment are skipped with a
note: torch, monai, torchio come from requirements-ml.txt; zarr runs in .venv-bench
(bench/setup_bench.sh; RADI_BENCH_VENV names another), which keeps its pins apart.
"""
import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# zarr's interpreter: .venv-bench (bench/setup_bench.sh), or RADI_BENCH_VENV's
BENCH_VENV = os.path.join(os.environ.get("RADI_BENCH_VENV") or os.path.join(os.path.dirname(HERE), ".venv-bench"),
                          "bin", "python")
P = 64
NV = 8
BS = 32
VISIT = 8  # patches per subject visit of TorchIO's Queue (samples_per_volume)
SYSTEMS = ("radi", "radi-nocache", "radiobject", "monai-Dataset", "monai-CacheDataset", "torchio-Queue",
           "zarr", "npy")


def make_data(root, n, shape):
    import nibabel as nib

    import radi
    import radi.ml as ml

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
    ds = radi.RadiObject(f"{root}/ds")
    d = ml.SegmentationDataset(ds.T1w, ds.seg, ml.DatasetConfig(loading_mode="patch", patch_size=(P, P, P)),
                               sampler=ml.PosNegSampler(1, 1))
    for v in range(n):  # stored with the dataset, as an ingest would
        d.label_index(v)


def make_zarr(root):
    """Runs in .venv-bench: the .npy volumes as zarr v3 arrays, 64^3 chunks, zstd."""
    import zarr
    from zarr.codecs import ZstdCodec

    for f in sorted(glob.glob(f"{root}/npy/*.npy")):
        a = np.load(f)
        z = zarr.create_array(f"{root}/zarr/{os.path.basename(f)[:-4]}", shape=a.shape, dtype=a.dtype,
                              chunks=(P, P, P), compressors=ZstdCodec(level=3))
        z[...] = a


def plan(n_patches, shape, seed=1):
    """(A): (volume, start) of every patch, grouped in visits of VISIT patches of one volume
    cycling over the volumes, and one shuffled reading order for the systems that take any."""
    rng = np.random.default_rng(seed)
    items = []
    for j in range(n_patches // VISIT):
        v = j % NV
        for _ in range(VISIT):
            items.append((v, tuple(int(rng.integers(0, s - P + 1)) for s in shape)))
    return items, [int(i) for i in rng.permutation(len(items))]


def _vm_hwm_mb():
    """Peak RSS of this process (VmHWM; ru_maxrss would carry the parent's over exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _centre_fg(mask):
    """mask: (1, P, P, P) of one patch; MONAI's and TorchIO's centre is voxel P // 2."""
    return int(np.asarray(mask)[0, P // 2, P // 2, P // 2] > 0)


def _paths(root, kind):
    return sorted(glob.glob(f"{root}/nii/*_{kind}.nii.gz"))


class _Clock:
    def __init__(self):
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        self.setup = 0.0

    def setup_done(self):
        self.setup = time.perf_counter() - self.t0


def run_radi(root, workload, items, order, vols_b, clock, cache):
    import radi
    import radi.ml as ml

    if not cache:
        radi.configure(read=radi.ReadConfig(tile_cache_mb=0))
    ds = radi.RadiObject(f"{root}/ds")
    ppv = len(items)
    cfg = ml.DatasetConfig(loading_mode="patch", patch_size=(P, P, P), patches_per_volume=ppv)
    if workload == "uniform":
        starts = {}
        for k, (v, st) in enumerate(items):
            starts[v * ppv + k] = st

        class Planned(ml.VolumeCollectionDataset):
            def _patch_start(self, e, i, v):  # the bench's plan instead of the seeded draw
                return starts[i]

        d = Planned(ds.T1w, cfg)
        keys = [items[k][0] * ppv + k for k in order]
    else:
        d = ml.SegmentationDataset(ds.T1w, ds.seg, cfg, sampler=ml.PosNegSampler(1, 1))
        keys = [v * ppv + k for k, v in enumerate(vols_b)]
    clock.setup_done()
    n_fg = 0
    for b in range(0, len(keys), BS):
        out = d.__getitems__(keys[b:b + BS])  # what a torch DataLoader calls, once per batch
        np.stack([np.asarray(s["image"]) for s in out])  # its collate
        if workload != "uniform":
            n_fg += sum(_centre_fg(s["mask"]) for s in out)
    return n_fg


def run_radiobject(root, workload, items, order, vols_b, clock):
    import torch  # noqa: F401  (radiobject.ml needs it)
    from radiobject import RadiObject
    from radiobject.ml import DatasetConfig, LoadingMode, SegmentationDataset, VolumeCollectionDataset

    ro = RadiObject(f"{root}/ds")
    ppv = len(items)
    cfg = DatasetConfig(loading_mode=LoadingMode.PATCH, patch_size=(P, P, P), patches_per_volume=ppv)
    n_fg = 0
    if workload == "uniform":
        # 0.1.1 draws its own start per index (its RNG): the plan's volumes, its starts.
        d = VolumeCollectionDataset(ro.T1w, cfg)
        keys = [items[k][0] * ppv + k for k in order]
    else:
        d = SegmentationDataset(ro.T1w, ro.seg, cfg, foreground_sampling=True)
        keys = [v * ppv + k for k, v in enumerate(vols_b)]
    clock.setup_done()
    for b in range(0, len(keys), BS):
        out = [d[i] for i in keys[b:b + BS]]
        np.stack([np.asarray(s["image"]) for s in out])
        if workload != "uniform":
            n_fg += sum(_centre_fg(s["mask"]) for s in out)
    return n_fg


def run_monai(root, workload, items, order, vols_b, clock, cached):
    import torch
    from monai.data import CacheDataset, DataLoader, Dataset
    from monai.transforms import (Compose, EnsureChannelFirstd, FgBgToIndicesd, LoadImaged, MapTransform,
                                  RandCropByPosNegLabeld, SpatialCrop)

    imgs, segs = _paths(root, "T1w"), _paths(root, "seg")
    load = [LoadImaged(keys=["image", "label"] if workload != "uniform" else ["image"], image_only=True),
            EnsureChannelFirstd(keys=["image", "label"] if workload != "uniform" else ["image"])]
    n_fg = 0
    if workload == "uniform":
        def crop(img, st):
            return SpatialCrop(roi_start=st, roi_end=[s + P for s in st])(img)

        if cached:  # every volume loaded and decoded once, up front; crops at the plan's starts
            cds = CacheDataset([{"image": p} for p in imgs], Compose(load), cache_rate=1.0, num_workers=0,
                               progress=False)
            clock.setup_done()
            for b in range(0, len(order), BS):
                torch.stack([crop(cds[items[k][0]]["image"], items[k][1]) for k in order[b:b + BS]])
            return 0

        class PlanCropd(MapTransform):
            def __call__(self, d):
                d = dict(d)
                d["image"] = crop(d["image"], d["start"])
                return d

        ds = Dataset([{"image": imgs[items[k][0]], "start": items[k][1]} for k in order],
                     Compose(load + [PlanCropd(keys=["image"])]))
        clock.setup_done()
        for _batch in DataLoader(ds, batch_size=BS, num_workers=0):
            pass
        return 0
    rand = RandCropByPosNegLabeld(keys=["image", "label"], label_key="label", spatial_size=(P, P, P), pos=1,
                                  neg=1, num_samples=1)
    if cached:
        fgbg = FgBgToIndicesd(keys="label")
        rand = RandCropByPosNegLabeld(keys=["image", "label"], label_key="label", spatial_size=(P, P, P), pos=1,
                                      neg=1, num_samples=1, fg_indices_key="label_fg_indices",
                                      bg_indices_key="label_bg_indices")
        cds = CacheDataset([{"image": i, "label": s} for i, s in zip(imgs, segs)], Compose(load + [fgbg, rand]),
                           cache_rate=1.0, num_workers=0, progress=False, copy_cache=False)
        rand.set_random_state(1)
        clock.setup_done()
        for b in range(0, len(vols_b), BS):
            out = [cds[v][0] for v in vols_b[b:b + BS]]
            torch.stack([s["image"] for s in out])
            n_fg += sum(_centre_fg(s["label"]) for s in out)
        return n_fg
    ds = Dataset([{"image": imgs[v], "label": segs[v]} for v in vols_b], Compose(load + [rand]))
    rand.set_random_state(1)
    clock.setup_done()
    for batch in DataLoader(ds, batch_size=BS, num_workers=0):
        n_fg += sum(_centre_fg(m) for m in batch["label"])
    return n_fg


def run_torchio(root, workload, items, order, vols_b, clock):
    import torch
    import torchio as tio

    torch.manual_seed(1)
    imgs, segs = _paths(root, "T1w"), _paths(root, "seg")
    subjects = [tio.Subject(image=tio.ScalarImage(i), label=tio.LabelMap(s), sid=k)
                for k, (i, s) in enumerate(zip(imgs, segs))]
    if workload == "uniform":
        pending = {v: [] for v in range(NV)}
        for v, st in items:
            pending[v].append(st)

        class PlanSampler(tio.data.PatchSampler):
            """The plan's starts of the subject, VISIT per visit (TorchIO's extension point)."""

            def _generate_patches(self, subject, num_patches=None):
                q = pending[int(subject["sid"])]
                while q:
                    yield self.extract_patch(subject, q.pop(0))

        sampler = PlanSampler(P)
        subjects = [tio.Subject(image=s["image"], sid=s["sid"]) for s in subjects]
        subjects = [subjects[j % NV] for j in range(len(items) // VISIT)]  # the plan's visits
    else:
        sampler = tio.LabelSampler(P, label_name="label", label_probabilities={0: 1, 1: 1})
        subjects = [subjects[v] for v in vols_b[::VISIT]]  # one visit per VISIT patches, plan order
    n = len(items) if workload == "uniform" else len(vols_b)
    queue = tio.Queue(tio.SubjectsDataset(subjects), max_length=4 * VISIT, samples_per_volume=VISIT,
                      sampler=sampler, num_workers=0, shuffle_subjects=False, shuffle_patches=True)
    loader = tio.SubjectsLoader(queue, batch_size=BS, num_workers=0)
    clock.setup_done()
    n_fg, seen = 0, 0
    for batch in loader:
        seen += len(batch["image"][tio.DATA])
        if workload != "uniform":
            n_fg += sum(_centre_fg(m) for m in batch["label"][tio.DATA])
        if seen >= n:
            break
    return n_fg


def run_arrays(root, workload, items, order, vols_b, clock, kind):
    """.npy memory maps or zarr arrays: the same slicing loop over either."""
    names = sorted(os.path.basename(f)[:-4] for f in glob.glob(f"{root}/npy/*.npy"))
    if kind == "zarr":
        import zarr

        arrs = {n: zarr.open_array(f"{root}/zarr/{n}", mode="r") for n in names}
    else:
        arrs = {n: np.load(f"{root}/npy/{n}.npy", mmap_mode="r") for n in names}
    imgs = [arrs[n] for n in names if n.endswith("_T1w")]
    masks = [arrs[n] for n in names if n.endswith("_seg")]
    n_fg = 0
    if workload == "uniform":
        clock.setup_done()
        for b in range(0, len(order), BS):
            batch = np.empty((BS, 1, P, P, P), np.float32)  # float32 as the other systems give
            for j, k in enumerate(order[b:b + BS]):
                v, st = items[k]
                batch[j, 0] = imgs[v][st[0]:st[0] + P, st[1]:st[1] + P, st[2]:st[2] + P]
        return 0
    fg = [np.argwhere(np.asarray(m[...]) > 0) for m in masks]  # MONAI-style: whole masks, up front
    rng = np.random.default_rng(1)
    clock.setup_done()
    for b in range(0, len(vols_b), BS):
        batch = np.empty((BS, 1, P, P, P), np.float32)
        for j, v in enumerate(vols_b[b:b + BS]):
            shp = imgs[v].shape
            if rng.random() < 0.5:
                c = fg[v][rng.integers(len(fg[v]))]
                st = [int(np.clip(ci - P // 2, 0, s - P)) for ci, s in zip(c, shp)]
            else:
                st = [int(rng.integers(0, s - P + 1)) for s in shp]
            batch[j, 0] = imgs[v][st[0]:st[0] + P, st[1]:st[1] + P, st[2]:st[2] + P]
            n_fg += int(masks[v][st[0] + P // 2, st[1] + P // 2, st[2] + P // 2] > 0)
    return n_fg


def worker(system, workload, root, n_patches, shape):
    items, order = plan(n_patches, shape)
    vols_b = [v for v, _ in items]  # (B): the same volume sequence for every system
    # imports before the clock (torch alone takes seconds)
    try:
        if system.startswith("radi"):
            import radi.ml  # noqa: F401
        if system == "radiobject":
            import radiobject.ml  # noqa: F401
        if system.startswith("monai"):
            import monai  # noqa: F401
        if system.startswith("torchio"):
            import torchio  # noqa: F401
        if system == "zarr":
            import zarr  # noqa: F401
    except ImportError as e:
        return {"skipped": f"not installed ({e})"}
    clock = _Clock()
    args = (root, workload, items, order, vols_b, clock)
    if system in ("radi", "radi-nocache"):
        n_fg = run_radi(*args, cache=system == "radi")
    elif system == "radiobject":
        n_fg = run_radiobject(*args)
    elif system.startswith("monai"):
        n_fg = run_monai(*args, cached=system == "monai-CacheDataset")
    elif system == "torchio-Queue":
        n_fg = run_torchio(*args)
    else:
        n_fg = run_arrays(*args, kind=system)
    wall = time.perf_counter() - clock.t0
    return {"patches_s": n_patches / wall, "loop_patches_s": n_patches / max(wall - clock.setup, 1e-9),
            "setup_s": clock.setup, "cpu_s": time.process_time() - clock.c0, "wall_s": wall,
            "peak_rss_mb": _vm_hwm_mb(), "n": n_patches,
            "fg_fraction": None if workload == "uniform" else n_fg / n_patches}


def _run(python, system, workload, root, n, shape):
    cmd = [python, __file__, "--worker", system, workload, root, str(n)] + [str(s) for s in shape]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"skipped": "failed: " + ((out.stderr.strip().splitlines() or ["no output"])[-1])[:160]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--shape", type=int, nargs=3, default=None)
    ap.add_argument("--batches", type=int, default=None, help="batches of 32 patches per system (default 20)")
    ap.add_argument("--slow-batches", type=int, default=None,
                    help="batches for the per-sample .nii.gz loaders, MONAI Dataset and radiobject (default 4)")
    ap.add_argument("--only", default=None, help="comma-separated systems (default: all)")
    ap.add_argument("--worker", nargs=7, help=argparse.SUPPRESS)
    ap.add_argument("--make-zarr", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.make_zarr:
        make_zarr(a.make_zarr)
        return
    if a.worker:
        system, workload, root, n = a.worker[:4]
        print(json.dumps(worker(system, workload, root, int(n), tuple(int(s) for s in a.worker[4:]))))
        return
    shape = tuple(a.shape or ((128, 128, 96) if a.quick else (240, 240, 155)))
    batches = a.batches or (5 if a.quick else 20)
    slow = min(batches, a.slow_batches or (2 if a.quick else 4))
    systems = a.only.split(",") if a.only else list(SYSTEMS)
    with tempfile.TemporaryDirectory(prefix="bench-ml-") as root:
        t = time.perf_counter()
        make_data(root, NV, shape)
        zarr_py = BENCH_VENV if os.path.exists(BENCH_VENV) else None
        zarr_note = "no .venv-bench (bench/setup_bench.sh)"
        if "zarr" in systems and zarr_py:
            mk = subprocess.run([zarr_py, __file__, "--make-zarr", root], capture_output=True, text=True)
            if mk.returncode:
                zarr_py, zarr_note = None, "zarr store: " + (mk.stderr.strip().splitlines() or ["failed"])[-1]
        print(f"data: {NV} volumes {shape} int16 + uint8 masks (.nii.gz, .npy, radi 64^3 tiles zstd, "
              f"zarr 64^3 chunks zstd-3) in {time.perf_counter() - t:.1f} s; {batches} batches of {BS} "
              f"patches of {P}^3 ({slow} for MONAI Dataset and radiobject); {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f} at start")
        for workload in ("uniform", "posneg"):
            res = {}
            for system in systems:
                n = (slow if system in ("monai-Dataset", "radiobject") else batches) * BS
                if system == "zarr" and not zarr_py:
                    res[system] = {"skipped": zarr_note}
                    continue
                res[system] = _run(zarr_py if system == "zarr" else sys.executable, system, workload, root, n,
                                   shape)
            report(workload, res)


def report(workload, res):
    print(f"\n[{workload}]" + ("" if workload == "uniform" else " fg = patches centred on foreground"))
    print(f"  {'system':19s} {'patches/s':>9s} {'(loop)':>8s} {'setup s':>8s} {'cpu s':>7s} {'wall s':>7s} "
          f"{'peak RSS':>9s} {'n':>4s}  {'fg':>4s}")
    for system, r in res.items():
        if "skipped" in r:
            print(f"  {system:19s} skipped: {r['skipped']}")
            continue
        fg = f"{r['fg_fraction']:.2f}" if r["fg_fraction"] is not None else "-"
        print(f"  {system:19s} {r['patches_s']:9.1f} {r['loop_patches_s']:8.1f} {r['setup_s']:8.2f} "
              f"{r['cpu_s']:7.2f} {r['wall_s']:7.2f} {r['peak_rss_mb']:7.0f}MB {r['n']:4d}  {fg:>4s}")
    base = res.get("radi", {}).get("patches_s")
    if base:
        cpu_rate = res["radi"]["n"] / res["radi"]["cpu_s"]
        ratios = [f"{s} {base / r['patches_s']:.1f}x" for s, r in res.items()
                  if s != "radi" and "patches_s" in r]
        print("  radi (tile cache on) is faster than: " + ", ".join(ratios)
              + f"; radi: {cpu_rate:.0f} patches per CPU-second")
        # CPU per patch: steadier than wall time on a shared machine
        per = {s: r["cpu_s"] / r["n"] for s, r in res.items() if "cpu_s" in r}
        print("  CPU per patch vs radi: " + ", ".join(f"{s} {per[s] / per['radi']:.1f}x" for s in per if s != "radi"))


if __name__ == "__main__":
    main()
