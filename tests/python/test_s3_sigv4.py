"""radi's SigV4 signer (src/vfs/s3/sign.c) against botocore's S3SigV4Auth.

Each request is signed by botocore (clock fixed by patching botocore.auth's clock) and by
the C tool tests/c/s3_sign_tool (the signer as linked into radi); every signed header
line must match: Authorization, x-amz-date, x-amz-content-sha256 and
x-amz-security-token. Keys are handed to the tool raw, so radi's S3 URI encoder is
checked against Python's quote() as well; some queries are handed to the tool in a
non-canonical (but equivalent) form, which radi must canonicalise as botocore's
canonical form does.

The tool is found at $RADI_BUILD_DIR/tests/c/s3_sign_tool (default: build/ at the repo
root). A missing tool fails the tests: a silent skip would hide a broken build.
"""
import datetime
import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional
from unittest import mock
from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RADI_BUILD_DIR", ROOT / "build"))
TOOL = BUILD / "tests" / "c" / "s3_sign_tool"

AKID = "AKIDEXAMPLE123456789"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = ("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example/token+with"
         "/slashes==")
UNSIGNED = "UNSIGNED-PAYLOAD"


@dataclass
class Req:
    id: str
    method: str = "GET"
    host: str = "bucket.s3.us-east-1.amazonaws.com"
    scheme: str = "http"
    prefix: str = ""               # path before the key, already encoded ("/bucket")
    key: Optional[str] = None      # raw key: the tool encodes it, botocore gets quote()
    path: Optional[str] = None     # explicit encoded path (instead of prefix + key)
    query: str = ""                # canonical, as botocore is given it
    tool_query: Optional[str] = None  # an equivalent as-sent form for the tool
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    unsigned: bool = False         # UNSIGNED-PAYLOAD (https + payload signing off)
    token: Optional[str] = None
    region: str = "us-east-1"
    when: datetime.datetime = datetime.datetime(2026, 12, 6, 15, 30, 45,
                                                tzinfo=datetime.timezone.utc)

    def encoded_path(self):
        if self.path is not None:
            return self.path
        if self.key is None:
            return self.prefix or "/"
        return f"{self.prefix}/{quote(self.key, safe='/~')}"


V2 = "list-type=2"
LIST = "/bucket"  # path-style listing

