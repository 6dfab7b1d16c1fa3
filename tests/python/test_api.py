"""The Python front end: configuration semantics of RadiObject 0.1.1, Volume round trips,
numpy-equivalent slicing, errors, consolidation. TileDB-Py checks what radi wrote.

Runs against the installed package, or a build dir with RADI_LIBRARY=.../libradi.so and
PYTHONPATH=python. If libradi cannot be loaded every test fails (nothing is skipped).
"""
import itertools
import os
import random

import numpy as np
import pytest
import tiledb

import radi
from radi import (CompressionConfig, Compressor, IOConfig, ReadConfig, S3Config,
                  SliceOrientation, TileConfig, Volume, WriteConfig, configure, get_config)
from radi import _lib


@pytest.fixture(autouse=True)
def default_config():
    """Every test starts (and leaves) the default configuration."""
    configure(write=WriteConfig(), read=ReadConfig(), s3=S3Config())
    yield
    configure(write=WriteConfig(), read=ReadConfig(), s3=S3Config())


def test_library_loads():
    assert _lib.library_path().is_file(), f"libradi not found at {_lib.library_path()}"
    assert radi.library_version() == "0.1.0"


def test_import_is_light():
    """`import radi` pulls in numpy only and loads libradi lazily."""
    import subprocess
    import sys
    code = ("import sys, radi; "
            "heavy = [m for m in ('tiledb', 'pandas', 'pyarrow') if m in sys.modules]; "
            "assert not heavy, heavy; assert radi._lib._lib is None; "
            "radi.TileConfig().extents_for_shape((4, 4, 4)); assert radi._lib._lib is not None")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


# ----------------------------------------------------------------- configuration --

def test_defaults():
    c = get_config()
    assert c.tile.orientation is SliceOrientation.AXIAL
    assert (c.tile.x, c.tile.y, c.tile.z, c.tile.t) == (None, None, None, 1)
    assert c.compression.algorithm is Compressor.ZSTD and c.compression.level == 3
    assert (c.io.memory_budget_mb, c.io.concurrency, c.io.max_workers) == (1024, 4, 4)
    assert c.io is c.read
    assert c.tile is c.write.tile and c.compression is c.write.compression
    s3 = c.s3
    assert (s3.region, s3.endpoint, s3.use_virtual_addressing, s3.max_parallel_ops,
            s3.multipart_part_size_mb) == ("us-east-1", None, True, 8, 50)


def test_configure_merges_only_what_is_given():
    configure(tile=TileConfig(orientation=SliceOrientation.SAGITTAL))
    configure(compression=CompressionConfig(algorithm=Compressor.LZ4, level=1))
    c = get_config()
    assert c.tile.orientation is SliceOrientation.SAGITTAL
    assert c.compression.algorithm is Compressor.LZ4
    configure(io=IOConfig(memory_budget_mb=2048, concurrency=8))
    c = get_config()
    assert (c.io.memory_budget_mb, c.io.concurrency) == (2048, 8)
    assert c.tile.orientation is SliceOrientation.SAGITTAL  # untouched by io=
    configure(s3=S3Config(region="us-east-2", max_parallel_ops=16))
    assert get_config().s3.region == "us-east-2"
    assert get_config().s3.max_parallel_ops == 16
    assert get_config().io.concurrency == 8
    # write= replaces the whole write config: tile back to axial.
    configure(write=WriteConfig(compression=CompressionConfig(level=5)))
    c = get_config()
    assert c.tile.orientation is SliceOrientation.AXIAL and c.compression.level == 5
    configure(read=ReadConfig(concurrency=2))
    assert get_config().io.concurrency == 2 and get_config().io.memory_budget_mb == 1024


def test_context_rebuilt_when_io_changes():
    a = _lib.context()
    assert _lib.context() is a
    configure(tile=TileConfig(orientation="isotropic"))
    assert _lib.context() is a
    configure(io=IOConfig(concurrency=2))
    b = _lib.context()
    assert b is not a
    assert dict(b.key)["concurrency"] == "2" and dict(b.key)["memory_budget"] == str(1024 << 20)


