"""radi.streaming (StreamingWriter, RadiObjectWriter) against radiobject 0.1.1's writers
fed the same volumes: outputs open, read and validate in 0.1.1 and TileDB-Py; writes are
all-or-nothing; memory stays bounded by the volume being written."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

radiobject = pytest.importorskip("radiobject")

import radi  # noqa: E402
from radi.streaming import RadiObjectWriter, StreamingWriter  # noqa: E402
from radiobject import streaming as rs  # noqa: E402

SHAPE = (6, 5, 4)
# Written out of order on purpose: obs sorts them, volumes/<k> must follow.
ITEMS = [("sub-03", 3, 61.5, "b"), ("sub-01", 1, 30.0, "a"), ("sub-02", 2, 45.25, "a")]
SCHEMA = {"age": np.float64, "site": np.dtype("U8")}


def _vol(k):
    return (np.arange(np.prod(SHAPE), dtype=np.float32).reshape(SHAPE) + 100 * k)


def _write(writer_cls, uri):
    with writer_cls(uri, shape=SHAPE, obs_schema=SCHEMA, name="T1w") as w:
        for sid, k, age, site in ITEMS:
            w.write_volume(_vol(k), obs_id=f"{sid}_T1w", obs_subject_id=sid, age=age, site=site)
        assert w.n_written == 3
    return uri


def test_streaming_writer_matches_radiobject(tmp_path, oracle):
    ours = _write(StreamingWriter, str(tmp_path / "radi"))
    theirs = _write(rs.StreamingWriter, str(tmp_path / "o11"))
    for uri in (ours, theirs):
        vc = radi.VolumeCollection(uri)   # radi reads both by obs_id
        assert vc.name == "T1w" and vc.shape == SHAPE and len(vc) == 3
        for sid, k, _a, _s in ITEMS:
            np.testing.assert_array_equal(vc.loc[f"{sid}_T1w"].to_numpy(), _vol(k))
    a = radi.VolumeCollection(ours).obs.read()
    b = radi.VolumeCollection(theirs).obs.read()
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert a["obs_id"].tolist() == ["sub-01_T1w", "sub-02_T1w", "sub-03_T1w"]
    assert a["age"].tolist() == [30.0, 45.25, 61.5] and a["site"].tolist() == ["a", "a", "b"]
    # 0.1.1 reads radi's output by position and gets every volume right ...
    r = radiobject.VolumeCollection(ours)
    assert r.name == "T1w" and r.shape == SHAPE
    for i, o in enumerate(r.obs_ids):
        k = int(o[5])
        np.testing.assert_array_equal(r.iloc[i].to_numpy(), _vol(k))
        with oracle.open(os.path.join(ours, "volumes", str(i))) as A:
            assert A.meta["obs_id"] == o
            np.testing.assert_array_equal(A[:]["voxels"], _vol(k))
    with oracle.Group(ours) as g:
        assert g.meta["n_volumes"] == 3 and g.meta["x_dim"] == SHAPE[0]
    with oracle.open(os.path.join(ours, "obs")) as A:
        assert sorted(A.df[:].reset_index()["obs_id"]) == ["sub-01_T1w", "sub-02_T1w", "sub-03_T1w"]
    # ... and its own output wrong (volumes in write order, obs sorted: 0.1.1 defect D3)
    r11 = radiobject.VolumeCollection(theirs)
    assert not np.array_equal(r11.iloc[0].to_numpy(), _vol(1))


def test_streaming_writer_any_shapes_and_batches(tmp_path):
    uri = str(tmp_path / "mixed")
    with StreamingWriter(uri) as w:   # no shape, no schema: the first row sets the columns
        w.write_batch([(np.ones((3, 3, 3), np.int16), "b_X", "b", {"n": 1}),
                       (np.zeros((4, 3, 2, 2), np.uint8), "a_X", "a", {"n": 2})])
        assert w.n_written == 2
    vc = radi.VolumeCollection(uri)
    assert vc.name == "mixed" and vc.shape is None and vc.obs_ids == ["a_X", "b_X"]
    assert vc.loc["a_X"].shape == (4, 3, 2, 2) and vc.loc["a_X"].dtype == np.uint8
    assert vc.obs.read()["n"].tolist() == [2, 1]
    r = radiobject.VolumeCollection(uri)
    np.testing.assert_array_equal(r.iloc[1].to_numpy(), np.ones((3, 3, 3), np.int16))


def test_streaming_writer_refusals(tmp_path):
    uri = str(tmp_path / "vc")
    with pytest.raises(ValueError, match=r"doesn't match collection shape"):
        with StreamingWriter(uri, shape=SHAPE) as w:
            w.write_volume(np.zeros((6, 5, 3)), "x", "s")
    with pytest.raises(ValueError, match="obs attributes"):
        with StreamingWriter(uri, obs_schema={"age": np.int64}) as w:
            w.write_volume(np.zeros(SHAPE), "x", "s", weight=3)
    with pytest.raises(ValueError, match="already written"):
        with StreamingWriter(uri) as w:
            w.write_volume(np.zeros(SHAPE), "x", "s")
            w.write_volume(np.zeros(SHAPE), "x", "t")
    with pytest.raises(RuntimeError, match="context manager"):
        StreamingWriter(uri).write_volume(np.zeros(SHAPE), "x", "s")
    assert os.listdir(tmp_path) == []   # nothing at uri, no staging object left
    _write(StreamingWriter, uri)
    with pytest.raises(radi.RadiExistsError):
        StreamingWriter(uri).__enter__()


def test_interrupted_stream_leaves_nothing(tmp_path):
    uri = str(tmp_path / "vc")
    with pytest.raises(KeyboardInterrupt):
        with StreamingWriter(uri, shape=SHAPE) as w:
            w.write_volume(_vol(1), "a", "s1")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def _build(writer_cls, uri):
    meta = pd.DataFrame({"obs_subject_id": ["s2", "s1"], "age": [50, 40]})
    with writer_cls(uri, obs_meta_schema={"age": np.int64}) as w:
        w.write_obs_meta(meta)
        with w.add_collection("CT", shape=(4, 4, 3), obs_schema={"kvp": np.float64}) as c:
            c.write_volume(np.full((4, 4, 3), 2, np.int16), "s2_CT", "s2", kvp=120.0)
            c.write_volume(np.full((4, 4, 3), 1, np.int16), "s1_CT", "s1", kvp=100.0)
        with w.add_collection("MR") as c:
            c.write_volume(np.full((5, 4, 3), 7, np.float32), "s1_MR", "s1")
        assert w.collection_names == ["CT", "MR"]
        with pytest.raises(ValueError, match="already added"):
            w.add_collection("CT")
        with pytest.raises(ValueError, match="must be unique across all collections"):
            with w.add_collection("PET") as c:
                c.write_volume(np.zeros((2, 2, 2)), "s1_CT", "s1")
        assert w.collection_names == ["CT", "MR"]
    return uri


def test_radi_object_writer_matches_radiobject(tmp_path, oracle):
    ours = _build(RadiObjectWriter, str(tmp_path / "radi"))
    theirs = _build(rs.RadiObjectWriter, str(tmp_path / "o11"))
    a, b = radi.RadiObject(ours), radi.RadiObject(theirs)
    assert sorted(a.collection_names) == ["CT", "MR"]
    assert len(a) == 2 and a.obs_subject_ids == ["s1", "s2"]
    pd.testing.assert_frame_equal(a.obs_meta.read(), b.obs_meta.read())
    for name in ("CT", "MR"):
        pd.testing.assert_frame_equal(a.collection(name).obs.read(), b.collection(name).obs.read())
        for o in a.collection(name).obs_ids:
            np.testing.assert_array_equal(a.collection(name).loc[o].to_numpy(),
                                          b.collection(name).loc[o].to_numpy())
    a.validate()
    assert a.CT.shape == (4, 4, 3) and a.MR.shape == (5, 4, 3)
    r = radiobject.RadiObject(ours)
    r.validate()
    assert len(r) == 2 and sorted(r.collection_names) == ["CT", "MR"]
    assert [int(r.CT.iloc[i].to_numpy()[0, 0, 0]) for i in range(2)] == [1, 2]  # s1, s2 by position
    with oracle.Group(ours) as g:
        assert g.meta["subject_count"] == 2 and g.meta["n_collections"] == 2


def test_radi_object_writer_obs_meta_rows(tmp_path):
    # No obs_meta written: every subject gets its (sid, sid) row.
    with RadiObjectWriter(str(tmp_path / "a")) as w:
        with w.add_collection("X") as c:
            c.write_volume(np.ones((2, 2, 2)), "p_X", "p")
    ro = w.finalize()
    assert ro.obs_subject_ids == ["p"]
    ro.validate()
    radiobject.RadiObject(str(tmp_path / "a")).validate()
    # User columns: a subject without a row is refused, nothing is left.
    w = RadiObjectWriter(str(tmp_path / "b"))
    with pytest.raises(ValueError, match=r"no row for subject\(s\) \['q'\]"):
        with w:
            w.write_obs_meta(pd.DataFrame({"obs_subject_id": ["p"], "age": [3]}))
            with w.add_collection("X") as c:
                c.write_volume(np.ones((2, 2, 2)), "q_X", "q")
    assert sorted(os.listdir(tmp_path)) == ["a"]


_MEM_SCRIPT = textwrap.dedent("""
    import sys, tempfile
    import numpy as np
    import radi
    from radi import _lib
    from radi.streaming import StreamingWriter

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024

    shape = (32, 32, 1024)                   # 4 MiB float32 volumes, axial tiles
    nbytes = int(np.prod(shape)) * 4
    # No fsync: this measures memory, and keeps the test quick.
    ctx = _lib.Context(_lib.context_options() + (("vfs.posix.sync", "false"),))

    def vol(i):
        a = np.full(shape, float(i), np.float32)
        a[::7, ::5, :] += 1.5
        return a

    d = tempfile.mkdtemp()
    with StreamingWriter(d + "/warm", shape=shape, ctx=ctx) as w:   # libraries and pools loaded
        w.write_volume(vol(0), "w", "w")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                          # resets VmHWM to the current RSS
    base = status("VmRSS:")
    with StreamingWriter(d + "/vc", shape=shape, ctx=ctx) as w:
        for i in range(100):
            w.write_volume(vol(i), "v%03d" % i, "s%03d" % i)
    peak = status("VmHWM:") - base
    vc = radi.VolumeCollection(d + "/vc", ctx=ctx)
    assert len(vc) == 100 and float(vc.loc["v042"].to_numpy()[0, 1, 0]) == 42.0
    # map().materialize holds the volume read and its transform, not the collection
    vc.head(1).map(lambda v: v * 2).materialize(d + "/warm_map", ctx=ctx)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status("VmRSS:")
    out = vc.head(20).map(lambda v: v * 2).materialize(d + "/mapped", ctx=ctx)
    peak_map = status("VmHWM:") - base
    assert len(out) == 20 and float(out.loc["v007"].to_numpy()[0, 1, 0]) == 14.0
    print(peak / nbytes, peak_map / nbytes)
