"""Two writers at once (docs/dataset.md §8.5): appends to one dataset from two processes
are serialized by the dataset's writer lock, so every append that reports success is
fully present, nothing is rolled back over another writer's commit, and the dataset
validates in radi and in radiobject 0.1.1 afterwards. A writer that cannot get the lock
in time fails with one clear line naming the lock and leaves the dataset as it was.
"""
import os
import subprocess

import nibabel as nib
import numpy as np
import pytest

import radi
from radi import _lib

CLI = str(_lib.cli_path())
RUNS = 20


def _nifti(path, value):
    data = np.full((12, 10, 6), value, dtype=np.int16)
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(path))


def _ingest(ds, src_dir, append):
    args = [CLI, "ingest", *(["--append"] if append else []), str(ds), f"T1w={src_dir}/*_T1w.nii.gz"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("run", range(RUNS))
def test_two_appends_at_once_are_serialized(tmp_path, run):
    # Subjects sort so that one append renumbers existing volumes (B sorts before M).
    base, a, b = tmp_path / "base", tmp_path / "a", tmp_path / "b"
    for d in (base, a, b):
        d.mkdir()
    values = {}
    for sid, d in (("M01", base), ("M02", base), ("Z01", a), ("Z02", a), ("B01", b)):
        values[sid] = len(values) + 1
        _nifti(d / f"{sid}_T1w.nii.gz", values[sid])
    ds = tmp_path / "ds"
    p = _ingest(ds, base, append=False)
    assert p.wait(timeout=120) == 0, p.stderr.read()
    procs = [_ingest(ds, a, append=True), _ingest(ds, b, append=True)]
    results = [(q.wait(timeout=120), q.stderr.read()) for q in procs]
    for code, err in results:
        assert code == 0, err  # the second writer waited for the first
    # Every acknowledged volume is there with its own voxels, in 0.1.1's positional order.
    obj = radi.RadiObject(str(ds))
    ids = sorted(f"{s}_T1w" for s in values)
    assert sorted(obj.T1w.obs_ids) == ids
    for sid, v in values.items():
        assert np.all(obj.T1w.loc[f"{sid}_T1w"].to_numpy() == v), sid
    check = subprocess.run([CLI, "validate", str(ds)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    if run == 0:
        import radiobject
        ro = radiobject.RadiObject(str(ds))
        ro.validate()
        for sid, v in values.items():
            assert np.all(np.asarray(ro.collection("T1w").loc[f"{sid}_T1w"].to_numpy()) == v), sid


def test_a_writer_that_cannot_get_the_lock_fails_cleanly(tmp_path):
    src = tmp_path / "nii"
    src.mkdir()
    _nifti(src / "S1_T1w.nii.gz", 1)
    ds = tmp_path / "ds"
    assert _ingest(ds, src, append=False).wait(timeout=120) == 0
    more = tmp_path / "more"
    more.mkdir()
    _nifti(more / "S2_T1w.nii.gz", 2)
    before = sorted(os.path.relpath(os.path.join(d, f), ds) for d, _, fs in os.walk(ds) for f in fs)
    # Hold the lock the way another writer would (an OFD lock on the lock file).
    import fcntl
    import struct
    fd = os.open(ds / "__radi_lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.fcntl(fd, 37, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))  # F_OFD_SETLK
        p = subprocess.run([CLI, "-o", "dataset.lock_wait_ms=300", "ingest", "--append", str(ds),
                            f"T1w={more}/*_T1w.nii.gz"], capture_output=True, text=True, timeout=120)
    finally:
        os.close(fd)
    assert p.returncode == 1
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and "another writer" in lines[0] and "__radi_lock" in lines[0], p.stderr
    after = sorted(os.path.relpath(os.path.join(d, f), ds) for d, _, fs in os.walk(ds) for f in fs)
    assert after == before


# ------------------------------------------------------------------------ S3 lease --
from s3_server import moto, s3_bucket  # noqa: E402,F401  (pytest fixtures)


def _s3_env(moto):
    return dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                AWS_ENDPOINT_URL=f"http://{moto.endpoint}", AWS_REGION="us-east-1")


def _lease(expires_in_ms):
    import time
    return b"radi-lease 1\nowner someone\nexpires_ms %d\n" % (int(time.time() * 1000) + expires_in_ms)


def test_s3_appends_at_once_are_serialized_and_leases_respected(tmp_path, moto, s3_bucket):
    env = _s3_env(moto)
    dirs = {}
    for d, sids in (("base", ["M01", "M02"]), ("a", ["Z01"]), ("b", ["B01"]), ("c", ["C01"])):
        dirs[d] = tmp_path / d
        dirs[d].mkdir()
        for sid in sids:
            _nifti(dirs[d] / f"{sid}_T1w.nii.gz", len(sid) + ord(sid[0]))
    ds = f"s3://{s3_bucket}/ds"

    def ingest(d, *extra, append=True):
        return subprocess.Popen([CLI, *extra, "ingest", *(["--append"] if append else []), ds,
                                 f"T1w={dirs[d]}/*_T1w.nii.gz"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    p = ingest("base", append=False)
    assert p.wait(timeout=120) == 0, p.stderr.read()
    procs = [ingest("a"), ingest("b")]
    for q in procs:
        assert q.wait(timeout=120) == 0, q.stderr.read()
    s3 = moto.client()
    assert "Contents" not in s3.list_objects_v2(Bucket=s3_bucket, Prefix="ds/__radi_lock")
    # Another writer's live lease: refused after the wait, with one clear line.
    s3.put_object(Bucket=s3_bucket, Key="ds/__radi_lock", Body=_lease(600000))
    q = ingest("c", "-o", "dataset.lock_wait_ms=300")
    assert q.wait(timeout=120) == 1
    err = q.stderr.read().splitlines()
    assert len(err) == 1 and "another writer" in err[0], err
    # An expired lease (its writer died) is taken over.
    s3.put_object(Bucket=s3_bucket, Key="ds/__radi_lock", Body=_lease(-1000))
    q = ingest("c", "-o", "dataset.lock_wait_ms=300")
    assert q.wait(timeout=120) == 0, q.stderr.read()
    out = subprocess.run([CLI, "ls", "--json", ds], env=env, capture_output=True, text=True, timeout=60)
    import json
    ids = sorted(v["obs_id"] for c in json.loads(out.stdout)["collections"] for v in c["volumes"])
    assert ids == sorted(f"{s}_T1w" for s in ("M01", "M02", "Z01", "B01", "C01"))
    v = subprocess.run([CLI, "validate", ds], env=env, capture_output=True, text=True, timeout=60)
    assert v.returncode == 0, v.stdout + v.stderr