CASES = [
    Req("get-object", key="ds/volumes/T1/__schema/__1_2_abc"),
    Req("get-range", key="ds/a.tdb", headers={"Range": "bytes=1024-2047"}),
    Req("head-object", method="HEAD", key="ds/__meta/__12_34_label.vac"),
    Req("put-object", method="PUT", key="ds/__fragments/__1_1_x/a0.tdb",
        body=b"\x00\x01\x02 tile bytes" * 50,
        headers={"Content-Type": "application/octet-stream"}),
    Req("put-unsigned-md5", method="PUT", scheme="https", key="big/object.bin", unsigned=True,
        body=b"payload" * 1000,
        headers={"Content-MD5": "hCXVDJXbmYCE3Fq8ugxgrw==", "Content-Length": "7000"}),
    Req("delete-object", method="DELETE", key="ds/old.tdb"),
    Req("key-space", key="My Scans/sub ject 01/flair scan.nii.gz"),
    Req("key-plus", key="a+b/c++.tdb"),
    Req("key-percent", key="100%/50%25.tdb"),
    Req("key-equals-amp", key="k=v&x=y/q?r#s"),
    Req("key-unicode", key="caf\u00e9/\u65e5\u672c\u8a9e/\U0001F600.nii"),
    Req("key-tilde-reserved", key="~user/a!b$c'd(e)f*g,h;i:j@k[l]m"),
    Req("key-path-style", host="127.0.0.1:9000", prefix="/my-bucket", key="x y/z+w=1"),
    Req("list-v2", path=LIST, query=V2),
    Req("list-prefix-delim", path=LIST, query=f"delimiter=%2F&{V2}&prefix=ds%2Fvolumes%2F"),
    Req("list-token", path=LIST,
        query=f"continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D&{V2}"
              "&prefix=ds%2F"),
    Req("list-token-plus", path=LIST,
        query=f"continuation-token=a%2Bb%2Bc%2F%2F%3D%3D&delimiter=%2F&{V2}"),
    Req("list-maxkeys-enc", path=LIST, query=f"encoding-type=url&{V2}&max-keys=1000&prefix="),
    Req("list-unicode-prefix", path=LIST,
        query=f"{V2}&prefix=caf%C3%A9%20scans%2F&start-after=caf%C3%A9%20scans%2Fa"),
    Req("list-virtual-host", host="my-bucket.s3.eu-west-1.amazonaws.com", region="eu-west-1",
        path="/", query=f"delimiter=%2F&{V2}&prefix=a%2Bb%2F"),
    # forms the tool is given differently from botocore: radi must canonicalise them
    Req("list-noncanonical-order", path=LIST, query=f"delimiter=%2F&{V2}&prefix=a%2Fb",
        tool_query="prefix=a%2fb&list-type=2&delimiter=/"),
    Req("list-noncanonical-token", path=LIST, query="continuation-token=x%2By%2Fz%3D&list-type=2",
        tool_query="list-type=2&continuation-token=x+y/z="),
    Req("initiate-uploads", method="POST", key="big/part.bin", query="uploads=",
        tool_query="uploads"),
    Req("initiate-uploads-eq", method="POST", key="big/part.bin", query="uploads="),
    Req("upload-part", method="PUT", key="big/part.bin", body=b"p" * 4096,
        query="partNumber=3&uploadId=VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"),
    Req("upload-part-odd-id", method="PUT", key="big/part bin+", body=b"q" * 17,
        query="partNumber=10000&uploadId=2~abc.def-ghi_jkl%2Bmno%2Fpqr%3D",
        tool_query="uploadId=2~abc.def-ghi_jkl%2bmno/pqr%3D&partNumber=10000"),
    Req("complete-upload", method="POST", key="big/part.bin",
        query="uploadId=abcDEF123", headers={"Content-Type": "application/xml"},
        body=b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
             b"<ETag>&quot;x&quot;</ETag></Part></CompleteMultipartUpload>"),
    Req("abort-upload", method="DELETE", key="big/part.bin", query="uploadId=abcDEF123"),
    Req("delete-objects", method="POST", path="/", query="delete=", tool_query="delete",
        headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==", "Content-Type": "application/xml"},
        body=b"<Delete><Quiet>true</Quiet><Object><Key>a &amp; b</Key></Object></Delete>"),
    Req("copy-object", method="PUT", key="dst/new name.tdb",
        headers={"x-amz-copy-source": "/bucket/src%20dir/old%2Bname.tdb",
                 "x-amz-metadata-directive": "COPY"}),
    Req("header-whitespace", key="a", headers={"x-amz-meta-note": "  several   inner \t spaces  ",
                                                  "X-Amz-Meta-Upper": "Value"}),
    Req("token-get", key="secure/object", token=TOKEN),
    Req("token-list", path=LIST, query=f"{V2}&prefix=p%2F", token=TOKEN),
    Req("token-put-unsigned", method="PUT", scheme="https", key="s/t.bin", unsigned=True,
        token=TOKEN, body=b"abc", headers={"Content-MD5": "kAFQmDzST7DWlj99KOF/cg=="}),
    Req("region-ap", host="bucket.s3.ap-southeast-2.amazonaws.com", region="ap-southeast-2",
        key="x", when=datetime.datetime(2024, 2, 29, 23, 59, 59, tzinfo=datetime.timezone.utc)),
    Req("empty-key-root", path="/", method="HEAD"),
]


def find_tool():
    """The tool, or a test failure (called inside each test, so the report says FAILED
    rather than ERROR)."""
    if not (TOOL.is_file() and os.access(TOOL, os.X_OK)):
        pytest.fail(f"s3_sign_tool not found at {TOOL}: build the C tree first "
                    f"(cmake --build build), or point RADI_BUILD_DIR at the build directory")
    return TOOL


def expected_payload(r: Req) -> str:
    return UNSIGNED if r.unsigned else hashlib.sha256(r.body).hexdigest()


