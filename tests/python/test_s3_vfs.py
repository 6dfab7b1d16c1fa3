"""The S3 VFS backend against moto: every operation through the C driver
tests/c/s3_vfs_check (built with the library; $RADI_BUILD_DIR, default <repo>/build),
directly and through the fault proxy of s3_server.py. A missing driver fails the tests.
"""
import email.utils
import os
import subprocess
import time
from pathlib import Path

import pytest

from s3_server import MotoServer, free_port, moto, s3_bucket, fault_proxy  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[2]
SECRET = "testing-secret"  # the driver's secret key: must never appear in any output


def driver():
    build = Path(os.environ.get("RADI_BUILD_DIR") or REPO / "build")
    exe = build / "tests" / "c" / "s3_vfs_check"
    assert exe.exists(), f"{exe} is missing: build the project (cmake --build build) first"
    return str(exe)


def run(endpoint, bucket, scenario, prefix="t", timeout=600, **env):
    e = dict(os.environ, RADI_S3_ACCESS_KEY="testing", RADI_S3_SECRET_KEY=SECRET)
    e.update({k: str(v) for k, v in env.items()})
    p = subprocess.run([driver(), endpoint, bucket, scenario, prefix], capture_output=True, text=True,
                       timeout=timeout, env=e)
    out = p.stdout + p.stderr
    assert e["RADI_S3_SECRET_KEY"] not in out
    return p.returncode, out


def stats(out):
    line = [l for l in out.splitlines() if l.startswith("stats ")][-1]
    return {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}


@pytest.mark.parametrize("scenario", ["basic", "multipart", "readmany", "list", "names", "kind", "remove",
                                      "move", "errors", "threads", "deferred", "lease"])
def test_scenario(moto, s3_bucket, scenario):
    rc, out = run(moto.endpoint, s3_bucket, scenario)
    assert rc == 0 and "PASSED" in out, out


def test_readmany_counts_match_the_wire(moto, s3_bucket, fault_proxy):
    """The driver's request counts (1 GET for 64 near ranges, 9 for scattered ones, 2
    for a 20 MiB read) are what the server saw."""
    rc, out = run(fault_proxy.endpoint, s3_bucket, "readmany")
    assert rc == 0 and "PASSED" in out, out
    assert "readmany near requests=1" in out
    assert "readmany far requests=9" in out
    assert "readmany split requests=2" in out
    assert stats(out)["requests"] == fault_proxy.count
    gets = [r for r in fault_proxy.requests if r[0] == "GET" and "obj.bin" in r[1]]
    assert len(gets) == 1 + 8 + 2


def test_connections_are_reused(moto, s3_bucket, fault_proxy):
    """Sequential calls share pooled connections instead of one TCP connect each."""
    rc, out = run(fault_proxy.endpoint, s3_bucket, "kind")
    assert rc == 0 and "PASSED" in out, out
    assert fault_proxy.count >= 20
    assert fault_proxy.connections <= 3, (fault_proxy.connections, fault_proxy.count)


def test_multipart_parts_go_in_parallel(moto, s3_bucket, fault_proxy):
    """With 0.5 s added to every request, parts sent one after another would arrive at
    least 0.5 s apart; in parallel they all arrive at once."""
    fault_proxy.configure(delay_s=0.5)
    rc, out = run(fault_proxy.endpoint, s3_bucket, "multipart")
    assert rc == 0 and "PASSED" in out, out
    parts = [t for r, t in zip(fault_proxy.requests, fault_proxy.arrivals)
             if r[0] == "PUT" and "partNumber=" in r[1]]
    assert len(parts) == 3
    assert max(parts) - min(parts) < 0.4, parts


FAULTS = [
    ("500", dict(rate=0.3, kinds=("500",))),
    ("slowdown", dict(rate=0.3, kinds=("slowdown",))),
    ("cut", dict(rate=0.3, kinds=("cut",))),
    ("stall", dict(rate=0.1, kinds=("stall",), stall_s=6)),
    ("stall_body", dict(rate=0.1, kinds=("stall_body",), stall_s=6)),
    ("mixed", dict(rate=0.3, kinds=("500", "503", "cut", "stall"), stall_s=6)),
    # CompleteMultipartUpload and CopyObject can fail inside a 200 answer
    ("complete_error200", dict(rate=0.5, kinds=("error200",), match="POST /", max_faults=3)),
]


