"""`ctx=` takes what radiobject 0.1.1's users pass: a TileDB-Py tiledb.Ctx (or Config), e.g.
0.1.1's own radiobject.ctx.ctx(). Each entry point is given a tiledb.Ctx whose setting
only it knows (the moto server's endpoint and keys, or a memory budget) and must use it;
junk is a TypeError naming its type (docs/differences-ctx.md)."""
import ctypes as C
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tiledb

import radi
import radi.parallel
import radi.streaming
from radi import _lib
from radi.ctx import as_radi_ctx
from s3_fixtures import tiledb_config


class _Config(C.Structure):
    _fields_ = [("memory_budget", C.c_uint64), ("concurrency", C.c_uint32), ("format_version", C.c_uint32)]


def c_config(ctx) -> _Config:
    """The radi_config the C context was built with."""
    fn = _lib.lib().radi_ctx_config
    fn.restype, fn.argtypes = C.POINTER(_Config), [C.c_void_p]
    return fn(ctx.handle).contents


def test_none_and_radi_contexts_pass_through():
    assert as_radi_ctx(None) is _lib.context()
    own = _lib.Context((("memory_budget", str(300 << 20)),))
    assert as_radi_ctx(own) is own
    assert radi.ctx() is _lib.context() and radi.ctx.ctx() is _lib.context()
    assert radi.ctx.configure is radi.configure   # the module stays a module


def test_tiledb_settings_take_effect_and_contexts_are_reused():
    t = tiledb.Ctx({"sm.memory_budget": "123456789", "sm.compute_concurrency_level": "3",
                    "sm.io_concurrency_level": "2", "sm.tile_cache_size": "1000"})
    r = as_radi_ctx(t)
    cfg = c_config(r)
    assert (cfg.memory_budget, cfg.concurrency) == (123456789, 3)
    # Same settings, other TileDB objects: the same radi context, not a new one.
    assert as_radi_ctx(tiledb.Ctx({"sm.memory_budget": "123456789", "sm.compute_concurrency_level": "3",
                                   "sm.io_concurrency_level": "2"})) is r
    assert as_radi_ctx(t.config()) is r
    other = as_radi_ctx(tiledb.Config({"sm.memory_budget": "99999999"}))
    assert other is not r and c_config(other).memory_budget == 99999999
    # A default tiledb.Ctx sets nothing radi understands: radi's own configuration holds.
    assert as_radi_ctx(tiledb.Ctx()) is _lib.context()


def test_radiobject_ctx_is_accepted():
    import importlib

    rc = importlib.import_module("radiobject.ctx")
    r = as_radi_ctx(rc.ctx())
    assert c_config(r).memory_budget == rc.get_config().read.memory_budget_mb << 20
    assert c_config(r).concurrency == rc.get_config().read.concurrency


def test_bad_tiledb_value_is_a_value_error():
    with pytest.raises(ValueError, match="TileDB configuration"):
        as_radi_ctx(tiledb.Ctx({"vfs.s3.max_parallel_ops": "0"}))


JUNK = ["ctx", 3, object(), {"sm.memory_budget": "1"}]


@pytest.mark.parametrize("junk", JUNK, ids=lambda j: type(j).__name__)
def test_junk_is_a_type_error_naming_it(tmp_path, junk):
    name = type(junk).__qualname__
    data = np.zeros((4, 3, 2), np.float32)
    calls = [lambda: as_radi_ctx(junk),
             lambda: radi.Volume.from_numpy(str(tmp_path / "v"), data, ctx=junk),
             lambda: radi.Volume.create(str(tmp_path / "v"), (4, 3, 2), ctx=junk),
             lambda: radi.Volume(str(tmp_path / "v"), ctx=junk),
             lambda: radi.RadiObject(str(tmp_path / "d"), ctx=junk),
             lambda: radi.VolumeCollection(str(tmp_path / "c"), ctx=junk),
             lambda: radi.Dataframe(str(tmp_path / "f"), ctx=junk),
             lambda: radi.Dataframe.from_pandas(str(tmp_path / "f"), pd.DataFrame(
                 {"obs_subject_id": ["a"], "obs_id": ["a"]}), ctx=junk),
             lambda: radi.streaming.StreamingWriter(str(tmp_path / "s"), ctx=junk).__enter__(),
             lambda: radi.streaming.RadiObjectWriter(str(tmp_path / "w"), ctx=junk).__enter__()]
    for call in calls:
        with pytest.raises(TypeError, match=name):
            call()
    assert not os.listdir(tmp_path)


