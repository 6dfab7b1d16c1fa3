"""The radi CLI on local disk and on S3 (moto started by the suite): ingest (from local
NIfTIs and from NIfTIs stored on S3), ls, info, slice -o and export -o onto the root,
validate, ingest --append with a renumbering subject, consolidate and vacuum. The S3
endpoint and keys reach the subprocess as AWS_ENDPOINT_URL and friends, as a user's
shell gives them. nibabel is the reference; the outputs written to the root equal the
ones written to local files.
"""
import json

import numpy as np
import pytest
import tiledb

from s3_fixtures import run_cli
from test_cli_dataset import SHAPE, SUBJECTS, make_niftis, nib_data, one_line_error


def run(root, *args):
    return run_cli(root.env(), *args)


def ingest(root, uri, *specs, append=False):
    p = run(root, "ingest", "--json", *(["--append"] if append else []), uri, *specs)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def cli_ds(module_root, tmp_path_factory):
    """FLAIR and T1 from local files, seg from files uploaded to the root."""
    root = module_root
    nii = make_niftis(tmp_path_factory.mktemp("cli_nii") / "nii")
    for s in SUBJECTS:
        root.put(nii / f"{s}_seg.nii", f"src/{s}_seg.nii")
    uri = root.uri("ds")
    doc = ingest(root, uri, f"FLAIR={nii}/*_FLAIR.nii.gz", f"seg={root.uri('src')}/*_seg.nii",
                 f"T1={nii}/*_T1.nii.gz")
    assert doc["created"] is True and doc["files"] == 9 and doc["subject_count"] == 3
    return root, uri, nii


def test_ls(cli_ds):
    root, uri, _ = cli_ds
    doc = json.loads(run(root, "ls", "--json", uri).stdout)
    assert doc["subjects"] == list(SUBJECTS)
    assert [c["name"] for c in doc["collections"]] == ["FLAIR", "seg", "T1"]
    for c in doc["collections"]:
        assert [v["obs_id"] for v in c["volumes"]] == [f"{s}_{c['name']}" for s in SUBJECTS]
        assert all(v["shape"] == list(SHAPE) for v in c["volumes"])
    text = run(root, "ls", uri)
    assert text.returncode == 0 and "sub-02_seg" in text.stdout


def test_info(cli_ds):
    root, uri, _ = cli_ds
    doc = json.loads(run(root, "info", "--json", f"{uri}/collections/FLAIR/volumes/1").stdout)
    assert [d["name"] for d in doc["schema"]["dimensions"]] == ["x", "y", "z"]
    assert len(doc["fragments"]) == 1 and doc["metadata"]["obs_id"]["value"] == "sub-02_FLAIR"
    ds = json.loads(run(root, "info", "--json", uri).stdout)
    assert ds["type"] == "dataset" and ds["subjects"] == list(SUBJECTS)
    assert [(c["name"], c["volume_count"], c["shape"]) for c in ds["collections"]] == \
        [(n, 3, list(SHAPE)) for n in ("FLAIR", "seg", "T1")]
    group = json.loads(run(root, "info", "--json", f"{uri}/collections").stdout)
    assert sorted(m["name"] for m in group["members"]) == ["FLAIR", "T1", "seg"]
    assert run(root, "info", uri).returncode == 0


@pytest.mark.parametrize("coll,ext,axis,index", [("FLAIR", ".nii.gz", "axial", 15), ("seg", ".nii", "sagittal", 3),
                                                 ("T1", ".nii.gz", "coronal", 7)])
def test_slice_onto_the_root(cli_ds, tmp_path, coll, ext, axis, index):
    root, uri, nii = cli_ds
    args = ("slice", uri, "--collection", coll, "--obs-id", f"sub-02_{coll}", f"--{axis}", index)
    assert run(root, *args, "-o", root.uri("out/s.npy")).returncode == 0
    data = nib_data(nii / f"sub-02_{coll}{ext}")
    if coll == "T1":
        import nibabel as nib
        data = np.asarray(nib.load(str(nii / f"sub-02_T1{ext}")).dataobj.get_unscaled())
    want = data[(slice(None),) * ("sagittal", "coronal", "axial").index(axis) + (index,)]
    np.testing.assert_array_equal(np.load(root.get("out/s.npy", tmp_path / "s.npy")), want)
    # The PNG on the root is byte for byte the one written to a local file.
    p = run(root, *args, "-o", root.uri("out/deep/s.png"))
    assert p.returncode == 0, p.stderr
    assert run(root, *args, "-o", tmp_path / "local.png").returncode == 0
    assert root.get("out/deep/s.png", tmp_path / "s.png").read_bytes() == (tmp_path / "local.png").read_bytes()