@pytest.mark.parametrize("name,plan", FAULTS, ids=[f[0] for f in FAULTS])
def test_faults_give_identical_data(moto, s3_bucket, fault_proxy, name, plan):
    fault_proxy.configure(seed=1234, **plan)
    rc, out = run(fault_proxy.endpoint, s3_bucket, "fault", RADI_S3_MAX_RETRIES=10, RADI_S3_TIMEOUT_MS=2500,
                  timeout=900)
    assert rc == 0 and "PASSED" in out, out
    st = stats(out)
    assert fault_proxy.faults > 0
    assert st["retries"] > 0
    # curl itself resends a request once when a reused connection is closed before any
    # answer (a "cut" of an answer with no body): the proxy then sees more than we sent.
    assert st["requests"] <= fault_proxy.count
    assert st["retries"] + (fault_proxy.count - st["requests"]) >= fault_proxy.faults - 1, (st, fault_proxy.faults)


def one_error_line(out):
    msg = [l for l in out.splitlines() if l.startswith("message: ")]
    assert len(msg) == 1, out
    return msg[0][len("message: "):]


def test_server_gone_connection_refused(s3_bucket):
    endpoint = f"127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    rc, out = run(endpoint, s3_bucket, "gone", RADI_S3_MAX_RETRIES=3)
    assert rc == 0, out
    line = one_error_line(out)
    assert "s3://" in line and "GET failed" in line and endpoint in line and "after 4 attempts" in line, line
    assert time.monotonic() - t0 < 30


def test_server_gone_closes_connections(moto, s3_bucket, fault_proxy):
    fault_proxy.configure(gone=True)
    rc, out = run(fault_proxy.endpoint, s3_bucket, "gone", RADI_S3_MAX_RETRIES=2)
    assert rc == 0, out
    line = one_error_line(out)
    assert "GET failed" in line and fault_proxy.endpoint in line, line


def test_persistent_slowdown_gives_up_with_the_s3_code(moto, s3_bucket, fault_proxy):
    fault_proxy.configure(rate=1.0, kinds=("slowdown",))
    rc, out = run(fault_proxy.endpoint, s3_bucket, "gone", RADI_S3_MAX_RETRIES=2)
    line = one_error_line(out)
    assert "HTTP 503 SlowDown" in line and "after 3 attempts" in line, line
    assert fault_proxy.count == 3


@pytest.mark.parametrize("header", ["2", "HTTP-date"])
def test_retry_after_is_honoured(moto, s3_bucket, fault_proxy, header):
    """A throttled request is not retried before the server's Retry-After (delay-seconds or
    an HTTP-date), although radi's own backoff would retry within 50-100 ms."""
    if header == "HTTP-date":
        header = email.utils.formatdate(time.time() + 3, usegmt=True)  # 2-3 s from now
    fault_proxy.configure(rate=1.0, kinds=("slowdown",), retry_after=header)
    rc, out = run(fault_proxy.endpoint, s3_bucket, "gone", RADI_S3_MAX_RETRIES=1)
    line = one_error_line(out)
    assert "HTTP 503 SlowDown" in line and "after 2 attempts" in line, line
    gaps = [b - a for a, b in zip(fault_proxy.arrivals, fault_proxy.arrivals[1:])]
    assert len(gaps) == 1 and gaps[0] >= 1.0, gaps


def test_malformed_retry_after_is_ignored(moto, s3_bucket, fault_proxy):
    """A Retry-After that is neither delay-seconds nor an HTTP-date leaves radi's own backoff."""
    fault_proxy.configure(rate=1.0, kinds=("slowdown",), retry_after="bogus")
    t0 = time.monotonic()
    rc, out = run(fault_proxy.endpoint, s3_bucket, "gone", RADI_S3_MAX_RETRIES=2)
    assert "after 3 attempts" in one_error_line(out)
    assert time.monotonic() - t0 < 15


def test_virtual_hosted_addressing():
    """bucket.host/key requests (the AWS default) against a moto that serves them."""
    with MotoServer(virtual_hosts=True) as server:
        bucket = server.create_bucket("radi-virtual")
        for scenario in ("basic", "multipart", "list", "kind", "move"):
            rc, out = run(server.virtual_endpoint, bucket, scenario, prefix=scenario, RADI_S3_VIRTUAL=1)
            assert rc == 0 and "PASSED" in out, out
        log = server.log()
    # The bucket travels in the Host header, not the path.
    assert " /move/mv/" in log and "/radi-virtual/" not in log, log


