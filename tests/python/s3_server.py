"""S3 test servers for the suite: moto's server as a subprocess and a fault/latency proxy.

Both are started and stopped by the tests themselves (nothing is left running): moto on a
free loopback port, stopped by its PID (terminate, then kill); the proxy as threads in
the test process. Everything listens on 127.0.0.1 only.

Use as context managers::

    with MotoServer() as moto:                     # moto.endpoint == "127.0.0.1:PORT"
        moto.create_bucket("radi-test")
        with FaultProxy(moto.endpoint) as proxy:   # proxy.endpoint, same API as moto
            proxy.configure(rate=0.3, kinds=("500", "slowdown", "cut"), seed=7)
            ... run radi against proxy.endpoint ...
            proxy.requests                         # [(method, path, fault or None), ...]
            proxy.arrivals                         # arrival time of each, time.monotonic()
            proxy.connections                      # TCP connections accepted

or through the pytest fixtures at the bottom (import them into a test module or a
conftest: ``from s3_server import moto, s3_bucket, fault_proxy``):

    moto        session-scoped MotoServer
    s3_bucket   a fresh bucket name on it for each test (created, not emptied afterwards)
    fault_proxy a FaultProxy in front of moto for one test (no faults until configured)

radi talks to them anonymously or signed; moto does not check signatures. Set the
credentials radi uses to anything (moto refuses anonymous access to some objects, so
signed requests are the realistic setting).

Fault kinds of the proxy (each chosen for a share `rate` of the requests, from a
random.Random(seed), so a run is reproducible when requests are sequential):
    "500"       answers 500 InternalError (an S3 <Error> body)
    "503"       answers 503 with <Code>SlowDown</Code>
    "slowdown"  same as "503"
    "stall"     accepts the request and never answers for `stall_s` seconds, then closes
    "cut"       forwards, then sends the headers with the full Content-Length and only
                half of the body before closing (answers without a body are closed
                without a reply instead)
    "stall_body" forwards, sends the headers and half of the body, then stalls for
                `stall_s` seconds before closing
    "error200"  answers 200 with an S3 <Error> InternalError body (what S3 does for a
                failed CompleteMultipartUpload or CopyObject)
plus `delay_s` (a fixed delay before each request is forwarded), `match` (faults only
for requests whose "METHOD /path?query" contains this string, or for which this
callable(method, path) is true; the others pass untouched), `gone` (every
connection is closed at once, before reading the request: a server that went away) and
`gone_after` (the server goes away after that many requests: later requests, on open
connections too, are closed unanswered).
"""
import contextlib
import http.client
import http.server
import itertools
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def free_port():
    """A loopback port nobody listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _moto_command(port):
    exe = Path(sys.executable).parent / "moto_server"
    if exe.exists():
        return [str(exe), "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


class MotoServer:
    """moto's S3 server on a free loopback port, for the life of the object."""

    def __init__(self, env=None, startup_timeout=60, virtual_hosts=False, verify_signatures=False):
        """virtual_hosts: also serve virtual-hosted requests at `virtual_endpoint`
        ("s3.localhost:PORT": curl resolves every *.localhost name to the loopback, so
        "bucket.s3.localhost" reaches this server).
        verify_signatures: moto checks every SigV4 signature (and IAM permissions) after
        start() has made an IAM user with full S3 access; its keys are in
        `credentials` (aws_access_key_id, aws_secret_access_key), and client() uses them."""
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.endpoint}"
        self.virtual_endpoint = f"s3.localhost:{self.port}"
        self._env = dict(os.environ, **(env or {}))
        if virtual_hosts:
            self._env["MOTO_S3_CUSTOM_ENDPOINTS"] = f"http://{self.virtual_endpoint}"
        self.credentials = dict(CREDENTIALS)
        self._verify = verify_signatures
        if verify_signatures:
            # moto authenticates every request after the first N: the readiness probe
            # of start() and the three IAM calls of _make_user.
            self._env["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
        self._timeout = startup_timeout
        self.proc = None
        self.log_path = None

    def start(self):
        import tempfile
        fd, self.log_path = tempfile.mkstemp(prefix="moto-", suffix=".log")
        log = os.fdopen(fd, "wb")
        self.proc = subprocess.Popen(_moto_command(self.port), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self._env)
        log.close()
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                why = f"moto_server exited with {self.proc.returncode}: {self.log()}"
                self.stop()
                raise RuntimeError(why)
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/")
                c.getresponse().read()
                c.close()
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
                continue
            try:
                if self._verify:
                    self._make_user()
            except BaseException:
                self.stop()  # __exit__ never runs when __enter__ fails: no orphan server
                raise
            return self
        self.stop()
        raise RuntimeError(f"moto_server did not answer within {self._timeout} s")

    def _make_user(self):
        import json
        import boto3
        iam = boto3.client("iam", endpoint_url=self.url, region_name="us-east-1", **CREDENTIALS)
        iam.create_user(UserName="radi")
        policy = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="radi", PolicyName="s3", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="radi")["AccessKey"]
        self.credentials = {"aws_access_key_id": key["AccessKeyId"],
                            "aws_secret_access_key": key["SecretAccessKey"]}

    def log(self):
        try:
            return Path(self.log_path).read_text(errors="replace")[-4000:]
        except (OSError, TypeError):
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if self.log_path:
            with contextlib.suppress(OSError):
                os.unlink(self.log_path)

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", **self.credentials)

    def create_bucket(self, name):
        self.client().create_bucket(Bucket=name)
        return name

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