def test_export_onto_the_root(cli_ds, tmp_path):
    root, uri, nii = cli_ds
    p = run(root, "export", uri, "--collection", "FLAIR", "--obs-id", "sub-03_FLAIR", "-o",
            root.uri("out/v.nii.gz"))
    assert p.returncode == 0, p.stderr
    got = root.get("out/v.nii.gz", tmp_path / "v.nii.gz")
    np.testing.assert_array_equal(nib_data(got), nib_data(nii / "sub-03_FLAIR.nii.gz"))


def test_validate(cli_ds):
    root, uri, _ = cli_ds
    p = run(root, "validate", uri)
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(run(root, "validate", "--json", uri).stdout) == {"uri": uri, "valid": True, "problems": []}


def test_errors_are_one_line_naming_the_uri(cli_ds):
    root, uri, nii = cli_ds
    line = one_line_error(run(root, "ingest", uri, f"FLAIR={nii}/*_FLAIR.nii.gz"), 1)
    assert uri in line
    missing = root.uri("missing")
    for args in (("ls", missing), ("validate", missing), ("info", missing)):
        p = run(root, *args)
        assert missing in one_line_error(p, 1) and p.stdout == ""
    line = one_line_error(run(root, "ingest", root.uri("new"), f"FLAIR={root.uri('src')}/*_PD.nii.gz"), 1)
    assert "no files match" in line
    assert not root.exists("new")


def test_append_renumbering_consolidate_vacuum(module_root, tmp_path):
    """An append whose subject sorts first (every FLAIR volume moves), a new collection,
    then consolidate + vacuum of the grown obs array; TileDB-Py agrees throughout."""
    root = module_root
    nii = make_niftis(tmp_path / "nii")
    uri = root.uri(f"app-{tmp_path.name}")
    ingest(root, uri, f"FLAIR={nii}/*_FLAIR.nii.gz")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "sub-00_FLAIR.nii.gz").write_bytes((nii / "sub-03_FLAIR.nii.gz").read_bytes())
    doc = ingest(root, uri, f"FLAIR={extra}", f"seg={nii}/*_seg.nii", append=True)
    assert doc["created"] is False
    ls = json.loads(run(root, "ls", "--json", uri).stdout)
    names = {c["name"]: [v["obs_id"] for v in c["volumes"]] for c in ls["collections"]}
    assert names["FLAIR"] == ["sub-00_FLAIR"] + [f"{s}_FLAIR" for s in SUBJECTS]
    assert names["seg"] == [f"{s}_seg" for s in SUBJECTS]
    assert run(root, "validate", uri).returncode == 0
    out = tmp_path / "s.npy"
    for k, src in enumerate(["sub-03"] + list(SUBJECTS)):
        oid = ls["collections"][0]["volumes"][k]["obs_id"]
        assert run(root, "slice", uri, "--collection", "FLAIR", "--obs-id", oid, "--axial", 4, "-o",
                   out).returncode == 0
        np.testing.assert_array_equal(np.load(out), nib_data(nii / f"{src}_FLAIR.nii.gz")[:, :, 4])
    obs = f"{uri}/collections/FLAIR/obs"
    assert len(json.loads(run(root, "info", "--json", obs).stdout)["fragments"]) == 2
    p = run(root, "consolidate", obs)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert run(root, "vacuum", "--mode", "fragments", obs).returncode == 0
    assert len(json.loads(run(root, "info", "--json", obs).stdout)["fragments"]) == 1
    for mode in ("commits", "fragment_meta", "array_meta"):
        assert run(root, "consolidate", f"--mode={mode}", obs).returncode == 0
        assert run(root, "vacuum", "--mode", mode, obs).returncode == 0
    # The whole dataset at once.
    assert run(root, "consolidate", uri).returncode == 0
    assert run(root, "vacuum", uri).returncode == 0
    assert run(root, "validate", uri).returncode == 0
    root.settle()
    with tiledb.open(obs, ctx=root.tiledb_ctx()) as a:
        df = a.df[:]
    df = df if "obs_id" in df.columns else df.reset_index()
    assert sorted(df["obs_id"]) == sorted(names["FLAIR"])
