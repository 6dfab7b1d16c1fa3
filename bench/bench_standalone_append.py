#!/usr/bin/env python3
"""Appends to a stand-alone collection (docs/dataset.md §8.8): radi vs radiobject 0.1.1 in
one run, on BraTS-like FLAIR volumes (240x240x155 int16 .nii.gz, scripts/make_demo_niftis.py).

For each case the same stand-alone FLAIR collection is prepared on both sides (untimed,
copied fresh for every run), then the same files are appended with
`VolumeCollection(uri).append(niftis=[(path, subject_id), ...])`, timed:

- tail: the new subjects sort after the existing ones (no volume moves);
- renumber: they sort between them (radi moves the later volumes so volumes/<k> stays the
  k-th obs row; 0.1.1 numbers them in input order and then misreads them by position);
- dataset: for reference, radi appending the same files to the same collection inside a
  dataset (the stand-alone path is the same code, locked and journaled at the collection).

Also the creation, `VolumeCollection.from_niftis(uri, niftis=...)`, which radi does as an
ingest into a staging dataset and a move of the collection out of it, next to
`RadiObject.from_niftis` of the same files (the move's cost) and 0.1.1's.

Median of --runs, interleaved; wall time. After every radi append each appended volume is
checked against nibabel's reading of its file. Not a test: the machine is shared and
noisy; compare ratios taken in one run only.

    .venv/bin/python bench/bench_standalone_append.py [--subjects 6] [--runs 3] [--dir DIR]
"""
import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchutil import REPO, demo_flair, seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=6, help="even; half are the base, half appended")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    a = ap.parse_args()
    sys.path.insert(0, str(REPO / "python"))
    import nibabel as nib
    import radiobject

    import radi

    work = Path(a.dir or tempfile.mkdtemp(prefix="radi-sa-append-"))
    files = demo_flair(work, a.subjects)
    half = len(files) // 2
    cases = {"tail": (files[:half], files[half:]), "renumber": (files[0::2], files[1::2])}
    mods = {"radi": radi, "0.1.1": radiobject}
    rows = []
    for case, (base, more) in cases.items():
        bases = {}
        for side, mod in mods.items():
            bases[side] = work / f"{case}_{side}_base"
            if not bases[side].exists():
                mod.VolumeCollection.from_niftis(str(bases[side]), niftis=base, name="FLAIR")
        bases["dataset"] = work / f"{case}_dataset_base"
        if not bases["dataset"].exists():
            radi.RadiObject.from_niftis(str(bases["dataset"]), images={"FLAIR": base})
        times = {k: [] for k in ("radi", "0.1.1", "dataset")}
        for r in range(a.runs):
            for side in times:
                uri = work / f"{case}_{side}_run"
                shutil.rmtree(uri, ignore_errors=True)
                shutil.copytree(bases[side], uri)
                if side == "dataset":
                    vc = radi.RadiObject(str(uri)).FLAIR
                else:
                    vc = mods[side].VolumeCollection(str(uri))
                times[side].append(seconds(lambda: vc.append(niftis=more)))
                if side != "0.1.1" and r == 0:
                    back = radi.VolumeCollection(str(uri)) if side == "radi" else radi.RadiObject(str(uri)).FLAIR
                    for p, sid in more:
                        assert np.array_equal(back.loc[f"{sid}_FLAIR"].to_numpy(),
                                              np.asanyarray(nib.load(p).dataobj)), (case, side, sid)
                shutil.rmtree(uri, ignore_errors=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append((f"append {len(more)} to {len(base)} ({case})", med))
    # Creation: radi's staging dataset + move, against a dataset ingest and 0.1.1.
    times = {"radi": [], "0.1.1": [], "dataset": []}
    for _ in range(a.runs):
        for side in times:
            uri = work / f"create_{side}"
            shutil.rmtree(uri, ignore_errors=True)
            if side == "dataset":
                times[side].append(seconds(lambda: radi.RadiObject.from_niftis(str(uri), images={"FLAIR": files})))
            else:
                times[side].append(seconds(lambda: mods[side].VolumeCollection.from_niftis(
                    str(uri), niftis=files, name="FLAIR")))
            shutil.rmtree(uri, ignore_errors=True)
    rows.append((f"VolumeCollection.from_niftis of {len(files)}", {k: statistics.median(v) for k, v in times.items()}))
    print(f"{len(files)} FLAIR volumes 240x240x155 int16; median of {a.runs} runs, wall seconds")
    print(f"{'operation':40s} {'radi':>8s} {'0.1.1':>8s} {'0.1.1/radi':>10s} {'radi in a dataset':>18s}")
    for name, m in rows:
        print(f"{name:40s} {m['radi']:8.3f} {m['0.1.1']:8.3f} {m['0.1.1'] / m['radi']:9.2f}x {m['dataset']:18.3f}")
    if not a.dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
