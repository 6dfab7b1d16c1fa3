"""Shared fixtures of the tests that run on local disk and on S3 (tests/python/test_s3_*.py).

The S3 side is moto's server, started by the suite itself on a free loopback port
(s3_server.MotoServer, stopped by its PID at the end of the session); nothing has to
be running beforehand. conftest.py makes these fixtures available to every module:

    moto          the session's MotoServer
    s3_bucket     a fresh bucket on it
    fault_proxy   a FaultProxy in front of moto for one test
    s3_root       one bucket for the session's Root objects
    root          a Root on local disk or on S3 (parametrized "local" / "s3"), fresh
                  for each test
    module_root   the same, shared by one module's tests (datasets made once per module)
    radi_on_moto  radi's S3 configuration pointing at moto (module scope, restored after)

A Root hides the difference between the two storages where the tests need plain
files: put a local file there, get one back, list what is stored under a prefix. The
assertions of the tests are the same for both kinds.
"""
import contextlib
import importlib
import itertools
import os
import re
import shutil
from pathlib import Path

import pytest

from s3_server import CREDENTIALS, FaultProxy, MotoServer, fault_proxy, moto, s3_bucket  # noqa: F401

REGION = "us-east-1"
KINDS = ("local", "s3")


def aws_env(endpoint_url):
    """The AWS environment a subprocess (the radi CLI, a notebook kernel) needs to reach
    an S3 server at endpoint_url ("http://127.0.0.1:PORT"). The shared AWS files of the
    machine are hidden (a missing file is an empty one), so only these variables decide."""
    nowhere = "/nonexistent/radi-tests/aws"
    return {"AWS_ENDPOINT_URL": endpoint_url, "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"], "AWS_REGION": REGION,
            "AWS_CONFIG_FILE": nowhere, "AWS_SHARED_CREDENTIALS_FILE": nowhere}


def radi_s3_config(endpoint_url, **kw):
    """radi's S3Config for the server at endpoint_url, signed with the test keys."""
    import radi
    return radi.S3Config(endpoint=endpoint_url, aws_access_key_id=CREDENTIALS["aws_access_key_id"],
                         aws_secret_access_key=CREDENTIALS["aws_secret_access_key"], region=REGION, **kw)


def tiledb_config(endpoint):
    """TileDB-Py's settings for the S3 server at endpoint ("127.0.0.1:PORT")."""
    return {"vfs.s3.endpoint_override": endpoint, "vfs.s3.scheme": "http",
            "vfs.s3.use_virtual_addressing": "false", "vfs.s3.region": REGION,
            "vfs.s3.aws_access_key_id": CREDENTIALS["aws_access_key_id"],
            "vfs.s3.aws_secret_access_key": CREDENTIALS["aws_secret_access_key"]}


def radiobject_ctx_module():
    # `radiobject.ctx` as an attribute is a function (the package re-exports ctx()).
    return importlib.import_module("radiobject.ctx")