def test_enums_print_like_radiobject():
    assert f"{SliceOrientation.AXIAL}" == "SliceOrientation.AXIAL"
    assert f"{Compressor.ZSTD}" == "Compressor.ZSTD"
    assert [o.value for o in SliceOrientation] == ["axial", "sagittal", "coronal", "isotropic"]
    assert [c.value for c in Compressor] == ["zstd", "lz4", "gzip", "none"]
    assert f"{SliceOrientation.CORONAL.value:10s}|" == "coronal   |"
    assert SliceOrientation.AXIAL == "axial"
    assert TileConfig(orientation="coronal").orientation is SliceOrientation.CORONAL
    assert CompressionConfig(algorithm="gzip").algorithm is Compressor.GZIP
    cfg = get_config()
    assert f"Compression: {cfg.compression.algorithm}, level={cfg.compression.level}" == \
        "Compression: Compressor.ZSTD, level=3"


@pytest.mark.parametrize("make", [
    lambda: TileConfig(x=0), lambda: TileConfig(z=-3), lambda: TileConfig(t=0),
    lambda: TileConfig(orientation="oblique"), lambda: TileConfig(y=1.5),
    lambda: CompressionConfig(level=23), lambda: CompressionConfig(level=-2),
    lambda: CompressionConfig(algorithm="bzip2"), lambda: CompressionConfig(shuffle="word"),
    lambda: IOConfig(memory_budget_mb=63), lambda: IOConfig(concurrency=0),
    lambda: IOConfig(concurrency=65), lambda: ReadConfig(max_workers=33),
    lambda: S3Config(multipart_part_size_mb=4), lambda: S3Config(max_parallel_ops=0),
])
def test_validation(make):
    with pytest.raises(ValueError):
        make()


def test_validation_messages_name_the_field():
    with pytest.raises(ValueError, match=r"TileConfig\.x must be >= 1, got 0"):
        TileConfig(x=0)
    with pytest.raises(ValueError, match=r"IOConfig\.memory_budget_mb must be >= 64"):
        IOConfig(memory_budget_mb=1)
    with pytest.raises(TypeError):
        configure(tile=CompressionConfig())


EXTENTS = {  # research/radiobject-0.1.1.md §1.3
    (240, 240, 155): {"axial": (240, 240, 1), "sagittal": (1, 240, 155),
                      "coronal": (240, 1, 155), "isotropic": (64, 64, 64)},
    (240, 240, 155, 4): {"axial": (240, 240, 1, 1), "sagittal": (1, 240, 155, 1),
                         "coronal": (240, 1, 155, 1), "isotropic": (64, 64, 64, 1)},
    (60, 64, 40): {"axial": (60, 64, 1), "sagittal": (1, 64, 40), "coronal": (60, 1, 40),
                   "isotropic": (64, 64, 64)},
}


@pytest.mark.parametrize("shape", list(EXTENTS))
def test_extents_for_shape_table(shape):
    for orient in SliceOrientation:
        assert TileConfig(orientation=orient).extents_for_shape(shape) == EXTENTS[shape][orient.value]
    assert TileConfig(z=4, t=2).extents_for_shape((240, 240, 155, 4)) == (240, 240, 4, 2)
    assert TileConfig(orientation="isotropic", x=8).extents_for_shape((10, 10, 10)) == (8, 64, 64)
    with pytest.raises(ValueError, match="Shape must be 3D or 4D, got 2D"):
        TileConfig().extents_for_shape((4, 4))


# ------------------------------------------------------------------- round trips --

DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
          np.float32, np.float64, np.bool_]


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("orient", list(SliceOrientation), ids=lambda o: o.value)
def test_round_trip_3d(tmp_path, dtype, orient):
    data = _data((7, 9, 5), dtype)
    for comp in Compressor:
        configure(tile=TileConfig(orientation=orient), compression=CompressionConfig(algorithm=comp))
        uri = str(tmp_path / f"v_{comp.value}")
        vol = Volume.from_numpy(uri, data)
        assert vol.shape == data.shape and vol.dtype == data.dtype and vol.ndim == 3
        assert vol.tile_orientation is orient
        out = vol.to_numpy()
        assert out.dtype == data.dtype and out.flags.c_contiguous
        np.testing.assert_array_equal(out, data)
        np.testing.assert_array_equal(Volume(uri).to_numpy(), data)


