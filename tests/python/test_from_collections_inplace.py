"""RadiObject.from_collections with collections already at {uri}/collections/{name}
(radiobject 0.1.1's "link in place"; radi_dataset_create_adopting): run on radi and on
0.1.1 with the same inputs, the results compared; radi's left byte for byte, valid for
radi, 0.1.1 and TileDB-Py; refusals leave every file as it was."""
import hashlib
import os

import numpy as np
import pandas as pd
import pytest

radiobject = pytest.importorskip("radiobject")
nib = pytest.importorskip("nibabel")
tiledb = pytest.importorskip("tiledb")

import radi  # noqa: E402
from radi.errors import RadiInvalidError  # noqa: E402

SUBJECTS = ("sub-01", "sub-02", "sub-03")


def _images(d):
    out = {}
    for m, base in (("FLAIR", 0), ("T1w", 500)):
        rows = []
        for k, sid in enumerate(SUBJECTS):
            data = (np.arange(8 * 6 * 4).reshape(8, 6, 4) % 97 + base + 10 * k).astype(np.int16)
            p = d / f"{sid}_{m}.nii.gz"
            nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.5, 2.0, 1.0])), str(p))
            rows.append((str(p), sid))
        out[m] = rows
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """The same two collections written by radi and by 0.1.1."""
    d = tmp_path_factory.mktemp("src")
    images = _images(d)
    return (radi.RadiObject.from_niftis(str(d / "radi"), images=images),
            radiobject.RadiObject.from_niftis(str(d / "ro"), images=images))


def _tree(root):
    """Every file below root with a hash of its bytes."""
    out = {}
    for d, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha1(fh.read()).hexdigest()
    return out


def _in_place(mod, src, uri, names):
    """0.1.1's test_from_collections_in_place set-up: the collections group made with
    TileDB, each collection copied to its place by the implementation's own copy."""
    tiledb.Group.create(f"{uri}/collections")
    out = {}
    for name in names:
        mod.radi_object._copy_volume_collection(src.collection(name), f"{uri}/collections/{name}", name=name)
        out[name] = mod.VolumeCollection(f"{uri}/collections/{name}")
    return out


def test_in_place_as_0_1_1(sources, tmp_path):
    r_src, o_src = sources
    ru, ou = str(tmp_path / "r"), str(tmp_path / "o")
    r_in = _in_place(radi, r_src, ru, ["FLAIR", "T1w"])
    o_in = _in_place(radiobject, o_src, ou, ["FLAIR", "T1w"])
    before = {n: _tree(f"{ru}/collections/{n}") for n in ("FLAIR", "T1w")}
    r = radi.RadiObject.from_collections(ru, r_in)
    o = radiobject.RadiObject.from_collections(ou, o_in)
    # Linked, not copied: every file of the collections as it was.
    for n in ("FLAIR", "T1w"):
        assert _tree(f"{ru}/collections/{n}") == before[n], n
    assert len(r) == len(o) == 3 and r.n_collections == o.n_collections == 2
    assert set(r.collection_names) == set(o.collection_names) == {"FLAIR", "T1w"}
    assert r.obs_subject_ids == list(o.obs_subject_ids) == list(SUBJECTS)
    pd.testing.assert_frame_equal(r.obs_meta.read(), o.obs_meta.read())
    for n in ("FLAIR", "T1w"):
        assert r.collection(n).obs_ids == o.collection(n).obs_ids
        for oid in r.collection(n).obs_ids:
            np.testing.assert_array_equal(r.collection(n).loc[oid].to_numpy(), o.collection(n).loc[oid].to_numpy())
    r.validate()
    back = radiobject.RadiObject(ru)
    back.validate()
    assert back._metadata["subject_count"] == 3 and back._metadata["n_collections"] == 2
    np.testing.assert_array_equal(np.asarray(back.FLAIR.iloc[1].to_numpy()), r.FLAIR.iloc[1].to_numpy())
    with tiledb.Group(ru) as g:
        assert {m.name for m in g} == {"obs_meta", "collections"}
    with tiledb.open(f"{ru}/collections/T1w/volumes/0") as a:
        assert a.meta["obs_id"] == "sub-01_T1w"


