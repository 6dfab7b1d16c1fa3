"""Helpers shared by the benchmarks (run as `python bench/<name>.py`, so this directory
is on sys.path)."""
import os


def du(path) -> int:
    """Bytes of all files under path (what a dataset or array occupies)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total
