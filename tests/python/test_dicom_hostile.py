"""Hostile DICOM through `radi ingest` and RadiObject.from_dicoms / append(dicom_dirs=...)
(docs/dataset.md §10; research/dicom.md §6.3): each is refused with one line naming the
file and the tag (CLI exit code 1, RadiError in Python), never a crash, and nothing is
written - a new dataset is absent, an appended one is byte for byte as it was.

- hand-built files (dicom_util.hostile_files): truncated pixel data, a meta group
  without (0002,0010) over encapsulated pixels, Rows as the DS "abc", a negative
  NumberOfFrames, lengths 0xFFFFFFF0 on an element / pixel data / a fragment, a fragment
  past the end, 65535 x 65535 x 2^31 frames, 2^20 frames of 65535^2 (9e15 bytes), 10^4
  nested undefined-length sequences; each beside a valid subject, so that the valid one
  is not written either;
- pydicom's and pydicom-data's own broken files;
- valid small files cut at every byte offset (subprocess worker, in-process API);
- what radi reads rather than refuses, checked against pydicom: a meta group without
  a transfer syntax over native pixels, 10^4 nested defined-length sequences.
The seeds are in fuzz/corpus/dicom/hostile_* (CTest fuzz_replay_dicom; no .dcm, so that
test_dicom_parse's pydicom comparison, which reads some of them leniently, skips them).
"""
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import radi

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402
from pydicom.uid import RLELossless  # noqa: E402

import dicom_util as du  # noqa: E402

CASES = du.hostile_files()
CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus" / "dicom"


def good_series(d, n=3):
    """A valid 3-slice CT series (8 x 6, 1 mm apart)."""
    d.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        (d / f"s{k}.dcm").write_bytes(du.small_ct(z=float(k), instance=k + 1))
    return d


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A dataset holding subject "a" (one good series) in collection CT, made by the CLI."""
    tmp = tmp_path_factory.mktemp("hostile_base")
    good_series(tmp / "src" / "a")
    du.cli_ingest(tmp / "ds", f"CT={tmp / 'src'}")
    return tmp / "ds"


def check_line(msg, path, words):
    assert "\n" not in msg, msg
    assert str(path) in msg, (str(path), msg)
    for w in words:
        assert w in msg, (w, msg)


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_refused(name, base, tmp_path):
    data, words = CASES[name]
    src = tmp_path / "src"
    good = good_series(src / "good")
    bad = src / "bad"
    bad.mkdir()
    (bad / "x.dcm").write_bytes(data)
    # A new dataset, CLI and Python: refused whole, nothing at the URI.
    line = du.one_line_error(du.cli("ingest", tmp_path / "cli", f"CT={src}"))
    check_line(line, bad / "x.dcm", words)
    assert not (tmp_path / "cli").exists()
    with pytest.raises(radi.RadiError) as e:
        radi.RadiObject.from_dicoms(str(tmp_path / "py"), [(good, "good"), (bad, "bad")])
    check_line(str(e.value), bad / "x.dcm", words)
    assert not (tmp_path / "py").exists()
    # An append, CLI and Python: the dataset as it was.
    ds = tmp_path / "ds"
    shutil.copytree(base, ds)
    before = du.tree(ds)
    line = du.one_line_error(du.cli("ingest", "--append", ds, f"CT={src}"))
    check_line(line, bad / "x.dcm", words)
    assert du.tree(ds) == before
    ro = radi.RadiObject(str(ds))
    with pytest.raises(radi.RadiError) as e:
        ro.append(dicom_dirs=[(good, "good"), (bad, "bad")])
    check_line(str(e.value), bad / "x.dcm", words)
    assert du.tree(ds) == before
    assert sorted(radi.RadiObject(str(ds)).CT.obs_ids) == ["a_CT"]


# pydicom's and pydicom-data's broken files -> words of radi's error.
REAL_HOSTILE = {
    "MR_truncated.dcm": ["(7FE0,0010) PixelData", "length 8192", "(8130 bytes left)"],
    "badVR.dcm": ["(0028,0008) NumberOfFrames", '"1A" is not a frame count'],
    "meta_missing_tsyntax.dcm": ["(7FE0,0010) PixelData", "(0028,0010) Rows or (0028,0011) Columns is missing"],
    "emri_small_jpeg_2k_lossless_too_short.dcm": ["(7FE0,0010) PixelData", "file ends inside the fragments"],
    "JPEG2000-embedded-sequence-delimiter.dcm": ["frame 0: JPEG 2000"],
    "rtplan_truncated.dcm": ["(300A,00B0)", "runs past the end"],
}


@pytest.mark.parametrize("name", list(REAL_HOSTILE))
def test_real_broken_files_refused(name, tmp_path):
    f = get_testdata_file(name)
    if f is None:
        pytest.skip(f"{name} is not in pydicom/pydicom-data")
    d = tmp_path / "src" / "s"
    d.mkdir(parents=True)
    shutil.copy(f, d / name)
    line = du.one_line_error(du.cli("ingest", tmp_path / "cli", f"X={d.parent}"))
    check_line(line, d / name, REAL_HOSTILE[name])
    with pytest.raises(radi.RadiError) as e:
        radi.RadiObject.from_dicoms(str(tmp_path / "py"), [(d, "s")])
    check_line(str(e.value), d / name, REAL_HOSTILE[name])
    assert not (tmp_path / "cli").exists() and not (tmp_path / "py").exists()


def rle_small_ct():
    ds = pydicom.dcmread(io.BytesIO(du.small_ct()))
    ds.compress(RLELossless)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_cut_at_every_offset(tmp_path):
    """Every prefix of small valid files: native CT (730 bytes; every 16th prefix also
    straight through the C ingest, without the Python scan), RLE CT, and the corpus seeds that ingest whole (deflated, Enhanced MR with
    functional groups, explicit big endian, 2 frames, implicit, legacy without preamble);
    ~6,000 cut files. Each is refused (RadiError; ValueError "no image series" when the
    cut leaves no image), one line naming the file or its directory, nothing written.
    The loop runs in a subprocess: a crash shows as a signal."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "small_ct.dcm").write_bytes(du.small_ct())
    (seeds / "small_ct_rle.dcm").write_bytes(rle_small_ct())
    spec = {"small_ct.dcm": 16, "small_ct_rle.dcm": 0}  # every 16th cut also straight to C
    for name in ("deflated.dcm", "enhanced_mr_3frames.dcm", "explicit_be.dcm", "explicit_le_2frames.dcm",
                 "implicit_le.dcm", "legacy_no_preamble.dcm"):
        shutil.copy(CORPUS / name, seeds / name)
        spec[name] = 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    p = subprocess.run([sys.executable, "-c", "import sys, dicom_util; dicom_util.cut_worker(sys.argv[1])",
                        json.dumps({"root": str(tmp_path), "seeds": spec})], capture_output=True, text=True,
                       timeout=600, env=env)
    assert p.returncode == 0, f"worker died with {p.returncode}: {p.stderr[-2000:]}"
    report = json.loads(p.stdout.strip().splitlines()[-1])
    total = 0
    for name, res in report.items():
        assert res["full"] is None, (name, res["full"])
        assert not res["bad"], (name, res["bad"][:5])
        total += sum(res["kinds"].values())
        print(f"{name}: {sum(res['kinds'].values())} cuts refused {res['kinds']}")
    assert total > 5000


