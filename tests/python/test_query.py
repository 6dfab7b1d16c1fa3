"""Lazy queries (radi.query: RadiObject.lazy() -> Query, VolumeCollection.lazy()/map() ->
CollectionQuery) against radiobject 0.1.1 run on the same dataset, and the places where
radi deliberately differs (docs/differences-query.md)."""
import os

import numpy as np
import pandas as pd
import pytest

radiobject = pytest.importorskip("radiobject")
nib = pytest.importorskip("nibabel")

import radi  # noqa: E402

SUBJECTS = ["sub-01", "sub-02", "sub-03", "sub-04"]
AGES = [30, 45, 61, 52]
GRADES = ["LGG", "HGG", "HGG", "LGG"]
MODS = ["T1w", "FLAIR"]


def _affine(i):
    a = np.diag([1.0, 1.2, 2.0, 1.0])
    a[:3, 3] = [-30.0 + i, -32.0, -40.0]
    return a


@pytest.fixture(scope="module")
def uri(tmp_path_factory):
    d = tmp_path_factory.mktemp("q")
    rng = np.random.default_rng(3)
    images = {m: [] for m in MODS}
    for i, s in enumerate(SUBJECTS):
        for m in MODS:
            p = d / f"{s}_{m}.nii.gz"
            nib.save(nib.Nifti1Image(rng.integers(0, 500, (7, 6, 5)).astype(np.int16), _affine(i)), str(p))
            images[m].append((str(p), s))
    meta = pd.DataFrame({"obs_subject_id": SUBJECTS, "age": AGES, "grade": GRADES})
    out = str(d / "ds")
    radi.RadiObject.from_niftis(out, images=images, obs_meta=meta)
    return out


@pytest.fixture(scope="module")
def both(uri):
    return radi.RadiObject(uri), radiobject.RadiObject(uri)


def _vols(q, **kw):
    return {v.obs_id: v.to_numpy() for v in q.iter_volumes(**kw)}


SAME = {
    "all": lambda q: q,
    "filter": lambda q: q.filter("age > 40"),
    "filter_and": lambda q: q.filter("grade == 'HGG'").filter("age > 50"),
    "subjects": lambda q: q.filter_subjects(["sub-04", "sub-02", "nobody"]),
    "loc": lambda q: q.loc("sub-03"),
    "select": lambda q: q.filter("age > 40").select_collections(["FLAIR"]),
    "head": lambda q: q.head(2),
    "tail": lambda q: q.tail(3),
    "iloc": lambda q: q.iloc([0, -1]),
    "iloc_mask": lambda q: q.iloc(np.array([True, False, True, False])),
}


@pytest.mark.parametrize("name", sorted(SAME))
def test_query_matches_radiobject(both, name):
    a, b = both
    qa, qb = SAME[name](a.lazy()), SAME[name](b.lazy())
    ca, cb = qa.count(), qb.count()
    assert ca.n_subjects == cb.n_subjects == len(qa)
    assert ca.n_volumes == cb.n_volumes  # dict equality: per collection, any order
    va, vb = _vols(qa), _vols(qb)
    assert sorted(va) == sorted(vb)
    for k in va:
        np.testing.assert_array_equal(va[k], vb[k])
    ma, mb = qa.to_obs_meta(), qb.to_obs_meta()
    pd.testing.assert_frame_equal(ma.reset_index(drop=True),
                                  mb.sort_values("obs_subject_id").reset_index(drop=True),
                                  check_dtype=False)
    total = sum(ca.n_volumes.values())
    assert repr(qa) == (f"Query({ca.n_subjects} subjects, {total} volumes across "
                        f"[{', '.join(ca.n_volumes)}])")
    assert repr(qb) == (f"Query({cb.n_subjects} subjects, {total} volumes across "
                        f"[{', '.join(cb.n_volumes)}])")


def test_repr_names_collections_in_dataset_order(both):
    a, _b = both
    assert repr(a.lazy().filter("age > 40")) == \
        f"Query(3 subjects, 6 volumes across [{', '.join(a.collection_names)}])"


def test_iter_volumes_of_one_collection(both):
    a, b = both
    assert sorted(_vols(a.lazy().filter("age > 40"), collection_name="T1w")) == \
        sorted(_vols(b.lazy().filter("age > 40"), collection_name="T1w")) == \
        ["sub-02_T1w", "sub-03_T1w", "sub-04_T1w"]
    for r in both:
        with pytest.raises(ValueError, match="not in query scope"):
            list(r.lazy().select_collections(["T1w"]).iter_volumes("FLAIR"))


