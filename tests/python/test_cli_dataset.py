"""The dataset commands of `radi`: ingest, ls, slice, export, validate.

Small NIfTIs made with nibabel (the reference) are ingested with `radi ingest`; slices
(.npy and PNG) and exports are compared with nibabel's reading of the source files.
The binary is $RADI_CLI or the one bundled in the installed package.
"""
import json
import os
import struct
import subprocess
import zlib

import nibabel as nib
import numpy as np
import pytest

from radi import _lib

CLI = str(_lib.cli_path())
SHAPE = (32, 30, 16)
SUBJECTS = ("sub-01", "sub-02", "sub-03")


def run(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)


def one_line_error(p, code):
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("radi: "), p.stderr
    return lines[0]


def affine_for(i):
    rot = np.array([[np.cos(0.3), -np.sin(0.3), 0], [np.sin(0.3), np.cos(0.3), 0], [0, 0, 1]])
    a = np.eye(4)
    a[:3, :3] = rot @ np.diag([1.0, 1.25, 2.5 + i])
    a[:3, 3] = [-10.5, 20.0, -7.25 * i]
    return a


def make_niftis(d):
    """FLAIR int16 (sform + qform), seg uint8 (sform only), T1 float32 scaled int16."""
    d.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    for i, s in enumerate(SUBJECTS):
        flair = rng.integers(-500, 3000, SHAPE, dtype=np.int16)
        img = nib.Nifti1Image(flair, affine_for(i))
        img.header.set_xyzt_units("mm", "sec")
        nib.save(img, str(d / f"{s}_FLAIR.nii.gz"))
        seg = rng.integers(0, 5, SHAPE, dtype=np.uint8)
        img = nib.Nifti1Image(seg, affine_for(i))
        img.set_qform(None, code=0)
        nib.save(img, str(d / f"{s}_seg.nii"))
        t1 = rng.integers(0, 1000, SHAPE, dtype=np.int16)
        img = nib.Nifti1Image(t1, affine_for(i))
        img.header.set_slope_inter(2.0, -5.0)
        nib.save(img, str(d / f"{s}_T1.nii.gz"))
    return d


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_ds")
    nii = make_niftis(root / "nii")
    uri = root / "ds"
    p = run("ingest", "--json", uri, f"FLAIR={nii}/*_FLAIR.nii.gz", f"seg={nii}/*_seg.nii",
            f"T1={nii}/*_T1.nii.gz")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # no progress when stderr is not a terminal
    summary = json.loads(p.stdout)
    assert summary["created"] is True and summary["files"] == 9
    assert summary["subject_count"] == 3
    assert [c["name"] for c in summary["collections"]] == ["FLAIR", "seg", "T1"]
    return uri, nii


def half_up(x):
    """radi rounds gray levels half up (x.5 -> x+1), unlike numpy's half-to-even."""
    return np.floor(np.asarray(x) + 0.5)


def nib_data(path):
    return np.asanyarray(nib.load(str(path)).dataobj)


def test_help_lists_dataset_commands():
    p = run("--help")
    for cmd in ("ingest", "ls", "slice", "export", "validate"):
        assert cmd in p.stdout
        h = run(cmd, "--help")
        assert h.returncode == 0 and h.stdout.startswith(f"usage: radi {cmd}"), h


def test_ls_json(dataset):
    uri, _ = dataset
    p = run("ls", "--json", uri)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["subjects"] == list(SUBJECTS)
    assert [c["name"] for c in doc["collections"]] == ["FLAIR", "seg", "T1"]
    dtypes = {"FLAIR": "int16", "seg": "uint8", "T1": "int16"}
    for c in doc["collections"]:
        assert [v["obs_subject_id"] for v in c["volumes"]] == list(SUBJECTS)
        assert [v["obs_id"] for v in c["volumes"]] == [f"{s}_{c['name']}" for s in SUBJECTS]
        for v in c["volumes"]:
            assert v["shape"] == list(SHAPE) and v["dtype"] == dtypes[c["name"]]
    text = run("ls", uri)
    assert text.returncode == 0 and "sub-02_seg" in text.stdout


@pytest.mark.parametrize("axis,index", [("axial", 0), ("axial", 15), ("sagittal", 31),
                                        ("coronal", 7)])
