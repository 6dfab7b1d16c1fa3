"""radi.ml datasets without torch: voxel truth of every sample over every mode and both
tilings, padding, determinism, uniformity of patch starts, label-balanced sampling
statistics, one mask tile per draw, memory over 10,000 draws, and the stored label index
leaving the dataset readable and valid for radiobject 0.1.1 and TileDB-Py."""
import math
import pickle

import numpy as np
import pytest

import radi
from ml_data import box, chi2_sf, make, rss_mb

pytest.importorskip("nibabel")
import radi.ml as ml  # noqa: E402

Z999 = 3.2905  # two-sided 99.9 % normal quantile


@pytest.fixture(scope="module", params=["axial", "iso64"])
def data(request, tmp_path_factory):
    return make(str(tmp_path_factory.mktemp("mld")), n=4, tile=request.param)


def _patch_cfg(ps, ppv):
    return ml.DatasetConfig(loading_mode=ml.LoadingMode.PATCH, patch_size=ps, patches_per_volume=ppv)


def _batches(d, keys, n=25):
    for k in range(0, len(keys), n):
        yield from d.__getitems__(keys[k:k + n])


def test_voxel_truth_every_mode(data):
    """>= 1,000 samples per tiling (2,000+ over the two) equal numpy boxes of the
    nibabel-written arrays at each sample's patch_start; padding equals pad_value;
    masks exact; keys and shapes as radiobject 0.1.1's."""
    ds, truth = data
    sids = ds.T1w.obs_subject_ids
    checked = 0
    # PATCH, uniform
    d = ml.VolumeCollectionDataset([ds.T1w], _patch_cfg((32, 32, 32), 100))
    for s in _batches(d, list(range(0, 400))):
        assert set(s) == {"image", "idx", "patch_idx", "patch_start"}
        assert s["image"].shape == (1, 32, 32, 32) and s["image"].dtype == np.float32
        assert np.array_equal(s["image"][0], box(truth[sids[s["idx"]]][0], s["patch_start"], (32, 32, 32)))
        checked += 1
    # PATCH larger than the volume along z (37 < 48): padded with pad_value
    d = ml.VolumeCollectionDataset(ds.T1w, _patch_cfg((24, 24, 48), 25), pad_value=-7.0)
    for s in _batches(d, list(range(100))):
        assert s["patch_start"][2] == 0
        want = box(truth[sids[s["idx"]]][0], s["patch_start"], (24, 24, 48), pad=-7.0)
        assert np.array_equal(s["image"][0], want)
        assert (s["image"][0][:, :, 37:] == -7.0).all()
        checked += 1
    # SLICE_2D, the three planes, every slice of volume 1
    for orient, ax in (("axial", 2), ("sagittal", 0), ("coronal", 1)):
        d = ml.VolumeCollectionDataset(ds.T1w, ml.DatasetConfig(loading_mode="slice_2d"), slice_orientation=orient)
        n = truth[sids[0]][0].shape[ax]
        assert len(d) == 4 * n
        for s in _batches(d, list(range(n, 2 * n))):
            assert s["idx"] == 1 and set(s) == {"image", "idx", "slice_idx"}
            assert np.array_equal(s["image"][0], np.take(truth[sids[1]][0], s["slice_idx"], axis=ax))
            checked += 1
    # FULL_VOLUME with two channels and labels
    d = ml.VolumeCollectionDataset([ds.T1w, ds.seg], labels={o: k * 10 for k, o in enumerate(ds.T1w.obs_ids)})
    for i in range(4):
        s = d[i]
        assert s["image"].shape == (2,) + truth[sids[i]][0].shape and int(s["label"]) == 10 * i
        assert np.array_equal(s["image"][0], truth[sids[i]][0])
        assert np.array_equal(s["image"][1], truth[sids[i]][1].astype(np.float32))
        checked += 1
    # SegmentationDataset: uniform, pos/neg, per-class weights
    for sampler in (None, ml.PosNegSampler(1, 1), ml.LabelSampler({1: 1, 2: 1, 4: 1})):
        d = ml.SegmentationDataset(ds.T1w, ds.seg, _patch_cfg((20, 20, 20), 50), sampler=sampler)
        for s in _batches(d, list(range(0, 200, 2))):
            sid = s["obs_subject_id"]
            assert s["obs_id"] == ds.T1w.obs_ids[s["idx"]] and sid == sids[s["idx"]]
            assert s["mask"].shape == (1, 20, 20, 20) and s["mask"].dtype == np.uint8
            assert np.array_equal(s["image"][0], box(truth[sid][0], s["patch_start"], (20, 20, 20)))
            assert np.array_equal(s["mask"][0], box(truth[sid][1], s["patch_start"], (20, 20, 20)))
            assert all(0 <= st <= n - 20 for st, n in zip(s["patch_start"], truth[sid][1].shape))
            checked += 1
    # Grid: every voxel of every volume covered, voxels right
    g = ml.GridPatchDataset(ds.T1w, (32, 32, 32), stride=(32, 32, 32))
    cover = np.zeros((4,) + truth[sids[0]][0].shape, np.int32)
    for s in _batches(g, list(range(len(g)))):
        x, y, z = s["patch_start"]
        assert np.array_equal(s["image"][0], box(truth[sids[s["idx"]]][0], (x, y, z), (32, 32, 32)))
        cover[s["idx"], x:x + 32, y:y + 32, z:z + 32] += 1
        checked += 1
    assert cover.min() >= 1
    assert checked >= 1000


