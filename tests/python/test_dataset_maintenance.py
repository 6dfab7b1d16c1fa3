"""Whole-dataset maintenance: radi_dataset_consolidate / radi_dataset_vacuum through
`RadiObject.consolidate()/vacuum()`, `VolumeCollection.consolidate()/vacuum()` and
`radi consolidate|vacuum URI`, and `radi info` on a dataset.

The dataset has appends (obs and obs_meta with several fragments, a renumbering append
included) and a volume with a second fragment written by TileDB-Py. After consolidate +
vacuum every array has exactly one fragment, every group's metadata one file, voxels and
tables are unchanged, and radiobject 0.1.1 and TileDB-Py still open, read and validate
the dataset.
"""
import json
import os
import subprocess

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

import radi
from radi import _lib

CLI = str(_lib.cli_path())
MODS = ("FLAIR", "T1w")
SHAPE = (6, 5, 4)


def run(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


def _nifti(tmp_path, sid, mod, seed):
    d = np.random.default_rng(seed).integers(0, 1000, size=SHAPE).astype(np.int16)
    p = tmp_path / "nii" / f"{sid}_{mod}.nii.gz"
    p.parent.mkdir(exist_ok=True)
    img = nib.Nifti1Image(d, np.diag([1.0, 1.0, 2.0, 1.0]))
    img.header.set_xyzt_units("mm")
    nib.save(img, str(p))
    return str(p), d


@pytest.fixture
def appended(tmp_path, oracle):
    """A dataset built in three ingests (sub-02 renumbers), plus a TileDB-Py fragment on
    one volume; returns (uri, expected voxels by obs_id)."""
    data, files = {}, {}
    for i, sid in enumerate(("sub-01", "sub-02", "sub-03", "sub-04")):
        for k, m in enumerate(MODS):
            files[(sid, m)], data[f"{sid}_{m}"] = _nifti(tmp_path, sid, m, 10 * i + k)
    uri = str(tmp_path / "ds")
    ro = radi.RadiObject.from_niftis(uri, images={m: [(files[(s, m)], s) for s in ("sub-01", "sub-03")]
                                                  for m in MODS})
    ro.append(images={m: [(files[("sub-04", m)], "sub-04")] for m in MODS},
              obs_meta=pd.DataFrame({"obs_subject_id": ["sub-04"]}))
    ro.append(images={m: [(files[("sub-02", m)], "sub-02")] for m in MODS},  # sorts between: renumbers
              obs_meta=pd.DataFrame({"obs_subject_id": ["sub-02"]}))
    # A second fragment on one volume (a box of new values), written by TileDB-Py.
    vol = [e for e in ro._ds.volumes("FLAIR") if e[1] == "sub-02_FLAIR"][0][2]
    patch = np.full((2, 3, 4), 7, np.int16)
    with oracle.open(vol, "w") as A:
        A[1:3, 0:3, 0:4] = patch
    data["sub-02_FLAIR"] = data["sub-02_FLAIR"].copy()
    data["sub-02_FLAIR"][1:3, 0:3, 0:4] = patch
    return uri, data


def _arrays(uri):
    out = [os.path.join(uri, "obs_meta")]
    for m in MODS:
        c = os.path.join(uri, "collections", m)
        out.append(os.path.join(c, "obs"))
        vd = os.path.join(c, "volumes")
        out += [os.path.join(vd, v) for v in sorted(os.listdir(vd)) if not v.startswith("__")]
    return out


def _groups(uri):
    out = [uri, os.path.join(uri, "collections")]
    for m in MODS:
        out += [os.path.join(uri, "collections", m), os.path.join(uri, "collections", m, "volumes")]
    return out


def _meta_files(path):
    d = os.path.join(path, "__meta")
    return [f for f in os.listdir(d) if not f.endswith(".vac")] if os.path.isdir(d) else []


def _snapshot(oracle, uri):
    tables = {a: oracle.open(a).df[:].sort_values(["obs_subject_id", "obs_id"]).reset_index(drop=True)
              for a in _arrays(uri) if "volumes" not in a}
    metas = {}
    for g in _groups(uri):
        with oracle.Group(g) as G:
            metas[g] = dict(G.meta)
    for a in _arrays(uri):
        with oracle.open(a) as A:
            metas[a] = dict(A.meta)
    return tables, metas


def _check_same(oracle, uri, data, before):
    tables, metas = _snapshot(oracle, uri)
    for k, df in before[0].items():
        pd.testing.assert_frame_equal(tables[k], df)
    assert metas == before[1]
    ro = radi.RadiObject(uri)
    ro.validate()
    for m in MODS:
        for oid in ro.collection(m).obs_ids:
            np.testing.assert_array_equal(ro.collection(m).loc[oid].to_numpy(), data[oid])
            with oracle.open([e for e in ro._ds.volumes(m) if e[1] == oid][0][2]) as A:
                np.testing.assert_array_equal(A[:]["voxels"] if isinstance(A[:], dict) else A[:], data[oid])


def _check_radiobject(uri, data):
    import radiobject

    r = radiobject.RadiObject(uri)
    r.validate()
    assert len(r) == 4
    for m in MODS:
        vc = r.collection(m)
        for s in ("sub-01", "sub-02", "sub-03", "sub-04"):
            np.testing.assert_array_equal(vc.loc[f"{s}_{m}"].to_numpy(), data[f"{s}_{m}"])


def _one_fragment_everywhere(oracle, uri):
    for a in _arrays(uri):
        assert len(oracle.array_fragments(a)) == 1, a
        assert len(os.listdir(os.path.join(a, "__fragments"))) == 1, a


@pytest.mark.parametrize("how", ["python", "cli"])
def test_consolidate_vacuum_all(appended, oracle, how):
    uri, data = appended
    frags = {a: len(oracle.array_fragments(a)) for a in _arrays(uri)}
    assert frags[os.path.join(uri, "obs_meta")] == 3
    assert all(frags[os.path.join(uri, "collections", m, "obs")] == 3 for m in MODS)
    vol = [e for e in radi.RadiObject(uri)._ds.volumes("FLAIR") if e[1] == "sub-02_FLAIR"][0][2]
    assert frags[vol] == 2
    assert len(_meta_files(os.path.join(uri, "collections", "FLAIR"))) > 1
    before = _snapshot(oracle, uri)

    if how == "python":
        ro = radi.RadiObject(uri)
        ro.consolidate(mode="all")
        _check_same(oracle, uri, data, before)          # nothing deleted yet, same values
        ro.vacuum(mode="all")
    else:
        p = run("consolidate", "--mode", "all", uri)
        assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p
        _check_same(oracle, uri, data, before)
        p = run("vacuum", "--mode=all", uri)
        assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p

    _one_fragment_everywhere(oracle, uri)
    for a in _arrays(uri):
        assert len(_meta_files(a)) <= 1, a
    for g in _groups(uri):
        assert len(_meta_files(g)) <= 1, g   # `collections` and `volumes` have none
    assert len(_meta_files(os.path.join(uri, "collections", "FLAIR"))) == 1
    _check_same(oracle, uri, data, before)
    _check_radiobject(uri, data)
    p = run("validate", uri)
    assert p.returncode == 0, p


def test_default_mode_is_fragments(appended, oracle):
    uri, data = appended
    before = _snapshot(oracle, uri)
    ro = radi.RadiObject(uri)
    ro.consolidate()
    ro.vacuum()
    _one_fragment_everywhere(oracle, uri)
    _check_same(oracle, uri, data, before)
    _check_radiobject(uri, data)
    # Idempotent: a second pass changes nothing.
    listing = sorted(os.path.relpath(os.path.join(d, f), uri) for d, _s, fs in os.walk(uri) for f in fs)
    ro.consolidate()
    ro.vacuum()
    assert sorted(os.path.relpath(os.path.join(d, f), uri) for d, _s, fs in os.walk(uri) for f in fs) == listing


def test_collection_consolidate_and_standalone(appended, oracle, tmp_path):
    uri, data = appended
    before = _snapshot(oracle, uri)
    vc = radi.RadiObject(uri).collection("FLAIR")
    vc.consolidate()
    vc.vacuum()
    _one_fragment_everywhere(oracle, uri)        # the whole dataset, T1w included
    _check_same(oracle, uri, data, before)
    with pytest.raises(TypeError):
        vc.iloc[0:2].consolidate()
    # A stand-alone collection: its volumes and obs.
    dst = str(tmp_path / "alone")
    radi.RadiObject(uri).collection("T1w").materialize(dst)
    with oracle.open(os.path.join(dst, "obs"), "w") as A:  # a second obs fragment
        A[["sub-09"], ["sub-09_T1w"]] = {k: v for k, v in
                                         oracle.open(os.path.join(dst, "obs")).df[:].iloc[:1].drop(
                                             columns=["obs_subject_id", "obs_id"]).to_dict("list").items()}
    assert len(oracle.array_fragments(os.path.join(dst, "obs"))) == 2
    p = run("consolidate", dst)
    assert p.returncode == 0, p
    p = run("vacuum", dst)
    assert p.returncode == 0, p
    assert len(oracle.array_fragments(os.path.join(dst, "obs"))) == 1
    assert len(oracle.open(os.path.join(dst, "obs")).df[:]) == 5


def test_progress_and_errors(appended, oracle, tmp_path):
    uri, _data = appended
    seen = []
    ro = radi.RadiObject(uri)
    L = _lib.lib()
    cb = _lib.PROGRESS_FN(lambda _u, done, total, u: seen.append((done, total, u.decode())))
    _lib.check(L.radi_dataset_consolidate(ro._ds.h, 3, cb, None))  # array_meta: arrays and groups
    n = len(_arrays(uri)) + len(_groups(uri))
    assert [d for d, _t, _u in seen] == list(range(1, n + 1)) and all(t == n for _d, t, _u in seen)
    assert {os.path.normpath(u) for _d, _t, u in seen} == {os.path.normpath(x) for x in _arrays(uri) + _groups(uri)}
    with pytest.raises(ValueError):
        ro.consolidate(mode="everything")
    # A plain group is neither an array nor a dataset: a clear error.
    oracle.Group.create(str(tmp_path / "plain"))
    p = run("consolidate", tmp_path / "plain")
    assert p.returncode == 1 and "not a RadiObject dataset" in p.stderr, p
    p = run("vacuum", tmp_path / "nothing")
    assert p.returncode == 1 and "no TileDB array or dataset" in p.stderr, p
    # An array: as before.
    a = os.path.join(uri, "obs_meta")
    assert run("consolidate", "--mode", "all", a).returncode == 0
    assert run("vacuum", "--mode", "all", a).returncode == 0
    assert len(oracle.array_fragments(a)) == 1


def test_info_dataset(appended, oracle):
    uri, _data = appended
    p = run("info", "--json", uri)
    assert p.returncode == 0, p
    doc = json.loads(p.stdout)
    assert doc["type"] == "dataset" and doc["uri"] == uri
    assert doc["subject_count"] == 4 and doc["subjects"] == ["sub-01", "sub-02", "sub-03", "sub-04"]
    assert doc["obs_meta_fragments"] == 3
    names = [c["name"] for c in doc["collections"]]
    assert sorted(names) == sorted(MODS)
    flair = next(c for c in doc["collections"] if c["name"] == "FLAIR")
    assert flair["volume_count"] == 4 and flair["shape"] == list(SHAPE)
    assert flair["shapes"] == [list(SHAPE)] and flair["dtypes"] == ["int16"]
    assert flair["obs_fragments"] == 3 and flair["volume_fragments"] == 5
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _s, fs in os.walk(os.path.join(uri, "collections", "FLAIR"))
               for f in fs)
    assert flair["bytes_on_disk"] == size
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _s, fs in os.walk(uri) for f in fs)
    assert doc["bytes_on_disk"] == total
    t = run("info", uri)
    assert t.returncode == 0 and "dataset" in t.stdout and "FLAIR" in t.stdout and "4 subjects" in t.stdout, t