@pytest.mark.parametrize("orient", list(SliceOrientation), ids=lambda o: o.value)
@pytest.mark.parametrize("comp", list(Compressor), ids=lambda c: c.value)
def test_round_trip_4d(tmp_path, orient, comp):
    for i, dtype in enumerate([np.uint8, np.int16, np.float32, np.float64, np.bool_]):
        data = _data((4, 5, 6, 3), dtype, seed=i)
        configure(tile=TileConfig(orientation=orient, t=2),
                  compression=CompressionConfig(algorithm=comp, level=1))
        uri = str(tmp_path / f"v{i}")
        vol = Volume.from_numpy(uri, data)
        assert vol.shape == (4, 5, 6, 3) and vol.ndim == 4
        np.testing.assert_array_equal(Volume(uri).to_numpy(), data)


@pytest.mark.parametrize("shuffle", ["byte", "bit"])
def test_shuffle_round_trip(tmp_path, shuffle):
    data = _data((6, 7, 8), np.float32)
    configure(compression=CompressionConfig(algorithm=Compressor.ZSTD, level=3, shuffle=shuffle))
    uri = str(tmp_path / "v")
    np.testing.assert_array_equal(Volume.from_numpy(uri, data).to_numpy(), data)
    filters = tiledb.ArraySchema.load(uri).attr("voxels").filters
    assert [type(f).__name__ for f in filters] == \
        [{"byte": "ByteShuffleFilter", "bit": "BitShuffleFilter"}[shuffle], "ZstdFilter"]


def test_non_contiguous_and_big_endian_input(tmp_path):
    data = _data((6, 8, 10), np.int32)
    view = data[::2, :, ::-1]  # not C-contiguous
    np.testing.assert_array_equal(Volume.from_numpy(str(tmp_path / "a"), view).to_numpy(), view)
    be = data.astype(">i4")
    vol = Volume.from_numpy(str(tmp_path / "b"), be)
    assert vol.dtype == np.dtype(np.int32)
    np.testing.assert_array_equal(vol.to_numpy(), data)


@pytest.mark.parametrize("orient", list(SliceOrientation), ids=lambda o: o.value)
def test_layout_as_radiobject_writes_it(tmp_path, orient):
    """TileDB-Py sees RadiObject's volume layout: extents clipped, zstd(3), metadata."""
    data = _data((60, 64, 40), np.int16)
    configure(tile=TileConfig(orientation=orient))
    uri = str(tmp_path / "v")
    Volume.from_numpy(uri, data)
    with tiledb.open(uri) as a:
        s = a.schema
        assert not s.sparse and s.cell_order == "row-major" and s.tile_order == "row-major"
        assert [d.name for d in s.domain] == ["x", "y", "z"]
        assert all(d.dtype == np.int32 for d in s.domain)
        assert [tuple(int(v) for v in d.domain) for d in s.domain] == [(0, 59), (0, 63), (0, 39)]
        want = tuple(min(e, n) for e, n in zip(EXTENTS[(60, 64, 40)][orient.value], (60, 64, 40)))
        assert tuple(int(d.tile) for d in s.domain) == want
        assert s.nattr == 1 and s.attr(0).name == "voxels" and s.attr(0).dtype == np.int16
        f = s.attr(0).filters
        assert len(f) == 1 and isinstance(f[0], tiledb.ZstdFilter) and f[0].level == 3
        assert a.meta["tile_orientation"] == orient.value
        np.testing.assert_array_equal(a[:]["voxels"], data)
    assert len(tiledb.array_fragments(uri)) == 1


def test_none_compressor_has_no_filters(tmp_path):
    configure(compression=CompressionConfig(algorithm=Compressor.NONE))
    uri = str(tmp_path / "v")
    Volume.from_numpy(uri, _data((3, 4, 5), np.uint16))
    assert len(tiledb.ArraySchema.load(uri).attr("voxels").filters) == 0


def test_reads_what_tiledb_wrote(tmp_path):
    """A volume written by TileDB-Py as RadiObject does (with legacy orientation key)."""
    uri = str(tmp_path / "tdb")
    data = _data((10, 12, 7), np.float32)
    dom = tiledb.Domain(*[tiledb.Dim(name=n, domain=(0, s - 1), tile=t, dtype=np.int32)
                          for n, s, t in zip("xyz", data.shape, (10, 12, 1))])
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, sparse=False, attrs=[
        tiledb.Attr(name="voxels", dtype=np.float32, filters=[tiledb.ZstdFilter(3)])]))
    with tiledb.open(uri, "w") as a:
        a[:] = data
        a.meta["slice_orientation"] = "axial"
    vol = Volume(uri)
    assert vol.tile_orientation is SliceOrientation.AXIAL
    np.testing.assert_array_equal(vol.to_numpy(), data)
    np.testing.assert_array_equal(vol[2:9:3, -1, 1:], data[2:9:3, -1, 1:])


