"""Volumes and dataframes on local disk and on S3 (moto started by the suite): the same
tests, the same assertions, for both roots (s3_fixtures.root). numpy is the reference for
the voxels and pandas for the rows; TileDB-Py reads everything radi wrote, on both roots.
"""
import random

import numpy as np
import pandas as pd
import pytest
import tiledb

import radi
from radi import (CompressionConfig, Compressor, Dataframe, SliceOrientation, TileConfig, Volume,
                  WriteConfig, configure)
from test_api import DTYPES, _data, _random_index
from test_dataframe import frame, same, sorted_frame


@pytest.fixture(autouse=True)
def default_write_config():
    configure(write=WriteConfig())
    yield
    configure(write=WriteConfig())


def tdb_read(root, uri):
    root.settle()
    with tiledb.open(uri, ctx=root.tiledb_ctx()) as a:
        return a[:]["voxels"]


# ------------------------------------------------------------------- volumes --

def test_every_dtype_round_trips(root):
    """Small volumes (the point is the types, not the size): whole, region and plane
    reads equal numpy; TileDB-Py reads the same voxels."""
    for i, dtype in enumerate(DTYPES):
        data = _data((6, 5, 4), dtype, seed=i)
        uri = root.uri(f"v_{np.dtype(dtype).name}")
        vol = Volume.from_numpy(uri, data)
        assert vol.shape == data.shape and vol.dtype == data.dtype and vol.uri == uri
        again = Volume(uri)
        np.testing.assert_array_equal(again.to_numpy(), data)
        np.testing.assert_array_equal(again[1:5, 2, ::2], data[1:5, 2, ::2])
        np.testing.assert_array_equal(again.axial(3), data[:, :, 3])
        np.testing.assert_array_equal(tdb_read(root, uri), data)


@pytest.mark.parametrize("orient", [SliceOrientation.SAGITTAL, SliceOrientation.ISOTROPIC],
                         ids=lambda o: o.value)
def test_tilings_codecs_and_4d(root, orient):
    configure(tile=TileConfig(orientation=orient, t=2),
              compression=CompressionConfig(algorithm=Compressor.LZ4, level=1))
    data4 = _data((5, 4, 6, 3), np.float32, seed=3)
    v4 = Volume.from_numpy(root.uri("v4"), data4)
    assert v4.ndim == 4 and v4.tile_orientation is orient
    np.testing.assert_array_equal(Volume(root.uri("v4")).to_numpy(), data4)
    np.testing.assert_array_equal(v4.axial(2, t=1), data4[:, :, 2, 1])
    np.testing.assert_array_equal(v4.coronal(3), data4[:, 3])
    np.testing.assert_array_equal(tdb_read(root, root.uri("v4")), data4)
    with tiledb.open(root.uri("v4"), ctx=root.tiledb_ctx()) as a:
        assert type(a.schema.attr(0).filters[0]).__name__ == "LZ4Filter"
        assert a.meta["tile_orientation"] == orient.value


def test_random_slices_match_numpy(root):
    """Reads spanning several tiles (isotropic 4x5x3 tiles): S3 range reads cover the
    same boxes as local reads."""
    configure(tile=TileConfig(orientation=SliceOrientation.ISOTROPIC, x=4, y=5, z=3))
    data = _data((11, 13, 9), np.int32, seed=7)
    vol = Volume.from_numpy(root.uri("v"), data)
    rng = random.Random(99)
    for _ in range(60):
        key = _random_index(rng, data.shape)
        try:
            want = data[key]
        except IndexError:
            with pytest.raises(IndexError):
                vol[key]
            continue
        np.testing.assert_array_equal(vol[key], want, err_msg=repr(key))