def test_determinism(data):
    ds, _ = data
    d = ml.SegmentationDataset(ds.T1w, ds.seg, _patch_cfg((16, 16, 16), 100), sampler=ml.PosNegSampler(1, 1), seed=7)
    keys = list(range(0, 400, 2))
    a = [s["patch_start"] for s in d.__getitems__(keys)]
    rev = [s["patch_start"] for s in d.__getitems__(keys[::-1])][::-1]
    one = [d[k]["patch_start"] for k in keys[:40]]
    assert a == rev and a[:40] == one
    perm = np.random.default_rng(3).permutation(len(keys))
    shuf = {keys[j]: s["patch_start"] for j, s in zip(perm, d.__getitems__([keys[j] for j in perm]))}
    assert [shuf[k] for k in keys] == a
    d2 = pickle.loads(pickle.dumps(d))
    assert [s["patch_start"] for s in d2.__getitems__(keys)] == a
    d2.set_epoch(1)
    e1 = [s["patch_start"] for s in d2.__getitems__(keys)]
    assert sum(x != y for x, y in zip(a, e1)) >= 0.95 * len(keys)  # pos/neg centres repeat more often
    assert [s["patch_start"] for s in d.__getitems__([(1, k) for k in keys])] == e1
    u = ml.VolumeCollectionDataset(ds.T1w, _patch_cfg((16, 16, 16), 100), seed=7)
    u0 = [s["patch_start"] for s in u.__getitems__(keys)]
    u.set_epoch(1)
    u1 = [s["patch_start"] for s in u.__getitems__(keys)]
    assert sum(x != y for x, y in zip(u0, u1)) >= 0.99 * len(keys)
    other = ml.VolumeCollectionDataset(ds.T1w, _patch_cfg((16, 16, 16), 100), seed=8)
    assert sum(x != y for x, y in zip(u0, [s["patch_start"] for s in other.__getitems__(keys)])) >= 0.99 * len(keys)
    es = ml.EpochSampler(10, seed=1)
    first, second = list(es), list(es)
    assert [e for e, _ in first] == [0] * 10 and [e for e, _ in second] == [1] * 10
    assert sorted(i for _, i in first) == list(range(10)) and first != second


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    """One 40^3 subject; its mask has one 6^3 foreground cube (0.34 % of voxels, class 1)."""
    import nibabel as nib

    root = tmp_path_factory.mktemp("cube")
    img = np.random.default_rng(0).integers(0, 100, (40, 40, 40)).astype(np.int16)
    m = np.zeros((40, 40, 40), np.uint8)
    m[20:26, 11:17, 30:36] = 1
    nib.save(nib.Nifti1Image(img, np.eye(4)), str(root / "s_T1w.nii.gz"))
    nib.save(nib.Nifti1Image(m, np.eye(4)), str(root / "s_seg.nii.gz"))
    old = radi.get_config().write.tile
    radi.configure(tile=radi.TileConfig(orientation="isotropic", x=16, y=16, z=16))
    try:
        ds = radi.RadiObject.from_niftis(str(root / "ds"), images={"T1w": [(str(root / "s_T1w.nii.gz"), "s")],
                                                                   "seg": [(str(root / "s_seg.nii.gz"), "s")]})
    finally:
        radi.configure(tile=old)
    return ds, m