def sign_botocore(r: Req):
    url = f"{r.scheme}://{r.host}{r.encoded_path()}"
    if r.query:
        url += "?" + r.query
    req = AWSRequest(method=r.method, url=url, headers=dict(r.headers), data=r.body)
    if r.unsigned:
        req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    auth = _CapturingAuth(Credentials(AKID, SECRET, r.token), "s3", r.region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=r.when):
        auth.add_auth(req)
    return {k.lower(): v for k, v in req.headers.items()}, auth.captured


class _CapturingAuth(S3SigV4Auth):
    """Keeps the canonical request botocore signed (for the failure report)."""

    def canonical_request(self, request):
        self.captured = super().canonical_request(request)
        return self.captured


def sign_radi(tool_path: Path, r: Req):
    lines = [f"method {r.method}", f"host {r.host}", f"region {r.region}", "service s3",
             f"akid {AKID}", f"secret {SECRET}", f"payload {expected_payload(r)}",
             f"date {r.when.strftime('%Y%m%dT%H%M%SZ')}"]
    if r.path is not None:
        lines.append(f"path {r.path}")
    else:
        if r.prefix:
            lines.append(f"path {r.prefix}")
        if r.key is not None:
            lines.append(f"key {r.key}")
    q = r.tool_query if r.tool_query is not None else r.query
    if q:
        lines.append(f"query {q}")
    for k, v in r.headers.items():
        lines.append(f"header {k}:{v}")
    if r.token:
        lines.append(f"token {r.token}")
    p = subprocess.run([str(tool_path), "--canonical"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, encoding="utf-8", timeout=30)
    assert p.returncode == 0, f"s3_sign_tool failed: {p.stderr}"
    head, canonical, _sts = p.stdout.split("--\n")
    headers = {}
    for line in head.splitlines():
        name, _, value = line.partition(": ")
        headers[name.lower()] = value
    return headers, canonical.rstrip("\n")


def test_enough_cases():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    methods = {c.method for c in CASES}
    assert {"GET", "PUT", "HEAD", "DELETE", "POST"} <= methods


@pytest.mark.parametrize("r", CASES, ids=[c.id for c in CASES])
def test_signature_matches_botocore(r):
    tool = find_tool()
    boto, boto_canonical = sign_botocore(r)
    # The comparison only means something if both signed the same payload hash.
    assert boto["x-amz-content-sha256"] == expected_payload(r)
    ours, our_canonical = sign_radi(tool, r)
    detail = (f"\n--- botocore canonical request ---\n{boto_canonical}"
              f"\n--- radi canonical request ---\n{our_canonical}")
    assert ours["authorization"] == boto["authorization"], detail
    assert our_canonical == boto_canonical, detail
    assert ours["x-amz-date"] == boto["x-amz-date"]
    assert ours["x-amz-content-sha256"] == boto["x-amz-content-sha256"]
    if r.token:
        assert ours["x-amz-security-token"] == boto["x-amz-security-token"] == r.token
    else:
        assert "x-amz-security-token" not in ours
    assert set(ours) == {"authorization", "x-amz-date", "x-amz-content-sha256"} | (
        {"x-amz-security-token"} if r.token else set())


def test_aws_published_example():
    """AWS's "GET Object" example from the S3 SigV4 documentation, through the tool."""
    tool = find_tool()
    lines = ["method GET", "host examplebucket.s3.amazonaws.com", "path /test.txt",
             "header Range: bytes=0-9",
             "payload e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
             "date 20130524T000000Z", "region us-east-1", "akid AKIAIOSFODNN7EXAMPLE",
             "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]
    p = subprocess.run([str(tool)], input="\n".join(lines) + "\n", capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].endswith(
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def test_tool_refuses_bad_request():
    tool = find_tool()
    p = subprocess.run([str(tool)], input="method GET\nhost h\npath /x\nheader Host: evil\n"
                       "payload UNSIGNED-PAYLOAD\ndate 20130524T000000Z\nregion r\nakid a\n"
                       "secret s\n", capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "added by the signer" in p.stderr