@pytest.mark.parametrize("coll,ext", [("FLAIR", ".nii.gz"), ("seg", ".nii"), ("T1", ".nii.gz")])
def test_slice_npy_equals_nibabel(dataset, tmp_path, axis, index, coll, ext):
    uri, nii = dataset
    out = tmp_path / "s.npy"
    p = run("slice", uri, "--collection", coll, "--obs-id", f"sub-02_{coll}", f"--{axis}", index,
            "-o", out)
    assert p.returncode == 0, p.stderr
    data = nib_data(nii / f"sub-02_{coll}{ext}") if coll != "T1" else \
        np.asarray(nib.load(str(nii / f"sub-02_T1{ext}")).dataobj.get_unscaled())
    ref = data[(slice(None),) * ("sagittal", "coronal", "axial").index(axis) + (index,)]
    got = np.load(out)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


def read_png(path):
    """A minimal PNG reader: signature, IHDR, CRCs, inflated 8-bit gray rows (filter 0)."""
    b = path.read_bytes()
    assert b[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(b):
        n, = struct.unpack(">I", b[pos:pos + 4])
        typ, data = b[pos + 4:pos + 8], b[pos + 8:pos + 8 + n]
        crc, = struct.unpack(">I", b[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(typ + data)
        chunks.append((typ, data))
        pos += 12 + n
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, interlace) == (8, 0, 0)
    raw = zlib.decompress(b"".join(d for t, d in chunks if t == b"IDAT"))
    rows = np.frombuffer(raw, np.uint8).reshape(h, w + 1)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:]


def test_slice_png(dataset, tmp_path):
    uri, nii = dataset
    out = tmp_path / "s.png"
    p = run("slice", uri, "--collection", "FLAIR", "--obs-id", "sub-01_FLAIR", "--axial", 5, "-o", out)
    assert p.returncode == 0, p.stderr
    img = read_png(out)
    ref = nib_data(nii / "sub-01_FLAIR.nii.gz")[:, :, 5].astype(np.float64)
    assert img.shape == (SHAPE[1], SHAPE[0])  # width = x, height = y
    # Default window min..max; the image is s.T with y growing upwards.
    expect = half_up((ref - ref.min()) / (ref.max() - ref.min()) * 255).T[::-1]
    np.testing.assert_array_equal(img, expect.astype(np.uint8))
    # A window of [0, 1000]: clipped below and above.
    p = run("slice", uri, "--collection", "FLAIR", "--obs-id", "sub-01_FLAIR", "--axial", 5, "-o", out,
            "--window", 1000, "--level", 500)
    assert p.returncode == 0, p.stderr
    expect = half_up(np.clip(ref / 1000 * 255, 0, 255)).T[::-1]
    np.testing.assert_array_equal(read_png(out), expect.astype(np.uint8))
    # Sagittal: width = y, height = z.
    p = run("slice", uri, "--collection", "seg", "--obs-id", "sub-03_seg", "--sagittal", 3, "-o", out)
    assert p.returncode == 0 and read_png(out).shape == (SHAPE[2], SHAPE[1])


def test_slice_png_scaled_window(dataset, tmp_path):
    """PNG windows apply to scaled values (T1 has slope 2, inter -5)."""
    uri, nii = dataset
    out = tmp_path / "t1.png"
    p = run("slice", uri, "--collection", "T1", "--obs-id", "sub-01_T1", "--coronal", 2, "-o", out,
            "--window", 1000, "--level", 995)
    assert p.returncode == 0, p.stderr
    ref = nib.load(str(nii / "sub-01_T1.nii.gz")).get_fdata()[:, 2, :]
    expect = half_up(np.clip((ref - 495) / 1000 * 255, 0, 255)).T[::-1]
    np.testing.assert_array_equal(read_png(out), expect.astype(np.uint8))


@pytest.mark.parametrize("coll,ext", [("FLAIR", ".nii.gz"), ("seg", ".nii"), ("T1", ".nii.gz")])
@pytest.mark.parametrize("out_ext", [".nii.gz", ".nii"])
def test_export_round_trip(dataset, tmp_path, coll, ext, out_ext):
    uri, nii = dataset
    out = tmp_path / f"e{out_ext}"
    p = run("export", uri, "--collection", coll, "--obs-id", f"sub-03_{coll}", "-o", out)
    assert p.returncode == 0, p.stderr
    src, got = nib.load(str(nii / f"sub-03_{coll}{ext}")), nib.load(str(out))
    assert got.get_data_dtype() == src.get_data_dtype()
    np.testing.assert_array_equal(np.asarray(got.dataobj.get_unscaled()),
                                  np.asarray(src.dataobj.get_unscaled()))
    np.testing.assert_array_equal(got.get_fdata(), src.get_fdata())
    np.testing.assert_allclose(got.affine, src.affine, rtol=0, atol=1e-6)
    for key in ("sform_code", "qform_code", "xyzt_units"):
        assert int(got.header[key]) == int(src.header[key]), key
    np.testing.assert_allclose(got.header.get_zooms(), src.header.get_zooms(), rtol=1e-6)


def test_validate(dataset):
    uri, _ = dataset
    p = run("validate", uri)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    p = run("validate", "--json", uri)
    assert p.returncode == 0
    assert json.loads(p.stdout) == {"uri": str(uri), "valid": True, "problems": []}


def test_validate_finds_problems(dataset, tmp_path):
    import shutil
    uri, _ = dataset
    broken = tmp_path / "broken"
    shutil.copytree(uri, broken)
    # Swap two FLAIR volumes: obs_id metadata no longer match positions (0.1.1 would misread).
    vols = broken / "collections" / "FLAIR" / "volumes"
    os.rename(vols / "0", vols / "tmp")
    os.rename(vols / "1", vols / "0")
    os.rename(vols / "tmp", vols / "1")
    p = run("validate", broken)
    line = one_line_error(p, 1)
    assert "problem" in line and p.stdout.strip()
    p = run("validate", "--json", broken)
    one_line_error(p, 1)
    doc = json.loads(p.stdout)
    assert p.returncode == 1 and doc["valid"] is False and doc["problems"]


def test_ingest_errors(dataset, tmp_path):
    uri, nii = dataset
    before = sorted(os.walk(uri))
    # An existing URI is refused without --append and left as it was.
    line = one_line_error(run("ingest", uri, f"FLAIR={nii}/*_FLAIR.nii.gz"), 1)
    assert "already exists" in line and "--append" in line
    # --append with an existing collection and the same subjects: refused, untouched.
    one_line_error(run("ingest", "--append", uri, f"FLAIR={nii}/*_FLAIR.nii.gz"), 1)
    assert sorted(os.walk(uri)) == before
    # A glob matching nothing: nothing created.
    new = tmp_path / "new"
    assert "no files match" in one_line_error(run("ingest", new, f"FLAIR={nii}/*_PD.nii.gz"), 1)
    assert not new.exists()
    # A later collection failing removes the new dataset entirely.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "sub-01_T2.nii.gz").write_bytes(b"not a nifti")
    line = one_line_error(run("ingest", new, f"FLAIR={nii}/*_FLAIR.nii.gz", f"T2={bad}"), 1)
    assert "sub-01_T2.nii.gz" in line
    assert not new.exists()
    # Two files giving one subject.
    dup = tmp_path / "dup"
    dup.mkdir()
    for name in ("sub-01_T2.nii", "sub-01.nii"):
        nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.int16), np.eye(4)), str(dup / name))
    assert "both give subject sub-01" in one_line_error(run("ingest", new, f"T2={dup}"), 1)
    # Usage errors.
    assert "NAME=GLOB" in one_line_error(run("ingest", new, "FLAIR"), 2)
    assert "no NAME=GLOB" in one_line_error(run("ingest", new), 2)
    assert "missing URI" in one_line_error(run("ingest"), 2)
    assert "unknown option" in one_line_error(run("ingest", "--obs-metadata", "x.csv", new, "A=b"), 2)
    assert not new.exists()


