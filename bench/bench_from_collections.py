#!/usr/bin/env python3
"""RadiObject.from_collections with the collection already in place
({uri}/collections/FLAIR: linked, not copied; radi_dataset_create_adopting) and with it
elsewhere (copied): radi vs radiobject 0.1.1 in one run, on BraTS-like FLAIR volumes
(240x240x155 int16 .nii.gz, scripts/make_demo_niftis.py).

For each run and side the set-up is untimed: the stand-alone collection each library
wrote from the same files is copied (shutil) to <uri>/collections/FLAIR, `collections`
made a TileDB group as 0.1.1's own test does. Then `from_collections(uri, {"FLAIR":
VolumeCollection(<uri>/collections/FLAIR)})` is timed ("in place"), and
`from_collections(uri2, {"FLAIR": <the collection elsewhere>})` ("copy"). radi's in-place
call validates the collection it adopts (every volume's metadata is read), locks and
journals; 0.1.1's only adds group members. After the first radi run every volume is
checked against nibabel's reading of its file.

Median of --runs, interleaved; wall time. Not a test: the machine is shared and noisy;
compare ratios taken in one run only.

    .venv/bin/python bench/bench_from_collections.py [--subjects 6] [--runs 3] [--dir DIR]
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
    ap.add_argument("--subjects", type=int, default=6)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    a = ap.parse_args()
    sys.path.insert(0, str(REPO / "python"))
    import nibabel as nib
    import radiobject
    import tiledb

    import radi

    work = Path(a.dir or tempfile.mkdtemp(prefix="radi-fromcoll-"))
    files = demo_flair(work, a.subjects)
    mods = {"radi": radi, "0.1.1": radiobject}
    sources = {}
    for side, mod in mods.items():
        sources[side] = work / f"src_{side}"
        if not sources[side].exists():
            mod.VolumeCollection.from_niftis(str(sources[side]), niftis=files, name="FLAIR")
    times = {(case, side): [] for case in ("in place", "copy") for side in mods}
    for r in range(a.runs):
        for side, mod in mods.items():
            uri = work / f"inplace_{side}"
            shutil.rmtree(uri, ignore_errors=True)
            tiledb.Group.create(str(uri / "collections"))
            shutil.copytree(sources[side], uri / "collections" / "FLAIR")
            vc = mod.VolumeCollection(str(uri / "collections" / "FLAIR"))
            times[("in place", side)].append(seconds(lambda: mod.RadiObject.from_collections(str(uri), {"FLAIR": vc})))
            if side == "radi" and r == 0:
                back = radi.RadiObject(str(uri)).FLAIR
                for p, sid in files:
                    assert np.array_equal(back.loc[f"{sid}_FLAIR"].to_numpy(), np.asanyarray(nib.load(p).dataobj)), sid
            shutil.rmtree(uri, ignore_errors=True)
            uri = work / f"copy_{side}"
            shutil.rmtree(uri, ignore_errors=True)
            src = mod.VolumeCollection(str(sources[side]))
            times[("copy", side)].append(seconds(lambda: mod.RadiObject.from_collections(str(uri), {"FLAIR": src})))
            shutil.rmtree(uri, ignore_errors=True)
    print(f"from_collections, {len(files)} FLAIR volumes 240x240x155 int16; median of {a.runs} runs, wall seconds")
    print(f"{'case':10s} {'radi':>8s} {'0.1.1':>8s} {'0.1.1/radi':>10s}")
    for case in ("in place", "copy"):
        m = {side: statistics.median(times[(case, side)]) for side in mods}
        print(f"{case:10s} {m['radi']:8.3f} {m['0.1.1']:8.3f} {m['0.1.1'] / m['radi']:9.2f}x")
    if not a.dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
