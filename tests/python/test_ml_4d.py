"""radi.ml on 4-D volumes (no torch needed): samples keep the whole time axis last, as
radiobject 0.1.1's do -- FULL_VOLUME (C, X, Y, Z, T), PATCH (C, *patch, T), SLICE_2D on
each plane (C, a, b, T), grid patches -- with voxels equal to the nibabel-written arrays,
a 3-D mask beside a 4-D image in SegmentationDataset (pos/neg sampling from the mask,
including a subject whose mask has no foreground: never a hang), and a clear error when
the collections stacked as channels disagree beyond the spatial axes."""
import numpy as np
import pytest

from ml_data import box, make4d

pytest.importorskip("nibabel")
import radi.ml as ml  # noqa: E402

SHAPE, T = (21, 18, 11), 3


@pytest.fixture(scope="module")
def data4(tmp_path_factory):
    return make4d(str(tmp_path_factory.mktemp("ml4d")), n=2, shape=SHAPE, t=T)


def _cfg(mode, ps=None, ppv=1):
    return ml.DatasetConfig(loading_mode=mode, patch_size=ps, patches_per_volume=ppv)


def test_4d_samples_keep_time_last(data4):
    ds, truth, _aff = data4
    sids = ds.bold.obs_subject_ids
    assert ds.bold.shape == SHAPE and ds.bold.iloc[0].shape == SHAPE + (T,)
    checked = 0
    d = ml.VolumeCollectionDataset(ds.bold)
    for i in range(2):
        s = d[i]
        assert s["image"].shape == (1,) + SHAPE + (T,) and s["image"].dtype == np.float32
        assert np.array_equal(s["image"][0], truth[sids[i]][0])
        checked += 1
    # patches, one overhanging z (11 < 12): the pad covers every timepoint
    d = ml.VolumeCollectionDataset(ds.bold, _cfg("patch", (7, 9, 12), 60), pad_value=-1.0)
    for s in d.__getitems__(list(range(len(d)))):
        assert s["image"].shape == (1, 7, 9, 12, T) and s["patch_start"][2] == 0
        want = box(truth[sids[s["idx"]]][0], tuple(s["patch_start"]) + (0,), (7, 9, 12, T), pad=-1.0)
        assert np.array_equal(s["image"][0], want)
        assert (s["image"][0][:, :, 11:] == -1.0).all()
        checked += 1
    for orient, ax in (("axial", 2), ("sagittal", 0), ("coronal", 1)):
        d = ml.VolumeCollectionDataset(ds.bold, _cfg("slice_2d"), slice_orientation=orient)
        assert len(d) == 2 * SHAPE[ax]
        for s in d.__getitems__(list(range(len(d)))):
            plane = tuple(n for k, n in enumerate(SHAPE) if k != ax) + (T,)
            assert s["image"].shape == (1,) + plane
            assert np.array_equal(s["image"][0], np.take(truth[sids[s["idx"]]][0], s["slice_idx"], axis=ax))
            checked += 1
    g = ml.GridPatchDataset(ds.bold, (8, 8, 8), stride=(8, 8, 8))
    cover = np.zeros((2,) + SHAPE, np.int32)
    for s in g.__getitems__(list(range(len(g)))):
        x, y, z = s["patch_start"]
        assert np.array_equal(s["image"][0], box(truth[sids[s["idx"]]][0], (x, y, z, 0), (8, 8, 8, T)))
        cover[s["idx"], x:x + 8, y:y + 8, z:z + 8] += 1
        checked += 1
    assert cover.min() >= 1
    assert checked >= 200


def test_4d_image_with_3d_mask_and_empty_foreground(data4):
    ds, truth, _aff = data4
    sids = ds.bold.obs_subject_ids
    d = ml.SegmentationDataset(ds.bold, ds.seg, _cfg("patch", (6, 6, 6), 40), sampler=ml.PosNegSampler(1, 1), seed=4)
    with pytest.warns(UserWarning, match="no foreground"):
        got = d.__getitems__(list(range(80)))  # subject 1 has no foreground: background instead
    draws = d.last_draws
    for s, kind in zip(got, draws):
        img, msk = truth[s["obs_subject_id"]]
        assert s["image"].shape == (1, 6, 6, 6, T) and s["mask"].shape == (1, 6, 6, 6)
        assert np.array_equal(s["image"][0], box(img, tuple(s["patch_start"]) + (0,), (6, 6, 6, T)))
        assert np.array_equal(s["mask"][0], box(msk, s["patch_start"], (6, 6, 6)))
        if kind == "pos":
            assert s["mask"].any()
    assert set(draws[40:]) == {"neg"} and "pos" in draws[:40]
    assert sids == [s["obs_subject_id"] for s in (got[0], got[40])]


def test_4d_channels_must_agree(data4):
    ds, _truth, _aff = data4
    d = ml.VolumeCollectionDataset([ds.bold, ds.seg])
    with pytest.raises(ValueError, match="cannot be stacked as channels"):
        d[0]
