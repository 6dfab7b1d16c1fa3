"""VolumeCollection.append on a stand-alone collection (docs/dataset.md §8.8), against
radiobject 0.1.1 doing the same:

- the same stand-alone collection built by radi and by 0.1.1 from the same files, the
  same files appended to both (keys before, between and after the existing ones): equal
  obs tables, obs_ids and voxels; radi's volumes/<k> is the k-th obs row (0.1.1's
  positional lookup is right), n_volumes and x/y/z_dim updated; 0.1.1 opens, validates
  and reads radi's result; TileDB-Py opens every array of it;
- appends to stand-alone collections of every origin: materialize (of a collection or a
  view), StreamingWriter,
  one 0.1.1 wrote; DICOM series (dicom_dirs=); reorient=True as 0.1.1; progress;
- refusals, each leaving the files as they were: 0.1.1's (duplicate obs_ids, a foreign
  shape, a view) and radi's (obs_meta=); a dataset's collection opened by its URI appends
  through its dataset.
"""
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

radiobject = pytest.importorskip("radiobject")
nib = pytest.importorskip("nibabel")
tiledb = pytest.importorskip("tiledb")

import radi  # noqa: E402
from oracle_util import tree_hash  # noqa: E402

SHAPE = (8, 7, 4)


def _save(path, fill, shape=SHAPE, affine=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = (np.arange(np.prod(shape)).reshape(shape) % 61 + fill).astype(np.int16)
    nib.save(nib.Nifti1Image(data, np.diag([1.5, 1.5, 3.0, 1.0]) if affine is None else affine), str(path))
    return str(path)


def _files(d, subjects, name="T1w", **kw):
    """(path, subject) of new files; each subject's voxels start at 10 * its number + 3,
    so no two subjects' volumes are equal."""
    return [(_save(d / f"{s}_{name}.nii.gz", 10 * int(s.split("-")[1]) + 3, **kw), s) for s in subjects]


def _files_of(tmp):
    """(path, subject) of every NIfTI file written under tmp."""
    return [(str(p), p.name.split("_")[0]) for p in sorted(Path(tmp).rglob("*.nii.gz"))]


def _obs(vc) -> pd.DataFrame:
    df = vc.obs.read()
    return df.sort_values(["obs_subject_id", "obs_id"]).reset_index(drop=True)


def _group_meta(uri):
    with tiledb.Group(str(uri)) as g:
        return {k: g.meta[k] for k in g.meta.keys()}


def _arrays(root):
    """Every TileDB array under root (directories holding __schema)."""
    return sorted(str(p.parent) for p in Path(root).rglob("__schema"))


def _assert_positional(uri, obs_ids):
    """volumes/<k> holds the k-th obs row's obs_id (what 0.1.1's lookup assumes)."""
    for k, oid in enumerate(obs_ids):
        with tiledb.open(f"{uri}/volumes/{k}") as a:
            assert a.meta["obs_id"] == oid, (k, oid)


@pytest.fixture()
def pair(tmp_path):
    """The same stand-alone T1w collection (sub-02, sub-04) written by radi and 0.1.1."""
    first = _files(tmp_path / "in", ["sub-02", "sub-04"])
    r = radi.VolumeCollection.from_niftis(str(tmp_path / "r"), niftis=first, name="T1w")
    o = radiobject.VolumeCollection.from_niftis(str(tmp_path / "o"), niftis=first, name="T1w")
    return tmp_path, r, o


def test_append_matches_0_1_1(pair):
    tmp, r, o = pair
    more = _files(tmp / "more", ["sub-03", "sub-01", "sub-05"])
    r.append(niftis=more)
    o.append(niftis=more)
    want = ["sub-01_T1w", "sub-02_T1w", "sub-03_T1w", "sub-04_T1w", "sub-05_T1w"]
    assert list(r.obs_ids) == want == sorted(o.obs_ids)
    ro, oo = _obs(r), _obs(o)
    assert list(ro.columns) == list(oo.columns)
    # Both describe the same files; only the stored source path may be spelled otherwise.
    cols = [c for c in ro.columns if c not in ("source_path",)]
    pd.testing.assert_frame_equal(ro[cols], oo[cols], check_dtype=False)
    # Voxels as the files hold them. (0.1.1 reads its own result wrongly here: it numbers
    # appended volumes in input order and looks them up by sorted position.)
    src = {f"{sid}_T1w": np.asanyarray(nib.load(p).dataobj) for p, sid in _files_of(tmp)}
    for oid in want:
        np.testing.assert_array_equal(r.loc[oid].to_numpy(), src[oid])
    meta = _group_meta(r.uri)
    assert meta["n_volumes"] == 5 and (meta["x_dim"], meta["y_dim"], meta["z_dim"]) == SHAPE
    assert meta["name"] == "T1w"
    _assert_positional(r.uri, want)
    r.validate()
    assert not [n for n in os.listdir(r.uri) if n == "__radi_journal"]
    # A fresh radi handle, 0.1.1 and TileDB-Py read radi's result.
    again = radi.VolumeCollection(r.uri)
    assert list(again.obs_ids) == want
    old = radiobject.VolumeCollection(r.uri)
    assert sorted(old.obs_ids) == want and len(old) == 5 and old.shape == SHAPE
    old.validate()
    for oid in want:
        np.testing.assert_array_equal(old.loc[oid].to_numpy(), src[oid])
    arrays = _arrays(r.uri)
    assert len(arrays) == 6  # obs and five volumes
    for a in arrays:
        with tiledb.open(a) as arr:
            arr.schema


def test_two_appends_and_progress(pair, capsys):
    tmp, r, _o = pair
    r.append(niftis=_files(tmp / "a", ["sub-00"]), progress=True)
    assert "[1/1] sub-00_T1w.nii.gz" in capsys.readouterr().err
    r.append(niftis=_files(tmp / "b", ["sub-03", "sub-10"]), validate_alignment=True)
    want = ["sub-00_T1w", "sub-02_T1w", "sub-03_T1w", "sub-04_T1w", "sub-10_T1w"]
    assert list(r.obs_ids) == want
    _assert_positional(r.uri, want)
    radi.VolumeCollection(r.uri).validate()
    radiobject.VolumeCollection(r.uri).validate()


def _standalone_from(kind, tmp, files):
    """A stand-alone T1w collection of files[...] made by `kind`."""
    uri = str(tmp / kind)
    if kind == "materialize":
        ro = radi.RadiObject.from_niftis(str(tmp / "ds"), images={"T1w": files})
        return ro.T1w.materialize(uri)
    if kind == "view":
        ro = radi.RadiObject.from_niftis(str(tmp / "ds"), images={"T1w": files})
        return ro.T1w.iloc[[0, 1]].materialize(uri)
    if kind == "0.1.1":
        radiobject.VolumeCollection.from_niftis(uri, niftis=files, name="T1w")
        return radi.VolumeCollection(uri)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["materialize", "view", "0.1.1"])