def test_cut_through_the_cli(tmp_path):
    """The CLI on 24 prefixes of the small CT (every 32nd byte, and the last): exit code 1,
    one line naming the file (or its directory when nothing is left of an image)."""
    full = du.small_ct()
    for n in sorted(set(range(0, len(full), 32)) | {len(full) - 1}):
        d = tmp_path / f"c{n}" / "s"
        d.mkdir(parents=True)
        (d / "x.dcm").write_bytes(full[:n])
        line = du.one_line_error(du.cli("ingest", tmp_path / f"ds{n}", f"CT={d.parent}"))
        assert str(d) in line, (n, line)
        assert not (tmp_path / f"ds{n}").exists()


def test_read_not_refused(tmp_path):
    """What radi reads rather than refuses, equal to pydicom: a meta group without
    (0002,0010) over native explicit-LE pixels (read as it is written, pydicom's
    fallback), and 10^4 nested defined-length sequences (jumped over whole)."""
    uid = "1.2.826.0.1.3680043.8.498.9.1"
    no_ts = du.meta(sop_uid=uid, with_ts=False) + du.header(sop_uid=uid) + du.el(0x7FE0, 0x0010, "OW",
                                                                                  du.pixels().tobytes())
    deep = du.meta(sop_uid=uid) + du.header(sop_uid=uid) + du.nested_sequences(10 ** 4, False) + du.el(
        0x7FE0, 0x0010, "OW", du.pixels().tobytes())
    for name, data in (("no_ts", no_ts), ("deep", deep)):
        d = tmp_path / name / "s"
        d.mkdir(parents=True)
        (d / "x.dcm").write_bytes(data)
        du.cli_ingest(tmp_path / f"cli_{name}", f"CT={d.parent}")
        ro = radi.RadiObject.from_dicoms(str(tmp_path / f"py_{name}"), [(d, "s")])
        want = du.pixels().T[:, :, None]
        for vol in (radi.RadiObject(str(tmp_path / f"cli_{name}")).CT.loc["s_CT"], ro.CT.loc["s_CT"]):
            np.testing.assert_array_equal(vol.to_numpy(), want, err_msg=name)
    # pydicom reads the first the same way (its pixel decoding needs a syntax: set it).
    ds = pydicom.dcmread(io.BytesIO(no_ts))
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    np.testing.assert_array_equal(ds.pixel_array, du.pixels())


