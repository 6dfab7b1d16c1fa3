#!/usr/bin/env python3
"""radi vs radiobject 0.1.1 on a BraTS-like dataset, in one run: ingest, a fresh process,
slices and regions through `ro.FLAIR.loc[obs_id]`.

The data is N subjects x FLAIR/T1w/T1gd/T2w/seg, 240x240x155 .nii.gz (int16 images, uint8
labels), written by scripts/make_demo_niftis.py. Three parts:

1. Ingest of all 5N files into one dataset (one collection per sequence), for axial tiles
   (both libraries' default) and isotropic 64^3 tiles (configure(tile=TileConfig(
   orientation=ISOTROPIC)) on each side): `radi ingest` (the CLI, as scripts/demo.sh; axial
   only, it has no tile option), `radi.RadiObject.from_niftis(uri, images=...)`,
   `radiobject.RadiObject.from_niftis(uri, images=...)` with the same (path, subject_id)
   lists; for reference, nibabel decoding alone and nibabel + a TileDB-Py write of each
   volume (same tiles, ZSTD-3). Median of --ingest-repeat runs, interleaved; wall time and
   CPU time (user + system of all threads and of the CLI child), the latter being much less
   inflated by other load on a shared machine.
2. A fresh Python process per command (`python -c ...`): import the library, open the
   dataset, read axial slice 77 of FLAIR's first volume; `import numpy` alone is the
   baseline subtracted from the figures; `import radi` / `import radiobject` alone show what
   the import costs; TileDB-Py opening the volume array directly is a reference row. The
   subprocesses get this process's environment (PYTHONPATH, RADI_LIBRARY) so they measure
   the same radi. Median of --repeat runs (wall and CPU), interleaved in rotated order,
   after one untimed warm-up each.
3. In one warm process, per tiling: axial / sagittal / coronal slice, an unaligned 64^3
   region and the whole volume of FLAIR's first subject, looked up by each side's own
   obs_id. "handle held": `vol = ds.FLAIR.loc[oid]` once, then the timed read;
   "lookup + read": `ds.FLAIR.loc[oid].axial(77)` inside the timing (the dataset object
   opened once). TileDB-Py (array opened once) and nibabel (proxy slicing of the .nii.gz)
   are reference columns. Every side is checked to return the same voxels (and dtype) as
   nibabel's reading of the source file. Median of --repeat runs, interleaved, rotated.

Not a test: it asserts only that the systems read equal voxels, never timings. The machine
is shared and noisy; compare ratios taken in one run only.

    .venv/bin/python bench/bench_radiobject.py [--quick] [--subjects N] [--repeat K]
        [--ingest-repeat K] [--tiling axial|isotropic|both] [--keep DIR] [--profile]
        [--json FILE]

Against a build tree: RADI_LIBRARY=build-bench/libradi.so RADI_CLI=build-bench/radi
PYTHONPATH=python .venv/bin/python bench/bench_radiobject.py --quick
"""
import argparse
import glob
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from benchutil import du

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_NIFTIS = os.path.join(os.path.dirname(HERE), "scripts", "make_demo_niftis.py")
SEQUENCES = ("FLAIR", "T1w", "T1gd", "T2w", "seg")
AXIAL_Z, SAG_X, COR_Y = 77, 120, 120
ROI = (slice(90, 154), slice(100, 164), slice(40, 104))  # unaligned 64^3
ROI_TEXT = "[90:154, 100:164, 40:104]"


# ------------------------------------------------------------------------ helpers --

