"""radi.ml beside the libraries it stands in for (each test skips when its library is
absent): the TorchIO adapter (real affines, masks as LabelMaps, 4-D as channels, a
torchio.Queue with TorchIO's LabelSampler, DataLoader workers), MONAI dict transforms on
radi samples, and radiobject 0.1.1's own ML datasets reading a radi-written dataset: the
same voxels at the same patch_start, and 0.1.1's shapes on 4-D volumes."""
import sys

import numpy as np
import pytest

from ml_data import box, make, make4d

pytest.importorskip("nibabel")
import radi.ml as ml  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make(str(tmp_path_factory.mktemp("mlc")), n=3, shape=(30, 28, 22), tile="axial")


@pytest.fixture(scope="module")
def data4(tmp_path_factory):
    return make4d(str(tmp_path_factory.mktemp("mlc4")), n=2)


def test_subjects_dataset_needs_torchio(data, monkeypatch):
    """Without torchio: a clear ImportError when the adapter is built, radi.ml unaffected."""
    monkeypatch.setitem(sys.modules, "torchio", None)
    ds, _ = data
    with pytest.raises(ImportError, match="needs TorchIO"):
        ml.VolumeCollectionSubjectsDataset(ds.T1w)


def test_torchio_subjects_affine_label_maps_voxels(data, data4, tmp_path):
    tio = pytest.importorskip("torchio")
    import nibabel as nib

    import radi

    ds, truth = data
    sids = ds.T1w.obs_subject_ids
    d = ml.VolumeCollectionSubjectsDataset([ds.T1w, ds.seg], labels={o: k for k, o in enumerate(ds.T1w.obs_ids)})
    assert d.label_maps == ["seg"] and len(d) == 3
    for i, s in enumerate(d.__getitems__([0, 1, 2])):
        assert isinstance(s, tio.Subject)
        img, seg = s["T1w"], s["seg"]
        assert isinstance(img, tio.ScalarImage) and isinstance(seg, tio.LabelMap)
        assert img.data.shape == (1, 30, 28, 22) and seg.data.dtype.is_floating_point is False
        assert np.array_equal(img.data[0].numpy(), truth[sids[i]][0])
        assert np.array_equal(seg.data[0].numpy(), truth[sids[i]][1])
        src = nib.load(ds.T1w.iloc[i].uri.rsplit("/ds/", 1)[0] + f"/nii/{sids[i]}_T1w.nii.gz")
        assert np.allclose(img.affine, src.affine) and img.spacing == pytest.approx((1.0, 1.2, 2.0))
        assert int(s["label"]) == i and s["obs_subject_id"] == sids[i]
    # label_maps=[] is 0.1.1's behaviour (every image scalar); names are checked
    assert isinstance(ml.VolumeCollectionSubjectsDataset([ds.T1w, ds.seg], label_maps=[])[0]["seg"],
                      tio.ScalarImage)
    with pytest.raises(ValueError, match="not among the collections"):
        ml.VolumeCollectionSubjectsDataset(ds.T1w, label_maps=["mask"])
    # 4-D: the timepoints are TorchIO's channels; the affine is the file's (rotated, offset)
    ds4, truth4, aff = data4
    s = ml.VolumeCollectionSubjectsDataset([ds4.bold, ds4.seg])[0]
    assert s["bold"].data.shape == (3, 21, 18, 11) and s["seg"].data.shape == (1, 21, 18, 11)
    assert np.array_equal(s["bold"].data.numpy(), np.moveaxis(truth4[ds4.bold.obs_subject_ids[0]][0], 3, 0))
    assert np.allclose(s["bold"].affine, aff) and np.allclose(s["seg"].affine, aff)
    # subjects of different shapes (which the patch datasets refuse) are fine for TorchIO
    for k, sh in enumerate([(10, 12, 8), (9, 11, 7)]):
        nib.save(nib.Nifti1Image(np.full(sh, k, np.int16), np.eye(4)), str(tmp_path / f"s{k}_T1w.nii.gz"))
    mixed = radi.RadiObject.from_niftis(str(tmp_path / "ds"), images={
        "T1w": [(str(tmp_path / f"s{k}_T1w.nii.gz"), f"s{k}") for k in range(2)]})
    assert mixed.T1w.shape is None
    assert [tuple(s["T1w"].shape) for s in ml.VolumeCollectionSubjectsDataset(mixed.T1w)] == \
        [(1, 10, 12, 8), (1, 9, 11, 7)]