def test_iter_batches_matches_radiobject(both):
    a, b = both
    ba, bb = list(a.lazy().iter_batches(batch_size=3)), list(b.lazy().iter_batches(batch_size=3))
    assert [x.subject_ids for x in ba] == [x.subject_ids for x in bb] == \
        [("sub-01", "sub-02", "sub-03"), ("sub-04",)]
    for x, y in zip(ba, bb):
        assert x.obs_ids == y.obs_ids
        assert set(x.volumes) == set(y.volumes)
        for c in x.volumes:
            np.testing.assert_array_equal(x.volumes[c], y.volumes[c])
            assert x.volumes[c].shape == (len(x.obs_ids[c]), 7, 6, 5)


def test_building_a_query_reads_nothing(both):
    a, _b = both
    q = a.lazy().filter("no_such_column > 3")   # not evaluated yet
    with pytest.raises(radi.RadiError, match="no_such_column"):
        q.count()


def test_count_reads_no_volume(uri, tmp_path):
    """count() comes from obs_meta and obs: it works with every volume gone."""
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(uri, dst)
    for m in MODS:
        vols = dst / "collections" / m / "volumes"
        for k in os.listdir(vols):
            if not k.startswith("__"):
                shutil.rmtree(vols / k)
    c = radi.RadiObject(str(dst)).lazy().filter("age > 40").count()
    assert (c.n_subjects, c.n_volumes) == (3, {"T1w": 3, "FLAIR": 3})


# ----------------------------------------------------------- differences --

def test_empty_selection_has_no_volumes(both):
    """0.1.1 resolves an empty subject set to every volume (docs/differences-query.md)."""
    a, b = both
    assert a.lazy().filter("age > 100").count().n_volumes == {"T1w": 0, "FLAIR": 0}
    assert list(a.lazy().filter("age > 100").iter_volumes()) == []
    assert sum(b.lazy().filter("age > 100").count().n_volumes.values()) == 8  # 0.1.1's defect


def test_steps_apply_in_order(both):
    """head after filter: the first two subjects that pass (0.1.1 intersects with the
    first two of the whole dataset)."""
    a, b = both
    assert a.lazy().filter("age > 40").head(2).to_obs_meta()["obs_subject_id"].tolist() == ["sub-02", "sub-03"]
    assert b.lazy().filter("age > 40").head(2).to_obs_meta()["obs_subject_id"].tolist() == ["sub-02"]
    # a query of a view: positions within the view (0.1.1: within the whole dataset)
    assert a.iloc[[1, 2, 3]].lazy().head(2).to_obs_meta()["obs_subject_id"].tolist() == ["sub-02", "sub-03"]
    assert b.iloc[[1, 2, 3]].lazy().head(2).to_obs_meta()["obs_subject_id"].tolist() == ["sub-02"]


def test_query_of_a_view_keeps_its_selection(both):
    a, b = both
    qa = a.loc[["sub-01", "sub-03"]].select_collections(["T1w"]).lazy()
    qb = b.loc[["sub-01", "sub-03"]].select_collections(["T1w"]).lazy()
    assert (qa.count().n_subjects, qa.count().n_volumes) == (qb.count().n_subjects, qb.count().n_volumes) \
        == (2, {"T1w": 2})
    assert sorted(_vols(qa)) == sorted(_vols(qb)) == ["sub-01_T1w", "sub-03_T1w"]


def test_filter_collection(both):
    a, b = both
    q = a.lazy().filter_collection("T1w", "obs_id == 'sub-02_T1w' or obs_id == 'sub-03_T1w'")
    c = q.count()
    assert (c.n_subjects, c.n_volumes) == (2, {"T1w": 2, "FLAIR": 2})
    assert sorted(_vols(q)) == ["sub-02_FLAIR", "sub-02_T1w", "sub-03_FLAIR", "sub-03_T1w"]
    q2 = q.filter_collection("FLAIR", "obs_id != 'sub-03_FLAIR'")
    assert sorted(_vols(q2)) == ["sub-02_FLAIR", "sub-02_T1w"]
    with pytest.raises(KeyError):
        a.lazy().filter_collection("CT", "obs_id == 'x'")
    with pytest.raises(TypeError):  # 0.1.1's filter_collection fails on any count
        b.lazy().filter_collection("T1w", "obs_id == 'sub-02_T1w'").count()


def test_bad_iloc_key_refused_at_once(both):
    for r in both:
        with pytest.raises(TypeError, match="iloc key must be"):
            r.lazy().iloc("sub-01")
        with pytest.raises(TypeError, match="iloc key must be"):
            r.T1w.lazy().iloc(1.5)