def test_failed_multipart_write_is_aborted(moto, s3_bucket, fault_proxy):
    fault_proxy.configure(rate=1.0, kinds=("500",), match="partNumber=2&")
    rc, out = run(fault_proxy.endpoint, s3_bucket, "mpfail", RADI_S3_MAX_RETRIES=1)
    assert rc == 0 and "PASSED" in out, out
    line = one_error_line(out)
    assert "UploadPart failed: HTTP 500 InternalError" in line and "mpfail/big" in line, line
    aborts = [r for r in fault_proxy.requests if r[0] == "DELETE" and "uploadId=" in r[1]]
    assert len(aborts) == 1
    assert moto.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_signatures_verified_by_moto():
    """moto recomputes every SigV4 signature: what the transport sends (paths of odd keys,
    ranges, queries with tokens, Content-MD5, copy sources, multipart) is what it signed."""
    with MotoServer(verify_signatures=True) as server:
        bucket = server.create_bucket("radi-signed")
        keys = dict(RADI_S3_ACCESS_KEY=server.credentials["aws_access_key_id"],
                    RADI_S3_SECRET_KEY=server.credentials["aws_secret_access_key"])
        for scenario in ("basic", "multipart", "readmany", "names", "kind", "move", "errors"):
            rc, out = run(server.endpoint, bucket, scenario, prefix=scenario, **keys)
            assert rc == 0 and "PASSED" in out, out
        keys["RADI_S3_SECRET_KEY"] = "not-the-secret"
        rc, out = run(server.endpoint, bucket, "basic", prefix="wrong", **keys)
        assert rc != 0 and "PUT failed: HTTP 403 SignatureDoesNotMatch" in out, out


def test_persistent_stall_times_out_with_one_clear_error(moto, s3_bucket, fault_proxy):
    fault_proxy.configure(rate=1.0, kinds=("stall",), stall_s=30)
    t0 = time.monotonic()
    rc, out = run(fault_proxy.endpoint, s3_bucket, "gone", RADI_S3_MAX_RETRIES=1, RADI_S3_TIMEOUT_MS=1000)
    elapsed = time.monotonic() - t0
    line = one_error_line(out)
    assert "GET failed" in line and "timed out" in line and "after 2 attempts" in line, line
    assert elapsed < 10, elapsed


# ---- multipart copies (objects above vfs.s3.multipart_copy_threshold) ----

MIB = 1 << 20
BIG_COPY = dict(RADI_S3_COPY_THRESHOLD=5 * MIB, RADI_S3_PART_SIZE=5 * MIB)


def copies_to(requests, key):
    """The requests that wrote `key` (a target): CopyObject PUTs, UploadPartCopy PUTs,
    and the multipart Create/Complete POSTs, by the proxy's log."""
    mine = [(m, p) for m, p, _ in requests if p.split("?")[0].endswith("/" + key)]
    return dict(copy=sum(m == "PUT" and "partNumber=" not in p for m, p in mine),
                parts=sum(m == "PUT" and "partNumber=" in p for m, p in mine),
                create=sum(m == "POST" and "uploads" in (q.split("=")[0] for q in p.split("?", 1)[-1].split("&"))
                          for m, p in mine),
                complete=sum(m == "POST" and "uploadId=" in p for m, p in mine))