def test_ingest_append(dataset, tmp_path):
    """A new collection and new (later-sorting) subjects go in with --append."""
    import shutil
    uri, nii = dataset
    ds = tmp_path / "ds"
    shutil.copytree(uri, ds)
    extra = tmp_path / "extra"
    extra.mkdir()
    shutil.copy(nii / "sub-01_FLAIR.nii.gz", extra / "sub-04_FLAIR.nii.gz")
    t2 = tmp_path / "t2"
    t2.mkdir()
    for s in SUBJECTS:
        shutil.copy(nii / f"{s}_FLAIR.nii.gz", t2 / f"{s}_T2.nii.gz")
    p = run("ingest", "--append", "--json", ds, f"T2={t2}/*_T2.nii.gz", f"FLAIR={extra}")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["created"] is False
    doc = json.loads(run("ls", "--json", ds).stdout)
    names = {c["name"]: [v["obs_id"] for v in c["volumes"]] for c in doc["collections"]}
    assert names["T2"] == [f"{s}_T2" for s in SUBJECTS]
    assert names["FLAIR"] == [f"{s}_FLAIR" for s in SUBJECTS + ("sub-04",)]
    assert run("validate", ds).returncode == 0
    out = tmp_path / "s.npy"
    assert run("slice", ds, "--collection", "FLAIR", "--obs-id", "sub-04_FLAIR", "--axial", 3,
               "-o", out).returncode == 0
    np.testing.assert_array_equal(np.load(out), nib_data(nii / "sub-01_FLAIR.nii.gz")[:, :, 3])