def test_uniform_patch_starts_chi_square(cube):
    ds, _ = cube
    d = ml.VolumeCollectionDataset(ds.T1w, _patch_cfg((16, 16, 16), 100_000), seed=11)
    counts = np.zeros((25, 25, 25), np.int64)
    for i in range(100_000):
        counts[d._plan(0, i)["start"]] += 1
    exp = 100_000 / counts.size
    stat = float(((counts - exp) ** 2 / exp).sum())
    assert chi2_sf(stat, counts.size - 1) > 0.001


def _draw(d, n, batch=500):
    """n label-balanced draws (plans only, no image reads): centres, kinds, tiles read."""
    centres, kinds, tiles = [], [], 0
    for k in range(0, n, batch):
        plans = [dict(d._plan(0, i), e=0, i=i) for i in range(k, min(k + batch, n))]
        d._prepare(plans)
        tiles += d.last_read_stats["tiles_read"]
        centres += [p.get("centre") for p in plans]
        kinds += [p.get("draw") for p in plans]
    return centres, kinds, tiles


def test_pos_neg_one_to_one(cube):
    ds, m = cube
    n = 20_000
    d = ml.SegmentationDataset(ds.T1w, ds.seg, _patch_cfg((16, 16, 16), n), sampler=ml.PosNegSampler(1, 1), seed=5)
    centres, kinds, tiles = _draw(d, n)
    fg = np.array([m[c] > 0 for c in centres])
    assert all(f == (k == "pos") for f, k in zip(fg, kinds))
    half = Z999 * math.sqrt(0.25 / n)
    assert abs(fg.mean() - 0.5) < half, fg.mean()
    assert tiles <= n  # one mask tile per draw at most
    # foreground centres uniform over the 216 cube voxels
    pos = [c for c, f in zip(centres, fg) if f]
    cnt = np.zeros((6, 6, 6))
    for c in pos:
        cnt[c[0] - 20, c[1] - 11, c[2] - 30] += 1
    exp = len(pos) / 216
    assert chi2_sf(float(((cnt - exp) ** 2 / exp).sum()), 215) > 0.001
    # every positive patch holds foreground; every patch lies inside the volume
    for i in range(0, 400):
        s = d[i]
        assert all(0 <= st <= 24 for st in s["patch_start"])
        if d.last_draws[0] == "pos":
            assert s["mask"].any()