def test_repr_and_properties(tmp_path):
    vol = Volume.from_numpy(str(tmp_path / "v"), np.zeros((240, 24, 15), np.float32))
    assert repr(vol) == "Volume(shape=240x24x15, dtype=float32)"
    assert isinstance(vol.shape, tuple) and vol.ndim == 3 and vol.dtype == np.float32
    assert vol.uri == str(tmp_path / "v")
    assert np.asarray(vol).shape == (240, 24, 15)
    with Volume(str(tmp_path / "v")) as v2:
        assert v2.shape == vol.shape
    with pytest.raises(ValueError, match="closed"):
        v2.to_numpy()


# ----------------------------------------------------------------------- slicing --

@pytest.fixture(scope="module")
def vol3(tmp_path_factory):
    data = _data((11, 13, 9), np.int32, seed=7)
    uri = str(tmp_path_factory.mktemp("slicing") / "v3")
    configure(tile=TileConfig(orientation=SliceOrientation.ISOTROPIC, x=4, y=5, z=3))
    vol = Volume.from_numpy(uri, data)
    configure(write=WriteConfig())
    return vol, data


@pytest.fixture(scope="module")
def vol4(tmp_path_factory):
    data = _data((5, 6, 7, 4), np.float64, seed=8)
    uri = str(tmp_path_factory.mktemp("slicing") / "v4")
    return Volume.from_numpy(uri, data), data


def _random_index(rng, shape):
    """A random basic index: ints (some out of range), slices with any bounds and steps,
    an optional Ellipsis standing for the leading or trailing axes."""
    k = rng.randint(1, len(shape))
    lead = rng.random() < 0.7
    axes = shape[:k] if lead else shape[len(shape) - k:]
    parts = []
    for n in axes:
        if rng.random() < 0.3:
            parts.append(rng.randint(-n - 1, n))
        else:
            def bound():
                return rng.choice([None, rng.randint(-n - 2, n + 2)])
            step = rng.choice([None, None, 1, 2, 3, -1, -2, n + 1])
            parts.append(slice(bound(), bound(), step))
    if not lead:
        parts.insert(0, Ellipsis)
    elif rng.random() < 0.2:
        parts.append(Ellipsis)
    if len(parts) == 1 and rng.random() < 0.5:
        return parts[0]
    return tuple(parts)


@pytest.mark.parametrize("which", ["vol3", "vol4"])
def test_slicing_matches_numpy(which, request):
    vol, data = request.getfixturevalue(which)
    rng = random.Random(1234)
    for _ in range(500):
        key = _random_index(rng, data.shape)
        try:
            want = data[key]
        except IndexError:
            with pytest.raises(IndexError):
                vol[key]
            continue
        got = vol[key]
        assert got.shape == want.shape, key
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=repr(key))


def test_planes(vol3, vol4):
    vol, data = vol3
    for z in (0, 4, 8, -1):
        np.testing.assert_array_equal(vol.axial(z), data[:, :, z])
    for x in (0, 10):
        np.testing.assert_array_equal(vol.sagittal(x), data[x])
    np.testing.assert_array_equal(vol.coronal(12), data[:, 12])
    assert vol.axial(3).shape == (11, 13)
    assert vol.sagittal(3).shape == (13, 9)
    assert vol.coronal(3).shape == (11, 9)
    np.testing.assert_array_equal(vol.slice(slice(2, 5), 3, slice(None)), data[2:5, 3, :])
    with pytest.raises(ValueError):
        vol.axial(0, t=1)
    v4, d4 = vol4
    assert v4.axial(2).shape == (5, 6, 4)
    np.testing.assert_array_equal(v4.axial(2, t=3), d4[:, :, 2, 3])
    np.testing.assert_array_equal(v4.sagittal(1, t=0), d4[1, :, :, 0])
    np.testing.assert_array_equal(v4.coronal(5), d4[:, 5])


