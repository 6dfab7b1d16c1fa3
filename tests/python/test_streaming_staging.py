"""Staging objects of streaming writes killed mid-write (docs/dataset.md §8.7): a process
killed with SIGKILL leaves `<uri>.radi-tmp-<hex>` beside the target; radi.repair(uri), the
CLI's `radi repair` and the next streaming writer to uri remove it; a live writer's
staging object (held in another process, or in this one) is never touched. The same on S3
(moto), where the dead writer's lease has to expire first."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import radi
import radi.streaming
from radi import _lib
from s3_fixtures import aws_env, radi_s3_config

SHAPE = (4, 3, 2)

WRITER = textwrap.dedent("""
    import sys, time, numpy as np, radi, radi.streaming
    uri, kind = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        radi.configure(s3=radi.S3Config(endpoint=sys.argv[3], region="us-east-1",
                                        lock_lease_ms=1000))
    if kind == "collection":
        w = radi.streaming.StreamingWriter(uri, shape=(4, 3, 2)).__enter__()
        w.write_volume(np.ones((4, 3, 2), np.float32), "s1_T1w", "s1")
    else:
        w = radi.streaming.RadiObjectWriter(uri).__enter__()
        c = w.add_collection("T1w").__enter__()
        c.write_volume(np.ones((4, 3, 2), np.float32), "s1_T1w", "s1")
    print("ready", flush=True)
    time.sleep(600)