def test_torchio_queue_label_sampler_and_workers(data):
    """A torchio.Queue over the adapter with TorchIO's LabelSampler: every patch centred on
    foreground; spatial transforms resample the LabelMap with nearest neighbours (labels
    stay in {0, 1, 2, 4}); the Queue loads subjects in 2 (fork) workers, and a spawn
    worker of a DataLoader gets the dataset by pickling."""
    tio = pytest.importorskip("torchio")
    import torch

    ds, _ = data
    torch.manual_seed(0)  # TorchIO draws with torch's generator
    t = tio.Compose([tio.RandomAffine(degrees=10, scales=0.1), tio.ZNormalization()])
    d = ml.VolumeCollectionSubjectsDataset([ds.T1w, ds.seg], transform=t)
    q = tio.Queue(d, max_length=12, samples_per_volume=4, num_workers=2,
                  sampler=tio.LabelSampler((8, 8, 8), label_name="seg", label_probabilities={0: 0, 1: 1}),
                  verbose=False)
    # torchio's own subjects loader has no multiprocessing_context; pickling is what spawn needs
    n = 0
    for b in torch.utils.data.DataLoader(q, batch_size=4):
        assert b["T1w"]["data"].shape == (4, 1, 8, 8, 8)
        seg = b["seg"]["data"]
        assert set(seg.unique().tolist()) <= {0, 1, 2, 4}
        assert all(seg[k, 0, 4, 4, 4] > 0 for k in range(4))  # the centre voxel is foreground
        n += 4
    assert n == 12
    loader = torch.utils.data.DataLoader(ml.VolumeCollectionSubjectsDataset([ds.T1w, ds.seg]), batch_size=None,
                                         num_workers=1, multiprocessing_context="spawn")
    assert [s["obs_id"] for s in loader] == ds.T1w.obs_ids


def test_monai_dict_transforms_on_radi_samples(data):
    monai = pytest.importorskip("monai")
    from monai import transforms as mt

    ds, _truth = data
    cfg = ml.DatasetConfig(loading_mode="patch", patch_size=(16, 16, 12), patches_per_volume=4)
    plain = ml.SegmentationDataset(ds.T1w, ds.seg, cfg, sampler=ml.PosNegSampler(1, 1), seed=2)
    t = ml.Compose([mt.RandFlipd(keys=["image", "mask"], prob=1.0, spatial_axis=0),
                    mt.ScaleIntensityRanged(keys=["image"], a_min=-3.0, a_max=1497.0, b_min=0.0, b_max=1.0),
                    mt.EnsureTyped(keys=["image", "mask"], track_meta=False)])
    tr = ml.SegmentationDataset(ds.T1w, ds.seg, cfg, spatial_transform=t, sampler=ml.PosNegSampler(1, 1), seed=2)
    for a, b in zip(plain.__getitems__(list(range(12))), tr.__getitems__(list(range(12)))):
        assert a["patch_start"] == b["patch_start"]
        assert np.array_equal(np.asarray(b["mask"]), a["mask"][:, ::-1])
        want = (a["image"][:, ::-1].astype(np.float64) + 3.0) / 1500.0
        assert np.allclose(np.asarray(b["image"]), want, atol=1e-6)
    # a MONAI crop returning several samples per volume, on full-volume radi samples
    # (later transforms of ml.Compose apply to each crop, as with MONAI's Compose)
    full = ml.SegmentationDataset(ds.T1w, ds.seg, spatial_transform=ml.Compose([mt.RandCropByPosNegLabeld(
        keys=["image", "mask"], label_key="mask", spatial_size=(8, 8, 8), pos=1, neg=0, num_samples=3),
        mt.SpatialPadd(keys=["image", "mask"], spatial_size=(10, 10, 10))]))
    crops = full[0]
    assert len(crops) == 3 and all(c["mask"].shape == (1, 10, 10, 10) and c["mask"].any() for c in crops)
    loader = monai.data.DataLoader(plain, batch_size=4, num_workers=0)
    b = next(iter(loader))
    assert tuple(b["image"].shape) == (4, 1, 16, 16, 12)