def test_corpus_holds_the_seeds():
    """fuzz/corpus/dicom/hostile_* are dicom_util's hostile files (small: < 2 KiB); the
    nested one 34 deep, past radi's bound of 32."""
    names = sorted(p.name for p in CORPUS.glob("hostile_*"))
    want = sorted(f"hostile_{n}" for n in CASES if n != "nested_1e4") + ["hostile_nested_34"]
    assert names == sorted(want)
    for n in CASES:
        if n != "nested_1e4":
            assert (CORPUS / f"hostile_{n}").read_bytes() == CASES[n][0], n
    assert all((CORPUS / n).stat().st_size < 2048 for n in names)


def _series_with(tmp_path, name, old, new_for_z, n=3):
    """A 3-slice good series whose element `old` is replaced per slice by new_for_z(z)."""
    d = tmp_path / name / "s"
    d.mkdir(parents=True)
    for z in range(n):
        b = du.small_ct(z=float(z), instance=z + 1)
        assert old(z) in b
        (d / f"f{z}.dcm").write_bytes(b.replace(old(z), new_for_z(z)))
    return d


IOP = lambda z: du.el(0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0")  # noqa: E731
SPACING = lambda z: du.el(0x0028, 0x0030, "DS", "0.5\\0.75")  # noqa: E731
IPP = lambda z: du.el(0x0020, 0x0032, "DS", f"-20\\-15\\{z:g}")  # noqa: E731
BAD_GEOMETRY = {  # name -> (element, replacement, words)
    # Regressions: these were stored with a wrong affine (2x/3x voxels, a singular or
    # mirrored one, an infinite one) before series.c checked them.
    "iop_not_unit": (IOP, lambda z: du.el(0x0020, 0x0037, "DS", "2\\0\\0\\0\\3\\0"),
                     ["(0020,0037) ImageOrientationPatient", "not orthogonal unit vectors", "lengths 2 and 3"]),
    "iop_not_orthogonal": (IOP, lambda z: du.el(0x0020, 0x0037, "DS", "1\\0\\0\\0.1\\0.995\\0"),
                           ["(0020,0037) ImageOrientationPatient", "dot product 0.1"]),
    "spacing_zero": (SPACING, lambda z: du.el(0x0028, 0x0030, "DS", "0\\0"),
                     ["(0028,0030) PixelSpacing 0\\0", "not a positive spacing"]),
    "spacing_negative": (SPACING, lambda z: du.el(0x0028, 0x0030, "DS", "-0.5\\0.75"),
                         ["(0028,0030) PixelSpacing -0.5\\0.75"]),
    "spacing_huge": (SPACING, lambda z: du.el(0x0028, 0x0030, "DS", "1e308\\1e308"),
                     ["(0028,0030) PixelSpacing 1e+308\\1e+308"]),
    "positions_huge": (IPP, lambda z: du.el(0x0020, 0x0032, "DS", f"-20\\-15\\{z * 1e307:g}"),
                       ["(0020,0032) ImagePositionPatient out of range", "f0.dcm to", "f2.dcm"]),
}


@pytest.mark.parametrize("name", list(BAD_GEOMETRY))
def test_bad_geometry_refused(name, tmp_path):
    old, new, words = BAD_GEOMETRY[name]
    d = _series_with(tmp_path, name, old, new)
    line = du.one_line_error(du.cli("ingest", tmp_path / "cli", f"CT={d.parent}"))
    check_line(line, d, words)
    with pytest.raises(radi.RadiError) as e:
        radi.RadiObject.from_dicoms(str(tmp_path / "py"), [(d, "s")])
    check_line(str(e.value), d, words)
    assert not (tmp_path / "cli").exists() and not (tmp_path / "py").exists()


def test_rounded_cosines_still_read(tmp_path):
    """Cosines written to 4 digits (lengths 1 +- 1e-4, as old scanners write them) are
    read, and the affine equals pydicom's reading of the files."""
    iop = "0.7071\\0.7071\\0\\-0.7071\\0.7071\\0"
    d = _series_with(tmp_path, "rounded", IOP, lambda z: du.el(0x0020, 0x0037, "DS", iop))
    du.cli_ingest(tmp_path / "cli", f"CT={d.parent}")
    aff = radi.RadiObject(str(tmp_path / "cli")).CT.loc["s_CT"].affine
    c = np.array([float(v) for v in iop.split("\\")])
    want = np.array([[-c[0] * 0.75, -c[3] * 0.5, 0, 20], [-c[1] * 0.75, -c[4] * 0.5, 0, 15], [0, 0, 1, 0], [0, 0, 0, 1]])
    np.testing.assert_allclose(aff, want, atol=1e-9)
