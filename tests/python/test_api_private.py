"""radiobject 0.1.1's internal names that radi keeps for code calling them
(radi/_private_api.py): VolumeCollection._create / _from_volumes, RadiObject._create /
_from_volume_collections, radi_object._copy_volume_collection, the `_metadata`
properties; `Volume._ctx` keeping the caller's tiledb.Ctx, RadiObjectConfig.to_tiledb_ctx,
parallel.create_worker_ctx; and volumes whose single attribute is not named "voxels".
Each is run on radi and on 0.1.1 with the same inputs; where radi differs on purpose the
test says what each gives.
"""
import pickle
import sys

import numpy as np
import pandas as pd
import pytest

radiobject = pytest.importorskip("radiobject")
tiledb = pytest.importorskip("tiledb")
nib = pytest.importorskip("nibabel")

import radi  # noqa: E402
from radi.radi_object import _copy_volume_collection  # noqa: E402

SHAPE = (12, 10, 6)
IDS = ["PAT000", "PAT001", "PAT002"]


def _data(k, shape=SHAPE):
    return (np.arange(np.prod(shape), dtype=np.float32).reshape(shape) * (k + 1) / 7).astype(np.float32)


@pytest.fixture
def volumes(tmp_path):
    """The same three source volumes (obs_ids set) written by radi and by 0.1.1."""
    out = {}
    for lib in (radi, radiobject):
        vols = []
        for k, oid in enumerate(IDS):
            v = lib.Volume.from_numpy(str(tmp_path / f"{lib.__name__}_src{k}"), _data(k))
            v.set_obs_id(oid)
            vols.append((oid, v))
        out[lib.__name__] = vols
    return out


def _obs_df():
    return pd.DataFrame({"obs_subject_id": ["S0", "S1", "S2"], "obs_id": IDS, "age": [45, 52, 38],
                         "diagnosis": ["healthy", "tumor", "healthy"]})


def _raised(fn):
    try:
        fn()
    except Exception as e:  # the exception is what the tests compare
        return e
    raise AssertionError("no exception")


# ------------------------------------------------------- VolumeCollection._create --

@pytest.mark.parametrize("shape", [SHAPE, None])
def test_collection_create_matches_0_1_1(tmp_path, shape):
    schema = {"age": np.dtype("int32"), "diagnosis": np.dtype("U64")}
    r = radi.VolumeCollection._create(str(tmp_path / "r"), shape=shape, obs_schema=schema, name="flair")
    o = radiobject.VolumeCollection._create(str(tmp_path / "o"), shape=shape, obs_schema=schema, name="flair")
    assert isinstance(r, radi.VolumeCollection)
    assert (r.shape, len(r), r.obs_ids, r.name) == (o.shape, len(o), o.obs_ids, o.name)
    assert r.obs.index_columns == o.obs.index_columns == ("obs_subject_id", "obs_id")
    assert r.obs.columns == o.obs.columns == ["age", "diagnosis"]
    assert r._metadata == o._metadata
    # 0.1.1 opens radi's empty collection and sees the same.
    back = radiobject.VolumeCollection(str(tmp_path / "r"))
    assert (back.shape, len(back), back.name) == (shape, 0, "flair")


def test_collection_create_refuses_a_count_it_does_not_hold(tmp_path):
    # 0.1.1 records n_volumes=2 over an empty volumes group; radi counts what is there.
    with pytest.raises(ValueError, match="n_volumes=2"):
        radi.VolumeCollection._create(str(tmp_path / "r"), shape=SHAPE, n_volumes=2)
    assert not (tmp_path / "r").exists()


def test_streaming_writer_without_volumes_keeps_its_shape(tmp_path):
    """The declared shape of an empty collection survives the publishing copy (as 0.1.1's
    StreamingWriter records it), so the collection stays uniform."""
    with radi.streaming.StreamingWriter(str(tmp_path / "r"), shape=SHAPE, name="x"):
        pass
    from radiobject.streaming import StreamingWriter

    with StreamingWriter(str(tmp_path / "o"), shape=SHAPE, name="x"):
        pass
    assert radi.VolumeCollection(str(tmp_path / "r")).shape == \
        radiobject.VolumeCollection(str(tmp_path / "o")).shape == SHAPE