def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def cpu_seconds():
    """User + system CPU time of this process (all its threads) and of its waited-for
    children. Under load from other processes, CPU time moves much less than wall time."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def timed_cpu(fn):
    """(wall seconds, CPU seconds, result) of fn()."""
    c, t = cpu_seconds(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t, cpu_seconds() - c, out


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_ms(s, nd=None):
    """Seconds -> a ms figure with sensible digits; '–' when missing."""
    if s is None or s != s:
        return "–"
    ms = s * 1e3
    if nd is None:
        nd = 3 if ms < 1 else 2 if ms < 10 else 1 if ms < 100 else 0
    return f"{ms:,.{nd}f}"


def fmt_ratio(a, b):
    if a is None or b is None or a != a or b != b or b <= 0:
        return "–"
    r = a / b
    return f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg():
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def md_table(header, rows, left=1):
    """A Markdown table; the first `left` columns are text (left-aligned), the rest figures."""
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i < left else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def try_import(name):
    try:
        return __import__(name), None
    except Exception as e:  # noqa: BLE001 - any failure means "not available"
        return None, f"{type(e).__name__}: {e}"


# -------------------------------------------------------------------- environment --

def radi_cli_path(radi):
    """As the tests find it: $RADI_CLI, else the binary bundled with the package, else
    `radi` on PATH."""
    p = str(radi._lib.cli_path())
    if os.access(p, os.X_OK):
        return p
    return shutil.which("radi")


def child_env(radi):
    """This process's environment, plus what makes a child `import radi` load the same
    package and library: the package's parent directory on PYTHONPATH (unless it is a
    site directory), RADI_LIBRARY set to the library this process uses."""
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(radi.__file__)))
    import site
    sites = set(map(os.path.abspath, site.getsitepackages() + [site.getusersitepackages()]))
    if os.path.abspath(pkg_parent) not in sites:
        pp = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if os.path.abspath(pkg_parent) not in map(os.path.abspath, pp):
            env["PYTHONPATH"] = os.pathsep.join([pkg_parent] + pp)
    env["RADI_LIBRARY"] = str(radi._lib.library_path())
    return env


def check_child_radi(radi, env):
    code = "import radi, radi._lib as l; print(radi.__file__); print(l.library_path()); print(radi.library_version())"
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"a fresh process cannot import radi:\n{p.stderr}")
    got = p.stdout.split("\n")
    want = [os.path.abspath(radi.__file__), str(radi._lib.library_path()), radi.library_version()]
    if os.path.abspath(got[0]) != want[0] or got[1] != want[1]:
        raise SystemExit(f"a fresh process imports another radi: {got[:2]} instead of {want[:2]}")


# --------------------------------------------------------------------------- data --

def make_niftis(nii_dir, subjects):
    """Generates the demo set (or reuses it when nii_dir already holds exactly it)."""
    want = sorted(f"BraTS-{s + 1:05d}_{m}.nii.gz" for s in range(subjects) for m in SEQUENCES)
    have = sorted(os.listdir(nii_dir)) if os.path.isdir(nii_dir) else []
    if have == want:
        return 0.0, True
    shutil.rmtree(nii_dir, ignore_errors=True)
    t, p = timed(lambda: subprocess.run([sys.executable, MAKE_NIFTIS, nii_dir, "--subjects",
                                         str(subjects)], capture_output=True, text=True))
    if p.returncode != 0:
        raise SystemExit(f"make_demo_niftis.py failed:\n{p.stderr}")
    return t, False


def sources(nii_dir):
    """{sequence: [(path, subject_id), ...]} sorted by subject: 0.1.1 maps obs_id to
    volumes/<k> by sorted position, so its input must be sorted to read back correctly."""
    out = {}
    for m in SEQUENCES:
        paths = sorted(glob.glob(os.path.join(nii_dir, f"*_{m}.nii.gz")))
        out[m] = [(p, os.path.basename(p)[:-len(f"_{m}.nii.gz")]) for p in paths]
    return out


# ------------------------------------------------------------------------- ingest --

def set_tiling(radi, rob, tiling):
    radi.configure(tile=radi.TileConfig(orientation=radi.SliceOrientation(tiling)))
    if rob is not None:
        from radiobject.ctx import SliceOrientation, TileConfig
        rob.configure(tile=TileConfig(orientation=SliceOrientation(tiling)))


def tiledb_ingest(tiledb, nib, uri, srcs, tiling):
    """Reference: nibabel decode + one TileDB-Py dense array per volume, same tiles and
    filter as the libraries (no groups, no obs tables, no metadata)."""
    os.makedirs(uri)
    for name, pairs in srcs.items():
        for k, (p, _sid) in enumerate(pairs):
            data = np.asarray(nib.load(p).dataobj)
            ext = (data.shape[0], data.shape[1], 1) if tiling == "axial" else \
                tuple(min(64, n) for n in data.shape)
            dims = [tiledb.Dim(d, (0, n - 1), e, dtype=np.int32)
                    for d, n, e in zip("xyz", data.shape, ext)]
            schema = tiledb.ArraySchema(
                domain=tiledb.Domain(*dims), sparse=False, cell_order="row-major",
                tile_order="row-major",
                attrs=[tiledb.Attr("voxels", dtype=data.dtype,
                                   filters=tiledb.FilterList([tiledb.ZstdFilter(level=3)]))])
            a = os.path.join(uri, f"{name}_{k}")
            tiledb.Array.create(a, schema)
            with tiledb.open(a, "w") as A:
                A[:] = data


def nibabel_decode(nib, srcs):
    for pairs in srcs.values():
        for p, _sid in pairs:
            np.asarray(nib.load(p).dataobj)


def run_ingest(ctx, tiling, reps):
    """Times each system's ingest of the whole set; returns {system: [seconds...]} and
    leaves one dataset per library at ctx.ds[(system, tiling)]."""
    radi, rob, tiledb, nib = ctx.radi, ctx.rob, ctx.tiledb, ctx.nib
    root, srcs, nii = ctx.root, ctx.srcs, ctx.nii
    images = {m: list(v) for m, v in srcs.items()}
    systems = []
    if tiling == "axial" and ctx.cli:
        def cli(uri):
            args = [ctx.cli, "ingest", uri] + [f"{m}={nii}/*_{m}.nii.gz" for m in SEQUENCES]
            p = subprocess.run(args, capture_output=True, text=True, env=ctx.env)
            if p.returncode != 0:
                raise SystemExit(f"radi ingest failed: {p.stderr}")
        systems.append(("radi ingest (CLI)", "radi_cli", cli))
    systems.append(("radi from_niftis", "radi",
                    lambda uri: radi.RadiObject.from_niftis(uri, images=images)))
    if rob is not None:
        systems.append(("radiobject 0.1.1 from_niftis", "rob",
                        lambda uri: rob.RadiObject.from_niftis(uri, images=images)))
    if nib is not None:
        systems.append(("nibabel decode only (floor)", "nib", lambda uri: nibabel_decode(nib, srcs)))
        if tiledb is not None:
            systems.append(("nibabel + TileDB-Py write (no dataset)", "tdb",
                            lambda uri: tiledb_ingest(tiledb, nib, uri, srcs, tiling)))
    times = {key: [] for _l, key, _f in systems}
    cpus = {key: [] for _l, key, _f in systems}
    set_tiling(radi, rob, tiling)
    try:
        for r in range(reps):
            for _label, key, fn in systems:
                uri = os.path.join(root, f"ds_{key}_{tiling}")
                shutil.rmtree(uri, ignore_errors=True)
                t, c, _ = timed_cpu(lambda: fn(uri))
                times[key].append(t)
                cpus[key].append(c)
                print(f"  ingest {tiling:<9} {key:<9} run {r + 1}/{reps}: {t:6.2f} s "
                      f"(CPU {c:6.2f} s)", file=sys.stderr)
    finally:
        set_tiling(radi, rob, "axial")
    for _l, key, _f in systems:
        if key in ("radi", "rob", "radi_cli"):
            ctx.ds[(key, tiling)] = os.path.join(root, f"ds_{key}_{tiling}")
    return [(label, key, times[key], cpus[key]) for label, key, _f in systems]


# ------------------------------------------------------------------ fresh process --

def run_fresh(ctx, reps):
    radi_ds = ctx.ds[("radi", "axial")]
    rob_ds = ctx.ds.get(("rob", "axial"))
    py = sys.executable
    cmds = [("baseline", "`import numpy`", "import numpy")]
    cmds.append(("radi_import", "`import radi`", "import radi"))
    cmds.append(("radi", "radi: import, open, FLAIR.iloc[0].axial(77)",
                 f"import radi; r = radi.RadiObject({radi_ds!r}); r.FLAIR.iloc[0].axial({AXIAL_Z})"))
    if ctx.rob is not None:
        cmds.append(("rob_import", "`import radiobject`", "import radiobject"))
        cmds.append(("rob", "radiobject 0.1.1: import, open, FLAIR.iloc[0].axial(77)",
                     f"import radiobject; r = radiobject.RadiObject({rob_ds!r}); "
                     f"r.FLAIR.iloc[0].axial({AXIAL_Z})"))
        cmds.append(("radi_on_rob", "radi on 0.1.1's dataset: same",
                     f"import radi; r = radi.RadiObject({rob_ds!r}); r.FLAIR.iloc[0].axial({AXIAL_Z})"))
    if ctx.tiledb is not None:
        vol0 = radi_volume_uri(ctx, radi_ds)
        cmds.append(("tdb", "TileDB-Py: import, open volume array, [:, :, 77]",
                     f"import tiledb; A = tiledb.open({vol0!r}); A[:, :, {AXIAL_Z}]"))
    times = {k: [] for k, _l, _c in cmds}
    cpus = {k: [] for k, _l, _c in cmds}
    for k, _l, code in cmds:  # warm-up (page cache, .pyc), untimed; also catches failures
        p = subprocess.run([py, "-c", code], env=ctx.env, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"fresh process {k} failed:\n{p.stderr}")
    for r in range(reps):
        j = r % len(cmds)  # rotated, so that no command always follows the same one
        for k, _l, code in cmds[j:] + cmds[:j]:
            t, c, p = timed_cpu(lambda: subprocess.run([py, "-c", code], env=ctx.env,
                                                       stdout=subprocess.DEVNULL,
                                                       stderr=subprocess.PIPE, text=True))
            if p.returncode != 0:
                raise SystemExit(f"fresh process {k} failed (run {r + 1}):\n{p.stderr}")
            times[k].append(t)
            cpus[k].append(c)
        print(f"  fresh processes run {r + 1}/{reps}", file=sys.stderr)
    return [(k, label, code, med(times[k]), med(cpus[k])) for k, label, code in cmds]


def radi_volume_uri(ctx, ds):
    ro = ctx.radi.RadiObject(ds)
    return ro.FLAIR.iloc[0].uri


# ---------------------------------------------------------------- warm reads (loc) --

OPS = [("axial", f"axial({AXIAL_Z})", lambda v: v.axial(AXIAL_Z),
        lambda A: A[:, :, AXIAL_Z]["voxels"], lambda d: d[:, :, AXIAL_Z]),
       ("sagittal", f"sagittal({SAG_X})", lambda v: v.sagittal(SAG_X),
        lambda A: A[SAG_X]["voxels"], lambda d: d[SAG_X]),
       ("coronal", f"coronal({COR_Y})", lambda v: v.coronal(COR_Y),
        lambda A: A[:, COR_Y]["voxels"], lambda d: d[:, COR_Y]),
       ("roi64", f"64³ region {ROI_TEXT}", lambda v: v[ROI],
        lambda A: A[ROI]["voxels"], lambda d: d[ROI]),
       ("full", "whole volume", lambda v: v.to_numpy(),
        lambda A: A[:]["voxels"], lambda d: d[...])]


def run_reads(ctx, tiling, reps):
    radi, rob, tiledb, nib = ctx.radi, ctx.rob, ctx.tiledb, ctx.nib
    ro_r = radi.RadiObject(ctx.ds[("radi", tiling)])
    oid_r = ro_r.FLAIR.obs_ids[0]
    sid = ro_r.FLAIR.obs_subject_ids[0]
    vol_r = ro_r.FLAIR.loc[oid_r]
    info = {"radi_obs_id": oid_r, "subject": sid, "dtype": str(vol_r.dtype),
            "shape": tuple(vol_r.shape)}
    sides = {"radi_held": lambda op: (lambda: op(vol_r)),
             "radi_loc": lambda op: (lambda: op(ro_r.FLAIR.loc[oid_r]))}
    if rob is not None:
        ro_o = rob.RadiObject(ctx.ds[("rob", tiling)])
        pos = ro_o.FLAIR.obs_subject_ids.index(sid)  # same subject, 0.1.1's own obs_id
        oid_o = ro_o.FLAIR.obs_ids[pos]
        vol_o = ro_o.FLAIR.loc[oid_o]
        info["rob_obs_id"] = oid_o
        sides["rob_held"] = lambda op: (lambda: op(vol_o))
        sides["rob_loc"] = lambda op: (lambda: op(ro_o.FLAIR.loc[oid_o]))
    A = None
    if tiledb is not None:
        A = tiledb.open(vol_r.uri)
    img = None
    if nib is not None:
        src = dict((s, p) for p, s in ctx.srcs["FLAIR"])[sid]
        img = nib.load(src)
        ref = np.asarray(img.dataobj)
        info["nifti"] = os.path.basename(src)
    else:
        ref = vol_r.to_numpy()
    results = []
    try:
        for key, label, op, tdb_op, want in OPS:
            fns = {k: mk(op) for k, mk in sides.items()}
            if A is not None:
                fns["tdb_held"] = (lambda A=A, f=tdb_op: f(A))
            if img is not None:
                # nibabel: slicing the .nii.gz proxy decompresses up to the slice each time.
                fns["nib"] = (lambda f=want, img=img: np.asarray(f(img.dataobj)))
            # Correctness: every side returns the same voxels (and dtype) as the NIfTI.
            w = np.asarray(want(ref))
            for k, fn in fns.items():
                got = np.squeeze(np.asarray(fn()))
                assert got.shape == np.squeeze(w).shape and np.array_equal(got, np.squeeze(w)), \
                    f"{tiling}/{key}: {k} read other voxels"
                assert got.dtype == w.dtype, f"{tiling}/{key}: {k} returns {got.dtype}, not {w.dtype}"
            n = reps if key != "full" else ctx.full_reps
            times = {k: [] for k in fns}
            keys = list(fns)
            for i in range(n):
                # Interleaved, and rotated so that no side always runs first (right after
                # nibabel's large allocations) or last.
                for k in keys[i % len(keys):] + keys[:i % len(keys)]:
                    times[k].append(timed(fns[k])[0])
            results.append((key, label, {k: med(v) for k, v in times.items()}, n))
            print(f"  reads {tiling:<9} {key:<8} ({n} runs)", file=sys.stderr)
    finally:
        if A is not None:
            A.close()
    return info, results


def profile_radi_loc(ctx, tiling, n=200):
    """cProfile of radi's lookup + axial read, the top entries by own time."""
    import cProfile
    import io
    import pstats
    ro = ctx.radi.RadiObject(ctx.ds[("radi", tiling)])
    oid = ro.FLAIR.obs_ids[0]
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        ro.FLAIR.loc[oid].axial(AXIAL_Z)
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(12)
    return s.getvalue()