def test_slice_and_export_errors(dataset, tmp_path):
    uri, _ = dataset
    out = tmp_path / "s.npy"
    base = ("slice", uri, "--collection", "FLAIR")
    line = one_line_error(run(*base, "--obs-id", "sub-09_FLAIR", "--axial", 1, "-o", out), 1)
    assert "sub-09_FLAIR" in line
    assert "FLAIRX" in one_line_error(run("slice", uri, "--collection", "FLAIRX", "--obs-id",
                                          "sub-01_FLAIR", "--axial", 1, "-o", out), 1)
    assert "outside" in one_line_error(run(*base, "--obs-id", "sub-01_FLAIR", "--axial", 16, "-o", out), 1)
    assert "exactly one" in one_line_error(run(*base, "--obs-id", "sub-01_FLAIR", "-o", out), 2)
    assert "exactly one" in one_line_error(
        run(*base, "--obs-id", "sub-01_FLAIR", "--axial", 1, "--coronal", 1, "-o", out), 2)
    assert "--obs-id" in one_line_error(run(*base, "--axial", 1, "-o", out), 2)
    assert ".png or .npy" in one_line_error(run(*base, "--obs-id", "sub-01_FLAIR", "--axial", 1,
                                                "-o", tmp_path / "s.jpg"), 2)
    assert "together" in one_line_error(run(*base, "--obs-id", "sub-01_FLAIR", "--axial", 1, "-o",
                                            tmp_path / "s.png", "--window", 10), 2)
    assert "not a number" in one_line_error(run(*base, "--obs-id", "sub-01_FLAIR", "--axial", "z",
                                                "-o", out), 2)
    assert not out.exists()
    line = one_line_error(run("export", uri, "--collection", "seg", "--obs-id", "nope", "-o",
                              tmp_path / "e.nii.gz"), 1)
    assert "nope" in line
    assert ".nii" in one_line_error(run("export", uri, "--collection", "seg", "--obs-id",
                                        "sub-01_seg", "-o", tmp_path / "e.png"), 2)
    missing = tmp_path / "missing"
    for args in (("ls", missing), ("validate", missing),
                 ("export", missing, "--collection", "a", "--obs-id", "b", "-o", tmp_path / "x.nii")):
        p = run(*args)
        one_line_error(p, 1)
        assert p.stdout == ""