# -------------------------------------------------- VolumeCollection._from_volumes --

def test_from_volumes_matches_0_1_1(tmp_path, volumes):
    r = radi.VolumeCollection._from_volumes(str(tmp_path / "r"), volumes["radi"], obs_data=_obs_df(), name="flair")
    o = radiobject.VolumeCollection._from_volumes(str(tmp_path / "o"), volumes["radiobject"], obs_data=_obs_df(),
                                                  name="flair")
    assert (len(r), r.obs_ids, r.shape, r.name) == (len(o), o.obs_ids, o.shape, o.name)
    assert r.obs_subject_ids == o.obs_subject_ids == ["S0", "S1", "S2"]
    assert r.obs.columns == o.obs.columns
    for k, oid in enumerate(IDS):
        assert np.array_equal(r.loc[oid].to_numpy(), o.loc[oid].to_numpy())
        assert np.array_equal(r.loc[oid].to_numpy(), _data(k))
        rr, ro = r.get_obs_row_by_obs_id(oid), o.get_obs_row_by_obs_id(oid)
        assert (rr["age"].iloc[0], rr["diagnosis"].iloc[0]) == (ro["age"].iloc[0], ro["diagnosis"].iloc[0])
    assert {k: v for k, v in r._metadata.items()} == o._metadata
    # 0.1.1 reads radi's collection: the same voxels by obs_id.
    back = radiobject.VolumeCollection(str(tmp_path / "r"))
    for k, oid in enumerate(IDS):
        assert np.array_equal(back.loc[oid].to_numpy(), _data(k))


def test_from_volumes_without_obs_data_and_unsorted(tmp_path, volumes):
    """No obs_data: each volume is its own subject (0.1.1's rule). Given out of order, radi
    still finds each volume by its obs_id (0.1.1 places volumes by position: defect D1)."""
    vols = list(reversed(volumes["radi"]))
    r = radi.VolumeCollection._from_volumes(str(tmp_path / "r"), vols)
    assert r.obs_ids == IDS and r.obs_subject_ids == IDS
    for k, oid in enumerate(IDS):
        assert np.array_equal(r.loc[oid].to_numpy(), _data(k))
        assert np.array_equal(radiobject.VolumeCollection(str(tmp_path / "r")).loc[oid].to_numpy(), _data(k))


def test_from_volumes_matches_obs_data_by_obs_id(tmp_path, volumes):
    """obs_data rows in another order than the volumes describe the volume with their
    obs_id (0.1.1 pairs them by position, so its ages would land on other volumes)."""
    df = _obs_df().iloc[[2, 0, 1]]
    r = radi.VolumeCollection._from_volumes(str(tmp_path / "r"), volumes["radi"], obs_data=df)
    rows = r.obs.read().set_index("obs_id")
    assert rows.loc["PAT000", "age"] == 45 and rows.loc["PAT002", "diagnosis"] == "healthy"
    assert rows.loc["PAT001", "obs_subject_id"] == "S1"
    with pytest.raises(ValueError, match="no row for obs_id"):
        radi.VolumeCollection._from_volumes(str(tmp_path / "bad"), volumes["radi"],
                                            obs_data=_obs_df().assign(obs_id=["a", "b", "c"]))
    assert not (tmp_path / "bad").exists()


def test_from_volumes_errors_as_0_1_1(tmp_path, volumes):
    er = _raised(lambda: radi.VolumeCollection._from_volumes(str(tmp_path / "e"), []))
    eo = _raised(lambda: radiobject.VolumeCollection._from_volumes(str(tmp_path / "e"), []))
    assert type(er) is type(eo) is ValueError and str(er) == str(eo) == "At least one volume is required"
    other = {}
    for lib in (radi, radiobject):
        v = lib.Volume.from_numpy(str(tmp_path / f"{lib.__name__}_bad"), np.zeros((4, 4, 4), np.float32))
        other[lib.__name__] = volumes[lib.__name__] + [("BAD", v)]
    er = _raised(lambda: radi.VolumeCollection._from_volumes(str(tmp_path / "m"), other["radi"]))
    eo = _raised(lambda: radiobject.VolumeCollection._from_volumes(str(tmp_path / "m2"), other["radiobject"]))
    assert isinstance(er, ValueError) and str(er) == str(eo)
    assert not (tmp_path / "m").exists()  # refused before anything is written


