"""More of radiobject 0.1.1's append / from_niftis / indexing / worker-context behaviour in
radi, each run on radi and on 0.1.1 with the same files: append(niftis=) routing files
of a new series type to a new collection, legacy collection_name obs_ids, the
duplicate refusal of a stand-alone collection's append, 0.1.1's argument errors,
collection[[obs_id, ...]], create_worker_ctx and RadiObjectConfig(io=).
"""
import os
import sys

import numpy as np
import pandas as pd
import pytest

radiobject = pytest.importorskip("radiobject")
nib = pytest.importorskip("nibabel")

import radi  # noqa: E402
import radi.parallel  # noqa: E402

SHAPE = (8, 8, 4)


def _save(path, fill, shape=SHAPE):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = (np.arange(np.prod(shape)).reshape(shape) % 50 + fill).astype(np.int16)
    nib.save(nib.Nifti1Image(data, np.diag([1.5, 1.5, 3.0, 1.0])), str(path))
    return str(path)


@pytest.fixture()
def two(tmp_path):
    """The same FLAIR/T1w dataset of sub-01..02 written by radi and by 0.1.1."""
    d = tmp_path / "n"
    images = {m: [(_save(d / f"sub-0{k}_{m}.nii.gz", 10 * k + j), f"sub-0{k}") for k in (1, 2)]
              for j, m in enumerate(("FLAIR", "T1w"))}
    r = radi.RadiObject.from_niftis(str(tmp_path / "radi"), images=images)
    o = radiobject.RadiObject.from_niftis(str(tmp_path / "ro"), images=images)
    return r, o, d


def _both(two, fn):
    r, o, _d = two
    return fn(r), fn(o)


def test_append_new_series_type_creates_its_collection(two):
    r, o, d = two
    dwi = _save(d / "sub-01_DWI.nii.gz", 70)
    pet = _save(d / "sub-02_PET.nii.gz", 80)
    for ro in (r, o):
        ro.append(niftis=[(dwi, "sub-01"), (pet, "sub-02")])
    # Series types: DWI -> dwi, PET -> unknown (no series type): both collections created.
    assert sorted(r.collection_names) == sorted(o.collection_names) == ["FLAIR", "T1w", "dwi", "unknown"]
    assert r.obs_subject_ids == o.obs_subject_ids == ["sub-01", "sub-02"]
    for n in ("dwi", "unknown"):
        assert r.collection(n).obs_ids == o.collection(n).obs_ids
        np.testing.assert_array_equal(r.collection(n).iloc[0].to_numpy(), o.collection(n).iloc[0].to_numpy())
    assert r.dwi.obs_ids == ["sub-01_dwi"]
    r.validate()


def test_append_other_shape_goes_to_a_shape_named_collection(two):
    r, o, d = two
    t1 = _save(d / "x" / "sub-01_t1.nii.gz", 90, (8, 8, 5))  # series type T1w, another shape
    for ro in (r, o):
        ro.append(niftis=[(t1, "sub-01")])
        assert sorted(ro.collection_names) == ["FLAIR", "T1w", "T1w_8x8x5"]
        assert ro.T1w_8x8x5.shape == (8, 8, 5)
    np.testing.assert_array_equal(r.T1w_8x8x5.iloc[0].to_numpy(), o.T1w_8x8x5.iloc[0].to_numpy())
    # A name ending with an existing collection's goes there (radi's rule), where a uniform
    # collection refuses another shape; 0.1.1 makes T1w_8x8x5 for it too.
    big = _save(d / "y" / "sub-03_T1w.nii.gz", 91, (8, 8, 5))
    with pytest.raises(ValueError, match="Dimension mismatch"):
        r.append(niftis=[(big, "sub-03")], obs_meta=pd.DataFrame({"obs_subject_id": ["sub-03"]}))
    assert r.T1w.obs_ids == ["sub-01_T1w", "sub-02_T1w"]


def test_append_unknown_name_for_new_subject_needs_obs_meta(two):
    r, o, d = two
    adc = _save(d / "sub-07_ADC.nii.gz", 5)
    for ro in (r, o):
        with pytest.raises(ValueError, match="obs_meta required"):
            ro.append(niftis=[(adc, "sub-07")])
    assert r.collection_names == ("FLAIR", "T1w")


def test_append_obs_meta_without_subject_column(two):
    r, o, d = two
    f = _save(d / "sub-09_T1w.nii.gz", 9)
    for ro in (r, o):
        with pytest.raises(ValueError, match="obs_subject_id"):
            ro.append(niftis=[(f, "sub-09")], obs_meta=pd.DataFrame({"subject_name": ["sub-09"]}))


