"""The cost of durability (docs/dataset.md §8.5): ingest of the demo set (BraTS-like
subjects, 5 collections) with the default vfs.posix.sync=true (file data fsynced before
the rename that publishes them, directories after) and with vfs.posix.sync=false,
alternating runs, medians and their ratio.

    .venv/bin/python bench/bench_durability.py [--subjects 3] [--runs 5] [--dir DIR]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=3)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one; the disk matters)")
    a = ap.parse_args()
    sys.path.insert(0, str(REPO / "python"))
    from radi import _lib
    cli = str(_lib.cli_path())
    work = Path(a.dir or tempfile.mkdtemp(prefix="radi-durability-"))
    nii = work / "nii"
    if not nii.exists():
        subprocess.run([sys.executable, str(REPO / "scripts" / "make_demo_niftis.py"), str(nii),
                        "--subjects", str(a.subjects)], check=True, capture_output=True)
    specs = [f"{c}={nii}/*_{c}.nii.gz" for c in ("FLAIR", "T1w", "T1gd", "T2w", "seg")]
    times = {"true": [], "false": []}
    for r in range(a.runs):
        for sync in ("true", "false"):
            ds = work / f"ds_{sync}"
            shutil.rmtree(ds, ignore_errors=True)
            subprocess.run(["sync"])
            t = time.perf_counter()
            subprocess.run([cli, "-o", f"vfs.posix.sync={sync}", "ingest", str(ds), *specs], check=True,
                           capture_output=True)
            times[sync].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    size = sum(f.stat().st_size for f in (work / "ds_true").rglob("*") if f.is_file())
    print(f"ingest of {5 * a.subjects} volumes ({size / 2**20:.1f} MiB stored) on {work}, {a.runs} runs each:")
    for k in ("true", "false"):
        print(f"  vfs.posix.sync={k:<5}  median {med[k]:.3f} s   runs {' '.join(f'{x:.3f}' for x in times[k])}")
    print(f"  cost of durability: {med['true'] / med['false']:.2f}x the time without syncing "
          f"(+{(med['true'] - med['false']) * 1000:.0f} ms)")
    if not a.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