def test_append_to_every_origin(tmp_path, kind):
    vc = _standalone_from(kind, tmp_path, _files(tmp_path / "in", ["sub-02", "sub-04"]))
    assert vc.name == "T1w"
    vc.append(niftis=_files(tmp_path / "more", ["sub-03", "sub-01"]))
    want = ["sub-01_T1w", "sub-02_T1w", "sub-03_T1w", "sub-04_T1w"]
    assert list(vc.obs_ids) == want
    _assert_positional(vc.uri, want)
    old = radiobject.VolumeCollection(vc.uri)
    old.validate()
    for oid, fill in (("sub-01_T1w", 13), ("sub-02_T1w", 23), ("sub-03_T1w", 33), ("sub-04_T1w", 43)):
        assert int(vc.loc[oid].to_numpy()[0, 0, 0]) == fill
        assert int(old.loc[oid].to_numpy()[0, 0, 0]) == fill
    vc.validate()


def test_append_to_streaming_writer_collection(tmp_path):
    """A StreamingWriter collection whose obs has the NIfTI columns takes NIfTI appends;
    one with other columns refuses them, naming the column (0.1.1 would drop what the
    target lacks: docs/differences-from-radiobject-0.1.1.md)."""
    from radi.streaming import StreamingWriter

    src = radi.VolumeCollection.from_niftis(str(tmp_path / "src"), niftis=_files(tmp_path / "in", ["sub-02"]),
                                            name="T1w")
    row = src.obs.read().iloc[0].to_dict()
    attrs = {k: v for k, v in row.items() if k not in ("obs_subject_id", "obs_id")}
    s = tiledb.ArraySchema.load(f"{src.uri}/obs")
    schema = {s.attr(i).name: (str if s.attr(i).dtype.kind == "U" else s.attr(i).dtype) for i in range(s.nattr)}
    uri = str(tmp_path / "sw")
    with StreamingWriter(uri, shape=SHAPE, obs_schema=schema, name="T1w") as w:
        w.write_volume(src.loc["sub-02_T1w"].to_numpy(), "sub-02_T1w", "sub-02", **attrs)
    vc = radi.VolumeCollection(uri)
    vc.append(niftis=_files(tmp_path / "more", ["sub-01"]))
    assert list(vc.obs_ids) == ["sub-01_T1w", "sub-02_T1w"]
    _assert_positional(uri, vc.obs_ids)
    vc.validate()

    bare = str(tmp_path / "bare")
    with StreamingWriter(bare, shape=SHAPE, name="T1w") as w:
        w.write_volume(np.ones(SHAPE, np.int16), "x_T1w", "x")
    before = tree_hash(bare)
    with pytest.raises(radi.RadiError, match="does not fit collection 'T1w'"):
        radi.VolumeCollection(bare).append(niftis=_files(tmp_path / "m2", ["sub-01"]))
    assert tree_hash(bare) == before