@contextlib.contextmanager
def radiobject_on(endpoint_url):
    """radiobject 0.1.1 configured for the S3 server at endpoint_url, as a user of 0.1.1
    does it: configure(s3=S3Config(endpoint=..., use_virtual_addressing=False)); its
    credentials come from boto3's chain (the AWS_* environment). Restored afterwards.
    endpoint_url None: 0.1.1 as it is (local disk)."""
    if endpoint_url is None:
        yield importlib.import_module("radiobject")
        return
    rc = radiobject_ctx_module()
    saved_env = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = CREDENTIALS["aws_access_key_id"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = CREDENTIALS["aws_secret_access_key"]
    old = rc.get_config().s3
    rc.configure(s3=rc.S3Config(endpoint=endpoint_url, use_virtual_addressing=False, region=REGION))
    try:
        yield importlib.import_module("radiobject")
    finally:
        rc.configure(s3=old)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Root:
    """A fresh place for one test's objects: a local directory or an s3:// prefix."""

    def __init__(self, kind, base, server=None):
        self.kind, self.base, self.server = kind, base.rstrip("/"), server
        if kind == "s3":
            m = re.fullmatch(r"s3://([^/]+)/(.+)", self.base)
            self.bucket, self.prefix = m.group(1), m.group(2)

    def __repr__(self):
        return f"Root({self.base})"

    @property
    def is_s3(self):
        return self.kind == "s3"

    def uri(self, *parts):
        return "/".join([self.base, *(str(p).strip("/") for p in parts)])

    def key(self, rel):
        return f"{self.prefix}/{str(rel).strip('/')}"

    # -- plain files --
    def put(self, local, rel):
        """Stores the local file at rel (uploads it with boto3 on S3); returns its URI."""
        if self.is_s3:
            self.server.client().upload_file(str(local), self.bucket, self.key(rel))
        else:
            dest = Path(self.uri(rel))
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, dest)
        return self.uri(rel)

    def get(self, rel, dest):
        """Fetches the file at rel (a URI under this root, or relative to it) to dest."""
        rel = self._rel(rel)
        if self.is_s3:
            self.server.client().download_file(self.bucket, self.key(rel), str(dest))
        else:
            shutil.copyfile(self.uri(rel), dest)
        return Path(dest)

    def _rel(self, rel):
        rel = str(rel)
        return rel[len(self.base) + 1:] if rel.startswith(self.base + "/") else rel

    def files(self, rel=""):
        """{path relative to rel: size} of every file / object stored under rel."""
        rel = self._rel(rel).strip("/")
        out = {}
        if self.is_s3:
            prefix = self.key(rel) + "/" if rel else self.prefix + "/"
            pages = self.server.client().get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for o in page.get("Contents", []):
                    out[o["Key"][len(prefix):]] = o["Size"]
        else:
            top = Path(self.uri(rel)) if rel else Path(self.base)
            for p in top.rglob("*") if top.is_dir() else ():
                if p.is_file():
                    out[str(p.relative_to(top))] = p.stat().st_size
        return out

    def exists(self, rel):
        """Whether anything is stored at or under rel."""
        rel = self._rel(rel).strip("/")
        if self.is_s3:
            r = self.server.client().list_objects_v2(Bucket=self.bucket, Prefix=self.key(rel), MaxKeys=1)
            return r.get("KeyCount", 0) > 0
        return Path(self.uri(rel)).exists()

    def settle(self, rel=""):
        """Waits until the clock has passed every timestamp radi gave a write under rel, so
        TileDB-Py (which opens at "now") sees them all (oracle_util.wait_for_clock)."""
        from oracle_util import wait_for_names
        wait_for_names(seg for name in self.files(rel) for seg in name.split("/"))

    def tiledb_ctx(self):
        import tiledb
        return tiledb.Ctx(tiledb_config(self.server.endpoint) if self.is_s3 else {})

    def env(self):
        """os.environ plus what a subprocess needs to reach this root."""
        e = dict(os.environ)
        if self.is_s3:
            e.update(aws_env(self.server.url))
        return e


_prefixes = itertools.count(1)


def _safe(name):
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:60]


@pytest.fixture(scope="session")
def s3_root(moto):
    """The bucket that holds every Root of the session (one prefix per Root)."""
    return moto.create_bucket(f"radi-roots-{os.getpid()}")


def make_root(kind, request, tmp_path_factory):
    name = f"{_safe(request.node.name)}-{next(_prefixes)}"
    if kind == "s3":
        server = request.getfixturevalue("moto")
        bucket = request.getfixturevalue("s3_root")
        return Root("s3", f"s3://{bucket}/{name}", server)
    return Root("local", str(tmp_path_factory.mktemp(name[:40]) / "root"))


@pytest.fixture(scope="module")
def radi_on_moto(request):
    """radi's S3 settings pointing at the session's moto (restored afterwards). The
    server is started only when a test needs it."""
    import radi
    saved = radi.get_config().s3
    server = request.getfixturevalue("moto")
    radi.configure(s3=radi_s3_config(server.url))
    yield server
    radi.configure(s3=saved)


@pytest.fixture(params=KINDS)
def root(request, tmp_path_factory, radi_on_moto):
    return make_root(request.param, request, tmp_path_factory)


@pytest.fixture
def s3root(request, tmp_path_factory, radi_on_moto):
    """A Root on S3 only (the oracles on the server: local disk has its own tests)."""
    return make_root("s3", request, tmp_path_factory)


@pytest.fixture(scope="module", params=KINDS)
def module_root(request, tmp_path_factory, radi_on_moto):
    return make_root(request.param, request, tmp_path_factory)


@contextlib.contextmanager
def radi_through(endpoint_url, **kw):
    """radi's S3 settings pointing at endpoint_url (a fault proxy, say) for a block."""
    import radi
    saved = radi.get_config().s3
    radi.configure(s3=radi_s3_config(endpoint_url, **kw))
    try:
        yield
    finally:
        radi.configure(s3=saved)


def run_cli(env, *args, timeout=300):
    """The radi CLI ($RADI_CLI or the packaged binary) in a subprocess with env."""
    import subprocess

    from radi import _lib
    return subprocess.run([str(_lib.cli_path()), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)