def test_radiobject_011_datasets_read_the_same_voxels(data):
    """radiobject 0.1.1's VolumeCollectionDataset and SegmentationDataset over the
    radi-written dataset: each sample equals radi's read at that sample's patch_start
    (0.1.1 returns stored values; radi's float32 are their scaled physical values), in
    PATCH, SLICE_2D and FULL_VOLUME modes; and radi's samples equal 0.1.1's Volume.slice at
    radi's patch_start."""
    pytest.importorskip("torch")
    rml = pytest.importorskip("radiobject.ml")
    import radiobject

    from radi.patches import read_patches

    ds, truth = data
    sids = ds.T1w.obs_subject_ids
    r = radiobject.RadiObject(ds.uri)

    def phys(raw):
        return (np.asarray(raw).astype(np.float64) * 1.5 - 3.0).astype(np.float32)

    ps = (12, 10, 8)
    theirs = rml.VolumeCollectionDataset(r.T1w, rml.DatasetConfig(loading_mode=rml.LoadingMode.PATCH,
                                                                   patch_size=ps, patches_per_volume=10))
    for i in range(len(theirs)):
        s = theirs[i]
        st = tuple(int(v) for v in s["patch_start"])
        vol = ds.T1w.iloc[int(s["idx"])]
        ours = read_patches(vol, [st], ps, dtype="stored")[0]
        assert np.array_equal(s["image"][0].numpy(), ours)
        assert np.array_equal(phys(ours), box(truth[sids[int(s["idx"])]][0], st, ps))
    seg_theirs = rml.SegmentationDataset(r.T1w, r.seg, rml.DatasetConfig(loading_mode=rml.LoadingMode.PATCH,
                                                                         patch_size=ps, patches_per_volume=5),
                                         foreground_sampling=True)
    for i in range(len(seg_theirs)):
        s = seg_theirs[i]
        st = tuple(int(v) for v in s["patch_start"])
        m = read_patches(ds.seg.iloc[int(s["idx"])], [st], ps, dtype="stored")[0]
        assert np.array_equal(s["mask"][0].numpy(), m) and s["obs_id"] == ds.T1w.obs_ids[int(s["idx"])]
    sl = rml.VolumeCollectionDataset(r.T1w, rml.DatasetConfig(loading_mode=rml.LoadingMode.SLICE_2D))
    ours_sl = ml.VolumeCollectionDataset(ds.T1w, ml.DatasetConfig(loading_mode="slice_2d"))
    assert len(sl) == len(ours_sl)
    for i in range(0, len(sl), 5):
        assert np.array_equal(phys(sl[i]["image"].numpy()), ours_sl[i]["image"])
    fv = rml.VolumeCollectionDataset([r.T1w, r.seg])
    ours_fv = ml.VolumeCollectionDataset([ds.T1w, ds.seg])
    for i in range(3):
        a, b = fv[i]["image"].numpy(), ours_fv[i]["image"]
        assert np.array_equal(phys(a[0]), b[0]) and np.array_equal(a[1].astype(np.float32), b[1])
    # the other way: radi's patches at radi's starts through 0.1.1's Volume.slice
    ours = ml.SegmentationDataset(ds.T1w, ds.seg, ml.DatasetConfig(loading_mode="patch", patch_size=ps,
                                                                   patches_per_volume=10),
                                  sampler=ml.LabelSampler({1: 1, 2: 1, 4: 1}), seed=9)
    for s in ours.__getitems__(list(range(30))):
        x, y, z = s["patch_start"]
        sl3 = (slice(x, x + ps[0]), slice(y, y + ps[1]), slice(z, z + ps[2]))
        assert np.array_equal(phys(r.T1w.iloc[s["idx"]].slice(*sl3)), s["image"][0])
        assert np.array_equal(r.seg.iloc[s["idx"]].slice(*sl3), s["mask"][0])


def test_every_name_of_radiobject_ml():
    """radi.ml exports every name radiobject 0.1.1's radiobject.ml does."""
    pytest.importorskip("torch")
    rml = pytest.importorskip("radiobject.ml")
    assert set(rml.__all__) <= set(ml.__all__), sorted(set(rml.__all__) - set(ml.__all__))


def test_radiobject_011_4d_samples_match(data4):
    """On 4-D volumes radi's samples have 0.1.1's shapes and lengths (time last) in every
    mode, and the same voxels (0.1.1's stored values scaled) at 0.1.1's patch_start."""
    pytest.importorskip("torch")
    rml = pytest.importorskip("radiobject.ml")
    import radiobject

    from radi.patches import read_patches

    ds, _truth, _aff = data4
    r = radiobject.RadiObject(ds.uri)
    for mode, ps in (("full_volume", None), ("slice_2d", None), ("patch", (8, 8, 8))):
        theirs = rml.VolumeCollectionDataset(r.bold, rml.DatasetConfig(loading_mode=rml.LoadingMode(mode),
                                                                       patch_size=ps, patches_per_volume=3))
        ours = ml.VolumeCollectionDataset(ds.bold, ml.DatasetConfig(loading_mode=mode, patch_size=ps,
                                                                    patches_per_volume=3))
        assert len(theirs) == len(ours)
        for i in range(len(ours)):
            a, b = theirs[i], ours[i]
            assert tuple(a["image"].shape) == b["image"].shape
            phys = (a["image"].numpy().astype(np.float64) * 0.5 + 2.0).astype(np.float32)
            if mode == "patch":
                st = tuple(int(v) for v in a["patch_start"]) + (0,)
                got = read_patches(ds.bold.iloc[int(a["idx"])], [st], ps + (3,))[0]
                assert np.array_equal(phys[0], got)
            else:
                assert np.array_equal(phys, b["image"])
