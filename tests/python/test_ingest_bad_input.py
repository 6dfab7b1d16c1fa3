"""Bad input to a dataset ingest gives one clear error naming the offending file, and
leaves nothing half-written visible.

Every bad file is made at runtime from a small good NIfTI (5x6x7 int16, nibabel's bytes)
by patching header fields or cutting/corrupting the gzip stream. Each is ingested

  * with `radi ingest` into a new URI (after a good collection, so that something was
    already written): exit code 1, nothing on stdout, exactly one stderr line
    `radi: ...` naming the file, and nothing at the URI afterwards;
  * with `radi ingest --append` into an existing dataset, as a new collection and as new
    subjects of an existing collection: the same error, the dataset byte-for-byte
    unchanged (every file and directory), `radi validate` still passes, and TileDB-Py and
    radiobject 0.1.1 still read it;
  * with `radi.RadiObject.from_niftis`: an exception whose message names the file, and
    nothing at the URI.

Dataset-level mistakes (duplicate subjects or obs_ids, mismatched shapes with
validate_alignment, an existing URI, bad subject ids) are checked the same way.
"""
import gzip
import os
import shutil
import stat
import struct
import subprocess

import nibabel as nib
import numpy as np
import pytest

import radi
from radi import _lib

CLI = str(_lib.cli_path())
SHAPE = (5, 6, 7)
AFFINE = np.array([[-1.5, 0.0, 0.0, 30.0], [0.0, 2.0, 0.0, -20.0], [0.0, 0.0, 2.5, -10.0],
                   [0.0, 0.0, 0.0, 1.0]])
BASE_SUBJECTS = ("sub-01", "sub-02")     # the existing dataset's subjects (collection FLAIR)


# ------------------------------------------------------------------ helpers --

def run(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)


def cli_error(p, *names):
    """Exit code 1, nothing on stdout, exactly one `radi: ` line on stderr naming each of
    names; returns the line."""
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == "", p.stdout
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("radi: "), p.stderr
    assert "Traceback" not in p.stderr
    for n in names:
        assert str(n) in lines[0], (str(n), lines[0])
    return lines[0]


def volume_data(seed, shape=SHAPE, dtype=np.int16):
    return np.random.default_rng(seed).integers(-1000, 1000, shape).astype(dtype)


def good_image(seed=0, shape=SHAPE, dtype=np.int16):
    img = nib.Nifti1Image(volume_data(seed, shape, dtype), AFFINE)
    img.header.set_xyzt_units("mm", "sec")
    return img


def save_good(path, seed=0, shape=SHAPE):
    nib.save(good_image(seed, shape), str(path))
    return path


# NIfTI-1 header fields: offset, struct format (little-endian, as nibabel writes here).
FIELDS = {
    "sizeof_hdr": (0, "<i"), "dim": (40, "<8h"), "datatype": (70, "<h"), "bitpix": (72, "<h"),
    "pixdim": (76, "<8f"), "vox_offset": (108, "<f"), "scl_slope": (112, "<f"),
    "scl_inter": (116, "<f"), "qform_code": (252, "<h"), "sform_code": (254, "<h"),
    "quatern": (256, "<3f"), "qoffset": (268, "<3f"), "srow_x": (280, "<4f"),
    "srow_y": (296, "<4f"), "srow_z": (312, "<4f"), "magic": (344, "4s"),
}


def field(blob, name):
    off, fmt = FIELDS[name]
    v = struct.unpack_from(fmt, blob, off)
    return list(v) if len(v) > 1 else v[0]


def patch(blob, **values):
    """A copy of the .nii bytes with header fields replaced (lists for array fields;
    {index: value} dicts change single elements)."""
    b = bytearray(blob)
    for name, v in values.items():
        off, fmt = FIELDS[name]
        if isinstance(v, dict):
            cur = field(b, name)
            for i, x in v.items():
                cur[i] = x
            v = cur
        struct.pack_into(fmt, b, off, *(v if isinstance(v, (list, tuple)) else [v]))
    return bytes(b)


def gz(blob):
    return gzip.compress(blob, compresslevel=6, mtime=0)


def base_bytes(**kw):
    return good_image(seed=4, **kw).to_bytes()


def bad_crc():
    b = bytearray(gz(base_bytes()))
    b[-8:-4] = struct.pack("<I", (struct.unpack("<I", bytes(b[-8:-4]))[0] ^ 0xDEADBEEF))
    return bytes(b)


def bad_isize():
    b = bytearray(gz(base_bytes()))
    b[-4:] = struct.pack("<I", struct.unpack("<I", bytes(b[-4:]))[0] + 17)
    return bytes(b)