def test_from_volumes_copies_volumes_as_stored(tmp_path):
    """A NIfTI volume with scaling and an affine: the copy keeps stored values, dtype,
    scaling, affine and NIfTI keys (0.1.1 keeps voxels only; D6)."""
    aff = np.diag([1.5, 2.0, 3.0, 1.0])
    aff[:3, 3] = [-5.0, 4.0, 2.0]
    img = nib.Nifti1Image((np.arange(np.prod(SHAPE)).reshape(SHAPE) % 300).astype(np.int16), aff)
    img.header.set_slope_inter(0.5, -3.0)
    nib.save(img, str(tmp_path / "a.nii.gz"))
    src = radi.Volume.from_nifti(str(tmp_path / "src"), str(tmp_path / "a.nii.gz"))
    vc = radi.VolumeCollection._from_volumes(str(tmp_path / "c"), [("a_T1w", src)], name="T1w")
    got = vc.loc["a_T1w"]
    assert got.stored_dtype == np.int16 and got.scaling == src.scaling == (0.5, -3.0)
    assert np.array_equal(got.raw[...], src.raw[...]) and np.array_equal(got.to_numpy(), src.to_numpy())
    assert np.array_equal(got.affine, aff)
    keep = {k: v for k, v in src._metadata.items() if k != "obs_id"}
    assert {k: v for k, v in got._metadata.items() if k != "obs_id"} == keep
    assert got._metadata["obs_id"] == "a_T1w"


# -------------------------------------------------------------- RadiObject._create --

def test_radi_object_create_matches_0_1_1(tmp_path):
    schema = {"age": np.dtype("int32"), "diagnosis": np.dtype("U64")}
    r = radi.RadiObject._create(str(tmp_path / "r"), obs_meta_schema=schema)
    o = radiobject.RadiObject._create(str(tmp_path / "o"), obs_meta_schema=schema)
    assert isinstance(r, radi.RadiObject)
    assert (len(r), r.n_collections, r.obs_subject_ids) == (len(o), o.n_collections, o.obs_subject_ids)
    assert r.obs_meta.index_columns == o.obs_meta.index_columns
    assert r.obs_meta.columns == o.obs_meta.columns == ["age", "diagnosis"]
    assert r._metadata == o._metadata
    back = radiobject.RadiObject(str(tmp_path / "r"))
    assert (len(back), back.n_collections) == (0, 0)
    with pytest.raises(ValueError, match="n_subjects=3"):
        radi.RadiObject._create(str(tmp_path / "n"), n_subjects=3)


def _collections(lib, tmp_path, volumes):
    out = {}
    for m, name in enumerate(("flair", "T1w")):
        vols = [(f"{oid}_{name}", v) for oid, v in volumes[lib.__name__]]
        df = pd.DataFrame({"obs_subject_id": ["S0", "S1", "S2"], "obs_id": [o for o, _v in vols]})
        out[name] = lib.VolumeCollection._from_volumes(str(tmp_path / f"{lib.__name__}_{name}"), vols,
                                                       obs_data=df, name=name)
    return out


def test_from_volume_collections_matches_0_1_1(tmp_path, volumes):
    meta = pd.DataFrame({"obs_subject_id": ["S0", "S1", "S2"], "age": [45, 52, 38]})
    r = radi.RadiObject._from_volume_collections(str(tmp_path / "r"), _collections(radi, tmp_path, volumes),
                                                 obs_meta=meta)
    o = radiobject.RadiObject._from_volume_collections(str(tmp_path / "o"),
                                                       _collections(radiobject, tmp_path, volumes), obs_meta=meta)
    assert (len(r), r.n_collections, r.obs_subject_ids) == (len(o), o.n_collections, o.obs_subject_ids)
    assert set(r.collection_names) == set(o.collection_names)  # 0.1.1's order is TileDB's hash order
    assert r.obs_meta.columns == o.obs_meta.columns
    for name in r.collection_names:
        assert r.collection(name).obs_ids == o.collection(name).obs_ids
        for oid in r.collection(name).obs_ids:
            assert np.array_equal(r.collection(name).loc[oid].to_numpy(), o.collection(name).loc[oid].to_numpy())
    assert r._metadata == o._metadata
    er = _raised(lambda: radi.RadiObject._from_volume_collections(str(tmp_path / "e"), {}))
    eo = _raised(lambda: radiobject.RadiObject._from_volume_collections(str(tmp_path / "e"), {}))
    assert type(er) is type(eo) is ValueError and str(er) == str(eo)


