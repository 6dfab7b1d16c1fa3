#!/usr/bin/env python3
"""Ingest speed of one DICOM CT series, radi vs its peers, in one run, per transfer syntax.

The series (bench/dicom_series.py): 512 x 512 x 300 int16 slices (RescaleIntercept -1024,
a synthetic torso with noise, so the codecs compress it as they would a real CT, ~3x),
written once in each lossless syntax (explicit VR LE, deflated, RLE, JPEG Lossless SV1,
JPEG-LS, JPEG 2000, HTJ2K) and cached under --dir. Per syntax, the wall time of:

- radi: `radi ingest DS CT=<syntax dir>` (a fresh dataset each run; the CLI's default
  concurrency), peak RSS by /usr/bin/time. Its default tile compression is 0.1.1's
  (ZSTD level 3 per tile chunk, as TileDB's ZstdFilter(3)): these are the equal-settings
  numbers. Beside it, clearly labelled, the same ingest with `--compression none` (an
  uncompressed dataset, the like of dcm2niix -z n's uncompressed .nii) and the same
  without fsync (`none+nosync`: dcm2niix does not sync what it writes; --fast-settings
  to change the list, e.g. `lz4`; --c1 adds `--concurrency 1`);
- radiobject 0.1.1: `RadiObject.from_dicoms(uri, [(series_dir, "s1")])` in a fresh Python
  process; the time is that of the call inside it (interpreter start and `import
  radiobject`, ~0.6 s, excluded: this favours 0.1.1). Only for the syntaxes the venv's
  pydicom decodes (tried on the first file): uncompressed, deflated and RLE natively, JPEG
  2000 through Pillow when it is installed; the others print why not;
- dcm2niix (the PyPI build beside the venv's python): `-z n` (an uncompressed .nii) and
  `-z y` (.nii.gz), the whole process;
- SimpleITK, if importable: ImageSeriesReader (GDCM's IPP sorter) then WriteImage to .nii,
  timed inside a fresh process like 0.1.1.

Median of --repeat runs; the page cache is warmed by one untimed read of the files, and
the systems run interleaved (A B C A B C ..., rotated each round). CPU seconds (user +
system of the child) are printed beside wall time: on a shared machine they move much
less. Ratios are "how many times faster radi is". radi's voxels are checked against the
generated HU values after its runs. Not a test: nothing is asserted about timings.

    .venv/bin/python bench/bench_dicom.py [--dir DIR] [--slices N] [--repeat K]
        [--syntax explicit,rle,...] [--fast-settings none,none+nosync] [--c1] [--no-peers] [--json FILE]

Against a build tree: RADI_LIBRARY=build/libradi.so RADI_CLI=build/radi PYTHONPATH=python
.venv/bin/python bench/bench_dicom.py
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import dicom_series
from bench_radiobject import (child_env, cpu_model, fmt_ratio, loadavg, md_table, med,
                              radi_cli_path, try_import)
from benchutil import du

ROB_CODE = r"""
import sys, time, json
import radiobject
t = time.perf_counter()
radiobject.RadiObject.from_dicoms(sys.argv[2], [(sys.argv[1], "s1")])
print(json.dumps({"seconds": time.perf_counter() - t}))
"""

SITK_CODE = r"""
import sys, time, json
import SimpleITK as sitk
t = time.perf_counter()
r = sitk.ImageSeriesReader()
r.SetFileNames(r.GetGDCMSeriesFileNames(sys.argv[1]))
img = r.Execute()
sitk.WriteImage(img, sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - t, "size": list(img.GetSize())}))
"""

GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd, env, scratch):
    """Runs cmd; returns (wall s, CPU s, peak RSS MB or None, stdout). Raises on failure."""
    rss_file = os.path.join(scratch, "rss.txt")
    full = ([GNU_TIME, "-f", "%M", "-o", rss_file] if GNU_TIME else []) + cmd
    c, t = child_cpu(), time.perf_counter()
    p = subprocess.run(full, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t, child_cpu() - c
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}{p.stdout[-1000:]}")
    rss = None
    if GNU_TIME:
        try:
            with open(rss_file) as f:
                rss = int(f.read().split()[-1]) / 1024
        except (OSError, ValueError, IndexError):
            pass
    return wall, cpu, rss, p.stdout


def warm(d):
    for nm in os.listdir(d):
        with open(os.path.join(d, nm), "rb") as f:
            while f.read(1 << 20):
                pass


def pydicom_decodes(d):
    """Whether pydicom (as radiobject 0.1.1 uses it) decodes the series' pixels."""
    import pydicom
    first = os.path.join(d, sorted(os.listdir(d))[0])
    try:
        pydicom.dcmread(first).pixel_array
        return True, None
    except Exception as e:  # noqa: BLE001 - any failure means "cannot"
        return False, f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"


