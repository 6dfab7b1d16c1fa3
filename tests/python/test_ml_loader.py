"""radi.ml.BatchLoader (no torch): batches equal to the dataset's own samples in the
EpochSampler's order, read ahead on a thread; a new permutation and new patches every
epoch; drop_last; collate; an error while reading is raised to the loop; leaving the loop
early stops the thread; the same samples as the torch DataLoader factories (with torch)."""
import threading

import numpy as np
import pytest

from ml_data import make

pytest.importorskip("nibabel")
import radi.ml as ml  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make(str(tmp_path_factory.mktemp("mll")), n=3, shape=(30, 28, 22), tile="axial")


def _seg(ds, **kw):
    cfg = ml.DatasetConfig(loading_mode="patch", patch_size=(10, 10, 10), patches_per_volume=7)
    return ml.SegmentationDataset(ds.T1w, ds.seg, cfg, sampler=ml.PosNegSampler(1, 1), seed=5, **kw)


def test_batches_follow_the_epoch_sampler(data):
    ds, _ = data
    d = _seg(ds)
    loader = ml.BatchLoader(d, batch_size=4, shuffle=True, seed=3, prefetch=2)
    assert len(loader) == 6  # 21 samples: 5 full batches and one of 1
    epochs = []
    for e in range(2):
        keys = list(ml.EpochSampler(len(d), shuffle=True, seed=3, epoch=e))
        want = d.__getitems__(keys)
        got = list(loader)
        assert [len(b["idx"]) for b in got] == [4, 4, 4, 4, 4, 1]
        flat = [{k: b[k][j] for k in b} for b in got for j in range(len(b["idx"]))]
        for w, g in zip(want, flat):
            assert np.array_equal(w["image"], g["image"]) and np.array_equal(w["mask"], g["mask"])
            assert tuple(g["patch_start"]) == w["patch_start"] and g["obs_id"] == w["obs_id"]
        assert got[0]["image"].shape == (4, 1, 10, 10, 10) and got[0]["patch_start"].shape == (4, 3)
        epochs.append([tuple(p) for b in got for p in b["patch_start"]])
    assert epochs[0] != epochs[1] and loader.epoch == 2
    loader.set_epoch(0)
    assert [tuple(p) for b in loader for p in b["patch_start"]] == epochs[0]
    ordered = ml.BatchLoader(d, batch_size=5, drop_last=True)
    assert len(ordered) == 4 and [b["idx"].tolist() for b in ordered][0] == [0, 0, 0, 0, 0]


def test_errors_surface_and_early_exit_stops_the_thread(data):
    ds, _ = data
    d = _seg(ds)

    class Boom(RuntimeError):
        pass

    def bad(samples):
        if samples[0]["idx"] == 1:
            raise Boom("collate failed")
        return ml.collate(samples)

    with pytest.raises(Boom):
        for _b in ml.BatchLoader(d, batch_size=7, collate_fn=bad):
            pass
    before = {t.ident for t in threading.enumerate()}
    it = iter(ml.BatchLoader(d, batch_size=1, prefetch=1))
    next(it)
    it.close()  # leaves the loop early: the reader thread ends
    assert not [t for t in threading.enumerate() if t.name == "radi-batch-loader" and t.ident not in before]
    with pytest.raises(ValueError):
        ml.BatchLoader(d, batch_size=0)


def test_same_samples_as_the_torch_factories(data):
    torch = pytest.importorskip("torch")
    ds, _ = data
    tl = ml.create_segmentation_dataloader(ds.T1w, ds.seg, batch_size=4, patch_size=(10, 10, 10), num_workers=0,
                                           patches_per_volume=7, sampler=ml.PosNegSampler(1, 1), seed=5)
    bl = ml.BatchLoader(_seg(ds, tensors=True), batch_size=4, shuffle=True, drop_last=True, seed=5)
    for _e in range(2):
        for a, b in zip(tl, bl, strict=True):
            assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])
            assert a["idx"].tolist() == b["idx"].tolist()