def test_sample_is_seeded_subset(both):
    a, _b = both
    s1 = a.lazy().sample(2, seed=5).to_obs_meta()["obs_subject_id"].tolist()
    assert s1 == a.lazy().sample(2, seed=5).to_obs_meta()["obs_subject_id"].tolist()
    assert len(s1) == 2 and set(s1) <= set(SUBJECTS)
    assert len(a.lazy().sample(10).to_obs_meta()) == 4


# ------------------------------------------------------------ materialize --

def _fn(v):
    return v.astype(np.float32) * 0.5 + 1.0


def test_map_materialize_equals_numpy(both, tmp_path, oracle):
    a, b = both
    out = a.lazy().filter("age > 40").map(_fn).map(np.sqrt).materialize(str(tmp_path / "m"))
    assert len(out) == 3 and set(out.collection_names) == set(MODS)
    out.validate()
    src = {v.obs_id: v.to_numpy() for v in a.lazy().filter("age > 40").iter_volumes()}
    got = {}
    for m in out.collection_names:
        for v in out.collection(m):
            got[v.obs_id] = v.to_numpy()
    assert sorted(got) == sorted(src)
    for k in src:
        np.testing.assert_array_equal(got[k], np.sqrt(_fn(src[k])))
    pd.testing.assert_frame_equal(out.obs_meta.read(), a.lazy().filter("age > 40").to_obs_meta())
    for m in MODS:
        want = a.collection(m).obs.read()
        pd.testing.assert_frame_equal(out.collection(m).obs.read(),
                                      want[want["obs_subject_id"] != "sub-01"].reset_index(drop=True))
    # opens and validates in 0.1.1, which reads the same voxels by position
    r = radiobject.RadiObject(str(tmp_path / "m"))
    r.validate()
    assert sorted(r.obs_meta.read()["obs_subject_id"]) == ["sub-02", "sub-03", "sub-04"]
    for m in MODS:
        vc = r.collection(m)
        for i, o in enumerate(vc.obs_ids):
            np.testing.assert_array_equal(vc.iloc[i].to_numpy(), got[o])
            with oracle.open(os.path.join(str(tmp_path / "m"), "collections", m, "volumes", str(i))) as A:
                np.testing.assert_array_equal(A[:]["voxels"], got[o])
                assert A.meta["obs_id"] == o
    # 0.1.1's own map materialize gives the same voxels
    rb = b.lazy().filter("age > 40").map(_fn).map(np.sqrt).materialize(str(tmp_path / "m011"))
    for m in MODS:
        for o in rb.collection(m).obs_ids:
            np.testing.assert_array_equal(rb.collection(m).loc[o].to_numpy(), got[o])


def test_materialize_without_map_keeps_geometry(both, tmp_path):
    a, _b = both
    q = a.lazy().filter("grade == 'HGG'").filter_collection("FLAIR", "obs_id == 'sub-03_FLAIR'")
    out = q.materialize(str(tmp_path / "c"))
    assert out.obs_subject_ids == ["sub-03"]
    assert out.FLAIR.obs_ids == ["sub-03_FLAIR"] and out.T1w.obs_ids == ["sub-03_T1w"]
    np.testing.assert_allclose(out.FLAIR.iloc[0].orientation_info.affine, _affine(2))
    radiobject.RadiObject(str(tmp_path / "c")).validate()


def test_materialize_is_all_or_nothing(both, tmp_path):
    a, _b = both
    seen = []

    def boom(v):
        seen.append(1)
        if len(seen) == 3:
            raise RuntimeError("transform failed")
        return v

    with pytest.raises(RuntimeError, match="transform failed"):
        a.lazy().map(boom).materialize(str(tmp_path / "x"))
    assert os.listdir(tmp_path) == []   # neither the target nor the staging object
    with pytest.raises(RuntimeError, match="transform failed"):
        seen.clear()
        a.T1w.map(boom).materialize(str(tmp_path / "y"))
    assert os.listdir(tmp_path) == []


# -------------------------------------------------------- CollectionQuery --

CSAME = {
    "all": lambda q: q,
    "filter": lambda q: q.filter("obs_id != 'sub-02_T1w'"),
    "subjects": lambda q: q.filter_subjects(["sub-03", "sub-01"]),
    "loc": lambda q: q.loc(["sub-04_T1w", "sub-01_T1w"]),
    "loc_one": lambda q: q.loc("sub-02_T1w"),
    "iloc": lambda q: q.iloc([1, 2]),
    "iloc_int": lambda q: q.iloc(-1),
    "head": lambda q: q.head(3),
    "tail": lambda q: q.tail(2),
}