def test_consolidate_and_vacuum(root):
    """Three fragments (radi's, then two partial ones by TileDB-Py: radi reads what
    TileDB-Py wrote on that storage), consolidated and vacuumed by radi."""
    uri = root.uri("v")
    data = _data((8, 8, 6), np.float32)
    Volume.from_numpy(uri, data)
    ctx = root.tiledb_ctx()
    root.settle()
    with tiledb.open(uri, "w", ctx=ctx) as a:
        a[1:5, 2:6, 0:3] = np.full((4, 4, 3), 7.0, np.float32)
    with tiledb.open(uri, "w", ctx=ctx) as a:
        a[3:8, 0:2, 2:6] = np.full((5, 2, 4), -1.0, np.float32)
    want = data.copy()
    want[1:5, 2:6, 0:3] = 7.0
    want[3:8, 0:2, 2:6] = -1.0
    np.testing.assert_array_equal(Volume(uri).to_numpy(), want)
    assert len(tiledb.array_fragments(uri, ctx=ctx)) == 3
    radi.consolidate(uri)
    np.testing.assert_array_equal(Volume(uri).to_numpy(), want)
    radi.vacuum(uri)
    root.settle()
    assert len(tiledb.array_fragments(uri, ctx=ctx)) == 1
    assert len([f for f in root.files("v") if f.startswith("__fragments/") and f.endswith(".tdb")
                and "__fragment_metadata" in f]) == 1
    np.testing.assert_array_equal(Volume(uri).to_numpy(), want)
    np.testing.assert_array_equal(tdb_read(root, uri), want)
    for mode in ("commits", "fragment_meta", "array_meta"):
        radi.consolidate(uri, mode=mode)
        radi.vacuum(uri, mode=mode)
    np.testing.assert_array_equal(Volume(uri).to_numpy(), want)
    np.testing.assert_array_equal(tdb_read(root, uri), want)
    with pytest.raises(FileNotFoundError):
        radi.consolidate(root.uri("missing"))


def test_volume_errors_name_the_uri(root):
    uri = root.uri("v")
    Volume.from_numpy(uri, np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(FileExistsError, match=uri):
        Volume.from_numpy(uri, np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(FileNotFoundError, match=root.uri("missing")):
        Volume(root.uri("missing"))
    with pytest.raises(ValueError, match="got 2D"):
        Volume.from_numpy(root.uri("flat"), np.zeros((3, 3)))
    assert not root.exists("flat") and not root.exists("missing")


# ---------------------------------------------------------------- dataframes --

def test_dataframe_round_trip_filters_and_lookups(root):
    table = Dataframe.from_pandas(root.uri("t"), frame(), index_columns=["sid"])
    want = sorted_frame()
    again = Dataframe(root.uri("t"))
    assert again.index_columns == ("sid",) and len(again) == 5
    same(again.read(), want)
    same(again.read(columns=["ok", "age"]), want[["sid", "ok", "age"]])
    same(again.loc["s2"], want[want.sid == "s2"])
    same(again.loc[["s3", "s1", "zz"]], want[want.sid.isin(["s1", "s3"])])
    same(again.loc["s10":"s2"], want[want.sid.isin(["s10", "s2"])])
    same(again.read(value_filter="age > 30 and sex == 'F'"), want[(want.age > 30) & (want.sex == "F")])
    same(again.read(value_filter="grade >= 2"), want[(want.grade >= 2).fillna(False).astype(bool)])
    # An upsert is one more fragment; TileDB-Py sees the rows radi reads.
    table.update(pd.DataFrame({"sid": ["s1", "new"], "age": [26, 18], "sex": ["M", "F"], "score": [0.0, 1.0],
                               "grade": pd.array([None, 4], dtype="Int16"), "site": ["Z", None],
                               "ok": [True, True]}))
    got = Dataframe(root.uri("t")).read().set_index("sid")
    assert len(got) == 6 and got.loc["s1", "age"] == 26 and got.loc["new", "sex"] == "F"
    root.settle()
    ctx = root.tiledb_ctx()
    assert len(tiledb.array_fragments(root.uri("t"), ctx=ctx)) == 2
    with tiledb.open(root.uri("t"), ctx=ctx) as a:
        rows = a.df[:]
    rows = rows if "sid" in rows.columns else rows.reset_index()  # the key may come as the index
    oracle = rows.set_index("sid").sort_index()
    assert oracle["age"].to_dict() == got["age"].to_dict()


def test_dataframe_integer_keys_and_errors(root):
    src = pd.DataFrame({"id": np.array([5, -3, 100, 7, 0], dtype=np.int32), "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    df = Dataframe.from_pandas(root.uri("i"), src.set_index("id"))
    want = src.sort_values("id").reset_index(drop=True)
    same(df.read(), want)
    same(df.loc[0:7], want[want.id.between(0, 7)])
    same(df.loc[100], want[want.id == 100])
    with pytest.raises(radi.RadiExistsError):
        Dataframe.from_pandas(root.uri("i"), src.set_index("id"))
    with pytest.raises(radi.RadiNotFoundError):
        Dataframe(root.uri("nope"))