def test_refusals_leave_files_unchanged(pair):
    tmp, r, o = pair
    before = tree_hash(r.uri)
    dup = _files(tmp / "dup", ["sub-02"])
    wide = [(_save(tmp / "w" / "sub-09_T1w.nii.gz", 1, shape=(9, 7, 4)), "sub-09")]
    for vc in (r, o):
        with pytest.raises(ValueError, match=r"obs_ids already exist: \['sub-02_T1w'\]"):
            vc.append(niftis=dup)
        with pytest.raises(ValueError, match="Dimension mismatch"):
            vc.append(niftis=wide)
        with pytest.raises(TypeError):
            vc.iloc[[0]].append(niftis=_files(tmp / "v", ["sub-07"]))
    with pytest.raises(ValueError, match="stand-alone collection has no obs_meta"):
        r.append(niftis=_files(tmp / "m", ["sub-08"]), obs_meta=pd.DataFrame({"obs_subject_id": ["sub-08"]}))
    assert tree_hash(r.uri) == before
    assert list(r.obs_ids) == ["sub-02_T1w", "sub-04_T1w"]


def test_dataset_collection_by_uri_appends_through_its_dataset(tmp_path):
    """VolumeCollection(<dataset>/collections/<name>) opens through the dataset, so its
    append keeps the dataset whole (obs_meta, subject_count); the C library refuses the
    same collection opened stand-alone (tests/c/test_standalone_append.c)."""
    ro = radi.RadiObject.from_niftis(str(tmp_path / "ds"), images={"T1w": _files(tmp_path / "in", ["sub-02"])})
    vc = radi.VolumeCollection(f"{ro.uri}/collections/T1w")
    vc.append(niftis=_files(tmp_path / "more", ["sub-01"]))
    back = radi.RadiObject(ro.uri)
    assert list(back.T1w.obs_ids) == ["sub-01_T1w", "sub-02_T1w"]
    assert list(back.obs_subject_ids) == ["sub-01", "sub-02"]
    assert _group_meta(ro.uri)["subject_count"] == 2
    back.validate()


def test_reorient_as_0_1_1(tmp_path):
    las = np.diag([-1.5, 1.5, 3.0, 1.0])
    first = _files(tmp_path / "in", ["sub-02"], affine=las)
    more = _files(tmp_path / "more", ["sub-01"], affine=las)
    r = radi.VolumeCollection.from_niftis(str(tmp_path / "r"), niftis=first, name="T1w", reorient=True)
    o = radiobject.VolumeCollection.from_niftis(str(tmp_path / "o"), niftis=first, name="T1w", reorient=True)
    r.append(niftis=more, reorient=True)
    o.append(niftis=more, reorient=True)
    # 0.1.1 put its appended volume at volumes/1 (input order; its own loc would read
    # volumes/0 for it); radi renumbered, so sub-01 is volumes/0.
    theirs = radiobject.Volume(f"{o.uri}/volumes/1")
    assert theirs.obs_id == "sub-01_T1w"
    ours = r.loc["sub-01_T1w"]
    np.testing.assert_array_equal(ours.to_numpy(), theirs.to_numpy())
    raw = np.asanyarray(nib.load(more[0][0]).dataobj)
    np.testing.assert_array_equal(ours.to_numpy(), raw[::-1])
    with tiledb.open(f"{r.uri}/volumes/0") as a, tiledb.open(f"{o.uri}/volumes/1") as b:
        keys = [k for k in b.meta.keys() if k.startswith("orientation_")]
        assert keys and all(a.meta[k] == b.meta[k] for k in keys), keys


def _series(dest):
    """A copy of pydicom's CT5N series (skips without pydicom)."""
    pydicom = pytest.importorskip("pydicom")
    ct5n = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests" / "98892001" / "CT5N"
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(ct5n.iterdir()):
        if f.is_file():
            shutil.copy(f, dest / f.name)
    return str(dest)


def test_dicom_append(tmp_path):
    d = {s: _series(tmp_path / s / "ct") for s in ("p1", "p2", "p3")}
    vc = radi.VolumeCollection.from_dicoms(str(tmp_path / "vc"), [(d["p3"], "p3")])
    ref = vc.loc["p3_CT"].to_numpy()
    vc.append(dicom_dirs=[(d["p2"], "p2"), (d["p1"], "p1")])
    want = ["p1_CT", "p2_CT", "p3_CT"]
    assert list(vc.obs_ids) == want
    _assert_positional(vc.uri, want)
    for oid in want:  # the same series each time: Hounsfield units, equal
        np.testing.assert_array_equal(vc.loc[oid].to_numpy(), ref)
    assert _group_meta(vc.uri)["n_volumes"] == 3
    vc.validate()
    old = radiobject.VolumeCollection(vc.uri)
    old.validate()
    assert sorted(old.obs_ids) == want
    with pytest.raises(ValueError, match="obs_ids already exist"):
        vc.append(dicom_dirs=[(d["p1"], "p1")])


