"""Helpers shared by the benchmarks (run as `python bench/<name>.py`, so this directory
is on sys.path)."""
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def du(path) -> int:
    """Bytes of all files under path (what a dataset or array occupies)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def seconds(fn) -> float:
    """Wall seconds of fn() (its result dropped)."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def demo_flair(work: Path, subjects: int) -> list:
    """[(path, subject id)] of the demo FLAIR volumes (240x240x155 int16, made once under
    work/nii by scripts/make_demo_niftis.py), in name order."""
    nii = Path(work) / "nii"
    if not nii.exists():
        subprocess.run([sys.executable, str(REPO / "scripts" / "make_demo_niftis.py"), str(nii),
                        "--subjects", str(subjects)], check=True, capture_output=True)
    return sorted((str(p), p.name.split("_")[0]) for p in nii.glob("*_FLAIR.nii.gz"))