# -------------------------------------------------------------------------- main --

class Ctx:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 subject, axial tiles only, fewer repetitions (a smoke run, < 1 min)")
    ap.add_argument("--subjects", type=int, default=None, help="subjects (5 volumes each; default 3)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs of each read and fresh process (default 15 / 7 fresh; quick 5 / 3)")
    ap.add_argument("--ingest-repeat", type=int, default=None, help="ingest runs (default 3, quick 1)")
    ap.add_argument("--tiling", choices=("axial", "isotropic", "both"), default=None,
                    help="tile orientations to compare (default both; axial with --quick)")
    ap.add_argument("--keep", metavar="DIR", default=None,
                    help="work in DIR and keep it (NIfTIs are reused when DIR/nii has the same set)")
    ap.add_argument("--profile", action="store_true",
                    help="also print a cProfile of radi's ro.FLAIR.loc[oid].axial(77)")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args()
    subjects = args.subjects or (1 if args.quick else 3)
    read_reps = args.repeat or (5 if args.quick else 15)
    fresh_reps = args.repeat or (3 if args.quick else 7)
    ingest_reps = args.ingest_repeat or (1 if args.quick else 3)
    full_reps = max(1 if args.quick else 3, read_reps // 3)
    tiling = args.tiling or ("axial" if args.quick else "both")
    tilings = ("axial", "isotropic") if tiling == "both" else (tiling,)
    if "axial" not in tilings:
        tilings = ("axial",) + tilings  # the fresh-process part reads the axial datasets

    import radi
    ctx = Ctx()
    ctx.radi = radi
    ctx.rob, rob_err = try_import("radiobject")
    ctx.tiledb, tdb_err = try_import("tiledb")
    ctx.nib, nib_err = try_import("nibabel")
    if ctx.nib is None:
        raise SystemExit(f"nibabel is needed to generate the NIfTIs ({nib_err})")
    ctx.cli = radi_cli_path(radi)
    ctx.env = child_env(radi)
    check_child_radi(radi, ctx.env)
    ctx.ds = {}
    ctx.full_reps = full_reps

    root = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="radi-bench-ro-")
    os.makedirs(root, exist_ok=True)
    ctx.root = root
    ctx.nii = os.path.join(root, "nii")
    out = {"machine": {}, "versions": {}, "data": {}}
    try:
        gen_s, reused = make_niftis(ctx.nii, subjects)
        ctx.srcs = sources(ctx.nii)
        nvol = sum(len(v) for v in ctx.srcs.values())
        nii_bytes = du(ctx.nii)

        # ---------------------------------------------------------------- header --
        ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        lines = ["# radi vs radiobject 0.1.1", "",
                 f"- machine: {ncpu} CPUs ({os.cpu_count()} online), {cpu_model()}, "
                 f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
                 f"load average at start {loadavg()}",
                 f"- radi {radi.library_version()}: library {radi._lib.library_path()}, "
                 f"CLI {ctx.cli or 'not found'}, package {os.path.dirname(radi.__file__)}"]
        if ctx.rob is not None:
            lines.append(f"- radiobject {ctx.rob.__version__}")
        else:
            lines.append(f"- radiobject: not importable ({rob_err}); radi-only rows")
        if ctx.tiledb is not None:
            lines.append(f"- TileDB-Py {ctx.tiledb.__version__} (core "
                         f"{'.'.join(map(str, ctx.tiledb.libtiledb.version()))}), "
                         f"nibabel {ctx.nib.__version__}, numpy {np.__version__}")
        else:
            lines.append(f"- TileDB-Py: not importable ({tdb_err}); nibabel {ctx.nib.__version__}, "
                         f"numpy {np.__version__}")
        lines.append(f"- data: {subjects} BraTS-like subjects × {len(SEQUENCES)} "
                     f"({', '.join(SEQUENCES)}) = {nvol} volumes, 240×240×155 int16 (seg uint8), "
                     f"{nii_bytes / 1e6:.1f} MB of .nii.gz "
                     f"({'reused' if reused else f'generated in {gen_s:.0f} s'}) under {root}")
        lines.append(f"- repetitions: ingest {ingest_reps}, fresh process {fresh_reps}, "
                     f"reads {read_reps} (whole volume {full_reps}); medians")
        print("\n".join(lines), flush=True)
        out["header"] = lines

        # ---------------------------------------------------------------- ingest --
        ingest = {}
        for tiling in tilings:
            ingest[tiling] = run_ingest(ctx, tiling, ingest_reps)
        rows = []
        summary = []
        for tiling in tilings:
            got = {key: med(ts) for _l, key, ts, _c in ingest[tiling]}
            gotc = {key: med(cs) for _l, key, _t, cs in ingest[tiling]}
            for label, key, ts, cs in ingest[tiling]:
                t, c = med(ts), med(cs)
                radi_row = key.startswith("radi")
                rows.append([tiling, label, f"{t:.2f}", f"{t * 1e3 / nvol:,.0f}",
                             fmt_ratio(got.get("rob"), t) if radi_row else "",
                             f"{c:.2f}", f"{c * 1e3 / nvol:,.0f}",
                             fmt_ratio(gotc.get("rob"), c) if radi_row else ""])
            if "rob" in got:
                parts = [f"{fmt_ratio(got['rob'], got[k])} wall, {fmt_ratio(gotc['rob'], gotc[k])} "
                         f"CPU ({w})" for k, w in (("radi_cli", "CLI"), ("radi", "from_niftis"))
                         if k in got]
                summary.append(f"{tiling}: 0.1.1 / radi = {', '.join(parts)}")
        print("\n## Ingest of the whole set (.nii.gz → dataset)\n")
        print(md_table(["tiles", "system", "wall s", "wall ms / volume", "0.1.1 / this",
                        "CPU s", "CPU ms / volume", "0.1.1 / this (CPU)"], rows, left=2))
        print("\nwall: elapsed time of the whole call (median); CPU: user + system time of all "
              "its threads (and of the CLI process), which other load on the machine inflates "
              "much less. radiobject writes volumes on a 4-thread pool, radi on its context's pool.")
        if summary:
            print("\n" + "; ".join(summary) + " (target ≥ 3× faster)")
        sizes = []
        for tiling in tilings:
            for key, what in (("radi", "radi"), ("rob", "0.1.1")):
                if (key, tiling) in ctx.ds:
                    sizes.append(f"{what} {tiling} {du(ctx.ds[(key, tiling)]) / 1e6:.1f} MB")
        print(f"\nDataset bytes on disk: {', '.join(sizes)} (.nii.gz {nii_bytes / 1e6:.1f} MB)")
        out["ingest"] = {t: [dict(system=l, key=k, seconds=ts, cpu_seconds=cs) for l, k, ts, cs in v]
                         for t, v in ingest.items()}

        # --------------------------------------------------------- fresh process --
        fresh = run_fresh(ctx, fresh_reps)
        f = {k: t for k, _l, _c, t, _cpu in fresh}
        fc = {k: cpu for k, _l, _c, _t, cpu in fresh}
        base, basec = f["baseline"], fc["baseline"]
        pair = {"radi": None, "radi_import": None, "rob": "radi", "rob_import": "radi_import",
                "radi_on_rob": None, "tdb": None, "baseline": None}
        rows = []
        for k, label, _code, t, cpu in fresh:
            minus = t - base if k != "baseline" else None
            ref = pair.get(k)
            ratio = fmt_ratio(t - base, f[ref] - base) if ref in f else ""
            ratioc = fmt_ratio(cpu - basec, fc[ref] - basec) if ref in fc else ""
            rows.append([label, fmt_ms(t, 0), "" if minus is None else fmt_ms(minus, 0), ratio,
                         fmt_ms(cpu, 0), "" if minus is None else fmt_ms(cpu - basec, 0), ratioc])
        print("\n## A fresh process: `python -c \"...\"` (axial-tiled datasets)\n")
        print(md_table(["command", "wall ms", "minus `import numpy`", "0.1.1 / radi",
                        "CPU ms", "CPU minus numpy", "0.1.1 / radi (CPU)"], rows))
        if "rob" in f:
            print(f"\n0.1.1 / radi, import + open + slice minus the numpy baseline: "
                  f"{fmt_ratio(f['rob'] - base, f['radi'] - base)} wall, "
                  f"{fmt_ratio(fc['rob'] - basec, fc['radi'] - basec)} CPU (target ≥ 10×)")
        out["fresh"] = [dict(key=k, label=l, code=c, seconds=t, cpu_seconds=cpu)
                        for k, l, c, t, cpu in fresh]

        # ------------------------------------------------------------ warm reads --
        out["reads"] = {}
        for tiling in tilings:
            info, res = run_reads(ctx, tiling, read_reps)
            out["reads"][tiling] = dict(info=info, results=[dict(op=k, label=l, seconds=t, reps=n)
                                                            for k, l, t, n in res])
            ids = f"radi obs_id `{info['radi_obs_id']}`"
            if "rob_obs_id" in info:
                ids += f", 0.1.1 obs_id `{info['rob_obs_id']}`"
            print(f"\n## Reads through `ds.FLAIR.loc[obs_id]`, {tiling} tiles, warm process (ms)\n")
            print(f"Volume: {info['shape']} {info['dtype']}, subject {info['subject']} ({ids}); "
                  "all sides checked to return equal voxels.\n")
            rows = []
            for key, label, t, n in res:
                rows.append([label, fmt_ms(t.get("radi_held")), fmt_ms(t.get("rob_held")),
                             fmt_ratio(t.get("rob_held"), t.get("radi_held")),
                             fmt_ms(t.get("radi_loc")), fmt_ms(t.get("rob_loc")),
                             fmt_ratio(t.get("rob_loc"), t.get("radi_loc")),
                             fmt_ms(t.get("tdb_held")), fmt_ratio(t.get("tdb_held"), t.get("radi_held")),
                             fmt_ms(t.get("nib"))])
            print(md_table(["read", "radi held", "0.1.1 held", "0.1.1 / radi",
                            "radi loc+read", "0.1.1 loc+read", "0.1.1 / radi",
                            "TileDB-Py held", "TileDB-Py / radi", "nibabel .nii.gz"], rows))
        print("\nheld: `vol = ds.FLAIR.loc[oid]` once, then the timed read (0.1.1 still re-opens "
              "its array inside every read); loc+read: `ds.FLAIR.loc[oid].<read>` timed, the dataset "
              "opened once; TileDB-Py: `tiledb.open(volume)` once, then `A[...]['voxels']`; "
              "nibabel: `nib.load(nii).dataobj[...]` of the source file (decompresses each time).")
        print(f"\nload average at end {loadavg()}")
        if args.profile:
            print("\n## cProfile: radi `ro.FLAIR.loc[oid].axial(77)`, 200 calls, axial\n")
            print("```\n" + profile_radi_loc(ctx, "axial") + "```")
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(out, fh, indent=1, default=str)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