_ERROR_BODIES = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "SlowDown", "Please reduce your request rate."),
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
}
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "date", "server"}


class FaultProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 in front of `upstream` ("host:port"), injecting faults."""

    def __init__(self, upstream):
        self.upstream = upstream
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.requests = []          # (method, path, fault kind or None)
        self.arrivals = []          # time.monotonic() of each request, as in `requests`
        self.connections = 0        # TCP connections accepted (connection reuse shows here)
        self.configure()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def handle(self):
                with proxy._lock:
                    proxy.connections += 1
                if proxy.is_gone():
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                super().handle()

            def _any(self):
                proxy._serve(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.endpoint = f"127.0.0.1:{self.port}"
        self._thread = None

    KINDS = ("500", "503", "slowdown", "stall", "cut", "stall_body", "error200")

    def configure(self, rate=0.0, kinds=("500",), seed=0, delay_s=0.0, stall_s=5.0, gone=False,
                  max_faults=None, match=None, gone_after=None, retry_after=None):
        """Sets the fault plan (and resets the random sequence); the default is no faults.
        retry_after: a Retry-After header value (str) sent with every injected error answer."""
        for k in kinds:
            if k not in self.KINDS:
                raise ValueError(f"unknown fault kind {k!r}")
        with getattr(self, "_lock", threading.Lock()):
            self.rate, self.kinds, self.delay_s, self.stall_s = rate, tuple(kinds), delay_s, stall_s
            self.gone, self.max_faults, self.faults = gone, max_faults, 0
            self.match, self.gone_after = match, gone_after
            self.retry_after = retry_after
            self._rng = random.Random(seed)

    def reset_counts(self):
        with self._lock:
            self.requests = []
            self.arrivals = []
            self.connections = 0
            self.faults = 0

    @property
    def count(self):
        with self._lock:
            return len(self.requests)

    def is_gone(self):
        with self._lock:
            return self.gone or (self.gone_after is not None and len(self.requests) >= self.gone_after)

    def _pick(self, method, path):
        with self._lock:
            kind = None
            m = self.match
            wanted = m is None or (m(method, path) if callable(m) else m in f"{method} {path}")
            if wanted and self.rate and (self.max_faults is None or self.faults < self.max_faults):
                if self._rng.random() < self.rate:
                    kind = self._rng.choice(self.kinds)
                    self.faults += 1
            self.requests.append((method, path, kind))
            self.arrivals.append(time.monotonic())
            return kind

    def _serve(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        if self.is_gone():  # gone while this connection was open: no answer
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return
        kind = self._pick(h.command, h.path)
        if self.delay_s:
            time.sleep(self.delay_s)
        if kind in _ERROR_BODIES or kind == "error200":
            status, code, msg = _ERROR_BODIES.get(kind, _ERROR_BODIES["500"])
            status = 200 if kind == "error200" else status
            payload = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                       f"<Message>{msg}</Message><RequestId>proxy</RequestId></Error>").encode()
            h.send_response(status)
            h.send_header("Content-Type", "application/xml")
            if self.retry_after is not None and status != 200:
                h.send_header("Retry-After", self.retry_after)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(payload)
            return
        if kind == "stall":
            self._stop.wait(self.stall_s)
            h.close_connection = True
            return
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP}
        up = http.client.HTTPConnection(*self.upstream.rsplit(":", 1), timeout=120)
        try:
            up.request(h.command, h.path, body=body if (body or h.command in ("PUT", "POST")) else None,
                       headers=headers)
            resp = up.getresponse()
            data = resp.read()
            rheaders = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP]
            status = resp.status
        finally:
            up.close()
        if kind in ("cut", "stall_body") and (h.command == "HEAD" or len(data) < 2):
            h.close_connection = True  # nothing to cut: drop the connection unanswered
            return
        h.send_response(status)
        for k, v in rheaders:
            if k.lower() != "content-length":
                h.send_header(k, v)
        if h.command == "HEAD":
            length = dict((k.lower(), v) for k, v in rheaders).get("content-length", "0")
        else:
            length = str(len(data))
        h.send_header("Content-Length", length)
        h.end_headers()
        if h.command == "HEAD":
            return
        if kind in ("cut", "stall_body"):
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            if kind == "stall_body":
                self._stop.wait(self.stall_s)
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return
        h.wfile.write(data)

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---- pytest fixtures (import them where needed) ----

@pytest.fixture(scope="session")
def moto():
    with MotoServer() as server:
        yield server


_bucket_numbers = itertools.count(1)


@pytest.fixture
def s3_bucket(moto, request):
    """A fresh bucket on the session's moto server; returns its name."""
    name = f"radi-{os.getpid()}-{next(_bucket_numbers)}"
    return moto.create_bucket(name)


@pytest.fixture
def fault_proxy(moto):
    with FaultProxy(moto.endpoint) as proxy:
        yield proxy