def test_tiledb_is_not_imported_by_radi(tmp_path):
    code = ("import sys, numpy as np, radi\n"
            f"radi.Volume.from_numpy({str(tmp_path / 'v')!r}, np.zeros((2, 2, 2)), ctx=None)\n"
            "radi.ctx.as_radi_ctx(None)\n"
            "print('tiledb' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- on S3 (moto) --
# Only the tiledb.Ctx knows the server and its keys: an entry point that ignored it would
# go to AWS instead (radi's own configuration is cleared of endpoints and keys here).

@pytest.fixture
def tctx(moto, monkeypatch):
    for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
              "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/radi-tests/aws")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/radi-tests/aws")
    # Fail fast (and never reach AWS) should an entry point use radi's own context.
    old = radi.get_config().s3
    radi.configure(s3=radi.S3Config(endpoint="http://127.0.0.1:9", max_retries=0, connect_timeout_ms=200))
    yield tiledb.Ctx(tiledb_config(moto.endpoint))
    radi.configure(s3=old)


def _nifti(path, data):
    import nibabel as nib

    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.0, 2.0, 1.0])), str(path))
    return str(path)


def test_every_entry_point_uses_a_tiledb_ctx_on_s3(tctx, s3_bucket, tmp_path):
    base = f"s3://{s3_bucket}"
    data = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)
    with pytest.raises(radi.RadiError):     # radi's own context cannot reach the server
        radi.Volume.from_numpy(f"{base}/nope", data)

    v = radi.Volume.from_numpy(f"{base}/v", data, ctx=tctx)
    np.testing.assert_array_equal(radi.Volume(f"{base}/v", ctx=tctx).to_numpy(), data)
    with tiledb.open(f"{base}/v", ctx=tctx) as a:        # and TileDB-Py finds it there
        np.testing.assert_array_equal(a[:]["voxels"], data)
    assert v.shape == data.shape
    assert radi.Volume.create(f"{base}/c", (4, 3, 2), ctx=tctx).shape == (4, 3, 2)
    nii = _nifti(tmp_path / "a.nii.gz", data)
    np.testing.assert_array_equal(radi.Volume.from_nifti(f"{base}/n", nii, ctx=tctx).to_numpy(), data)

    df = pd.DataFrame({"obs_subject_id": ["s1"], "obs_id": ["s1"], "age": [40]})
    radi.Dataframe.from_pandas(f"{base}/f", df, ctx=tctx)
    assert list(radi.Dataframe(f"{base}/f", ctx=tctx).read()["age"]) == [40]
    radi.Dataframe.create(f"{base}/g", {"age": np.int64}, ctx=tctx)
    assert radi.Dataframe(f"{base}/g", ctx=tctx).read().empty

    nii2 = _nifti(tmp_path / "b.nii.gz", data + 1)
    ro = radi.RadiObject.from_niftis(f"{base}/ds", images={"T1w": [(nii, "s1"), (nii2, "s2")]}, ctx=tctx)
    assert len(radi.RadiObject(f"{base}/ds", ctx=tctx)) == 2 and len(ro) == 2
    vc = radi.VolumeCollection(f"{base}/ds/collections/T1w", ctx=tctx)
    assert len(vc) == 2
    if hasattr(radi.VolumeCollection, "from_niftis"):   # being added beside this branch
        assert len(radi.VolumeCollection.from_niftis(f"{base}/vc", [(nii, "s1")], ctx=tctx)) == 1

    assert len(ro.iloc[[0]].materialize(f"{base}/m1", ctx=tctx)) == 1
    assert len(vc.iloc[[1]].materialize(f"{base}/m2", ctx=tctx)) == 1
    assert ro.lazy().head(1).materialize(f"{base}/m3", ctx=tctx) is not None
    assert len(radi.RadiObject(f"{base}/m3", ctx=tctx)) == 1
    vc.lazy().materialize(f"{base}/m4", ctx=tctx)
    assert len(radi.VolumeCollection(f"{base}/m4", ctx=tctx)) == 2

    with radi.streaming.StreamingWriter(f"{base}/sw", shape=(4, 3, 2), ctx=tctx) as w:
        w.write_volume(data, "s1_T1w", "s1")
    assert len(radi.VolumeCollection(f"{base}/sw", ctx=tctx)) == 1
    with radi.streaming.RadiObjectWriter(f"{base}/rw", ctx=tctx) as w:
        with w.add_collection("T1w") as c:
            c.write_volume(data, "s1_T1w", "s1")
    assert len(radi.RadiObject(f"{base}/rw", ctx=tctx)) == 1
    worker = radi.parallel.create_worker_ctx(tctx)  # a new context with tctx's settings
    assert worker is not as_radi_ctx(tctx) and worker.key == as_radi_ctx(tctx).key
