"""Crash test (docs/dataset.md §8.5): every dataset write is killed with SIGKILL just
before each of its file-changing calls in turn (open for writing, write, fsync, rename,
mkdir, unlink, rmdir), by the LD_PRELOAD shim tests/c/killshim.c ($RADI_BUILD_DIR,
default <repo>/build). After each kill:

- `radi validate` passes, or names the interrupted operation (its journal);
- `radi repair` rolls a journaled write back: the dataset's files are then byte for byte
  what they were before the write (so radi, TileDB-Py and radiobject 0.1.1 read exactly
  the previous state, and no file that TileDB reads as committed is left by the write);
- consolidation and vacuum, which need no journal (every object is committed before what
  it replaces is deleted), leave every volume and table readable with the same values;
- every acknowledged volume reads back bit-identical through radi, TileDB-Py and 0.1.1
  (0.1.1 by position: it must never get another subject's voxels);
- re-running the same command completes, with every volume right.

Kill points are spread evenly over each operation's calls (a dry run counts them).
"""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import radi
from radi import _lib

REPO = Path(__file__).resolve().parents[2]
CLI = str(_lib.cli_path())
POINTS = int(os.environ.get("RADI_CRASH_POINTS", "20"))  # kill points per scenario


def shim():
    build = Path(os.environ.get("RADI_BUILD_DIR") or REPO / "build")
    so = build / "tests" / "c" / "libradi_killshim.so"
    assert so.exists(), f"{so} is missing: build the project (cmake --build build) first"
    return str(so)


def _nifti(path, seed):
    data = np.random.default_rng(seed).integers(-500, 1500, (12, 10, 6)).astype(np.int16)
    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.2, 2.0, 1.0])), str(path))
    return data


class Sources:
    """NIfTI files for subjects, two collections each (T1w, seg), with known voxels."""

    def __init__(self, root):
        self.root = Path(root)
        self.values = {}

    def make(self, group, subjects):
        d = self.root / group
        d.mkdir(parents=True, exist_ok=True)
        for sid in subjects:
            for k, coll in enumerate(("T1w", "seg")):
                self.values[(coll, f"{sid}_{coll}")] = _nifti(d / f"{sid}_{coll}.nii.gz", hash((sid, k)) % 10_000)
        return [f"T1w={d}/*_T1w.nii.gz", f"seg={d}/*_seg.nii.gz"]


def run(args, kill_at=None, prefix=None, count_file=None, timeout=120):
    env = dict(os.environ)
    if prefix is not None:
        env.update(LD_PRELOAD=shim(), RADI_KILL_PREFIX=str(prefix))
        if kill_at:
            env["RADI_KILL_AT"] = str(kill_at)
        if count_file:
            env["RADI_KILL_COUNT"] = str(count_file)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def py(code, *argv):
    return [sys.executable, "-c", "import sys, radi\n" + code, *map(str, argv)]


def snapshot(root):
    """Every file below root (but the lock file) with a hash of its bytes."""
    out = {}
    for d, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            rel = os.path.relpath(p, root)
            if rel == "__radi_lock":
                continue
            with open(p, "rb") as fh:
                out[rel] = hashlib.sha1(fh.read()).hexdigest()
    return out


def check_reads(ds, expected, oracles=True):
    """Every expected volume, bit-identical, through radi (by obs_id), TileDB-Py (the
    volume array holding that obs_id) and radiobject 0.1.1 (by position). ds is a
    dataset, or a stand-alone collection (when it has no collections/)."""
    standalone = not (Path(ds) / "collections").exists()
    obj = radi.RadiObject(str(ds)) if not standalone else None

    def coll_of(mod, c):
        return mod.VolumeCollection(str(ds)) if standalone else obj.collection(c)

    for (coll, oid), data in expected.items():
        got = coll_of(radi, coll).loc[oid].to_numpy()
        assert np.array_equal(got, data), f"radi: {coll}/{oid}"
    if not oracles:
        return
    import tiledb
    for coll in {c for c, _ in expected}:
        vdir = Path(ds) / "volumes" if standalone else Path(ds) / "collections" / coll / "volumes"
        by_oid = {}
        for k in os.listdir(vdir):
            if k.startswith("__"):
                continue
            with tiledb.open(str(vdir / k)) as a:
                by_oid[a.meta["obs_id"]] = a[:]
        for (c, oid), data in expected.items():
            if c == coll:
                (arr,) = by_oid[oid].values() if isinstance(by_oid[oid], dict) else (by_oid[oid],)
                assert np.array_equal(np.asarray(arr), data), f"TileDB-Py: {coll}/{oid}"
    import radiobject
    ro = radiobject.RadiObject(str(ds)) if not standalone else None
    for (coll, oid), data in expected.items():
        c = radiobject.VolumeCollection(str(ds)) if standalone else ro.collection(coll)
        got = np.asarray(c.loc[oid].to_numpy())
        assert np.array_equal(got, data), f"radiobject 0.1.1 (positional): {coll}/{oid}"