""")


def start_writer(uri, kind="collection", endpoint=None, env=None):
    """A process that opens a streaming writer on uri, writes one volume and waits."""
    args = [sys.executable, "-c", WRITER, uri, kind] + ([endpoint] if endpoint else [])
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, **(env or {})})
    line = p.stdout.readline()
    if line.strip() != "ready":
        p.kill()
        raise AssertionError(f"writer did not start: {line!r} {p.stderr.read()}")
    return p


def kill(p):
    p.send_signal(signal.SIGKILL)
    p.wait()


def siblings(tmp_path, base="out"):
    return sorted(n for n in os.listdir(tmp_path) if n.startswith(base + ".radi-tmp-"))


@pytest.mark.parametrize("kind", ["collection", "dataset"])
def test_killed_writer_leaves_staging_that_repair_removes(tmp_path, kind):
    uri = str(tmp_path / "out")
    kill(start_writer(uri, kind))
    left = siblings(tmp_path)
    stage = [n for n in left if not n.endswith(".lock")]
    assert len(stage) == 1 and stage[0] + ".lock" in left and not os.path.exists(uri)
    assert os.listdir(tmp_path / stage[0])          # the volume written before the kill
    assert radi.repair(uri) == "streaming_write"
    assert siblings(tmp_path) == [] and not os.path.exists(uri)
    with pytest.raises(radi.RadiNotFoundError, match="no dataset there"):
        radi.repair(uri)                            # nothing left to repair


def test_cli_repair_reports_it(tmp_path):
    uri = str(tmp_path / "out")
    kill(start_writer(uri))
    out = subprocess.run([str(_lib.cli_path()), "repair", uri], capture_output=True,
                         text=True, check=True).stdout
    assert "streaming_write" in out and siblings(tmp_path) == []


def test_live_writers_are_left_alone(tmp_path):
    uri = str(tmp_path / "out")
    p = start_writer(uri)                           # alive in another process
    try:
        with radi.streaming.StreamingWriter(str(tmp_path / "out"), shape=SHAPE) as mine:
            # ... and one in this process: its lock is an open file's, so this process's
            # repair finds it busy too.
            mine.write_volume(np.zeros(SHAPE, np.float32), "a", "a")
            before = siblings(tmp_path)
            assert len(before) == 4
            with pytest.raises(radi.RadiNotFoundError):
                radi.repair(uri)                    # nothing at uri, nothing dead beside it
            assert siblings(tmp_path) == before
            kill(p)                                 # now one of them is dead
            assert radi.repair(uri) == "streaming_write"
            assert len(siblings(tmp_path)) == 2     # mine, and its lock
        assert radi.VolumeCollection(uri).obs_ids == ["a"] and siblings(tmp_path) == []
    finally:
        if p.poll() is None:
            kill(p)


def test_from_niftis_temporary_dataset_is_a_live_staging_object(tmp_path, monkeypatch):
    """VolumeCollection.from_niftis ingests into a temporary dataset beside uri: it is a
    staging object under its lock, so a repair of uri while it is built leaves it alone,
    and nothing is left beside uri after (it is moved, then removed with its lock)."""
    nib = pytest.importorskip("nibabel")
    src = tmp_path / "src"
    src.mkdir()
    for sid in ("s1", "s2"):
        nib.save(nib.Nifti1Image(np.full((4, 3, 2), len(sid), np.int16), np.eye(4)), src / f"{sid}.nii.gz")
    uri = str(tmp_path / "out")
    seen = {}
    real = radi.RadiObject._create_and_ingest.__func__

    def spy(cls, tmp, *a, **k):
        ro = real(cls, tmp, *a, **k)
        seen["during"] = siblings(tmp_path)
        with pytest.raises(radi.RadiNotFoundError):
            radi.repair(uri)                        # nothing dead beside uri
        seen["after_repair"] = siblings(tmp_path)
        return ro

    monkeypatch.setattr(radi.RadiObject, "_create_and_ingest", classmethod(spy))
    vc = radi.VolumeCollection.from_niftis(uri, [(str(src / "s1.nii.gz"), "s1"), (str(src / "s2.nii.gz"), "s2")])
    assert len(seen["during"]) == 2 and seen["after_repair"] == seen["during"]   # staging and its lock
    assert siblings(tmp_path) == []
    assert vc.obs_ids == ["s1_unknown", "s2_unknown"]   # 0.1.1 names it by series type
    np.testing.assert_array_equal(radi.VolumeCollection(uri).iloc[1].to_numpy(), np.full((4, 3, 2), 2, np.int16))


def test_next_writer_removes_dead_staging(tmp_path):
    uri = str(tmp_path / "out")
    kill(start_writer(uri, "dataset"))
    dead = {n.removesuffix(".lock") for n in siblings(tmp_path)}
    assert len(dead) == 1
    with radi.streaming.RadiObjectWriter(uri) as w:
        mine = {n.removesuffix(".lock") for n in siblings(tmp_path)}
        assert len(mine) == 1 and mine != dead      # the dead one went, this one came
        with w.add_collection("T1w") as c:
            c.write_volume(np.zeros(SHAPE, np.float32), "s1_T1w", "s1")
    assert siblings(tmp_path) == [] and len(radi.RadiObject(uri)) == 1


def test_repair_of_a_dataset_also_removes_dead_siblings(tmp_path):
    uri = str(tmp_path / "out")
    kill(start_writer(uri))
    with radi.streaming.RadiObjectWriter(str(tmp_path / "other")) as w:
        with w.add_collection("T1w") as c:
            c.write_volume(np.zeros(SHAPE, np.float32), "s1_T1w", "s1")
    os.rename(tmp_path / "other", uri)              # a dataset at uri, a dead staging beside it
    assert radi.repair(uri) == "streaming_write"
    assert siblings(tmp_path) == [] and len(radi.RadiObject(uri)) == 1
    assert radi.repair(uri) is None


def test_on_s3_after_the_lease_expires(moto, s3_bucket):
    endpoint = f"http://{moto.endpoint}"
    uri = f"s3://{s3_bucket}/out"
    old = radi.get_config().s3
    radi.configure(s3=radi_s3_config(endpoint, lock_lease_ms=1000))
    env = {k: v for k, v in aws_env(endpoint).items() if k != "AWS_ENDPOINT_URL"}
    p = start_writer(uri, "collection", endpoint, env)
    try:
        def listed():
            import tiledb
            from s3_fixtures import tiledb_config

            vfs = tiledb.VFS(config=tiledb_config(moto.endpoint))
            return sorted(n.rstrip("/").rsplit("/", 1)[-1] for n in vfs.ls(f"s3://{s3_bucket}/")
                          if "out.radi-tmp-" in n)

        assert len(listed()) == 2
        time.sleep(1.5)                             # longer than a lease: the renewals keep it
        with pytest.raises(radi.RadiNotFoundError):
            radi.repair(uri)
        assert len(listed()) == 2
        kill(p)
        time.sleep(1.5)                             # the dead writer's lease expires
        assert radi.repair(uri) == "streaming_write"
        assert listed() == []
    finally:
        if p.poll() is None:
            kill(p)
        radi.configure(s3=old)