class System:
    def __init__(self, key, label, make_cmd, inner=False, prepare=None):
        self.key, self.label, self.make_cmd = key, label, make_cmd
        self.inner = inner      # the child prints {"seconds": ...}: time of the call inside it
        self.prepare = prepare  # untimed, before each run (remove the last output)


def systems_for(ctx, key, sdir):
    """The systems that run on syntax `key`, and {system: reason} for those that cannot."""
    out, why = [], {}
    syn_root = os.path.dirname(sdir)
    scratch = ctx.scratch
    ds = os.path.join(scratch, "ds_radi")
    rm_ds = (lambda p=ds: shutil.rmtree(p, ignore_errors=True))
    if ctx.cli:
        out.append(System("radi", "radi ingest", lambda: [ctx.cli, "ingest", ds, f"CT={syn_root}"],
                          prepare=rm_ds))
        if ctx.c1:
            out.append(System("radi_c1", "radi ingest --concurrency 1",
                              lambda: [ctx.cli, "--concurrency", "1", "ingest", ds, f"CT={syn_root}"],
                              prepare=rm_ds))
        for setting in ctx.fast:
            # "<compression>[+nosync]": +nosync also skips radi's fsyncs (-o vfs.posix.sync=false),
            # as dcm2niix, which does not sync what it writes.
            comp, _, rest = setting.partition("+")
            opts = ["-o", "vfs.posix.sync=false"] if rest == "nosync" else []
            out.append(System(f"radi_{setting}", f"radi {' '.join(opts)} ingest --compression {comp}",
                              lambda comp=comp, opts=opts: [ctx.cli, *opts, "ingest", "--compression", comp, ds,
                                                            f"CT={syn_root}"],
                              prepare=rm_ds))
    if ctx.base_cli:
        out.append(System("radi_base", "radi ingest, baseline build",
                          lambda: [ctx.base_cli, "ingest", ds, f"CT={syn_root}"], prepare=rm_ds))
    if ctx.peers and ctx.rob_ok:
        ok, reason = pydicom_decodes(sdir)
        if ok:
            uri = os.path.join(scratch, "ds_rob")
            out.append(System("rob", "radiobject 0.1.1 from_dicoms",
                              lambda: [sys.executable, "-c", ROB_CODE, sdir, uri], inner=True,
                              prepare=lambda: shutil.rmtree(uri, ignore_errors=True)))
        else:
            why["rob"] = f"cannot decode (no plugin): {reason}"
    if ctx.peers and ctx.dcm2niix:
        for z in ("n", "y"):
            od = os.path.join(scratch, f"dcm2niix_{z}")

            def prep(od=od):
                shutil.rmtree(od, ignore_errors=True)
                os.makedirs(od)
            out.append(System(f"d2n_{z}", f"dcm2niix -z {z}",
                              lambda od=od, z=z: [ctx.dcm2niix, "-z", z, "-f", "vol", "-o", od, sdir],
                              prepare=prep))
    if ctx.peers and ctx.sitk_ok:
        nii = os.path.join(scratch, "sitk.nii")
        out.append(System("sitk", "SimpleITK ImageSeriesReader -> .nii",
                          lambda: [sys.executable, "-c", SITK_CODE, sdir, nii], inner=True))
    return out, why