def test_demo_script(tmp_path):
    """scripts/make_demo_niftis.py at a small shape: the five files per subject, structure."""
    import importlib.util
    path = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "make_demo_niftis.py")
    spec = importlib.util.spec_from_file_location("make_demo_niftis", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main([str(tmp_path), "--subjects", "2", "--shape", "48", "48", "32"]) == 0
    names = sorted(os.listdir(tmp_path))
    assert names == sorted(f"BraTS-0000{i}_{m}.nii.gz" for i in (1, 2)
                           for m in ("FLAIR", "T1w", "T1gd", "T2w", "seg"))
    flair = nib_data(tmp_path / "BraTS-00001_FLAIR.nii.gz")
    seg = nib_data(tmp_path / "BraTS-00001_seg.nii.gz")
    assert flair.dtype == np.int16 and flair.shape == (48, 48, 32)
    assert flair[0, 0, 0] == 0 and flair[24, 24, 16] > 0          # background 0, head inside
    assert set(np.unique(seg)) <= {0, 1, 2, 4} and (seg > 0).any()
    # The tumour is brighter than normal tissue on FLAIR.
    assert flair[seg == 2].mean() > flair[(seg == 0) & (flair > 0)].mean()


def test_ingest_obs_meta_csv(dataset, tmp_path):
    """--obs-meta: user columns typed int64 / float64 / string, quoted fields, read by TileDB."""
    import tiledb
    _, nii = dataset
    csv = tmp_path / "meta.csv"
    csv.write_text('obs_subject_id,age,score,site\r\n'
                   'sub-02,61,2.5,Paris\r\n'
                   'sub-01,54,,"Boston, MA"\r\n'
                   'sub-03,70,1e3,"say ""hi"""\r\n\r\n')
    uri = tmp_path / "ds"
    p = run("ingest", "--obs-meta", csv, uri, f"FLAIR={nii}/*_FLAIR.nii.gz")
    assert p.returncode == 0, p.stderr
    with tiledb.open(str(uri / "obs_meta")) as a:
        attrs = {a.schema.attr(i).name: a.schema.attr(i).dtype for i in range(a.schema.nattr)}
        df = a.df[:]
    assert list(attrs) == ["age", "score", "site"]
    assert attrs["age"] == np.int64 and attrs["score"] == np.float64
    assert list(df["obs_subject_id"]) == list(SUBJECTS)
    assert list(df["obs_id"]) == list(SUBJECTS)
    assert list(df["age"]) == [54, 61, 70]
    assert np.isnan(df["score"][0]) and list(df["score"][1:]) == [2.5, 1000.0]
    assert list(df["site"]) == ["Boston, MA", "Paris", 'say "hi"']
    assert run("validate", uri).returncode == 0
    # A subject missing from the CSV: refused, nothing left.
    csv.write_text("obs_subject_id,age\nsub-01,1\nsub-02,2\n")
    new = tmp_path / "new"
    assert "sub-03" in one_line_error(run("ingest", "--obs-meta", csv, new,
                                          f"FLAIR={nii}/*_FLAIR.nii.gz"), 1)
    assert not new.exists()
    # Malformed CSVs and misuse.
    csv.write_text("age\n1\n")
    assert "obs_subject_id" in one_line_error(run("ingest", "--obs-meta", csv, new, f"A={nii}"), 1)
    csv.write_text("obs_subject_id,age\nsub-01\n")
    assert "line 2" in one_line_error(run("ingest", "--obs-meta", csv, new, f"A={nii}"), 1)
    csv.write_text("obs_subject_id,age\nsub-01,1\nsub-01,2\n")
    assert "repeat" in one_line_error(run("ingest", "--obs-meta", csv, new, f"A={nii}"), 1)
    assert not new.exists()
    assert "--append" in one_line_error(run("ingest", "--append", "--obs-meta", csv, uri,
                                            f"A={nii}"), 2)
    assert "needs a value" in one_line_error(run("ingest", uri, f"A={nii}", "--obs-meta"), 2)


def test_ingest_tiling_compression_and_alignment(tmp_path, oracle):
    """--tile and --compression reach the stored schema; --validate-alignment refuses
    mixed shapes naming both files; bad values are usage errors."""
    nii = make_niftis(tmp_path / "nii")
    uri = tmp_path / "iso"
    p = run("ingest", "--tile", "isotropic", "--compression=lz4:1", uri, f"FLAIR={nii}/*_FLAIR.nii.gz")
    assert p.returncode == 0, p.stderr
    with oracle.open(str(uri / "collections" / "FLAIR" / "volumes" / "0")) as A:
        assert [d.tile for d in A.schema.domain] == [32, 30, 16]  # 64^3 clipped to the shape
        f = A.schema.attr("voxels").filters
        assert len(f) == 1 and isinstance(f[0], oracle.LZ4Filter) and f[0].level == 1
        assert A.meta["tile_orientation"] == "isotropic"
    for bad in (["--tile", "diagonal"], ["--compression", "brotli"], ["--compression", "zstd:99"]):
        one_line_error(run("ingest", *bad, tmp_path / "x", f"FLAIR={nii}"), 2)
    odd = tmp_path / "odd"
    odd.mkdir()
    for s, shape in (("a", SHAPE), ("b", (SHAPE[0], SHAPE[1], SHAPE[2] + 1))):
        nib.save(nib.Nifti1Image(np.zeros(shape, np.int16), np.eye(4)), str(odd / f"{s}_X.nii"))
    line = one_line_error(run("ingest", "--validate-alignment", tmp_path / "al", f"X={odd}"), 1)
    assert "a_X.nii" in line and "b_X.nii" in line and "shape" in line
    assert not (tmp_path / "al").exists()
    assert run("ingest", tmp_path / "mixed", f"X={odd}").returncode == 0


def test_ingest_append_is_all_or_nothing(dataset, tmp_path):
    """A bad file in the second collection of an --append leaves the first one out too,
    and the dataset byte for byte as it was; subjects sorting first renumber volumes."""
    import hashlib
    import shutil
    uri, nii = dataset
    ds = tmp_path / "ds"
    shutil.copytree(uri, ds)

    def digest():
        h = hashlib.sha256()
        for p in sorted(ds.rglob("*")):
            h.update(str(p.relative_to(ds)).encode())
            if p.is_file():
                h.update(p.read_bytes())
        return h.hexdigest()

    before = digest()
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    shutil.copy(nii / "sub-01_FLAIR.nii.gz", good / "sub-00_FLAIR.nii.gz")
    whole = (nii / "sub-02_FLAIR.nii.gz").read_bytes()
    (bad / "sub-00_T2.nii.gz").write_bytes(whole[: len(whole) // 2])
    line = one_line_error(run("ingest", "--append", ds, f"FLAIR={good}", f"T2={bad}"), 1)
    assert "sub-00_T2.nii.gz" in line
    assert digest() == before
    # Without the bad file, sub-00 goes first and the others move up one slot.
    assert run("ingest", "--append", ds, f"FLAIR={good}").returncode == 0
    doc = json.loads(run("ls", "--json", ds).stdout)
    flair = next(c for c in doc["collections"] if c["name"] == "FLAIR")
    assert [v["obs_id"] for v in flair["volumes"]] == [f"{s}_FLAIR" for s in ("sub-00",) + SUBJECTS]
    assert run("validate", ds).returncode == 0
    ro = pytest.importorskip("radiobject")
    r = ro.RadiObject(str(ds))
    r.validate()
    for k, s in enumerate(("sub-00",) + SUBJECTS):
        src = nii / ("sub-01_FLAIR.nii.gz" if s == "sub-00" else f"{s}_FLAIR.nii.gz")
        np.testing.assert_array_equal(r.FLAIR.iloc[k].to_numpy(), nib_data(src))


def test_sources_found_by_the_library(dataset, tmp_path):
    """`radi ingest` and from_niftis share the library's discovery: NIfTI extensions in any
    case, wildcards in directory segments too, the same subject ids; outputs of slice
    and export go through the library's storage (parent directories made)."""
    import shutil

    import radi

    _uri, nii = dataset
    src = tmp_path / "src"
    for i, s in enumerate(SUBJECTS):
        d = src / f"site{i}"
        d.mkdir(parents=True)
        ext = ".NII.GZ" if i == 1 else ".nii.gz"  # upper case: found by both
        shutil.copy(nii / f"{s}_FLAIR.nii.gz", d / f"{s}_FLAIR{ext}")
    (src / "site0" / "notes.txt").write_text("not a NIfTI")
    cli_ds, py_ds = tmp_path / "cli", tmp_path / "py"
    p = run("ingest", "--json", cli_ds, f"FLAIR={src}/site*/*")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["files"] == 3
    ro = radi.RadiObject.from_niftis(str(py_ds), images={"FLAIR": f"{src}/site*/*"})
    assert ro.obs_subject_ids == list(SUBJECTS)
    assert json.loads(run("ls", "--json", cli_ds).stdout)["subjects"] == list(SUBJECTS)
    # A directory: the upper-case extension counts; duplicates are named by both front ends.
    shutil.copy(nii / "sub-02_FLAIR.nii.gz", src / "site1" / "sub-02.nii.gz")
    line = one_line_error(run("ingest", tmp_path / "dup", f"FLAIR={src / 'site1'}"), 1)
    assert "both give subject sub-02" in line and "sub-02_FLAIR.NII.GZ" in line
    with pytest.raises(ValueError, match="both give subject sub-02"):
        radi.RadiObject.from_niftis(str(tmp_path / "dup"), images={"FLAIR": str(src / "site1")})
    assert not (tmp_path / "dup").exists()
    # Outputs into directories that do not exist yet.
    out = tmp_path / "out" / "a"
    args = (cli_ds, "--collection", "FLAIR", "--obs-id", "sub-01_FLAIR")
    assert run("slice", *args, "--axial", 3, "-o", out / "s.npy").returncode == 0
    assert run("slice", *args, "--axial", 3, "-o", out / "s.png").returncode == 0
    assert run("export", *args, "-o", out / "v.nii.gz").returncode == 0
    np.testing.assert_array_equal(np.load(out / "s.npy"), nib_data(nii / "sub-01_FLAIR.nii.gz")[:, :, 3])
    np.testing.assert_array_equal(nib_data(out / "v.nii.gz"), nib_data(nii / "sub-01_FLAIR.nii.gz"))
    assert (out / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # No S3 backend in this build's default context: a clear error naming the URI.
    line = one_line_error(run("slice", *args, "--axial", 3, "-o", "s3://bucket/s.png"), 1)
    assert "s3://bucket/s.png" in line