def test_big_copy_and_move_are_identical(moto, s3_bucket):
    """Above a lowered threshold (5 MiB; objects of 12 MiB + a few bytes, so parts of 5, 5
    and 2 MiB) copies and moves, single and of a tree mixing big, small, empty and
    exactly-threshold objects, give byte-identical objects and remove the sources."""
    rc, out = run(moto.endpoint, s3_bucket, "bigcopy", **BIG_COPY)
    assert rc == 0 and "PASSED" in out, out
    assert moto.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_big_copy_requests_on_the_wire(moto, s3_bucket, fault_proxy):
    """What each copy sent, as the proxy saw it: a big object is Create + 3 UploadPartCopy
    + Complete (after the HEAD that gives its size), a small one a single CopyObject, and
    an object of exactly the threshold still a CopyObject."""
    rc, out = run(fault_proxy.endpoint, s3_bucket, "bigcopy", **BIG_COPY)
    assert rc == 0 and "PASSED" in out, out
    reqs = fault_proxy.requests
    assert stats(out)["requests"] == len(reqs)
    # copy-small: a CopyObject, then a copy of a big object over it
    assert copies_to(reqs, "t/bc/copy-small") == dict(copy=1, parts=3, create=1, complete=1)
    assert "bigcopy copy-small requests=2" in out  # HEAD + CopyObject
    assert "bigcopy copy-big-sized requests=5" in out  # the size given: no HEAD
    # copy-big is written twice (a copy, then a copy replacing it), each time by parts.
    assert copies_to(reqs, "t/bc/copy-big") == dict(copy=0, parts=6, create=2, complete=2)
    assert "bigcopy copy-big requests=6" in out  # HEAD + Create + 3 parts + Complete
    assert copies_to(reqs, "t/bc/moved-big") == dict(copy=0, parts=3, create=1, complete=1)
    for key, big in (("big", True), ("sub/big2", True), ("small", False), ("edge", False), ("empty", False)):
        want = dict(copy=0, parts=3, create=1, complete=1) if big else dict(copy=1, parts=0, create=0, complete=0)
        assert copies_to(reqs, "t/bc/moved/" + key) == want, key
    # The tree move: 2 kind probes (HEAD + listing each: 4), 1 listing, 2 Creates, one
    # batch of 3 CopyObjects and 6 parts, 2 Completes, 1 DeleteObjects: no request to
    # learn a size (the listing gave them).
    assert "bigcopy move-tree requests=19" in out


def test_copy_below_the_threshold_is_one_copyobject(moto, s3_bucket, fault_proxy):
    """At the default threshold (5 GiB) the same objects are copied by one CopyObject each."""
    rc, out = run(fault_proxy.endpoint, s3_bucket, "bigcopy", RADI_S3_PART_SIZE=5 * MIB)
    assert rc == 0 and "PASSED" in out, out
    reqs = fault_proxy.requests
    assert copies_to(reqs, "t/bc/copy-big") == dict(copy=2, parts=0, create=0, complete=0)
    assert "bigcopy copy-big requests=2" in out  # HEAD + CopyObject
    for key in ("big", "sub/big2", "small", "empty"):
        assert copies_to(reqs, "t/bc/moved/" + key) == dict(copy=1, parts=0, create=0, complete=0), key
    assert not any("uploadId=" in p for m, p, _ in reqs if m == "PUT" and "/t/bc/" in p and "/t/bc/tree/" not in p)


BIG_COPY_FAULTS = [
    ("500", dict(rate=0.4, kinds=("500", "503"))),
    ("cut", dict(rate=0.4, kinds=("cut",))),
    # UploadPartCopy can fail inside a 200 answer, as CompleteMultipartUpload can
    ("error200", dict(rate=0.5, kinds=("error200",))),
]


@pytest.mark.parametrize("name,plan", BIG_COPY_FAULTS, ids=[f[0] for f in BIG_COPY_FAULTS])
def test_big_copy_under_faults(moto, s3_bucket, fault_proxy, name, plan):
    """Faults on the copy requests (UploadPartCopy, CopyObject, CompleteMultipartUpload)
    are retried and the results are still identical, with no upload left open. (Not on
    CreateMultipartUpload: a Create whose answer is lost leaves an upload whose id nobody
    learns, for the bucket's lifecycle rule to clean, whoever the client.)"""
    def copying(method, path):
        return ("/t/bc/" in path and "/t/bc/tree/" not in path and
                (method == "PUT" or (method == "POST" and "uploadId=" in path)))

    fault_proxy.configure(seed=77, match=copying, max_faults=12, **plan)
    rc, out = run(fault_proxy.endpoint, s3_bucket, "bigcopy", RADI_S3_MAX_RETRIES=10, **BIG_COPY)
    assert rc == 0 and "PASSED" in out, out
    assert fault_proxy.faults > 0 and stats(out)["retries"] > 0
    assert any(k for m, p, k in fault_proxy.requests if m == "PUT" and "partNumber=" in p and "/t/bc/" in p
               and "/t/bc/tree/" not in p)
    assert moto.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_failed_big_copy_is_aborted(moto, s3_bucket, fault_proxy):
    """Every UploadPartCopy failing: the tree move and the copy fail naming the part, leave
    no target object and abort their uploads (no multipart upload left behind)."""
    def part_copy(method, path):
        return method == "PUT" and "partNumber=" in path and ("/t/bcf/moved/" in path or "/t/bcf/copy?" in path)

    fault_proxy.configure(rate=1.0, kinds=("500",), match=part_copy)
    rc, out = run(fault_proxy.endpoint, s3_bucket, "bigcopyfail", RADI_S3_MAX_RETRIES=1, **BIG_COPY)
    assert rc == 0 and "PASSED" in out, out
    line = one_error_line(out)
    assert "UploadPartCopy" in line and "HTTP 500 InternalError" in line and "bcf/tree/big" in line, line
    aborts = [p for m, p, _ in fault_proxy.requests if m == "DELETE" and "uploadId=" in p]
    assert len(aborts) == 2, aborts
    client = moto.client()
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    left = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix="t/bcf/").get("Contents", [])]
    assert sorted(left) == ["t/bcf/tree/big", "t/bcf/tree/small"], left


