"""Handles across processes and threads: pickling as small tokens that reopen lazily, a
fork()ed child reopening by itself after the parent has read, fork/forkserver/spawn
children reading the same voxels, close during a read, and radi.ml importing without torch."""
import multiprocessing as mp
import os
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest

import radi
from ml_data import make

pytest.importorskip("nibabel")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make(str(tmp_path_factory.mktemp("mlh")), n=3)


def _read_in_child(args):
    obj, kind = args
    import radi.ml as ml

    if kind == "volume":
        return obj[3:40, 5:30, 7:20]
    if kind == "collection":
        return obj.iloc[1][:, :, 9]
    if kind == "radi_object":
        return obj.T1w.loc[obj.T1w.obs_ids[2]][10:20, 10:20, 10:20]
    if kind == "dataset":
        return np.stack([s["image"] for s in obj.__getitems__([(3, i) for i in range(6)])])
    raise ValueError(kind)


def _digests(args):
    """sha256 of each sample (image, mask, patch_start) of keys, read in this process."""
    import hashlib

    d, keys = args
    out = []
    for smp in d.__getitems__(keys):
        h = hashlib.sha256(smp["image"].tobytes())
        h.update(smp["mask"].tobytes())
        h.update(repr(smp["patch_start"]).encode())
        out.append(h.hexdigest())
    return out


def test_pickle_tokens_are_small_and_lazy(data):
    ds, truth = data
    vol = ds.T1w.iloc[0]
    for obj, limit in ((vol, 1024), (ds.T1w, 2048), (ds, 1024), (ds.T1w.iloc[[2, 0]], 2048),
                       (ds.iloc[[1]], 1024)):
        blob = pickle.dumps(obj)
        assert len(blob) < limit, (type(obj).__name__, len(blob))
    import radi.ml as ml

    cfg = ml.DatasetConfig(loading_mode="patch", patch_size=(8, 8, 8), patches_per_volume=2)
    for d in (ml.VolumeCollectionDataset([ds.T1w, ds.seg], cfg), ml.GridPatchDataset(ds.T1w, (16, 16, 16)),
              ml.SegmentationDataset(ds.T1w, ds.seg, cfg, sampler=ml.PosNegSampler(1, 1))):
        d.__getitems__([0, 5])  # opened volumes and label indexes stay out of the token
        blob = pickle.dumps(d)
        assert len(blob) < 2048, (type(d).__name__, len(blob))
        assert pickle.loads(blob)._open == {}
    v2 = pickle.loads(pickle.dumps(vol))
    assert v2._h is None  # nothing opened yet
    assert v2.shape == vol.shape and v2.dtype == vol.dtype
    assert np.array_equal(v2[:, :, 4], vol[:, :, 4])
    view = pickle.loads(pickle.dumps(ds.T1w.iloc[[2, 0]]))
    assert view.is_view and view.obs_ids == [ds.T1w.obs_ids[2], ds.T1w.obs_ids[0]]
    ro = pickle.loads(pickle.dumps(ds.iloc[[1]]))
    assert ro.obs_subject_ids == [ds.obs_subject_ids[1]]
    assert ro._ds._h is None
    assert np.array_equal(ro.T1w.iloc[0][:, :, 3], truth[ds.obs_subject_ids[1]][0][:, :, 3])


def test_closed_volume_stays_closed(data):
    ds, _ = data
    v = ds.T1w.iloc[0]
    v.close()
    v.close()
    with pytest.raises(ValueError, match="closed"):
        v[:, :, 0]
    with pytest.raises(ValueError):
        pickle.dumps(v)


def test_close_during_reads_is_safe(data):
    """Readers on 4 threads while another thread closes: every read either completes with
    the right voxels or raises 'closed'; the C handle is freed after the last read."""
    ds, truth = data
    ref = truth[ds.obs_subject_ids[0]][0]
    for _ in range(5):
        v = ds.T1w.iloc[0]
        errors, done = [], []
        start = threading.Barrier(5)

        def reader():
            start.wait()
            for _k in range(20):
                try:
                    a = v[:, :, 3:30]
                    if not np.array_equal(a, ref[:, :, 3:30]):
                        errors.append("wrong voxels")
                    done.append(1)
                except ValueError as e:
                    if "closed" not in str(e):
                        errors.append(repr(e))
                    return

        ts = [threading.Thread(target=reader) for _ in range(4)]
        for t in ts:
            t.start()
        start.wait()
        v.close()
        for t in ts:
            t.join(30)
        assert not errors
        assert v._h is None and v._users == 0


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_children_read_after_parent_read(data, method):
    """The parent reads first (its context's pool is running), then children of each start
    method read volumes, views, datasets and a radi.ml dataset handed over by pickling
    (forkserver, spawn) or inherited (fork): same voxels, within the timeout; a whole
    epoch split over the pool's 2 workers equals the parent's, sample for sample."""
    import radi.ml as ml

    ds, truth = data
    vol = ds.T1w.iloc[0]
    seg = ml.SegmentationDataset(ds.T1w, ds.seg, ml.DatasetConfig(loading_mode="patch", patch_size=(16, 16, 16),
                                                                  patches_per_volume=4),
                                 sampler=ml.PosNegSampler(1, 1))
    work = [(vol, "volume"), (ds.T1w, "collection"), (ds, "radi_object"), (seg, "dataset")]
    want = [_read_in_child(w) for w in work]  # the parent has read
    # one epoch of label-balanced samples, read by the parent alone and by 2 workers
    # taking chunks of 5 keys in any order: byte-identical
    keys = [(2, i) for i in range(len(seg))]
    ref = _digests((seg, keys))
    ctx = mp.get_context(method)
    with ctx.Pool(2) as pool:
        got = pool.map_async(_read_in_child, work).get(timeout=120)
        chunks = pool.map_async(_digests, [(seg, keys[k:k + 5]) for k in range(0, len(keys), 5)],
                                chunksize=1).get(timeout=120)
    for g, w in zip(got, want):
        assert np.array_equal(g, w)
    assert [h for c in chunks for h in c] == ref


def test_fork_child_context_is_its_own(data):
    """In a fork()ed child the cached context is rebuilt (new pid) and the parent's volume
    reopens by itself; the C layer would refuse the parent's handles (RadiForkedError)."""
    ds, truth = data
    vol = ds.T1w.iloc[1]
    ref = vol[:, :, 5]
    parent_ctx = radi._lib.context()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            ok = (radi._lib._ctx is None and not parent_ctx.live and np.array_equal(vol[:, :, 5], ref)
                  and radi._lib.context().live and vol._rctx.live)
            os.write(w, b"1" if ok else b"0")
        except BaseException as e:  # noqa: BLE001
            os.write(w, repr(e).encode()[:200])
        os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    msg = os.read(r, 300)
    os.close(r)
    assert msg == b"1", msg


def test_import_radi_ml_without_torch():
    code = ("import sys, radi, radi.ml; assert not {'torch', 'torchio', 'monai'} & set(sys.modules), 'imported';"
            "import radi.ml as ml\n"
            "try:\n    ml.create_training_dataloader(None)\nexcept ImportError as e:\n    print('IE', e)\n"
            "except Exception as e:\n    print('OTHER', type(e).__name__)\n")
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    try:
        import torch  # noqa: F401
    except ImportError:
        assert out.stdout.startswith("IE") and "needs PyTorch" in out.stdout