def bench_syntax(ctx, key, sdir, reps, log):
    systems, why = systems_for(ctx, key, sdir)
    warm(sdir)
    res = {s.key: {"wall": [], "cpu": [], "rss": [], "proc": []} for s in systems}
    failed = {}
    for r in range(reps):
        order = systems[r % len(systems):] + systems[:r % len(systems)] if systems else []
        for s in order:
            if s.key in failed:
                continue
            if s.prepare:
                s.prepare()
            try:
                wall, cpu, rss, out = run(s.make_cmd(), ctx.env, ctx.scratch)
            except RuntimeError as e:
                failed[s.key] = str(e).strip().splitlines()[-1][:160]
                log(f"  {key:<9} {s.key:<8} failed: {failed[s.key]}")
                continue
            d = res[s.key]
            d["proc"].append(wall)
            d["wall"].append(json.loads(out.strip().splitlines()[-1])["seconds"] if s.inner else wall)
            d["cpu"].append(cpu)
            if rss is not None:
                d["rss"].append(rss)
            log(f"  {key:<9} {s.key:<8} run {r + 1}/{reps}: {d['wall'][-1]:6.2f} s (CPU {cpu:6.2f} s"
                + (f", process {wall:.2f} s" if s.inner else "") + (f", RSS {rss:.0f} MB)" if rss else ")"))
    why.update({k: f"failed: {v}" for k, v in failed.items()})
    summary = {k: {"wall": med(v["wall"]), "cpu": med(v["cpu"]), "proc": med(v["proc"]),
                   "rss": max(v["rss"]) if v["rss"] else None, "runs": v["wall"]}
               for k, v in res.items() if v["wall"]}
    return summary, why


def check_radi(ctx, vol):
    """radi's last dataset holds the generated HU values (x = column, y = row, z)."""
    ro = ctx.radi.RadiObject(os.path.join(ctx.scratch, "ds_radi"))
    got = ro.CT.iloc[0].to_numpy()
    want = (vol.astype(np.int32) + dicom_series.INTERCEPT).transpose(2, 1, 0)
    return got.dtype == np.int16 and got.shape == want.shape and np.array_equal(got, want)


def zstd_floor(npy):
    """Single-core speed (MB/s) of zstd level 3 in 64 KiB blocks - TileDB's chunks at 0.1.1's
    setting - on the stored volume, from the zstd CLI's own benchmark; None without it."""
    exe = shutil.which("zstd")
    if not exe or not os.path.exists(npy):
        return None
    p = subprocess.run([exe, "-b3", "-B65536", "-i2", npy], capture_output=True, text=True)
    out = (p.stdout + p.stderr).replace("\r", "\n")
    speeds = []
    # A result line reads "... -> 76084393 (x2.067),  130.1 MB/s,  651.6 MB/s": compression first.
    for line in out.splitlines():
        if "(x" in line and "MB/s" in line:
            parts = [q.strip() for q in line.split(",")]
            rates = [q for q in parts if q.endswith("MB/s")]
            if rates:
                speeds.append(float(rates[0].split()[0]))
    return max(speeds) if speeds else None