def _cli(*args):
    import subprocess

    from radi import _lib
    return subprocess.run([str(_lib.cli_path()), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_cli_append_validate_repair(pair):
    """radi ingest --append URI NAME=GLOB on a stand-alone collection; radi validate and
    radi repair take its URI; the wrong NAME, or two, are one-line errors (exit 1) that
    change nothing."""
    import json

    tmp, r, _o = pair
    more = tmp / "cli"
    _files(more, ["sub-01", "sub-03"])
    before = tree_hash(r.uri)
    p = _cli("ingest", "--append", r.uri, f"FLAIR={more}")
    assert p.returncode == 1 and "is not this stand-alone collection, which is named 'T1w'" in p.stderr, p.stderr
    p = _cli("ingest", "--append", r.uri, f"T1w={more}", f"T2={more}")
    assert p.returncode == 1 and "not to 2 collections" in p.stderr, p.stderr
    assert tree_hash(r.uri) == before
    p = _cli("ingest", "--append", "--json", r.uri, f"T1w={more}")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["created"] is False and doc["files"] == 2 and doc["subject_count"] == 4
    want = ["sub-01_T1w", "sub-02_T1w", "sub-03_T1w", "sub-04_T1w"]
    assert list(radi.VolumeCollection(r.uri).obs_ids) == want
    _assert_positional(r.uri, want)
    assert _cli("validate", r.uri).returncode == 0
    p = _cli("repair", "--json", r.uri)
    assert p.returncode == 0 and json.loads(p.stdout)["repaired"] is False, p.stdout + p.stderr
    radiobject.VolumeCollection(r.uri).validate()


def test_append_sorts_a_0_1_1_collection_written_unsorted(tmp_path):
    """0.1.1 numbers volumes in input order: given sub-04 then sub-02, its volumes/0 is
    sub-04 and its own loc reads the wrong volumes. radi's append puts every volume at its
    sorted position (a cycle of moves through the spare slot), after which 0.1.1 reads
    each obs_id's own voxels."""
    first = _files(tmp_path / "in", ["sub-04", "sub-02"])
    uri = str(tmp_path / "o")
    radiobject.VolumeCollection.from_niftis(uri, niftis=first, name="T1w")
    with tiledb.open(f"{uri}/volumes/0") as a:
        assert a.meta["obs_id"] == "sub-04_T1w"  # the premise: written unsorted
    vc = radi.VolumeCollection(uri)
    vc.append(niftis=_files(tmp_path / "more", ["sub-03"]))
    want = ["sub-02_T1w", "sub-03_T1w", "sub-04_T1w"]
    assert list(vc.obs_ids) == want
    _assert_positional(uri, want)
    src = {f"{sid}_T1w": np.asanyarray(nib.load(p).dataobj) for p, sid in _files_of(tmp_path)}
    old = radiobject.VolumeCollection(uri)
    old.validate()
    for oid in want:
        np.testing.assert_array_equal(vc.loc[oid].to_numpy(), src[oid])
        np.testing.assert_array_equal(old.loc[oid].to_numpy(), src[oid])
    vc.validate()


def test_append_on_s3(s3root, tmp_path):
    """The same append on S3 (moto): moves are copies then deletes, the lock a lease at
    the collection; nothing of the write is left beside the volumes."""
    up = lambda pairs: [(s3root.put(p, f"src/{Path(p).name}"), sid) for p, sid in pairs]  # noqa: E731
    uri = s3root.uri("vc")
    vc = radi.VolumeCollection.from_niftis(uri, niftis=up(_files(tmp_path / "in", ["sub-02", "sub-04"])),
                                           name="T1w")
    vc.append(niftis=up(_files(tmp_path / "more", ["sub-03", "sub-01"])))
    want = ["sub-01_T1w", "sub-02_T1w", "sub-03_T1w", "sub-04_T1w"]
    back = radi.VolumeCollection(uri)
    assert list(back.obs_ids) == want
    for oid in want:
        assert int(back.loc[oid].to_numpy()[0, 0, 0]) == 10 * int(oid[4:6]) + 3
    back.validate()
    left = s3root.files("vc")
    assert not [k for k in left if "__radi_journal" in k or "__radi_staging" in k], sorted(left)
    assert radi.repair(uri) is None