def corrupt_voxels(trailing=b""):
    """Stored (level 0) deflate blocks with one voxel byte flipped: the header decodes,
    the voxels do not match the member's CRC-32. `trailing` bytes after the voxels are
    legal NIfTI (nibabel ignores them)."""
    b = bytearray(gzip.compress(base_bytes() + trailing, compresslevel=0, mtime=0))
    b[10 + 5 + 352 + 11] ^= 0xFF   # gzip header, stored-block header, NIfTI header
    return bytes(b)


def bad_crc_trailing():
    b = bytearray(gz(base_bytes() + b"\0" * 64))
    b[-8:-4] = struct.pack("<I", (struct.unpack("<I", bytes(b[-8:-4]))[0] ^ 0xDEADBEEF))
    return bytes(b)


def structured(dtype):
    return nib.Nifti1Image(np.zeros(SHAPE, dtype), AFFINE).to_bytes()


RGB24 = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])
RGBA32 = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1"), ("A", "u1")])
NAN, INF = float("nan"), float("inf")


def qform_only(**kw):
    return patch(base_bytes(), sform_code=0, qform_code=1, **kw)


def neither(**kw):
    return patch(base_bytes(), sform_code=0, qform_code=0, **kw)


# Bad files: id -> (extension, bytes builder, words the message must contain besides the
# file name, or None when any wording will do).
BAD_FILES = {
    "empty-file": (".nii", lambda: b"", None),
    "text-file": (".nii", lambda: b"this is not a NIfTI file\n" * 20, "not a NIfTI"),
    "truncated-header": (".nii", lambda: base_bytes()[:200], "truncated"),
    "truncated-data": (".nii", lambda: base_bytes()[:352 + 100], "truncated"),
    "gz-truncated-stream": (".nii.gz", lambda: gz(base_bytes())[: len(gz(base_bytes())) // 2], "truncated"),
    "gz-truncated-in-header": (".nii.gz", lambda: gz(base_bytes())[:40], None),
    "gz-only-magic": (".nii.gz", lambda: b"\x1f\x8b", None),
    "gz-bad-crc": (".nii.gz", bad_crc, None),
    "gz-bad-isize": (".nii.gz", bad_isize, None),
    "gz-corrupt-voxels": (".nii.gz", corrupt_voxels, None),
    "gz-of-garbage": (".nii.gz", lambda: gz(bytes(range(256)) * 8), "not a NIfTI"),
    "gz-empty-member": (".nii.gz", lambda: gz(b""), None),
    "wrong-magic": (".nii", lambda: patch(base_bytes(), magic=b"nx1\0"), "magic"),
    "gz-wrong-magic": (".nii.gz", lambda: gz(patch(base_bytes(), magic=b"n+2\0")), "magic"),
    "pair-magic-in-single-file": (".nii", lambda: patch(base_bytes(), magic=b"ni1\0"), "magic"),
    "bad-sizeof-hdr": (".nii", lambda: patch(base_bytes(), sizeof_hdr=349), "not a NIfTI"),
    "dims-overflow": (".nii", lambda: patch(base_bytes(), dim=[7] + [32767] * 7), "overflow"),
    "dims-overflow-4d": (".nii", lambda: patch(base_bytes(), dim=[4, 32767, 32767, 32767, 32767, 1, 1, 1]), None),
    "more-voxels-than-file": (".nii", lambda: patch(base_bytes(), dim={3: 70}), "truncated"),
    "gz-more-voxels-than-file": (".nii.gz", lambda: gz(patch(base_bytes(), dim={3: 70})), None),
    "gz-far-more-voxels-than-file": (".nii.gz", lambda: gz(patch(base_bytes(), dim={1: 30000, 2: 30000})), None),
    "vox-offset-past-end": (".nii", lambda: patch(base_bytes(), vox_offset=1000.0), None),
    "gz-vox-offset-past-end": (".nii.gz", lambda: gz(patch(base_bytes(), vox_offset=1000.0)), None),
    "vox-offset-in-header": (".nii", lambda: patch(base_bytes(), vox_offset=100.0), "vox_offset"),
    "vox-offset-nan": (".nii", lambda: patch(base_bytes(), vox_offset=NAN), "vox_offset"),
    "vox-offset-negative": (".nii", lambda: patch(base_bytes(), vox_offset=-352.0), "vox_offset"),
    "dim0-zero": (".nii", lambda: patch(base_bytes(), dim={0: 0}), "dim[0]"),
    "dim0-eight": (".nii", lambda: patch(base_bytes(), dim={0: 8}), "dim[0]"),
    "dim0-negative": (".nii", lambda: patch(base_bytes(), dim={0: -1}), "dim[0]"),
    "negative-dim": (".nii", lambda: patch(base_bytes(), dim={2: -6}), "dim[2]"),
    "zero-dim": (".nii", lambda: patch(base_bytes(), dim={3: 0}), "dim[3]"),
    "5-d-image": (".nii", lambda: nib.Nifti1Image(np.zeros((5, 6, 7, 1, 2), np.int16), AFFINE).to_bytes(), None),
    "complex64": (".nii", lambda: structured(np.complex64), "complex64"),
    "complex128": (".nii.gz", lambda: gz(structured(np.complex128)), "complex128"),
    "rgb24": (".nii", lambda: structured(RGB24), None),
    "rgba32": (".nii", lambda: structured(RGBA32), None),
    "float128-code": (".nii", lambda: patch(base_bytes(), datatype=1536, bitpix=128), None),
    "binary-code": (".nii", lambda: patch(base_bytes(), datatype=1, bitpix=1), None),
    "unknown-datatype-code": (".nii", lambda: patch(base_bytes(), datatype=999), "999"),
}

# Files whose geometry is not finite: nibabel's affine or zooms come out NaN/inf; radi
# refuses them rather than store an affine it could not export.
BAD_GEOMETRY = {
    "nan-in-sform": (".nii", lambda: patch(base_bytes(), srow_x={0: NAN})),
    "inf-in-sform": (".nii.gz", lambda: gz(patch(base_bytes(), srow_y={3: INF}))),
    "nan-in-quatern": (".nii", lambda: qform_only(quatern={1: NAN})),
    "inf-in-qoffset": (".nii", lambda: qform_only(qoffset={2: -INF})),
    "nan-pixdim-qform": (".nii", lambda: qform_only(pixdim={1: NAN})),
    "inf-pixdim-qform": (".nii", lambda: qform_only(pixdim={3: INF})),
    "nan-pixdim-neither": (".nii", lambda: neither(pixdim={2: NAN})),
    "inf-pixdim-neither": (".nii.gz", lambda: gz(neither(pixdim={1: INF}))),
    "nan-pixdim-sform": (".nii", lambda: patch(base_bytes(), pixdim={1: NAN})),
}

# A member that decodes to more bytes than the header needs (legal trailing bytes after
# the voxels): its CRC-32 must still be checked.
BAD_GZ_TRAILING = {
    "gz-bad-crc-trailing-data": (".nii.gz", bad_crc_trailing, None),
    "gz-corrupt-voxels-trailing-data": (".nii.gz", lambda: corrupt_voxels(b"\0" * 64), None),
}

# A 1-D/2-D image is not a volume: radiobject 0.1.1 refuses it ("Shape must be 3D or
# 4D"), and so does radi, although its NIfTI reader pads such images to x*y*1.
BAD_LOW_DIM = {
    "2-d-image": (".nii", lambda: nib.Nifti1Image(np.zeros((5, 6), np.int16), AFFINE).to_bytes(), None),
    "1-d-image": (".nii", lambda: patch(base_bytes(), dim=[1, 210, 1, 1, 1, 1, 1, 1]), None),
}

ALL_FILES = [pytest.param(k, *v, id=k) for k, v in BAD_FILES.items()] + \
    [pytest.param(k, e, f, "not finite", id=k) for k, (e, f) in BAD_GEOMETRY.items()] + \
    [pytest.param(k, *v, id=k) for k, v in BAD_GZ_TRAILING.items()] + \
    [pytest.param(k, *v, id=k) for k, v in BAD_LOW_DIM.items()]


def mkdir(d):
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_bad(d, subject, coll, ext, build):
    mkdir(d)
    p = d / f"{subject}_{coll}{ext}"
    p.write_bytes(build())
    return p


# ---------------------------------------------------------- dataset state --

def snapshot(root):
    """Every directory and file under root with its bytes (and root's own kind)."""
    root = str(root)
    if not os.path.lexists(root):
        return None
    if not os.path.isdir(root):
        with open(root, "rb") as f:
            return {".": f.read()}
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        out[rel + "/"] = None
        for f in filenames:
            with open(os.path.join(dirpath, f), "rb") as fh:
                out[os.path.join(rel, f)] = fh.read()
    return out


def assert_no_leftovers(d, *expected):
    """Nothing else next to the URI either (staging or temporary files)."""
    assert sorted(os.listdir(d)) == sorted(expected), sorted(os.listdir(d))


def assert_unchanged(uri, before, sources):
    after = snapshot(uri)
    assert set(after) == set(before), (sorted(set(after) ^ set(before)))
    changed = [k for k in before if before[k] != after[k]]
    assert not changed, changed
    assert_dataset_ok(uri, sources)


def assert_dataset_ok(uri, sources):
    """radi validate passes; TileDB-Py and radiobject 0.1.1 read the FLAIR volumes."""
    p = run("validate", uri)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    import tiledb
    grp = tiledb.Group(str(uri / "collections" / "FLAIR" / "volumes"))
    try:
        assert len(grp) == len(BASE_SUBJECTS)
    finally:
        grp.close()
    for k, s in enumerate(BASE_SUBJECTS):
        with tiledb.open(str(uri / "collections" / "FLAIR" / "volumes" / str(k))) as a:
            v = a[:]
            np.testing.assert_array_equal(v["voxels"] if isinstance(v, dict) else v, sources[s])
            assert a.meta["obs_id"] == f"{s}_FLAIR"
    ro011 = pytest.importorskip("radiobject")
    r = ro011.RadiObject(str(uri))
    assert list(r.collection_names) == ["FLAIR"]
    assert sorted(r.obs_subject_ids) == list(BASE_SUBJECTS)
    r.validate()
    for k, s in enumerate(BASE_SUBJECTS):
        np.testing.assert_array_equal(r.FLAIR.iloc[k].to_numpy(), sources[s])
    # and radi itself
    ro = radi.RadiObject(str(uri))
    assert ro.obs_subject_ids == list(BASE_SUBJECTS) and ro.collection_names == ("FLAIR",)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """An existing dataset (FLAIR: sub-01, sub-02) made by `radi ingest`, its sources, and
    a directory of good files for the other collections."""
    root = tmp_path_factory.mktemp("bad_input_base")
    src = root / "flair"
    src.mkdir()
    sources = {}
    for i, s in enumerate(BASE_SUBJECTS):
        save_good(src / f"{s}_FLAIR.nii.gz", seed=10 + i)
        sources[s] = volume_data(10 + i)
    uri = root / "ds"
    p = run("ingest", uri, f"FLAIR={src}")
    assert p.returncode == 0, p.stderr
    good = root / "good"
    good.mkdir()
    for i, s in enumerate(BASE_SUBJECTS):
        save_good(good / f"{s}_A.nii.gz", seed=20 + i)
    return {"uri": uri, "sources": sources, "good": good}


@pytest.fixture
def existing(base, tmp_path):
    """A private copy of the base dataset and its snapshot."""
    uri = tmp_path / "existing"
    shutil.copytree(base["uri"], uri)
    return uri, snapshot(uri)


# ------------------------------------------------------------ bad files ----

@pytest.mark.parametrize("case,ext,build,words", ALL_FILES)
def test_cli_new_uri(base, tmp_path, case, ext, build, words):
    """A bad file in the second collection: the first collection was written, yet the
    new URI is gone afterwards."""
    d = tmp_path / "bad"
    save_good(mkdir(d) / "sub-03_X.nii.gz", seed=1)
    bad = write_bad(d, "sub-04", "X", ext, build)
    uri = tmp_path / "new"
    line = cli_error(run("ingest", uri, f"A={base['good']}", f"X={d}"), bad)
    if words:
        assert words in line
    assert not os.path.lexists(uri)
    assert_no_leftovers(tmp_path, "bad")


@pytest.mark.parametrize("case,ext,build,words", ALL_FILES)
def test_cli_append_new_collection(base, existing, tmp_path, case, ext, build, words):
    uri, before = existing
    d = tmp_path / "bad"
    save_good(mkdir(d) / "sub-01_X.nii.gz", seed=1)
    bad = write_bad(d, "sub-03", "X", ext, build)
    line = cli_error(run("ingest", "--append", uri, f"X={d}"), bad)
    if words:
        assert words in line
    assert_unchanged(uri, before, base["sources"])
    assert_no_leftovers(tmp_path, "bad", "existing")


@pytest.mark.parametrize("case,ext,build,words", ALL_FILES)
@pytest.mark.parametrize("where", ["after", "between"])
def test_cli_append_existing_collection(base, existing, tmp_path, case, ext, build, words,
                                       where):
    """New subjects of FLAIR (sub-01, sub-02): a good and a bad file sorting after the
    existing ones, or sorting before/between them (which needs the existing volumes
    renumbered, or is refused as unsupported: either way the dataset is untouched)."""
    uri, before = existing
    d = tmp_path / "bad"
    good, bad_sid = ("sub-03", "sub-04") if where == "after" else ("sub-00", "sub-015")
    good = save_good(mkdir(d) / f"{good}_FLAIR.nii.gz", seed=1)
    bad = write_bad(d, bad_sid, "FLAIR", ext, build)
    p = run("ingest", "--append", uri, f"FLAIR={d}")
    line = cli_error(p, bad)
    if words:
        assert words in line
    assert_unchanged(uri, before, base["sources"])
    assert_no_leftovers(tmp_path, "bad", "existing")


@pytest.mark.parametrize("case,ext,build,words", ALL_FILES)
@pytest.mark.parametrize("how", ["directory", "pairs"])
def test_python_from_niftis(base, tmp_path, case, ext, build, words, how):
    d = tmp_path / "bad"
    good = save_good(mkdir(d) / "sub-03_X.nii.gz", seed=1)
    bad = write_bad(d, "sub-04", "X", ext, build)
    spec = str(d) if how == "directory" else [(str(good), "sub-03"), (str(bad), "sub-04")]
    uri = tmp_path / "new"
    with pytest.raises(Exception) as ei:
        radi.RadiObject.from_niftis(str(uri), images={"A": str(base["good"]), "X": spec})
    assert str(bad) in str(ei.value), str(ei.value)
    if words:
        assert words in str(ei.value)
    assert not os.path.lexists(uri)
    assert_no_leftovers(tmp_path, "bad")


# --------------------------------------------------- files that are not there --

def test_missing_file(base, existing, tmp_path):
    missing = tmp_path / "sub-03_X.nii.gz"
    new = tmp_path / "new"
    line = cli_error(run("ingest", new, f"A={base['good']}", f"X={missing}"), missing)
    assert "no files match" in line
    assert not os.path.lexists(new)
    uri, before = existing
    cli_error(run("ingest", "--append", uri, f"X={missing}"), missing)
    cli_error(run("ingest", "--append", uri, f"FLAIR={tmp_path / 'sub-09_FLAIR.nii'}"), "sub-09_FLAIR.nii")
    assert_unchanged(uri, before, base["sources"])
    # Python: a literal glob, and a (path, subject) pair naming a file that is not there.
    with pytest.raises(FileNotFoundError, match=str(missing)):
        radi.RadiObject.from_niftis(str(new), images={"X": str(missing)})
    good = save_good(tmp_path / "g.nii.gz")
    with pytest.raises(Exception) as ei:
        radi.RadiObject.from_niftis(str(new), images={"A": str(base["good"]),
                                                      "X": [(str(good), "s1"), (str(missing), "s2")]})
    assert str(missing) in str(ei.value)
    assert not os.path.lexists(new)


def test_directory_passed_as_file(base, existing, tmp_path):
    """A directory whose name looks like a NIfTI file, matched by the glob or given as a
    (path, subject) pair."""
    d = tmp_path / "bad"
    save_good(mkdir(d) / "sub-03_X.nii.gz", seed=1)
    sub = d / "sub-04_X.nii.gz"
    sub.mkdir()
    new = tmp_path / "new"
    cli_error(run("ingest", new, f"A={base['good']}", f"X={d}/*_X.nii.gz"), sub)
    assert not os.path.lexists(new)
    uri, before = existing
    cli_error(run("ingest", "--append", uri, f"X={d}/*"), sub)
    assert_unchanged(uri, before, base["sources"])
    with pytest.raises(Exception) as ei:
        radi.RadiObject.from_niftis(str(new), images={"X": [(str(d / "sub-03_X.nii.gz"), "sub-03"),
                                                            (str(sub), "sub-04")]})
    assert str(sub) in str(ei.value)
    assert not os.path.lexists(new)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway")
def test_unreadable_file(base, existing, tmp_path):
    d = tmp_path / "bad"
    save_good(mkdir(d) / "sub-03_X.nii.gz", seed=1)
    bad = save_good(d / "sub-04_X.nii.gz", seed=2)
    os.chmod(bad, 0)
    try:
        new = tmp_path / "new"
        cli_error(run("ingest", new, f"A={base['good']}", f"X={d}"), bad)
        assert not os.path.lexists(new)
        uri, before = existing
        cli_error(run("ingest", "--append", uri, f"X={d}"), bad)
        assert_unchanged(uri, before, base["sources"])
        with pytest.raises(Exception, match=str(bad)):
            radi.RadiObject.from_niftis(str(new), images={"X": str(d)})
        assert not os.path.lexists(new)
    finally:
        os.chmod(bad, stat.S_IRUSR | stat.S_IWUSR)


# ---------------------------------------------------------- subject ids ----

def test_duplicate_subject_in_one_collection(base, existing, tmp_path):
    """sub-04.nii and sub-04_X.nii.gz both give subject sub-04 in collection X."""
    d = tmp_path / "dup"
    a = save_good(mkdir(d) / "sub-04.nii", seed=1)
    b = save_good(d / "sub-04_X.nii.gz", seed=2)
    new = tmp_path / "new"
    line = cli_error(run("ingest", new, f"A={base['good']}", f"X={d}"), a, b)
    assert "sub-04" in line
    assert not os.path.lexists(new)
    uri, before = existing
    cli_error(run("ingest", "--append", uri, f"X={d}"), a, b)
    d2 = tmp_path / "dup2"
    d2.mkdir()
    shutil.copy(a, d2 / "sub-05.nii")
    shutil.copy(b, d2 / "sub-05_FLAIR.nii.gz")
    cli_error(run("ingest", "--append", uri, f"FLAIR={d2}"), d2 / "sub-05.nii", d2 / "sub-05_FLAIR.nii.gz")
    assert_unchanged(uri, before, base["sources"])
    for spec in (str(d), [(str(a), "s"), (str(b), "s")]):
        with pytest.raises(Exception) as ei:
            radi.RadiObject.from_niftis(str(new), images={"A": str(base["good"]), "X": spec})
        assert str(a) in str(ei.value) and str(b) in str(ei.value), str(ei.value)
        assert not os.path.lexists(new)


def collide(tmp_path):
    """Collections T_1 (file a.nii.gz: subject a) and 1 (file a_T.nii.gz: subject a_T)
    both give obs_id a_T_1."""
    d1, d2 = tmp_path / "c1", tmp_path / "c2"
    p1 = save_good(mkdir(d1) / "a.nii.gz", seed=1)
    p2 = save_good(mkdir(d2) / "a_T.nii.gz", seed=2)
    return d1, d2, p1, p2


def test_duplicate_obs_id_across_collections_cli(base, existing, tmp_path):
    d1, d2, p1, p2 = collide(tmp_path)
    new = tmp_path / "new"
    p = run("ingest", new, f"T_1={d1}", f"1={d2}")
    assert not os.path.lexists(new)
    uri, before = existing
    q = run("ingest", "--append", uri, f"T_1={d1}", f"1={d2}")
    # An --append is all-or-nothing across its collections.
    assert run("validate", uri).returncode == 0
    assert_unchanged(uri, before, base["sources"])
    cli_error(p, "a_T_1", p2)
    cli_error(q, "a_T_1", p2)


def test_obs_id_already_in_dataset_cli(base, existing, tmp_path):
    """Re-ingesting an existing subject into its collection is refused, the dataset kept."""
    uri, before = existing
    d = tmp_path / "again"
    p = save_good(mkdir(d) / "sub-02_FLAIR.nii.gz", seed=3)
    q = run("ingest", "--append", uri, f"FLAIR={d}")
    assert_unchanged(uri, before, base["sources"])
    cli_error(q, "sub-02_FLAIR", p)


def test_duplicate_obs_id_python(base, tmp_path):
    d1, d2, p1, p2 = collide(tmp_path)
    new = tmp_path / "new"
    with pytest.raises(Exception) as ei:
        radi.RadiObject.from_niftis(str(new), images={"T_1": str(d1), "1": [(str(p2), "a_T")]})
    assert not os.path.lexists(new)
    assert "a_T_1" in str(ei.value) and str(p2) in str(ei.value), str(ei.value)


def test_duplicate_obs_id_refused_and_cleaned(base, existing, tmp_path):
    """The same collisions without the file-name requirement: refused, nothing left."""
    d1, d2, p1, p2 = collide(tmp_path)
    new = tmp_path / "new"
    assert "a_T_1" in cli_error(run("ingest", new, f"T_1={d1}", f"1={d2}"))
    assert not os.path.lexists(new)
    with pytest.raises(radi.RadiError, match="a_T_1"):
        radi.RadiObject.from_niftis(str(new), images={"T_1": str(d1), "1": [(str(p2), "a_T")]})
    assert not os.path.lexists(new)
    uri, before = existing
    d = tmp_path / "again"
    save_good(mkdir(d) / "sub-02_FLAIR.nii.gz", seed=3)
    assert "sub-02_FLAIR" in cli_error(run("ingest", "--append", uri, f"FLAIR={d}"))
    assert_unchanged(uri, before, base["sources"])


def test_append_sorting_before_existing(base, existing, tmp_path):
    """A new subject sorting before the existing ones: refused (renumbering unsupported),
    leaving the dataset as it was, or accepted with volumes/<k> kept in obs order, so
    that radiobject 0.1.1's positional lookup reads the right voxels."""
    uri, before = existing
    d = tmp_path / "early"
    p = save_good(mkdir(d) / "sub-00_FLAIR.nii.gz", seed=3)
    q = run("ingest", "--append", uri, f"FLAIR={d}")
    if q.returncode != 0:
        cli_error(q, p)
        assert_unchanged(uri, before, base["sources"])
        return
    assert run("validate", uri).returncode == 0
    want = {"sub-00": volume_data(3), **base["sources"]}
    r = pytest.importorskip("radiobject").RadiObject(str(uri))
    r.validate()
    for k, s in enumerate(sorted(want)):
        v = r.FLAIR.iloc[k]
        assert v.obs_id == f"{s}_FLAIR"
        np.testing.assert_array_equal(v.to_numpy(), want[s])
        np.testing.assert_array_equal(radi.RadiObject(str(uri)).FLAIR.loc[f"{s}_FLAIR"].to_numpy(), want[s])


@pytest.mark.parametrize("sid", ["", "s\u00fcb-01", "sub 01\t", "sub\n01", "caf\u00e9"])
def test_bad_subject_id_python(base, tmp_path, sid):
    """Subject ids must be non-empty printable ASCII (obs_meta's dimension is ASCII)."""
    good = save_good(tmp_path / "g.nii.gz", seed=1)
    new = tmp_path / "new"
    with pytest.raises(radi.RadiError) as ei:
        radi.RadiObject.from_niftis(str(new), images={"A": str(base["good"]),
                                                      "X": [(str(good), "ok"), (str(good), sid)]})
    assert str(good) in str(ei.value)
    assert not os.path.lexists(new)


@pytest.mark.parametrize("name", ["s\u00fcb-01_X.nii.gz", "caf\u00e9.nii", "\u4e2d\u6587_X.nii.gz"])
def test_non_ascii_subject_from_file_name(base, existing, tmp_path, name):
    d = tmp_path / "nonascii"
    save_good(mkdir(d) / "sub-03_X.nii.gz", seed=1)
    bad = save_good(d / name, seed=2)
    new = tmp_path / "new"
    line = cli_error(run("ingest", new, f"A={base['good']}", f"X={d}"), bad)
    assert "ASCII" in line
    assert not os.path.lexists(new)
    uri, before = existing
    cli_error(run("ingest", "--append", uri, f"X={d}"), bad)
    assert_unchanged(uri, before, base["sources"])
    with pytest.raises(radi.RadiError, match="ASCII") as ei:
        radi.RadiObject.from_niftis(str(new), images={"X": str(d)})
    assert str(bad) in str(ei.value)
    assert not os.path.lexists(new)


# ------------------------------------------------------- shapes, URIs ----

def test_validate_alignment_mismatch_python(base, tmp_path):
    d = tmp_path / "shapes"
    save_good(mkdir(d) / "sub-01_X.nii.gz", seed=1)
    odd = save_good(d / "sub-02_X.nii.gz", seed=2, shape=(5, 6, 8))
    new = tmp_path / "new"
    with pytest.raises(radi.RadiError) as ei:
        radi.RadiObject.from_niftis(str(new), images={"A": str(base["good"]), "X": str(d)},
                                    validate_alignment=True)
    assert str(odd) in str(ei.value) and "(5, 6, 8)" in str(ei.value), str(ei.value)
    assert not os.path.lexists(new)
    # 4-D files with the same spatial shape are aligned, whatever their length in t.
    d4 = tmp_path / "fourd"
    d4.mkdir()
    for i, t in enumerate((2, 3)):
        nib.save(nib.Nifti1Image(volume_data(i, SHAPE + (t,)), AFFINE), str(d4 / f"s{i}_X.nii"))
    ro = radi.RadiObject.from_niftis(str(tmp_path / "ok4d"), images={"X": str(d4)}, validate_alignment=True)
    assert len(ro.X) == 2
    # Without the check, mixed shapes are a valid dataset (x/y/z_dim left out).
    ro = radi.RadiObject.from_niftis(str(tmp_path / "mixed"), images={"X": str(d)})
    assert ro.X.shape is None and ro.X.is_uniform is False


def test_mismatched_shapes_cli(base, existing, tmp_path):
    """`radi ingest` has no alignment option: mixed shapes are accepted and the dataset
    validates (x/y/z_dim left out) on a new URI; an append of another shape to a uniform
    collection is refused ("Dimension mismatch", 0.1.1's rule) and changes nothing."""
    d = tmp_path / "shapes"
    save_good(mkdir(d) / "sub-03_FLAIR.nii.gz", seed=1, shape=(5, 6, 8))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(d / "sub-03_FLAIR.nii.gz", mixed / "sub-03_X.nii.gz")
    save_good(mixed / "sub-04_X.nii.gz", seed=2)
    new = tmp_path / "new"
    p = run("ingest", new, f"X={mixed}")
    assert p.returncode == 0, p.stderr
    assert run("validate", new).returncode == 0
    uri, _before = existing
    p = run("ingest", "--append", uri, f"FLAIR={d}")
    assert p.returncode != 0 and "Dimension mismatch" in p.stderr, p.stderr
    assert run("validate", uri).returncode == 0
    p = run("ingest", "--append", uri, f"Y={d}")  # a new collection takes any shape
    assert p.returncode == 0, p.stderr
    assert run("validate", uri).returncode == 0


@pytest.mark.parametrize("kind", ["dataset", "empty-dir", "dir-with-files", "plain-file", "array"])
@pytest.mark.parametrize("append", [False, True])
def test_existing_uri(base, tmp_path, kind, append):
    """An existing URI is refused (a dataset without --append; anything that is not a
    dataset or an empty directory even with it), named in the error, and left exactly as
    it was (no lock file either)."""
    uri = tmp_path / "there"
    if kind == "dataset":
        shutil.copytree(base["uri"], uri)
    elif kind == "empty-dir":
        uri.mkdir()
    elif kind == "dir-with-files":
        uri.mkdir()
        (uri / "notes.txt").write_text("keep me")
        save_good(uri / "sub-01_A.nii.gz")
    elif kind == "plain-file":
        uri.write_text("keep me")
    else:
        shutil.copytree(base["uri"] / "collections" / "FLAIR" / "volumes" / "0", uri)
    before = snapshot(uri)
    d = tmp_path / "more"
    save_good(mkdir(d) / "sub-09_B.nii.gz", seed=5)
    if (kind == "dataset" and append) or kind == "empty-dir":
        # The accepted combinations: an append to a dataset, and a dataset made in an
        # empty directory (which counts as nothing, as TileDB counts it).
        p = run("ingest", *(["--append"] if append else []), uri, f"B={d}")
        assert p.returncode == 0, p.stderr
        if kind == "empty-dir":
            assert run("validate", uri).returncode == 0
        return
    line = cli_error(run("ingest", *(["--append"] if append else []), uri, f"B={d}"), uri)
    if kind == "dataset":
        assert "already exists" in line and "--append" in line, line
    else:
        assert "not a dataset" in line and "--append" not in line, line
    assert snapshot(uri) == before
    if kind == "dataset":
        assert_dataset_ok(uri, base["sources"])
    if append:
        return
    with pytest.raises(radi.RadiError) as ei:
        radi.RadiObject.from_niftis(str(uri), images={"B": str(d)})
    assert str(uri) in str(ei.value), str(ei.value)
    assert snapshot(uri) == before
    if kind == "dataset":
        assert_dataset_ok(uri, base["sources"])


def test_existing_uri_python_is_exists_error(base, tmp_path):
    uri = tmp_path / "there"
    shutil.copytree(base["uri"], uri)
    before = snapshot(uri)
    with pytest.raises(radi.RadiExistsError, match=str(uri)):
        radi.RadiObject.from_niftis(str(uri), images={"B": str(base["good"])})
    assert snapshot(uri) == before


def test_good_inputs_still_ingest(base, existing, tmp_path):
    """The control: the good halves of the cases above ingest, append and validate."""
    d = tmp_path / "ok"
    save_good(mkdir(d) / "sub-03_X.nii.gz", seed=1)
    save_good(d / "sub-04_X.nii", seed=2)
    # Bytes after the voxels are legal NIfTI (with an intact gzip member): not an error.
    (d / "sub-05_X.nii.gz").write_bytes(gz(base_bytes() + b"\0" * 64))
    np.testing.assert_array_equal(np.asarray(nib.load(str(d / "sub-05_X.nii.gz")).dataobj), volume_data(4))
    new = tmp_path / "new"
    p = run("ingest", new, f"A={base['good']}", f"X={d}")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert run("validate", new).returncode == 0
    uri, before = existing
    p = run("ingest", "--append", uri, f"X={d}")
    assert p.returncode == 0, p.stderr
    assert snapshot(uri) != before
    assert run("validate", uri).returncode == 0
    ro = radi.RadiObject.from_niftis(str(tmp_path / "py"), images={"A": str(base["good"]), "X": str(d)})
    np.testing.assert_array_equal(ro.X.loc["sub-04_X"].to_numpy(), volume_data(2))
    np.testing.assert_array_equal(ro.X.loc["sub-05_X"].to_numpy(), volume_data(4))