def fmt_s(x):
    return "–" if x is None or x != x else f"{x:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "radi-bench-dicom"),
                    help="where the series are generated once and reused")
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--syntax", default=",".join(k for k, *_ in dicom_series.SYNTAXES))
    ap.add_argument("--no-peers", action="store_true", help="radi only (profiling)")
    ap.add_argument("--fast-settings", default="none,none+nosync",
                    help="radi also with these --compression settings (labelled, not 0.1.1's), each with "
                         "'+nosync' to skip fsync as dcm2niix does; '' for none")
    ap.add_argument("--c1", action="store_true", help="radi also with --concurrency 1")
    ap.add_argument("--baseline-cli", help="another radi CLI (an older build) timed beside, for before/after")
    ap.add_argument("--json")
    a = ap.parse_args()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

    radi, err = try_import("radi")
    if radi is None:
        raise SystemExit(f"cannot import radi: {err}")
    ctx = argparse.Namespace(radi=radi, cli=radi_cli_path(radi), env=child_env(radi), peers=not a.no_peers)
    if not ctx.cli:
        raise SystemExit("no radi CLI (set RADI_CLI)")
    ctx.base_cli = a.baseline_cli
    ctx.c1 = a.c1
    ctx.fast = [c for c in a.fast_settings.split(",") if c]
    ctx.dcm2niix = shutil.which("dcm2niix", path=os.path.dirname(sys.executable)) or shutil.which("dcm2niix")
    rob, rob_err = try_import("radiobject")
    sitk, sitk_err = try_import("SimpleITK")
    ctx.rob_ok, ctx.sitk_ok = rob is not None, sitk is not None
    ctx.scratch = tempfile.mkdtemp(prefix="radi-bench-dicom-run-")
    keys = [k for k in a.syntax.split(",") if k]
    versions = {"radi": radi.library_version()}
    if rob is not None:
        versions["radiobject"] = getattr(rob, "__version__", "?")
    if sitk is not None:
        versions["SimpleITK"] = sitk.Version_VersionString()
    if ctx.dcm2niix:
        p = subprocess.run([ctx.dcm2niix, "-v"], capture_output=True, text=True)
        versions["dcm2niix"] = (p.stdout + p.stderr).split("version ")[-1].split()[0]
    import pydicom
    versions["pydicom"] = pydicom.__version__

    log(f"series under {a.dir} ({a.slices} slices)")
    dirs, skipped, vol = dicom_series.make_all(a.dir, a.slices, keys, log=log)
    results, notes = {}, {}
    try:
        for key in keys:
            if key not in dirs:
                continue
            summary, why = bench_syntax(ctx, key, dirs[key], a.repeat, log)
            if any(k.startswith("radi") for k in summary):
                summary["_voxels_ok"] = check_radi(ctx, vol)
                if not summary["_voxels_ok"]:
                    log(f"  {key}: radi's voxels differ from the generated values!")
            summary["_mb"] = du(dirs[key]) / 1e6
            results[key], notes[key] = summary, why
    finally:
        shutil.rmtree(ctx.scratch, ignore_errors=True)

    def g(r, k, f="wall"):
        return r[k][f] if k in r else None

    print(f"\n## DICOM CT ingest: {dicom_series.COLS}x{dicom_series.ROWS}x{a.slices} int16, one series, "
          f"seconds (median of {a.repeat})\n")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; load average {loadavg()} at the end. "
          "Shared machine: runs interleaved, medians; compare ratios of this run only.")
    print("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print("radi and dcm2niix: the whole process; 0.1.1 and SimpleITK: the call inside a warm "
          "process (interpreter and import excluded). Ratios: how many times faster radi "
          "(default concurrency) is.\n")
    c1 = ["radi_c1"] if a.c1 else []
    rows = []
    for key, r in results.items():
        rob_cell = fmt_s(g(r, "rob")) if "rob" in r else ("no plugin" if "rob" in notes[key] and
                                                        "no plugin" in notes[key]["rob"] else "–")
        sitk_cell = fmt_s(g(r, "sitk")) if "sitk" in r else ("fails" if "sitk" in notes[key] else "–")
        rows.append([dicom_series.LABEL[key], f"{r['_mb']:.0f}", fmt_s(g(r, "radi"))]
                    + [fmt_s(g(r, k)) for k in c1]
                    + [rob_cell, fmt_s(g(r, "d2n_n")), fmt_s(g(r, "d2n_y")), sitk_cell,
                       fmt_ratio(g(r, "rob"), g(r, "radi")), fmt_ratio(g(r, "d2n_n"), g(r, "radi")),
                       fmt_ratio(g(r, "d2n_y"), g(r, "radi")),
                       fmt_ratio(g(r, "d2n_n", "cpu"), g(r, "radi", "cpu")),
                       f"{r['radi']['rss']:.0f}" if "radi" in r and r["radi"]["rss"] else "–",
                       "yes" if r.get("_voxels_ok") else "NO"])
    print(md_table(["syntax", "MB", "radi"] + (["radi -c1"] if c1 else [])
                   + ["0.1.1", "dcm2niix -z n", "dcm2niix -z y", "SimpleITK", "vs 0.1.1", "vs d2n -z n",
                      "vs d2n -z y", "CPU vs d2n -z n", "radi RSS MB", "radi voxels ok"], rows))
    print("\nCPU seconds (user + system of the child process), medians:\n")
    cols = ["radi"] + c1 + [f"radi_{c}" for c in ctx.fast] + ["rob", "d2n_n", "d2n_y", "sitk"]
    rows = [[dicom_series.LABEL[key]] + [fmt_s(g(r, k, "cpu")) for k in cols] for key, r in results.items()]
    print(md_table(["syntax", "radi"] + (["radi -c1"] if c1 else []) + [f"radi {c}" for c in ctx.fast]
                   + ["0.1.1 (process)", "dcm2niix -z n", "dcm2niix -z y", "SimpleITK (process)"], rows))
    if ctx.fast:
        print("\nradi with other tile compression (labelled: NOT 0.1.1's ZSTD-3, so not the equal-settings "
              "comparison; `none` writes uncompressed tiles as dcm2niix -z n writes an uncompressed .nii; "
              "`+nosync` skips radi's fsyncs, as dcm2niix does not sync its output), "
              "wall seconds and ratios (how many times faster radi is):\n")
        rows = []
        for key, r in results.items():
            row = [dicom_series.LABEL[key], fmt_s(g(r, "radi"))]
            for c in ctx.fast:
                k = f"radi_{c}"
                row += [fmt_s(g(r, k)), fmt_ratio(g(r, "rob"), g(r, k)), fmt_ratio(g(r, "d2n_n"), g(r, k)),
                        fmt_ratio(g(r, "d2n_n", "cpu"), g(r, k, "cpu"))]
            rows.append(row)
        hdr = ["syntax", "radi (zstd 3)"]
        for c in ctx.fast:
            hdr += [f"radi {c}", f"{c} vs 0.1.1", f"{c} vs d2n -z n", f"{c} CPU vs d2n -z n"]
        print(md_table(hdr, rows))
    if a.baseline_cli:
        print(f"\nBefore/after: the baseline build {a.baseline_cli} beside this one, wall (CPU) seconds:\n")
        rows = [[dicom_series.LABEL[key], f"{fmt_s(g(r, 'radi_base'))} ({fmt_s(g(r, 'radi_base', 'cpu'))})",
                 f"{fmt_s(g(r, 'radi'))} ({fmt_s(g(r, 'radi', 'cpu'))})", fmt_ratio(g(r, "radi_base"), g(r, "radi")),
                 fmt_ratio(g(r, "radi_base", "cpu"), g(r, "radi", "cpu")),
                 f"{r['radi_base']['rss']:.0f} -> {r['radi']['rss']:.0f}" if "radi_base" in r and "radi" in r
                 and r["radi"]["rss"] else "–"]
                for key, r in results.items()]
        print(md_table(["syntax", "baseline", "this build", "wall ratio", "CPU ratio", "RSS MB"], rows))
    floor = zstd_floor(os.path.join(a.dir, "stored.npy"))
    if floor:
        mb = vol.nbytes / 1e6
        d2n = g(results["explicit"], "d2n_n") if "explicit" in results else None
        print(f"\nThe floor at 0.1.1's settings: zstd level 3 in 64 KiB blocks (TileDB's chunks) compresses "
              f"this volume at {floor:.0f} MB/s on one core (zstd -b3 -B65536, this machine, this run): "
              f"{mb / floor:.2f} s of CPU, {mb / floor / (os.cpu_count() or 1):.2f} s on all "
              f"{os.cpu_count()} cores with nothing else to do"
              + (f" - against dcm2niix -z n's whole run of {d2n:.2f} s on the uncompressed series." if d2n else "."))
    for key in keys:
        if key in skipped:
            print(f"- {dicom_series.LABEL[key]}: skipped, {skipped[key]}")
        for k, v in notes.get(key, {}).items():
            print(f"- {dicom_series.LABEL[key]}, {k}: {v}")
    if not ctx.rob_ok:
        print(f"- radiobject not importable: {rob_err}")
    if not ctx.sitk_ok:
        print(f"- SimpleITK not importable: {sitk_err}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"versions": versions, "slices": a.slices, "repeat": a.repeat, "results": results,
                       "notes": notes, "skipped": skipped}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
