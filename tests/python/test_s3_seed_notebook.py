"""The seed notebook's 12 cells with BRATS_URI = "s3://..." on the suite's moto server:
test_seed_notebook.py's machinery (imports rewritten, nothing else; one fresh kernel-like
process; every printed line checked), with the dataset made by `radi ingest` to S3. Cell 2
takes its `configure(s3=S3Config(region=S3_REGION))` branch; the endpoint and keys come
from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...), as on a user's machine.
"""
import os

import radi
from s3_fixtures import aws_env
from test_seed_notebook import ingest_with_cli, make_niftis, run_and_check


def test_seed_notebook_on_s3(moto, s3_root, fault_proxy, tmp_path, monkeypatch):
    def point_at(url):
        for k, v in aws_env(url).items():
            monkeypatch.setenv(k, v)   # inherited by `radi ingest` and by the cells' process
    make_niftis(tmp_path / "nifti")
    uri = f"s3://{s3_root}/seed-{os.getpid()}/brats_demo"
    point_at(moto.url)
    ingest_with_cli(uri, tmp_path / "nifti")
    # The cells go through the (fault-free) proxy, which records their requests.
    point_at(f"http://{fault_proxy.endpoint}")
    _out, probes = run_and_check(tmp_path, "radi", uri)
    assert probes["package"] == os.path.realpath(radi.__file__)
    # Cell 2 read the dataset from S3: FLAIR.iloc[0]'s voxels came from the server.
    key = f"/{s3_root}/seed-{os.getpid()}/brats_demo/collections/FLAIR/volumes/0/__fragments/"
    assert any(m == "GET" and p.startswith(key) for m, p, _f in fault_proxy.requests), fault_proxy.requests
