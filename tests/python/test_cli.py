"""The `radi` command: help, version, info (text and --json), consolidate, vacuum, exit
codes (0 ok, 1 runtime error, 2 usage error) and one-line errors on stderr.

The binary is $RADI_CLI or the one bundled in the installed package; if it is missing
every test fails (nothing is skipped).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tiledb

import radi
from radi import _lib

CLI = str(_lib.cli_path())


def run(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)


def one_line_error(p, code):
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("radi: "), p.stderr
    return lines[0]


@pytest.fixture
def volume(tmp_path):
    uri = str(tmp_path / "vol")
    radi.configure(tile=radi.TileConfig(orientation="isotropic"))
    try:
        radi.Volume.from_numpy(uri, np.arange(10 * 12 * 70, dtype=np.int16).reshape(10, 12, 70))
    finally:
        radi.configure(write=radi.WriteConfig())
    return uri


def test_binary_exists():
    assert os.access(CLI, os.X_OK), f"radi binary not found at {CLI}"


def test_version_and_help():
    p = run("--version")
    assert p.returncode == 0 and p.stdout.strip() == "radi 0.1.0"
    p = run("--help")
    assert p.returncode == 0
    for cmd in ("info", "consolidate", "vacuum"):
        assert cmd in p.stdout
        h = run(cmd, "--help")
        assert h.returncode == 0 and h.stdout.startswith(f"usage: radi {cmd}"), h
        assert run("help", cmd).stdout == h.stdout


def test_usage_errors(volume):
    p = run()
    assert p.returncode == 2 and "usage" in p.stderr
    assert "unknown command" in one_line_error(run("frobnicate", volume), 2)
    assert "unknown option" in one_line_error(run("info", "--xml", volume), 2)
    assert "unknown option" in one_line_error(run("--bogus"), 2)
    assert "missing URI" in one_line_error(run("info"), 2)
    assert "unexpected argument" in one_line_error(run("info", volume, volume), 2)
    assert "unknown mode" in one_line_error(run("consolidate", "--mode", "everything", volume), 2)
    assert "needs a value" in one_line_error(run("vacuum", "--mode"), 2)
    assert "unknown option" in one_line_error(run("consolidate", "--json", volume), 2)


def test_runtime_errors(tmp_path):
    missing = str(tmp_path / "nothing")
    for args in (("info", missing), ("info", "--json", missing), ("consolidate", missing),
                 ("vacuum", "--mode=commits", missing)):
        p = run(*args)
        line = one_line_error(p, 1)
        assert "nothing" in line
        assert p.stdout == ""
    # A directory with a broken schema: the reason names the file.
    bad = tmp_path / "bad"
    (bad / "__schema").mkdir(parents=True)
    (bad / "__schema" / "__1_1_00000000000000000000000000000000").write_bytes(b"\x01\x02garbage")
    p = run("info", str(bad))
    assert p.returncode == 1 and p.stderr.startswith("radi: ")


def test_info_text(volume):
    p = run("info", volume)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.startswith(f"array {volume}")
    for needle in ("dense", "voxels", "int16", "zstd(3)", "tile_orientation", "isotropic",
                   "domain [0, 69]", "tile 64", "fragments (1)", "bytes on disk",
                   "x [0, 9], y [0, 11], z [0, 69]"):
        assert needle in out, needle


def disk_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def test_info_json(volume):
    p = run("info", "--json", volume)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["type"] == "array" and doc["uri"] == volume
    s = doc["schema"]
    assert s["array_type"] == "dense" and s["tile_order"] == "row-major"
    assert s["cell_order"] == "row-major" and s["version"] >= 20
    assert [d["name"] for d in s["dimensions"]] == ["x", "y", "z"]
    assert [d["type"] for d in s["dimensions"]] == ["int32"] * 3
    assert [d["domain"] for d in s["dimensions"]] == [[0, 9], [0, 11], [0, 69]]
    assert [d["tile_extent"] for d in s["dimensions"]] == [10, 12, 64]
    assert s["dimensions"][0]["filters"]["filters"] == []
    assert s["coords_filters"]["filters"] == [{"type": "zstd", "level": -1}]
    (attr,) = s["attributes"]
    assert attr["name"] == "voxels" and attr["type"] == "int16" and attr["nullable"] is False
    assert attr["cell_val_num"] == 1 and attr["fill"] == -32768
    assert attr["filters"] == {"max_chunk_size": 65536, "filters": [{"type": "zstd", "level": 3}]}
    assert doc["non_empty_domain"] == [[0, 9], [0, 11], [0, 69]]
    (frag,) = doc["fragments"]
    assert frag["dense"] is True and frag["non_empty_domain"] == [[0, 9], [0, 11], [0, 69]]
    assert frag["timestamps"][0] <= frag["timestamps"][1]
    assert frag["cell_count"] == 10 * 12 * 128 and frag["tile_count"] == 2
    assert frag["name"] in {os.path.basename(f) for f in tiledb.array_fragments(volume).uri}
    assert doc["metadata"] == {"tile_orientation": {"type": "utf8", "count": 9, "value": "isotropic"}}
    assert doc["bytes_on_disk"] == disk_bytes(volume)


def test_info_json_float_fill_and_meta(tmp_path):
    uri = str(tmp_path / "f")
    radi.Volume.from_numpy(uri, np.ones((2, 2, 2), np.float32))
    with tiledb.open(uri, "w") as a:
        a.meta["n"] = 3
        a.meta["pair"] = (1.5, 2.5)
        a.meta["name"] = 'quote" and \u00e9'
    doc = json.loads(run("info", "--json", uri).stdout)
    assert doc["schema"]["attributes"][0]["fill"] == "nan"  # non-finite floats as strings
    m = doc["metadata"]
    assert m["n"] == {"type": "int64", "count": 1, "value": 3}
    assert m["pair"] == {"type": "float64", "count": 2, "value": [1.5, 2.5]}
    assert m["name"]["value"] == 'quote" and \u00e9'


def test_info_sparse_string_dims(tmp_path):
    """RadiObject's obs arrays: sparse, two ASCII dimensions; the domains are strings."""
    uri = str(tmp_path / "obs")
    dom = tiledb.Domain(tiledb.Dim(name="obs_subject_id", dtype="ascii"),
                        tiledb.Dim(name="obs_id", dtype="ascii"))
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=dom, sparse=True, attrs=[
        tiledb.Attr("age", dtype=np.int64), tiledb.Attr("series", dtype=str)]))
    with tiledb.open(uri, "w") as a:
        a[["sub-02", "sub-01"], ["sub-02_T1w", "sub-01_FLAIR"]] = {
            "age": np.array([40, 31]), "series": np.array(["T1w", "FLAIR"])}
    with tiledb.open(uri, "w") as a:
        a[["sub-03"], ["sub-03_T1w"]] = {"age": np.array([50]), "series": np.array(["T1w"])}
    doc = json.loads(run("info", "--json", uri).stdout)
    assert doc["schema"]["array_type"] == "sparse"
    assert [d["domain"] for d in doc["schema"]["dimensions"]] == [None, None]
    assert doc["non_empty_domain"] == [["sub-01", "sub-03"], ["sub-01_FLAIR", "sub-03_T1w"]]
    assert [f["non_empty_domain"] for f in doc["fragments"]] == [
        [["sub-01", "sub-02"], ["sub-01_FLAIR", "sub-02_T1w"]], [["sub-03", "sub-03"], ["sub-03_T1w", "sub-03_T1w"]]]
    assert [a["cell_val_num"] for a in doc["schema"]["attributes"]] == [1, "var"]
    text = run("info", uri).stdout
    assert 'obs_subject_id ["sub-01", "sub-03"]' in text