""")


def test_streaming_100_volumes_bounded_memory():
    """Peak RSS while streaming 100 volumes stays under two volumes' worth, the caller's
    volume being written included (it would be 100 if the writer kept them); a mapped
    materialize of 20 volumes under three (the volume read, fn's result, the write)."""
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("needs Linux /proc (VmHWM reset)")
    r = subprocess.run([sys.executable, "-c", _MEM_SCRIPT], capture_output=True, text=True,
                       env=dict(os.environ), timeout=300)
    assert r.returncode == 0, r.stderr
    ratio, ratio_map = (float(x) for x in r.stdout.split()[-2:])
    print(f"peak over baseline: streaming {ratio:.2f} volumes, map().materialize {ratio_map:.2f}")
    assert ratio < 2.0
    assert ratio_map < 3.0


def test_writers_through_storage(root):
    """Staging, copy and cleanup go through the context's storage: local and s3://."""
    vc_uri = _write(StreamingWriter, root.uri("vc"))
    ro_uri = root.uri("ro")
    with RadiObjectWriter(ro_uri) as w:
        with w.add_collection("X") as c:
            for sid, k, _a, _s in ITEMS:
                c.write_volume(_vol(k), f"{sid}_X", sid)
    ro = radi.RadiObject(ro_uri)
    ro.validate()
    assert ro.X.obs_ids == ["sub-01_X", "sub-02_X", "sub-03_X"]
    np.testing.assert_array_equal(ro.X.loc["sub-03_X"].to_numpy(), _vol(3))
    out = radi.VolumeCollection(vc_uri).map(lambda v: v - 1).materialize(root.uri("mapped"))
    np.testing.assert_array_equal(out.loc["sub-02_T1w"].to_numpy(), _vol(2) - 1)
    tops = {p.split("/")[0] for p in root.files()}
    assert tops == {"vc", "ro", "mapped"}   # no staging object left behind