from s3_server import moto, s3_bucket  # noqa: E402,F401 (fixtures)


def test_maintenance_on_s3(tmp_path, moto, s3_bucket):
    """The same on S3 through the CLI: a dataset with an append, consolidated and
    vacuumed in every mode, ends with one fragment per array and the same voxels."""
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://{moto.endpoint}", AWS_ACCESS_KEY_ID="test",
               AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")

    def s3run(*args):
        return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300, env=env)

    data = {}
    for i, sid in enumerate(("sub-01", "sub-02", "sub-03")):
        _p, data[sid] = _nifti(tmp_path, sid, "FLAIR", i)
    uri = f"s3://{s3_bucket}/ds"
    nii = tmp_path / "nii"
    assert s3run("ingest", uri, f"FLAIR={nii}/sub-01_FLAIR.nii.gz").returncode == 0
    assert s3run("ingest", "--append", uri, f"FLAIR={nii}/sub-03_FLAIR.nii.gz").returncode == 0
    p = s3run("ingest", "--append", uri, f"FLAIR={nii}/sub-02_FLAIR.nii.gz")
    assert p.returncode == 0, p
    doc = json.loads(s3run("info", "--json", uri).stdout)
    assert doc["collections"][0]["obs_fragments"] == 3 and doc["obs_meta_fragments"] == 3
    for verb in ("consolidate", "vacuum"):
        p = s3run(verb, "--mode", "all", uri)
        assert p.returncode == 0 and p.stdout == "", p
    doc = json.loads(s3run("info", "--json", uri).stdout)
    c = doc["collections"][0]
    assert (c["obs_fragments"], c["volume_fragments"], doc["obs_meta_fragments"]) == (1, 3, 1), doc
    p = s3run("validate", uri)
    assert p.returncode == 0, p
    for sid in ("sub-01", "sub-02", "sub-03"):
        out = tmp_path / f"{sid}.npy"
        p = s3run("slice", uri, "--collection", "FLAIR", "--obs-id", f"{sid}_FLAIR", "--axial", 1, "-o", out)
        assert p.returncode == 0, p
        np.testing.assert_array_equal(np.load(out), data[sid][:, :, 1])
