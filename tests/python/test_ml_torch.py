"""radi.ml with PyTorch (skipped without torch; scripts/test.sh installs it with
RADI_TEST_ML=1): DataLoader epochs identical for num_workers 0 and 2 under fork,
forkserver and spawn (persistent workers included), after the parent has read; a
2-epoch training loop of a tiny Conv3d through each of radiobject 0.1.1's factories."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("nibabel")

import radi.ml as ml  # noqa: E402
from ml_data import make  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make(str(tmp_path_factory.mktemp("mlt")), n=3, shape=(30, 28, 22), tile="axial")


def _epochs(loader, n=2):
    out = []
    for _e in range(n):
        ep = []
        for b in loader:
            ep.append((b["idx"].tolist(), [t.tolist() for t in b["patch_start"]], b["image"].double().sum().item(),
                       b["mask"].sum().item()))
        out.append(ep)
    return out


def test_dataloader_epochs_identical_across_workers_and_start_methods(data):
    ds, _ = data
    ds.T1w.iloc[0][:, :, 3]  # the parent has read: its pool threads are running

    def loader(workers, method=None, persistent=False):
        return ml.create_segmentation_dataloader(ds.T1w, ds.seg, batch_size=4, patch_size=(12, 12, 12),
                                                 num_workers=workers, patches_per_volume=8,
                                                 persistent_workers=persistent, sampler=ml.PosNegSampler(1, 1),
                                                 seed=3, multiprocessing_context=method)

    ref = _epochs(loader(0))
    assert ref[0] != ref[1]  # a new epoch draws new patches
    for method, persistent in (("fork", False), ("forkserver", True), ("spawn", False)):
        got = _epochs(loader(2, method, persistent))
        assert got == ref, method


def _train(loader, key="image", target=None):
    net = torch.nn.Conv3d(1, 1, 3, padding=1)
    opt = torch.optim.SGD(net.parameters(), lr=1e-6)
    steps = 0
    for _epoch in range(2):
        for b in loader:
            x = b[key][:, :1].float()
            y = b[target].float() if target else torch.zeros_like(x)
            loss = torch.nn.functional.mse_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
    return steps


def test_factories_train_two_epochs(data):
    ds, _ = data
    assert _train(ml.create_training_dataloader(ds.T1w, batch_size=2, patch_size=(8, 8, 8), num_workers=0,
                                                patches_per_volume=2)) == 2 * 3
    assert _train(ml.create_training_dataloader([ds.T1w, ds.seg], labels={o: 1 for o in ds.T1w.obs_ids},
                                                batch_size=3, num_workers=0)) == 2
    assert _train(ml.create_validation_dataloader(ds.T1w, batch_size=2, patch_size=(8, 8, 8),
                                                  num_workers=0)) == 2 * 2
    assert _train(ml.create_inference_dataloader(ds.T1w, batch_size=1, num_workers=0)) == 2 * 3
    assert _train(ml.create_segmentation_dataloader(ds.T1w, ds.seg, batch_size=2, patch_size=(8, 8, 8),
                                                    num_workers=2, foreground_sampling=True,
                                                    patches_per_volume=2, multiprocessing_context="fork"),
                  target="mask") == 2 * 3
    b = next(iter(ml.create_segmentation_dataloader(ds.T1w, ds.seg, batch_size=2, patch_size=(8, 8, 8),
                                                    num_workers=0, foreground_sampling=True)))
    assert b["image"].shape == (2, 1, 8, 8, 8) and b["mask"].shape == (2, 1, 8, 8, 8)
    assert set(b) == {"image", "mask", "idx", "patch_idx", "patch_start", "obs_id", "obs_subject_id"}
    assert all(m.any() for m in b["mask"])  # centred on foreground


def test_samples_are_tensors_with_tensors_true(data):
    ds, _ = data
    d = ml.VolumeCollectionDataset(ds.T1w, ml.DatasetConfig(loading_mode="patch", patch_size=(8, 8, 8)),
                                   labels={ds.T1w.obs_ids[0]: 2.5}, tensors=True)
    s = d[0]
    assert isinstance(s["image"], torch.Tensor) and s["image"].dtype == torch.float32
    assert isinstance(s["label"], torch.Tensor) and float(s["label"]) == 2.5
    assert np.array_equal(s["image"].numpy(), ml.VolumeCollectionDataset(
        ds.T1w, ml.DatasetConfig(loading_mode="patch", patch_size=(8, 8, 8)))[0]["image"])