def validate_ok_or_named(ds):
    v = run([CLI, "validate", str(ds)])
    text = v.stdout + v.stderr
    assert v.returncode == 0 or "an interrupted" in text, text
    return v.returncode == 0


def kill_points(total, points=POINTS):
    if total <= points:
        return list(range(1, total + 1))
    return sorted({1 + round(i * (total - 1) / (points - 1)) for i in range(points)})


# ---------------------------------------------------------------- scenarios --

def _base(tmp, src, subjects, name="base"):
    ds = tmp / name
    r = run([CLI, "ingest", str(ds), *src.make(f"{name}_src", subjects)])
    assert r.returncode == 0, r.stderr
    return ds


def scenario_fresh_ingest(tmp):
    src = Sources(tmp)
    args = src.make("new", ["S01", "S02", "S03"])
    return None, lambda ds: [CLI, "ingest", str(ds), *args], {}, src.values


def scenario_tail_append(tmp):
    src = Sources(tmp)
    base = _base(tmp, src, ["M01", "M02"])
    before = dict(src.values)
    args = src.make("more", ["Z01", "Z02"])
    return base, lambda ds: [CLI, "ingest", "--append", str(ds), *args], before, src.values


def scenario_renumber_append(tmp):
    src = Sources(tmp)
    base = _base(tmp, src, ["M01", "M02", "M03"])
    before = dict(src.values)
    args = src.make("more", ["B01", "N01"])  # sort before and between: every volume moves
    return base, lambda ds: [CLI, "ingest", "--append", str(ds), *args], before, src.values


def scenario_standalone_append(tmp):
    """A renumbering append to a stand-alone collection (dataset.md §8.8): its lock and
    journal are at the collection's root."""
    src = Sources(tmp)
    base = _base(tmp, src, ["M01", "M02", "M03"], name="ds")
    coll = tmp / "base"
    r = run(py("radi.RadiObject(sys.argv[1]).T1w.materialize(sys.argv[2])", base, coll))
    assert r.returncode == 0, r.stderr
    before = {k: v for k, v in src.values.items() if k[0] == "T1w"}
    t1w = src.make("more", ["B01", "N01"])[0]  # sort before and between: every volume moves
    after = {k: v for k, v in src.values.items() if k[0] == "T1w"}
    return coll, lambda ds: [CLI, "ingest", "--append", str(ds), t1w], before, after


def scenario_rename(tmp):
    src = Sources(tmp)
    base = _base(tmp, src, ["M01", "M02"])
    before = dict(src.values)
    after = {("T1c" if c == "T1w" else c, o): v for (c, o), v in before.items()}
    return base, lambda ds: py("radi.RadiObject(sys.argv[1]).rename_collection('T1w', 'T1c')", ds), before, after


def scenario_materialize(tmp):
    src = Sources(tmp)
    base = _base(tmp, src, ["M01", "M02"])
    values = dict(src.values)
    # The write goes to a new dataset next to the source (which is only read).
    return base, lambda ds: py("radi.RadiObject(sys.argv[1]).materialize(sys.argv[2])", ds, f"{ds}_copy"), \
        values, values


def scenario_adopt(tmp):
    """from_collections around a stand-alone collection already at
    <uri>/collections/T1w (radi_dataset_create_adopting), copying seg beside it: a
    repaired kill leaves the tree, the adopted collection included, byte for byte."""
    src = Sources(tmp)
    other = _base(tmp, src, ["M01", "M02"], name="ds")
    base = tmp / "base"
    r = run(py("radi.RadiObject(sys.argv[1]).T1w.materialize(sys.argv[2])", other, base / "collections" / "T1w"))
    assert r.returncode == 0, r.stderr
    before = {k: v for k, v in src.values.items() if k[0] == "T1w"}
    code = ("u = sys.argv[1]\n"
            "radi.RadiObject.from_collections(u, {'T1w': radi.VolumeCollection(u + '/collections/T1w'),\n"
            "                                     'seg': radi.RadiObject(sys.argv[2]).seg})")
    return base, lambda ds: py(code, ds, other), before, dict(src.values)


