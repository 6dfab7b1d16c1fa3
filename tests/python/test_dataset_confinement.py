"""Member names and URIs confined to the dataset (docs/dataset.md §1), and what
`radi validate` reports about a dataset's structure.

Hostile datasets are built with TileDB-Py: a member whose relative URI leaves the root,
an absolute member outside the root, members whose names are not plain path segments,
at every level (root, collections, a collection's volumes). Every command, CLI and
Python, must refuse them with a message naming the member and the dataset, and a
sentinel directory outside the root (holding a real collection the members point at)
must stay byte-identical. Absolute file:// members inside the root (0.1.1 writes them)
stay accepted.
"""
import hashlib
import os
import shutil
import subprocess

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

import radi
from radi import _lib

CLI = str(_lib.cli_path())
MODS = ("FLAIR", "T1w")


def run(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


def tree_hash(root):
    h = hashlib.sha256()
    for d, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        h.update(os.path.relpath(d, root).encode() + b"\0D")
        for f in sorted(files):
            p = os.path.join(d, f)
            h.update(f.encode() + b"\0")
            with open(p, "rb") as fh:
                h.update(fh.read())
            h.update(str(os.stat(p).st_mtime_ns).encode())
    return h.hexdigest()


@pytest.fixture
def base(tmp_path):
    """A clean dataset (2 subjects x FLAIR/T1w, two appends so obs has fragments to
    consolidate), a NIfTI for appends, and a sentinel outside the root holding a copy
    of a collection."""
    files = {}
    for i, s in enumerate(("sub-01", "sub-02", "sub-03")):
        for m in MODS:
            d = np.full((4, 3, 2), 10 * i + len(m), np.int16)
            p = tmp_path / "nii" / f"{s}_{m}.nii.gz"
            p.parent.mkdir(exist_ok=True)
            nib.save(nib.Nifti1Image(d, np.eye(4)), str(p))
            files[(s, m)] = str(p)
    uri = str(tmp_path / "ds")
    ro = radi.RadiObject.from_niftis(uri, images={m: [(files[("sub-01", m)], "sub-01")] for m in MODS})
    ro.append(images={m: [(files[("sub-02", m)], "sub-02")] for m in MODS},
              obs_meta=pd.DataFrame({"obs_subject_id": ["sub-02"]}))
    sentinel = tmp_path / "elsewhere"
    shutil.copytree(os.path.join(uri, "collections", "T1w"), sentinel / "coll")
    (sentinel / "keep.txt").write_text("do not touch\n")
    return uri, str(sentinel), files


def _add(oracle, group, uri, name, relative):
    with oracle.Group(group, "w") as g:
        g.add(uri, name=name, relative=relative)


# (label, where, how): where the hostile member goes, and the member (uri, name, relative)
# relative to the dataset root and the sentinel.
def _hostile(oracle, ds, sentinel, case):
    coll = os.path.join(ds, "collections")
    vols = os.path.join(coll, "FLAIR", "volumes")
    target = os.path.join(sentinel, "coll")
    if case == "collections_relative_escape":
        _add(oracle, coll, "../../elsewhere/coll", "evil", True)
        return "evil"
    if case == "collections_absolute_outside":
        _add(oracle, coll, target, "evil", False)
        return "evil"
    if case == "collections_name_dotdot":
        _add(oracle, coll, "T1w", "../../elsewhere/coll", True)
        return "../../elsewhere/coll"
    if case == "root_absolute_outside":
        _add(oracle, ds, target, "extra", False)
        return "extra"
    if case == "volumes_relative_escape":
        _add(oracle, vols, "../../../../elsewhere/coll/volumes/0", "7", True)
        return "7"
    if case == "volumes_name_dotdot":
        _add(oracle, vols, "0", "../../../../elsewhere/coll/volumes/0", True)
        return "../../../../elsewhere/coll/volumes/0"
    if case == "volumes_absolute_outside":
        _add(oracle, vols, os.path.join(target, "volumes", "0"), "8", False)
        return "8"
    raise AssertionError(case)


CASES = ["collections_relative_escape", "collections_absolute_outside", "collections_name_dotdot",
         "root_absolute_outside", "volumes_relative_escape", "volumes_name_dotdot",
         "volumes_absolute_outside"]


def _refused(text, member, ds):
    assert f"'{member}'" in text and ds in text and "inside the dataset" in text, text


@pytest.mark.parametrize("case", CASES)
def test_hostile_member_refused_everywhere(base, oracle, tmp_path, case):
    ds, sentinel, files = base
    member = _hostile(oracle, ds, sentinel, case)
    before_s, before_d = tree_hash(sentinel), tree_hash(ds)
    vol_level = case.startswith("volumes")

    # --- CLI: every command refuses (exit 1, one line naming member and dataset) ---
    cmds = [("ls", ds), ("info", ds), ("info", "--json", ds), ("consolidate", ds), ("vacuum", ds),
            ("consolidate", "--mode", "all", ds), ("vacuum", "--mode", "all", ds),
            ("slice", ds, "--collection", "FLAIR", "--obs-id", "sub-01_FLAIR", "--axial", "0",
             "-o", tmp_path / "s.npy"),
            ("export", ds, "--collection", "FLAIR", "--obs-id", "sub-01_FLAIR", "-o", tmp_path / "e.nii"),
            ("ingest", "--append", ds, f"FLAIR={files[('sub-03', 'FLAIR')]}")]
    for c in cmds:
        p = run(*c)
        assert p.returncode == 1 and p.stdout == "", (c, p)
        _refused(p.stderr, member, ds)
    assert not (tmp_path / "s.npy").exists() and not (tmp_path / "e.nii").exists()
    # validate reports it as a problem line instead (and still checks the rest)
    p = run("validate", ds)
    assert p.returncode == 1, p
    assert any(f"member '{member}'" in ln and "refused" in ln for ln in p.stdout.splitlines()), p.stdout

    # --- Python ---
    if not vol_level:
        with pytest.raises(radi.RadiError) as e:
            radi.RadiObject(ds)
        _refused(str(e.value), member, ds)
    else:
        ro = radi.RadiObject(ds)   # root and collections are clean; FLAIR's volumes are not
        for call in (lambda: ro.collection("FLAIR"), lambda: ro.materialize(str(tmp_path / "copy")),
                     lambda: ro.rename_collection("FLAIR", "Renamed"), lambda: ro.consolidate(),
                     lambda: ro.vacuum(), lambda: ro.consolidate(mode="all"),
                     lambda: ro.append(images={"FLAIR": [(files[("sub-03", "FLAIR")], "sub-03")]},
                                       obs_meta=pd.DataFrame({"obs_subject_id": ["sub-03"]}))):
            with pytest.raises(radi.RadiError) as e:
                call()
            _refused(str(e.value), member, ds)
        assert not (tmp_path / "copy").exists()
        with pytest.raises(ValueError, match="refused"):
            ro.validate()
        assert ro.collection("T1w").loc["sub-01_T1w"].to_numpy().shape == (4, 3, 2)

    assert tree_hash(sentinel) == before_s
    assert tree_hash(ds) == before_d


def test_absolute_members_inside_root_accepted(base, oracle):
    """0.1.1 writes absolute file:// members; inside the root they are fine, in either
    the path's lexical or its canonical (symlinks resolved) form."""
    ds, _sentinel, _files = base
    coll = os.path.join(ds, "collections")
    with oracle.Group(coll, "w") as g:
        g.remove("T1w")
    _add(oracle, coll, "file://" + os.path.join(os.path.realpath(coll), "T1w"), "T1w", False)
    vols = os.path.join(coll, "FLAIR", "volumes")
    with oracle.Group(vols, "w") as g:
        g.remove("0")
    _add(oracle, vols, os.path.join(vols, "x", "..", "0"), "0", False)
    ro = radi.RadiObject(ds)
    ro.validate()
    assert ro.collection("FLAIR").loc["sub-01_FLAIR"].to_numpy().shape == (4, 3, 2)
    assert run("validate", ds).returncode == 0
    link = os.path.join(os.path.dirname(ds), "link")
    os.symlink(ds, link)
    assert run("ls", link).returncode == 0
    ro.consolidate()
    ro.vacuum()


def test_validate_reports_structure(base, oracle):
    ds, _sentinel, _files = base
    vols = os.path.join(ds, "collections", "FLAIR", "volumes")
    # Leftovers of interrupted writes: a staging directory, a volume never added, a
    # collection never registered.
    shutil.copytree(os.path.join(vols, "0"), os.path.join(vols, "__radi_staging_0123456789abcdef", "0"))
    shutil.copytree(os.path.join(vols, "1"), os.path.join(vols, "5"))
    shutil.copytree(os.path.join(ds, "collections", "T1w"), os.path.join(ds, "collections", "Orphan"))
    # Unreadable metadata: a volume's and a collection group's __meta file garbled.
    for obj in (os.path.join(vols, "1"), os.path.join(ds, "collections", "T1w")):
        mdir = os.path.join(obj, "__meta")
        f = os.path.join(mdir, sorted(os.listdir(mdir))[0])
        with open(f, "r+b") as fh:
            fh.write(b"\xff" * 16)
    p = run("validate", ds)
    assert p.returncode == 1, p
    lines = p.stdout.splitlines()
    want = [os.path.join(vols, "__radi_staging_0123456789abcdef") + ": staging directory",
            os.path.join(vols, "5") + ": not a member of volumes",
            os.path.join(ds, "collections", "Orphan") + ": not a member of collections",
            os.path.join(vols, "1") + ": metadata cannot be read",
            os.path.join(ds, "collections", "T1w") + ": metadata cannot be read"]
    for w in want:
        assert sum(ln.startswith(w) for ln in lines) == 1, (w, lines)
    assert f"{len(lines)} problems found" in p.stderr
    # The same through the Python API (an open dataset).
    with pytest.raises(ValueError) as e:
        radi.RadiObject(ds).validate()
    for w in want:
        assert w in str(e.value)