def test_info_group(tmp_path, volume):
    g = str(tmp_path / "grp")
    tiledb.Group.create(g)
    with tiledb.Group(g, "w") as grp:
        grp.add(volume, name="vol")
        grp.meta["n_volumes"] = 1
    doc = json.loads(run("info", "--json", g).stdout)
    assert doc["type"] == "group"
    (m,) = doc["members"]
    assert m["name"] == "vol" and m["type"] == "array" and m["relative"] is False
    assert doc["metadata"]["n_volumes"]["value"] == 1
    assert doc["bytes_on_disk"] == disk_bytes(g)
    text = run("info", g).stdout
    assert text.startswith(f"group {g}") and "vol  array" in text and "n_volumes" in text


def test_consolidate_vacuum(tmp_path):
    uri = str(tmp_path / "a")
    data = np.arange(6 * 6 * 6, dtype=np.float64).reshape(6, 6, 6)
    radi.Volume.from_numpy(uri, data)
    with tiledb.open(uri, "w") as a:
        a[0:3, 0:3, 0:3] = np.zeros((3, 3, 3))
    want = data.copy()
    want[0:3, 0:3, 0:3] = 0
    assert len(json.loads(run("info", "--json", uri).stdout)["fragments"]) == 2
    p = run("consolidate", uri)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    p = run("vacuum", "--mode", "fragments", uri)
    assert p.returncode == 0, p.stderr
    doc = json.loads(run("info", "--json", uri).stdout)
    assert len(doc["fragments"]) == 1
    assert doc["fragments"][0]["non_empty_domain"] == [[0, 5], [0, 5], [0, 5]]
    with tiledb.open(uri) as a:
        np.testing.assert_array_equal(a[:]["voxels"], want)
    for mode in ("commits", "fragment_meta", "array_meta"):
        assert run("consolidate", f"--mode={mode}", uri).returncode == 0
        assert run("vacuum", "--mode", mode, uri).returncode == 0
    np.testing.assert_array_equal(radi.Volume(uri).to_numpy(), want)
    # Groups cannot be consolidated: a runtime error, not a usage error.
    g = str(tmp_path / "g")
    tiledb.Group.create(g)
    assert "group" in one_line_error(run("consolidate", g), 1)


def test_console_entry_point():
    """The `radi` command installed with the package runs the bundled (or $RADI_CLI) binary."""
    p = subprocess.run([sys.executable, "-m", "radi._cli", "--version"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "radi 0.1.0", p.stderr