def test_append_niftis_with_dicom_dirs_refused_first(two):
    r, o, _d = two
    for ro in (r, o):
        with pytest.raises(ValueError, match="Cannot provide both"):
            ro.append(niftis=[("fake.nii", "sub")], dicom_dirs=[("fake_dir", "sub")])
        with pytest.raises(ValueError, match="Cannot provide both"):
            ro.FLAIR.append(niftis=[("fake.nii", "sub")], dicom_dirs=[("fake_dir", "sub")])
        with pytest.raises(ValueError, match="Must provide"):
            ro.append()
        with pytest.raises(ValueError, match="Must provide"):
            ro.FLAIR.append()


def test_legacy_collection_name_obs_ids_are_series_types(tmp_path):
    d = tmp_path / "n"
    pairs = [(_save(d / f"sub-0{k}_{m}.nii.gz", 10 * k + j), f"sub-0{k}")
             for k in (1, 2) for j, m in enumerate(("FLAIR", "T1w"))]
    r = radi.RadiObject.from_niftis(str(tmp_path / "r"), niftis=pairs, collection_name="all_scans")
    o = radiobject.RadiObject.from_niftis(str(tmp_path / "o"), niftis=pairs, collection_name="all_scans")
    assert r.collection_names == o.collection_names == ("all_scans",)
    assert r.all_scans.obs_ids == sorted(o.all_scans.obs_ids) == \
        ["sub-01_FLAIR", "sub-01_T1w", "sub-02_FLAIR", "sub-02_T1w"]
    for oid in r.all_scans.obs_ids:
        np.testing.assert_array_equal(r.all_scans.loc[oid].to_numpy(), o.all_scans.loc[oid].to_numpy())
    r.validate()


def test_empty_niftis_wording(tmp_path):
    for mod, name in ((radi, "r"), (radiobject, "o")):
        with pytest.raises(ValueError, match="No NIfTI files found"):
            mod.RadiObject.from_niftis(str(tmp_path / name), niftis=[])


def test_standalone_append_refuses_duplicate_obs_ids_as_0_1_1(tmp_path):
    first = _save(tmp_path / "sub-001_T1w.nii.gz", 1)
    again = _save(tmp_path / "another_T1w.nii.gz", 2)
    for mod, name in ((radi, "r"), (radiobject, "o")):
        vc = mod.VolumeCollection.from_niftis(uri=str(tmp_path / name), niftis=[(first, "sub-001")], name="T1w")
        assert list(vc.obs_ids) == ["sub-001_T1w"]
        with pytest.raises(ValueError, match=r"obs_ids already exist: \['sub-001_T1w'\]"):
            vc.append(niftis=[(again, "sub-001")])
    # Other appends to a stand-alone collection work in both (tests/python/test_standalone_append.py).
    for mod, name in ((radi, "r"), (radiobject, "o")):
        vc = mod.VolumeCollection(str(tmp_path / name))
        vc.append(niftis=[(again, "sub-002")])
        assert sorted(vc.obs_ids) == ["sub-001_T1w", "sub-002_T1w"]


def test_getitem_list_of_obs_ids(two):
    r, o, _d = two
    for ro in (r, o):
        ids = list(ro.FLAIR.obs_ids)[::-1]
        v = ro.FLAIR[ids]
        assert len(v) == 2 and list(v.obs_ids) == list(ro.FLAIR.loc[ids].obs_ids)
        assert len(ro.FLAIR[[1, 0]]) == 2 and len(ro.FLAIR[[]]) == 0
    np.testing.assert_array_equal(r.FLAIR[["sub-02_FLAIR"]].iloc[0].to_numpy(),
                                  o.FLAIR[["sub-02_FLAIR"]].iloc[0].to_numpy())
    with pytest.raises(KeyError):
        r.FLAIR[["sub-02_FLAIR", "nope"]]


def test_create_worker_ctx_new_each_time_with_base_settings():
    a, b = radi.parallel.create_worker_ctx(), radi.parallel.create_worker_ctx()
    assert a is not b and a.handle != b.handle
    assert a.key == b.key == radi.ctx().key
    assert radi.parallel.create_worker_ctx(radi.ctx()).key == radi.ctx().key
    tiledb = pytest.importorskip("tiledb")
    base = tiledb.Ctx({"sm.memory_budget": str(512 * 2**20)})
    w = radi.parallel.create_worker_ctx(base)
    assert w is not radi.ctx.as_radi_ctx(base) and w.key == radi.ctx.as_radi_ctx(base).key


def test_radi_object_config_takes_io():
    from radi.ctx import IOConfig, ReadConfig, RadiObjectConfig

    c = RadiObjectConfig(io=IOConfig(concurrency=16, max_workers=1))
    assert c.read == c.io == ReadConfig(concurrency=16, max_workers=1)
    with pytest.raises(TypeError, match="both"):
        RadiObjectConfig(read=ReadConfig(), io=IOConfig())
    # 0.1.1 accepts io= and drops it (its read stays the default): radi applies it.
    u = sys.modules["radiobject.ctx"]
    assert u.RadiObjectConfig(io=u.IOConfig(concurrency=16, max_workers=1)).read.concurrency == 4