def test_plain_directory_copy_and_obs_meta(sources, tmp_path):
    """collections/ a plain directory (radi's materialize makes it); another collection
    copied beside the adopted one; obs_meta with a user column. 0.1.1 cannot link into
    a plain directory; it opens and validates radi's result."""
    r_src, _o = sources
    uri = tmp_path / "p"
    fl = r_src.FLAIR.materialize(str(uri / "collections" / "FLAIR"))
    before = _tree(uri)
    meta = pd.DataFrame({"obs_subject_id": list(SUBJECTS), "age": [30, 40, 50]})
    r = radi.RadiObject.from_collections(str(uri), {"FLAIR": fl, "mask": r_src.iloc[[0, 2]].T1w}, obs_meta=meta)
    assert {k: v for k, v in _tree(uri).items() if k.startswith("collections/FLAIR/")} == before
    assert r.mask.obs_ids == ["sub-01_T1w", "sub-03_T1w"]
    assert r.obs_meta.read()["age"].tolist() == [30, 40, 50]
    np.testing.assert_array_equal(r.mask.loc["sub-03_T1w"].to_numpy(), r_src.T1w.loc["sub-03_T1w"].to_numpy())
    r.validate()
    o = radiobject.RadiObject(str(uri))
    o.validate()
    assert o.obs_meta.read()["age"].tolist() == [30, 40, 50]
    assert sorted(o.collection_names) == ["FLAIR", "mask"]


def test_refusals_leave_every_file(sources, tmp_path):
    r_src, _o = sources
    uri = tmp_path / "x"
    fl = r_src.FLAIR.materialize(str(uri / "collections" / "FLAIR"))
    before = _tree(uri)
    (uri / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="notes.txt"):
        radi.RadiObject.from_collections(str(uri), {"FLAIR": fl})
    os.remove(uri / "notes.txt")
    assert _tree(uri) == before
    # A view of the collection at its place, a subject without its obs_meta row.
    with pytest.raises(ValueError, match="view"):
        radi.RadiObject.from_collections(str(uri), {"FLAIR": fl.iloc[[0]]})
    with pytest.raises(ValueError, match="sub-02"):
        radi.RadiObject.from_collections(str(uri), {"FLAIR": fl},
                                         obs_meta=pd.DataFrame({"obs_subject_id": ["sub-01", "sub-03"]}))
    # An obs_id in two collections: found while writing, rolled back.
    with pytest.raises(RadiInvalidError, match="sub-01_FLAIR"):
        radi.RadiObject.from_collections(str(uri), {"FLAIR": fl, "F2": r_src.FLAIR})
    assert _tree(uri) == before
    # A collection named otherwise than its place.
    other = r_src.T1w.materialize(str(uri / "collections" / "T1w"), name="mask")
    before = _tree(uri)
    with pytest.raises(RadiInvalidError, match="named 'mask'"):
        radi.RadiObject.from_collections(str(uri), {"FLAIR": fl, "T1w": other})
    assert _tree(uri) == before


def test_in_place_on_s3(s3root, tmp_path):
    """The same adoption on S3 (moto): a collection put at {uri}/collections/{name} by
    radi's own copy is registered, not copied (its objects are exactly as they were: no
    object added, removed or resized), the other one is copied; nothing of the write is
    left beside them."""
    from pathlib import Path

    images = _images(tmp_path)
    up = {m: [(s3root.put(p, f"src/{Path(p).name}"), sid) for p, sid in rows] for m, rows in images.items()}
    src = radi.RadiObject.from_niftis(s3root.uri("src_ds"), images=up)
    uri = s3root.uri("ds")
    radi.radi_object._copy_volume_collection(src.collection("FLAIR"), f"{uri}/collections/FLAIR", name="FLAIR")
    before = s3root.files("ds/collections/FLAIR")
    ro = radi.RadiObject.from_collections(uri, {"FLAIR": radi.VolumeCollection(f"{uri}/collections/FLAIR"),
                                                "T1w": src.collection("T1w")})
    assert sorted(ro.collection_names) == ["FLAIR", "T1w"] and list(ro.obs_subject_ids) == list(SUBJECTS)
    after = s3root.files("ds/collections/FLAIR")
    assert after == before                          # the adopted collection's objects, untouched
    for m in ("FLAIR", "T1w"):
        for oid in ro.collection(m).obs_ids:
            np.testing.assert_array_equal(ro.collection(m).loc[oid].to_numpy(), src.collection(m).loc[oid].to_numpy())
    ro.validate()
    left = s3root.files("ds")
    assert not [k for k in left if "__radi_journal" in k or ".radi-tmp" in k], sorted(left)
    assert radi.repair(uri) is None