def test_copy_volume_collection_matches_0_1_1(tmp_path, volumes):
    rs, os_ = _collections(radi, tmp_path, volumes)["T1w"], _collections(radiobject, tmp_path, volumes)["T1w"]
    assert _copy_volume_collection(rs, str(tmp_path / "rc"), name="T1") is None
    assert radiobject.radi_object._copy_volume_collection(os_, str(tmp_path / "oc"), name="T1") is None
    r, o = radi.VolumeCollection(str(tmp_path / "rc")), radiobject.VolumeCollection(str(tmp_path / "oc"))
    assert (r.name, r.obs_ids, r.obs_subject_ids, r.shape) == (o.name, o.obs_ids, o.obs_subject_ids, o.shape)
    for oid in r.obs_ids:
        assert np.array_equal(r.loc[oid].to_numpy(), o.loc[oid].to_numpy())


# ------------------------------------------------------------------- _metadata --

def test_metadata_equals_0_1_1_on_the_same_files(tmp_path):
    """On a dataset 0.1.1 wrote, radi's _metadata of volume, collection and dataset equals
    0.1.1's own (and TileDB-Py's dict(meta))."""
    aff = np.diag([2.0, 2.0, 2.0, 1.0])
    paths = []
    for k in range(2):
        p = tmp_path / f"s{k}_T1w.nii.gz"
        nib.save(nib.Nifti1Image(_data(k), aff), str(p))
        paths.append((str(p), f"s{k}"))
    uri = str(tmp_path / "ds")
    radiobject.RadiObject.from_niftis(uri, images={"T1w": paths})
    o, r = radiobject.RadiObject(uri), radi.RadiObject(uri)
    assert r._metadata == o._metadata
    assert r.T1w._metadata == o.collection("T1w")._metadata
    for oid in o.collection("T1w").obs_ids:
        rv, ov = r.T1w.loc[oid], o.collection("T1w").loc[oid]
        assert rv._metadata == ov._metadata
        with tiledb.open(rv.uri) as a:
            assert rv._metadata == dict(a.meta)


# ------------------------------------------------------------- Volume._ctx, ctx --

def test_volume_keeps_the_callers_tiledb_ctx(tmp_path):
    cfg = tiledb.Config({"sm.memory_budget": str(512 * 1024 * 1024)})
    t = tiledb.Ctx(cfg)
    a = radi.Volume.create(str(tmp_path / "a"), shape=(8, 8, 4), ctx=t)
    b = radi.Volume.from_numpy(str(tmp_path / "b"), _data(0), ctx=t)
    c = radi.Volume(str(tmp_path / "b"), ctx=t)
    assert a._ctx is t and b._ctx is t and c._ctx is t
    assert radiobject.Volume.from_numpy(str(tmp_path / "o"), _data(0), ctx=t)._ctx is t
    # radi's own context carries the setting, and reads, pickling and reopening work.
    assert dict(b._rctx.key)["memory_budget"] == str(512 * 1024 * 1024)
    assert np.array_equal(c[:, :, 2], _data(0)[:, :, 2])
    d = pickle.loads(pickle.dumps(c))
    assert np.array_equal(d.to_numpy(), _data(0)) and d._ctx is d._rctx
    # Without a ctx argument _ctx is radi's context.
    assert radi.Volume(str(tmp_path / "b"))._ctx is radi._lib.context()