def test_positive_draws_read_one_mask_tile_each(data):
    """1,000 positive draws (PosNegSampler(1, 0)) over 4 volumes read at most one mask
    tile each (read statistics of the draws, the label indexes built beforehand), and
    every drawn centre is a foreground voxel."""
    ds, truth = data
    d = ml.SegmentationDataset(ds.T1w, ds.seg, _patch_cfg((16, 16, 16), 250), sampler=ml.PosNegSampler(1, 0),
                               seed=13)
    for v in range(4):
        d.label_index(v)
    sids = ds.T1w.obs_subject_ids
    centres, kinds, tiles = [], [], 0
    for k in range(0, 1000, 100):
        plans = [dict(d._plan(0, i), e=0, i=i) for i in range(k, k + 100)]
        d._prepare(plans)
        st = d.last_read_stats
        assert st["tiles_read"] <= 100, st
        tiles += st["tiles_read"]
        centres += [(i // 250, p["centre"]) for i, p in zip(range(k, k + 100), plans)]
        kinds += [p["draw"] for p in plans]
    assert kinds == ["pos"] * 1000 and tiles <= 1000
    assert all(truth[sids[v]][1][c] > 0 for v, c in centres)


def test_label_sampler_weights_multinomial(data):
    ds, truth = data
    n = 6000
    d = ml.SegmentationDataset(ds.T1w, ds.seg, _patch_cfg((16, 16, 16), n // 4),
                               sampler=ml.LabelSampler({0: 0, 1: 2, 2: 1, 4: 1, 9: 5}), seed=2)
    centres, kinds, tiles = _draw(d, n)
    sids = ds.T1w.obs_subject_ids
    ppv = n // 4
    got = np.array([truth[sids[i // ppv]][1][c] for i, c in enumerate(centres)])
    assert list(got) == kinds  # the drawn voxel is of the chosen class; class 9 (absent) skipped
    for cls, p in ((1, 0.5), (2, 0.25), (4, 0.25)):
        f = float((got == cls).mean())
        assert abs(f - p) < Z999 * math.sqrt(p * (1 - p) / n), (cls, f)
    assert tiles <= n


def test_absent_classes_never_hang(data):
    ds, _ = data
    with pytest.warns(UserWarning):
        d = ml.SegmentationDataset(ds.T1w, ds.seg, _patch_cfg((16, 16, 16), 10), sampler=ml.LabelSampler({7: 1}))
        s = d.__getitems__(list(range(10)))
    assert all(k == "uniform" for k in d.last_draws) and len(s) == 10


def test_memory_over_10000_draws(tmp_path):
    ds, _ = make(str(tmp_path), n=8, shape=(48, 44, 30), tile="axial", seed=3)
    d = ml.SegmentationDataset(ds.T1w, ds.seg, _patch_cfg((16, 16, 16), 1250), sampler=ml.PosNegSampler(1, 1))
    keys = list(range(len(d)))
    for s in d.__getitems__(keys[:500]):
        pass
    before = rss_mb()
    for k in range(0, 10_000, 100):
        d.__getitems__(keys[k:k + 100])
    grown = rss_mb() - before
    assert grown < 50, grown


def test_label_index_stored_and_compatible(data, oracle, tmp_path):
    ds, truth = data
    d = ml.SegmentationDataset(ds.T1w, ds.seg, _patch_cfg((16, 16, 16), 2), sampler=ml.PosNegSampler(1, 1))
    d.__getitems__(list(range(8)))  # builds and stores every mask's index
    sids = ds.T1w.obs_subject_ids
    for k, sid in enumerate(sids):
        vol = ds.seg.iloc[k]
        text = vol._meta(ml._labels.META_KEY)
        assert text and len(text) < 8192
        idx = ml.LabelIndex.from_json(text)
        vals, counts = np.unique(truth[sid][1], return_counts=True)
        assert idx.class_counts == dict(zip(vals.tolist(), counts.tolist()))
        # per-tile counts equal a bincount of each tile
        for cls, (tids, ns) in idx.classes.items():
            for t, n in zip(tids[:5], ns[:5]):
                st, sh = idx.tile_box(t)
                assert int((box(truth[sid][1], st, sh) == cls).sum()) == n
        assert ml.label_index(vol).signature == idx.signature  # reused, not rebuilt
        with oracle.open(vol.uri) as A:
            assert ml._labels.META_KEY in A.meta
            assert np.array_equal(A[:, :, :][A.schema.attr(0).name], truth[sid][1])
    radiobject = pytest.importorskip("radiobject")
    r = radiobject.RadiObject(ds.uri)
    r.validate()
    assert np.array_equal(np.asarray(r.seg.iloc[0].to_numpy()), truth[sids[0]][1])
    ds.validate()