def test_index_errors(vol3):
    vol, data = vol3
    with pytest.raises(IndexError):
        vol[11]
    with pytest.raises(IndexError):
        vol[0, -14]
    with pytest.raises(IndexError):
        vol[0, 0, 0, 0]
    with pytest.raises(IndexError):
        vol[..., 0, ...]
    with pytest.raises(TypeError):
        vol[[1, 2]]
    with pytest.raises(TypeError):
        vol[0, None]
    with pytest.raises(TypeError):
        vol[True]
    # Bare ints index the first axis as in numpy (RadiObject 0.1.1 raises TypeError).
    np.testing.assert_array_equal(vol[5], data[5])
    np.testing.assert_array_equal(vol[np.int64(2), np.int32(3)], data[2, 3])


# ------------------------------------------------------------------------ errors --

def test_shape_errors(tmp_path):
    with pytest.raises(ValueError, match=r"^Shape must be 3D or 4D, got 2D$"):
        Volume.from_numpy(str(tmp_path / "a"), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="got 5D"):
        Volume.from_numpy(str(tmp_path / "a"), np.zeros((1, 1, 1, 1, 1)))
    with pytest.raises(ValueError, match="dtype"):
        Volume.from_numpy(str(tmp_path / "a"), np.zeros((2, 2, 2), np.complex64))
    assert not (tmp_path / "a").exists()


def test_c_errors_carry_the_message(tmp_path):
    uri = str(tmp_path / "v")
    Volume.from_numpy(uri, np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(FileExistsError) as e:
        Volume.from_numpy(uri, np.zeros((2, 3, 4), np.uint8))
    assert isinstance(e.value, radi.RadiError) and e.value.status == "RADI_E_EXISTS"
    assert uri in str(e.value)
    with pytest.raises(FileNotFoundError) as e:
        Volume(str(tmp_path / "missing"))
    assert isinstance(e.value, radi.RadiError)
    assert "missing" in str(e.value)

    plane = str(tmp_path / "plane")
    dom = tiledb.Domain(tiledb.Dim(name="a", domain=(0, 3), tile=2, dtype=np.int32),
                        tiledb.Dim(name="b", domain=(0, 3), tile=2, dtype=np.int32))
    tiledb.Array.create(plane, tiledb.ArraySchema(domain=dom, attrs=[tiledb.Attr("voxels", dtype=np.uint8)]))
    with pytest.raises(radi.RadiError, match="not a volume") as e:
        Volume(plane)
    assert isinstance(e.value, ValueError)

    configure(compression=CompressionConfig(algorithm=Compressor.GZIP, level=20))
    with pytest.raises(ValueError, match="gzip"):
        Volume.from_numpy(str(tmp_path / "gz"), np.zeros((2, 2, 2), np.uint8))
    assert not (tmp_path / "gz").exists()


# ----------------------------------------------------------- consolidate / vacuum --

def test_consolidate_and_vacuum(tmp_path):
    uri = str(tmp_path / "v")
    data = _data((8, 8, 6), np.float32)
    Volume.from_numpy(uri, data)
    # Two more (partial, overlapping) fragments written by TileDB-Py.
    with tiledb.open(uri, "w") as a:
        a[1:5, 2:6, 0:3] = np.full((4, 4, 3), 7.0, np.float32)
    with tiledb.open(uri, "w") as a:
        a[3:8, 0:2, 2:6] = np.full((5, 2, 4), -1.0, np.float32)
    want = data.copy()
    want[1:5, 2:6, 0:3] = 7.0
    want[3:8, 0:2, 2:6] = -1.0
    np.testing.assert_array_equal(Volume(uri).to_numpy(), want)
    assert len(tiledb.array_fragments(uri)) == 3
    radi.consolidate(uri)
    np.testing.assert_array_equal(Volume(uri).to_numpy(), want)
    radi.vacuum(uri)
    assert len(tiledb.array_fragments(uri)) == 1
    np.testing.assert_array_equal(Volume(uri).to_numpy(), want)
    with tiledb.open(uri) as a:
        np.testing.assert_array_equal(a[:]["voxels"], want)
    for mode in ("commits", "fragment_meta", "array_meta"):
        radi.consolidate(uri, mode=mode)
        radi.vacuum(uri, mode=mode)
    np.testing.assert_array_equal(Volume(uri).to_numpy(), want)
    assert Volume(uri).tile_orientation is SliceOrientation.AXIAL
    with pytest.raises(ValueError, match="mode must be one of"):
        radi.consolidate(uri, mode="everything")
    with pytest.raises(FileNotFoundError):
        radi.consolidate(str(tmp_path / "missing"))