@pytest.mark.parametrize("name", sorted(CSAME))
def test_collection_query_matches_radiobject(both, name):
    a, b = both
    qa, qb = CSAME[name](a.T1w.lazy()), CSAME[name](b.T1w.lazy())
    assert qa.count() == qb.count() == len(qa)
    assert sorted(qa.to_obs()["obs_id"]) == sorted(qb.to_obs()["obs_id"])
    assert sorted(v.obs_id for v in qa.iter_volumes()) == sorted(v.obs_id for v in qb.iter_volumes())
    np.testing.assert_array_equal(qa.to_numpy_stack(), qb.to_numpy_stack())
    assert repr(qa) == repr(qb) == f"CollectionQuery('T1w', {qa.count()} volumes, shape=7x6x5)"


def test_collection_map_materialize_equals_numpy(both, tmp_path, oracle):
    a, b = both
    q = a.T1w.lazy().filter_subjects(["sub-02", "sub-03", "sub-04"]).map(_fn)
    np.testing.assert_array_equal(q.to_numpy_stack(),
                                  np.stack([_fn(v.to_numpy()) for v in q.iter_volumes()]))
    out = q.materialize(str(tmp_path / "vc"), name="T1w_half")
    assert out.name == "T1w_half" and out.obs_ids == ["sub-02_T1w", "sub-03_T1w", "sub-04_T1w"]
    assert out.shape == (7, 6, 5)
    for v in out:
        np.testing.assert_array_equal(v.to_numpy(), _fn(a.T1w.loc[v.obs_id].to_numpy()))
    obs = out.obs.read()
    src = a.T1w.obs.read()
    pd.testing.assert_frame_equal(obs.reset_index(drop=True),
                                  src[src["obs_subject_id"] != "sub-01"].reset_index(drop=True))
    r = radiobject.VolumeCollection(str(tmp_path / "vc"))
    assert r.obs_ids == out.obs_ids
    for i, o in enumerate(r.obs_ids):
        np.testing.assert_array_equal(r.iloc[i].to_numpy(), _fn(a.T1w.loc[o].to_numpy()))
        with oracle.open(str(tmp_path / "vc" / "volumes" / str(i))) as A:
            assert A.meta["obs_id"] == o
    # 0.1.1's map on the same collection writes the same voxels
    rb = b.T1w.map(_fn).materialize(str(tmp_path / "vc011"))
    for o in out.obs_ids:
        np.testing.assert_array_equal(rb.loc[o].to_numpy(), _fn(a.T1w.loc[o].to_numpy()))


def test_collection_materialize_empty_refused(both, tmp_path):
    for r in both:
        with pytest.raises(ValueError, match="No volumes match the query"):
            r.T1w.lazy().filter_subjects(["nobody"]).materialize(str(tmp_path / "e"))
        with pytest.raises(ValueError, match="No volumes match the query"):
            r.T1w.lazy().filter_subjects(["nobody"]).to_numpy_stack()


def test_map_materialize_volume_order_by_obs(tmp_path):
    """obs_ids whose order differs from their subjects' (D3): radi's output places every
    volume at its obs row, so 0.1.1 reads each one right by position; 0.1.1's own map
    materialize writes volumes in sorted(obs_id) order and reads them back swapped."""
    files = []
    for sid, oid, val in (("a", "z_scan", 1), ("b", "m_scan", 2), ("c", "a_scan", 3)):
        p = tmp_path / f"{sid}.nii.gz"
        nib.save(nib.Nifti1Image(np.full((4, 4, 3), val, np.int16), np.eye(4)), str(p))
        files.append((str(p), sid, oid))
    radi.RadiObject.from_niftis(str(tmp_path / "ds"), images={"X": files})
    src = radi.RadiObject(str(tmp_path / "ds")).X
    want = {"z_scan": 10, "m_scan": 20, "a_scan": 30}
    src.map(lambda v: v * 10).materialize(str(tmp_path / "radi_out"))
    r = radiobject.VolumeCollection(str(tmp_path / "radi_out"))
    assert {o: int(r.iloc[i].to_numpy()[0, 0, 0]) for i, o in enumerate(r.obs_ids)} == want
    radiobject.VolumeCollection(str(tmp_path / "ds" / "collections" / "X")).map(
        lambda v: v * 10).materialize(str(tmp_path / "o11_out"))
    r11 = radiobject.VolumeCollection(str(tmp_path / "o11_out"))
    got11 = {o: int(r11.iloc[i].to_numpy()[0, 0, 0]) for i, o in enumerate(r11.obs_ids)}
    assert got11 != want   # 0.1.1's defect D3