def test_s3config_multipart_copy_threshold():
    """The Python mirror of vfs.s3.multipart_copy_threshold: default 5 GiB, S3's bounds,
    passed to the C library."""
    import radi
    assert radi.S3Config().multipart_copy_threshold == 5 << 30
    opts = dict(radi.S3Config(multipart_copy_threshold=6 << 20)._options())
    assert opts["vfs.s3.multipart_copy_threshold"] == str(6 << 20)
    for bad in ((5 << 20) - 1, (5 << 30) + 1, True, "6"):
        with pytest.raises(ValueError, match="multipart_copy_threshold"):
            radi.S3Config(multipart_copy_threshold=bad)


def test_rename_collection_moves_a_big_volume_by_parts(moto, s3_bucket, fault_proxy, tmp_path):
    """The case this exists for: a dataset write that moves a volume whose fragment is
    above the threshold (here 5 MiB; on AWS 5 GiB, e.g. a 4-D fMRI volume). With
    vfs.s3.multipart_copy_threshold lowered, rename_collection moves the big data object
    by UploadPartCopy parts and the volume reads back identical."""
    import nibabel as nib
    import numpy as np

    import radi
    from s3_fixtures import radi_through

    vol = np.random.default_rng(5).random((128, 128, 100), dtype=np.float32)  # 6.25 MiB, incompressible
    src = tmp_path / "sub-01_bold.nii.gz"
    nib.save(nib.Nifti1Image(vol, np.eye(4)), str(src))
    uri = f"s3://{s3_bucket}/bigmove"  # (this module's moto: s3root's belongs to conftest's)
    with radi_through(f"http://{fault_proxy.endpoint}", multipart_copy_threshold=5 << 20,
                      multipart_part_size_mb=5):
        radi.RadiObject.from_niftis(uri, images={"bold": [(str(src), "sub-01")]})
        fault_proxy.reset_counts()
        radi.RadiObject(uri).rename_collection("bold", "func")
        reqs = list(fault_proxy.requests)
        got = radi.RadiObject(uri).collection("func").iloc[0].to_numpy()
    np.testing.assert_array_equal(got, vol)
    parts = [p for m, p, _ in reqs if m == "PUT" and "partNumber=" in p and "/collections/func/" in p]
    assert len(parts) >= 2, parts  # the data object went by parts (>= 2 of 5 MiB)
    # The sizes came from the move's listing: the copies sent no HEAD (one per object
    # before rdi_vfs_copy_sized). The one HEAD under bold/ is the rename reading the
    # volume's metadata.
    copied = {p.split("?")[0] for m, p, _ in reqs if m == "PUT" and "/collections/func/" in p}
    source_heads = [p for m, p, _ in reqs if m == "HEAD" and "/collections/bold/" in p]
    assert len(copied) > 20 and len(source_heads) <= 1, source_heads
    assert moto.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_big_and_small_copies_of_a_move_go_in_one_parallel_batch(moto, s3_bucket, fault_proxy):
    """With 0.5 s added to every request, the tree move's 3 CopyObjects and 6
    UploadPartCopy parts arrive together (one batch), not 0.5 s apart."""
    fault_proxy.configure(delay_s=0.5)
    rc, out = run(fault_proxy.endpoint, s3_bucket, "bigcopy", **BIG_COPY)
    assert rc == 0 and "PASSED" in out, out
    batch = [t for (m, p, _), t in zip(fault_proxy.requests, fault_proxy.arrivals)
             if m == "PUT" and "/t/bc/moved/" in p]
    assert len(batch) == 3 + 6
    assert max(batch) - min(batch) < 0.4, batch