def test_to_tiledb_ctx_matches_0_1_1():
    kw = dict(read=radi.ReadConfig(memory_budget_mb=512, concurrency=3),
              s3=radi.S3Config(endpoint="http://127.0.0.1:9000", max_parallel_ops=5))
    cfg = radi.ctx.RadiObjectConfig(**kw)
    t = cfg.to_tiledb_ctx()
    assert isinstance(t, tiledb.Ctx)
    from radiobject.ctx import RadiObjectConfig, ReadConfig, S3Config

    o = RadiObjectConfig(read=ReadConfig(memory_budget_mb=512, concurrency=3),
                         s3=S3Config(endpoint="http://127.0.0.1:9000", max_parallel_ops=5,
                                     include_credentials=False))
    want = o.to_tiledb_config()
    for key in ("sm.memory_budget", "sm.compute_concurrency_level", "sm.io_concurrency_level",
                "vfs.s3.max_parallel_ops", "vfs.s3.multipart_part_size", "vfs.s3.endpoint_override"):
        assert t.config()[key] == want[key], key
    # Back in radi: the same settings.
    got = dict(radi.ctx.as_radi_ctx(t).key)
    assert got["memory_budget"] == str(512 << 20) and got["concurrency"] == "3"
    assert got["vfs.s3.endpoint"] == "http://127.0.0.1:9000" and got["vfs.s3.max_parallel_ops"] == "5"


def test_to_tiledb_ctx_without_tiledb(monkeypatch):
    monkeypatch.setitem(sys.modules, "tiledb", None)  # import tiledb now raises ImportError
    with pytest.raises(ImportError, match="tiledb package"):
        radi.get_config().to_tiledb_ctx()


def test_create_worker_ctx_is_radis_own():
    """0.1.1 returns a tiledb.Ctx; radi a new radi context with the base's settings, also
    for a tiledb.Ctx base (radi does not import TileDB-Py; docs/differences-volume.md).
    Both libraries' ctx= arguments take it."""
    base = tiledb.Ctx(tiledb.Config({"sm.memory_budget": str(256 << 20)}))
    assert isinstance(radiobject.parallel.create_worker_ctx(base), tiledb.Ctx)
    w = radi.parallel.create_worker_ctx(base)
    assert isinstance(w, radi._lib.Context) and dict(w.key)["memory_budget"] == str(256 << 20)
    a, b = radi.parallel.create_worker_ctx(), radi.parallel.create_worker_ctx()
    assert a is not b and a.key == b.key == radi._lib.context().key


# -------------------------------------------- a volume whose attribute is not "voxels" --

def _tiledb_array(uri, attrs, data):
    dims = [tiledb.Dim(name=n, domain=(0, s - 1), tile=t, dtype=np.int32)
            for n, s, t in zip("xyz", data.shape, (4, 5, 3))]
    schema = tiledb.ArraySchema(domain=tiledb.Domain(*dims), attrs=[tiledb.Attr(name=a, dtype=data.dtype)
                                                                    for a in attrs])
    tiledb.Array.create(uri, schema)
    with tiledb.open(uri, "w") as arr:
        arr[:] = {a: data for a in attrs}


def test_single_attribute_not_named_voxels(tmp_path):
    """0.1.1's test_volume_write_phases: TileDB-Py writes attribute "data"; radi reads it
    through every path (slices, regions, patches, statistics, export)."""
    data = np.random.default_rng(3).normal(size=(12, 10, 6)).astype(np.float32)
    uri = str(tmp_path / "data_attr")
    _tiledb_array(uri, ["data"], data)
    vol = radi.Volume(uri)
    assert vol.shape == data.shape and vol.dtype == np.float32
    assert np.array_equal(vol.to_numpy(), data)
    assert np.array_equal(vol.axial(3), data[:, :, 3]) and np.array_equal(vol[2:9, 1:7, 1:5], data[2:9, 1:7, 1:5])
    for _ in range(2):  # the second read is served by the decoded-tile cache
        patch = radi.read_patches([vol], [(1, 2, 1)], (4, 4, 4))
        assert np.array_equal(patch[0], data[1:5, 2:6, 1:5])
    stats = vol.get_statistics()
    assert stats["mean"] == float(data.mean()) and stats["median"] == float(np.median(data))
    vol.to_nifti(str(tmp_path / "out.nii.gz"))
    assert np.array_equal(nib.load(str(tmp_path / "out.nii.gz")).get_fdata(dtype=np.float32), data)
    assert radiobject.Volume(uri).shape == vol.shape  # what 0.1.1's test checks


def test_several_attributes_without_voxels_refused(tmp_path):
    uri = str(tmp_path / "two")
    _tiledb_array(uri, ["data", "mask"], np.zeros((12, 10, 6), np.float32))
    with pytest.raises(radi.RadiError, match="no attribute 'voxels' and 2 attributes"):
        radi.Volume(uri)