scenario_adopt.points = 15  # its calls are few; keeps the run short
scenario_adopt.reads_before = lambda ds: Path(ds) / "collections" / "T1w"  # no dataset yet: the collection


def _maintenance(mode, vacuum):
    def scenario(tmp):
        src = Sources(tmp)
        base = _base(tmp, src, ["M01"])
        for i, more in enumerate((["M02"], ["M03"])):
            r = run([CLI, "ingest", "--append", str(base), *src.make(f"more{i}", more)])
            assert r.returncode == 0, r.stderr
        if vacuum:
            r = run([CLI, "consolidate", "--mode", mode, str(base)])
            assert r.returncode == 0, r.stderr
        values = dict(src.values)
        cmd = "vacuum" if vacuum else "consolidate"
        return base, lambda ds: [CLI, cmd, "--mode", mode, str(ds)], values, values
    scenario.maintenance = True
    return scenario


SCENARIOS = {
    "fresh_ingest": scenario_fresh_ingest,
    "tail_append": scenario_tail_append,
    "renumber_append": scenario_renumber_append,
    "standalone_append": scenario_standalone_append,
    "rename_collection": scenario_rename,
    "materialize": scenario_materialize,
    "adopt": scenario_adopt,
    **{f"{verb}_{mode}": _maintenance(mode, verb == "vacuum")
       for mode in ("fragments", "commits", "fragment_meta", "array_meta") for verb in ("consolidate", "vacuum")},
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_killed_write(tmp_path, name):
    make = SCENARIOS[name]
    maintenance = getattr(make, "maintenance", False)
    base, command, before, after = make(tmp_path)
    is_copy = name == "materialize"

    def target(ds):  # where the write changes files
        return Path(f"{ds}_copy") if is_copy else Path(ds)

    # Dry run: how many file-changing calls the write makes.
    dry = tmp_path / "dry"
    if base is not None:
        shutil.copytree(base, dry)
    count = tmp_path / "count"
    r = run(command(dry), prefix=target(dry), count_file=count)
    assert r.returncode == 0, r.stderr
    check_reads(target(dry), after)
    total = int(count.read_text())
    assert total > 0
    points = kill_points(total, min(POINTS, getattr(make, "points", POINTS)))
    reads_before = getattr(make, "reads_before", lambda ds: ds)
    base_snap = snapshot(base) if base is not None else {}
    for i, k in enumerate(points):
        ds = tmp_path / f"k{k}"
        if base is not None:
            shutil.copytree(base, ds)
        r = run(command(ds), kill_at=k, prefix=target(ds))
        assert r.returncode == -9, f"kill point {k}/{total}: the write was not killed ({r.returncode}): {r.stderr}"
        tgt = target(ds)
        where = f"{name}: killed before call {k} of {total}"
        if tgt.exists() and (tgt / "__tiledb_group.tdb").exists() or (tgt / "__radi_journal").exists():
            validate_ok_or_named(tgt)
        if maintenance:
            # No journal: what is there must read right as it is.
            check_reads(ds, before, oracles=(i % 4 == 0))
        else:
            rep = run([CLI, "repair", str(tgt)]) if tgt.exists() else None
            assert rep is None or rep.returncode == 0, f"{where}: repair failed: {rep.stderr}"
            if base is not None and not is_copy:
                assert snapshot(ds) == base_snap, f"{where}: the dataset differs from before the write"
                if i % 4 == 0:
                    check_reads(reads_before(ds), before)
            else:
                left = snapshot(tgt) if tgt.exists() else {}
                if left and not is_copy:
                    # The creation completed before the kill, the ingest did not: an empty
                    # dataset, which the re-run takes over.
                    v = run([CLI, "validate", str(tgt)])
                    assert v.returncode == 0, f"{where}: {v.stdout}{v.stderr}"
                    assert len(radi.RadiObject(str(tgt)).collection_names) == 0, where
                else:
                    assert not left, f"{where}: files left by the interrupted creation: {sorted(left)[:5]}"
        # The same command again completes.
        r = run(command(ds))
        assert r.returncode == 0, f"{where}: the re-run failed: {r.stderr}"
        check_reads(target(ds), after, oracles=(i % 4 == 1))
        v = run([CLI, "validate", str(target(ds))])
        assert v.returncode == 0, f"{where}: after the re-run: {v.stdout}{v.stderr}"
        shutil.rmtree(ds, ignore_errors=True)
        if is_copy:
            shutil.rmtree(tgt, ignore_errors=True)
