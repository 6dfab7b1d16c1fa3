#!/usr/bin/env python3
"""radi on S3 vs TileDB-Py, radiobject 0.1.1 and zarr v3 + s3fs, in one run, through a
proxy that adds a fixed delay to every request (a stand-in for the round trip to S3).

moto's S3 server (started here on the loopback, stopped by its PID) holds the data;
tests/python/s3_server.py's FaultProxy sits in front of it, in a child process (TileDB-Py
holds the GIL while it waits for an answer, so a proxy thread in this process could not
answer it), delays each request by 0 ms and then 20 ms (--delays) and counts the requests
of every call. The data is the demo set of scripts/make_demo_niftis.py: N subjects
(default 3) × FLAIR/T1w/T1gd/T2w/seg, 240×240×155 .nii.gz; reads use FLAIR of the first
subject. Each ingested dataset gets its own bucket (moto's listing goes through every key
of a bucket, S3's does not).

Systems:
- radi: `radi.configure(s3=radi.S3Config(endpoint="http://PROXY", use_virtual_addressing=
  False))`, the dataset written by `radi.RadiObject.from_niftis("s3://...")`.
- TileDB-Py 0.36.1: `tiledb.open` of radi's FLAIR volume array (the same bytes), a
  tiledb.Ctx with vfs.s3.endpoint_override / scheme=http / use_virtual_addressing=false.
- radiobject 0.1.1: its own dataset, written by its `from_niftis("s3://...")`, volume
  looked up by its own obs_id. Its S3Config has no scheme, so the benchmark wraps its
  RadiObjectConfig.to_tiledb_config to add vfs.s3.scheme=http (ROB_HTTP). A 0.1.1 Volume
  holds no open array: each of its reads opens the array again.
- zarr v3 + s3fs: the same FLAIR volume written once (not timed) as a zarr array with
  axial chunks 240×240×1 and zstd 3, read by bench/zarr_s3_worker.py in a subprocess
  with .venv-bench's interpreter (bench/setup_bench.sh, pins in
  bench/requirements-bench.txt; run by the benchmark when .venv-bench is missing: s3fs
  needs an older botocore than .venv's moto). Without it, zarr is left out with a note.
TileDB (TileDB-Py and 0.1.1) caches schemas, fragment metadata and read-ahead windows in
its context, so repeating one open or slice would measure memory: both get a new context
(its S3 client made) before each timed call, not timed; radi caches nothing (its request
counts show it). AWS_REQUEST_CHECKSUM_CALCULATION=when_required is set because TileDB's
AWS SDK otherwise uploads with chunked transfer encoding, which FaultProxy does not forward.

Rows, for each delay: median time, median requests (counted by the proxy around each
call), peer / radi; sequential round trips estimated as (t(20 ms) − t(0 ms)) / 20 ms, and
counted from the proxy's arrival times at 20 ms (a request arriving ≥ 16 ms after the one
before it waited for an answer; requests sent together arrive within a few ms):
(1) volume open (radi.Volume(uri); tiledb.open; 0.1.1 Volume(uri).shape, which loads the
    schema; zarr.open_array)
(2) open + axial slice 77
(3) axial slice 77 with a held handle
(4) unaligned 64³ region [90:154, 100:164, 40:104] with a held handle
(5) the whole volume with a held handle
(6) a fresh process: `RadiObject(uri).FLAIR.loc[obs_id].axial(77)` (import + configure +
    open + read), minus a bare `python -c "import numpy"` of the same interpreter;
    TileDB-Py and zarr rows (import, open the volume, slice) for reference
(7) ingest of the demo set from local .nii.gz to S3 (radi vs 0.1.1 `from_niftis`)
Reads: --repeat runs (default 7; --quick 5), interleaved between systems in rotated
order; ingest: --ingest-repeat runs (default 2; --quick 1). Every system's voxels of rows
2–6 are checked against the NIfTI, and each ingested dataset is read back (FLAIR of the
first subject); a mismatch stops the run with a non-zero exit.

Targets (reported, never asserted): open + slice in ≤ 3 sequential round trips and
≥ 1.7× faster than TileDB-Py at 20 ms; one request per slice or region with a held
handle; ingest to S3 ≥ 3× faster than radiobject 0.1.1.

Not a test: moto and the proxy are Python on a shared 2-core machine, far slower per
request than S3 (several ms at "0 ms"); compare ratios, request counts and round trips
taken in one run.

    .venv/bin/python bench/bench_s3.py [--quick] [--delays 0,20] [--subjects N]
        [--repeat K] [--ingest-repeat K] [--no-zarr] [--trace] [--json FILE]

--quick: 1 subject, 20 ms only, fewer repetitions. --trace: also list radi's requests for
(2) and (6) and the ingests' requests by method. Against a build tree:
RADI_LIBRARY=build/libradi.so RADI_CLI=build/radi PYTHONPATH=python
.venv/bin/python bench/bench_s3.py --quick
"""
import argparse
from collections import Counter
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))

from bench_radiobject import (AXIAL_Z, ROI, ROI_TEXT, SEQUENCES, check_child_radi,  # noqa: E402
                              child_env, cpu_model, fmt_ms, fmt_ratio, loadavg, make_niftis,
                              md_table, med, sources, timed, try_import)
from benchutil import du  # noqa: E402
from s3_server import CREDENTIALS, FaultProxy, MotoServer  # noqa: E402

BENCH_VENV = os.path.join(ROOT, ".venv-bench")
ZARR_WORKER = os.path.join(HERE, "zarr_s3_worker.py")
SYSTEMS = ("radi", "tdb", "rob", "zarr")
NAMES = {"radi": "radi", "tdb": "TileDB-Py (radi's array)", "rob": "radiobject 0.1.1",
         "zarr": "zarr v3 + s3fs"}
ROWS = [("open", "(1) volume open"), ("open_axial", f"(2) open + axial({AXIAL_Z})"),
        ("axial", f"(3) axial({AXIAL_Z}), handle held"),
        ("roi", f"(4) 64³ region {ROI_TEXT}, held"), ("full", "(5) whole volume, held"),
        ("fresh", "(6) fresh process, minus `import numpy`"),
        ("ingest", "(7) ingest of the .nii.gz set → S3")]
# What each read returns, from the whole volume (the NIfTI's voxels).
WANT = {"open_axial": lambda d: d[:, :, AXIAL_Z], "axial": lambda d: d[:, :, AXIAL_Z],
        "roi": lambda d: d[ROI], "full": lambda d: d}


# ------------------------------------------------------------------------ helpers --

# Points radiobject 0.1.1's contexts at an http endpoint: its S3Config sets only
# vfs.s3.endpoint_override (TileDB then speaks https), so every tiledb.Config it builds, the
# ingest workers' included, gets vfs.s3.scheme=http. Source text, run in this process and in
# the fresh processes alike.
ROB_HTTP = """
import sys, radiobject.ctx
_rctx = sys.modules["radiobject.ctx"]  # the attribute radiobject.ctx is the function ctx()
_orig = _rctx.RadiObjectConfig.to_tiledb_config
def _to_tiledb_config(self, *a, **k):
    cfg = _orig(self, *a, **k)
    cfg["vfs.s3.scheme"] = "http"
    return cfg
_rctx.RadiObjectConfig.to_tiledb_config = _to_tiledb_config
"""


def rob_use_endpoint(rob, endpoint):
    exec(ROB_HTTP, {})
    from radiobject.ctx import S3Config
    rob.configure(s3=S3Config(endpoint=endpoint, use_virtual_addressing=False))


def tiledb_config(endpoint):
    """TileDB-Py's settings for the proxy (its defaults otherwise)."""
    return {"vfs.s3.endpoint_override": endpoint,
            "vfs.s3.scheme": "http", "vfs.s3.use_virtual_addressing": "false", "vfs.s3.region": "us-east-1",
            "vfs.s3.aws_access_key_id": CREDENTIALS["aws_access_key_id"],
            "vfs.s3.aws_secret_access_key": CREDENTIALS["aws_secret_access_key"]}


class ProxyProcess:
    """s3_server.FaultProxy run in a child process, driven over a pipe (same attributes as
    the proxy: endpoint, count, requests, configure, reset_counts, stop). Not in this
    process: TileDB-Py holds the GIL while it waits for an answer, so a proxy thread here
    could never answer it (TileDB-Py and 0.1.1 would time out), and the proxy's Python
    work would also compete with the measured calls for the GIL."""

    def __init__(self, upstream):
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--proxy-child", upstream],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.delay_s = 0.0
        self.endpoint = self.p.stdout.readline().strip()
        if not self.endpoint:
            raise SystemExit(f"the proxy process exited ({self.p.wait()})")

    def _call(self, **cmd):
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def configure(self, **kw):
        self._call(cmd="configure", kw=kw)
        self.delay_s = kw.get("delay_s", 0.0)

    def waves_since(self, i):
        """Sequential round trips of the requests from the i-th on, counted from their
        arrival times: a request that had to wait for an answer arrives at least the
        delay after the one before it, requests sent together arrive within a few ms.
        None without a delay."""
        if not self.delay_s:
            return None
        arr = self._call(cmd="arrivals", start=i)
        return (1 + sum(b - a >= 0.8 * self.delay_s for a, b in zip(arr, arr[1:]))) if arr else 0

    def reset_counts(self):
        self._call(cmd="reset")

    @property
    def count(self):
        return self._call(cmd="count")

    @property
    def requests(self):
        return [tuple(r) for r in self._call(cmd="requests")]

    def stop(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def proxy_child(upstream):
    """The child of ProxyProcess: a FaultProxy until stdin closes."""
    with FaultProxy(upstream) as proxy:
        print(proxy.endpoint, flush=True)
        for line in sys.stdin:
            cmd = json.loads(line)
            c = cmd["cmd"]
            if c == "configure":
                proxy.configure(**cmd["kw"])
                ans = None
            elif c == "reset":
                proxy.reset_counts()
                ans = None
            elif c == "count":
                ans = proxy.count
            elif c == "arrivals":
                with proxy._lock:
                    ans = sorted(proxy.arrivals[cmd["start"]:])
            else:
                ans = list(proxy.requests)
            print(json.dumps(ans), flush=True)
    return 0


class ZarrWorker:
    """bench/zarr_s3_worker.py in .venv-bench, one command at a time."""

    def __init__(self, python, endpoint_url, url, env):
        self.p = subprocess.Popen([python, ZARR_WORKER, endpoint_url, url], env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def call(self, op, **kw):
        self.p.stdin.write(json.dumps(dict(op=op, **kw)) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit(f"zarr worker exited ({self.p.wait()}) during {op}")
        ans = json.loads(line)
        if "error" in ans:
            raise SystemExit(f"zarr worker, {op}: {ans['error']}")
        return ans["t"]

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.p.stdin.flush()
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def bench_python(no_zarr):
    """.venv-bench's interpreter (set up by bench/setup_bench.sh if missing), or (None,
    why not)."""
    if no_zarr:
        return None, "left out (--no-zarr)"
    py = os.path.join(BENCH_VENV, "bin", "python")
    if not os.access(py, os.X_OK):
        print("  setting up .venv-bench (bench/setup_bench.sh)", file=sys.stderr)
        p = subprocess.run(["bash", os.path.join(HERE, "setup_bench.sh"), sys.executable],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return None, f"left out: bench/setup_bench.sh failed: {p.stderr.strip()[-300:]}"
    p = subprocess.run([py, "-c", "import zarr, s3fs; print(zarr.__version__, s3fs.__version__)"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None, f"left out: zarr/s3fs not importable in .venv-bench: {p.stderr.strip()[-300:]}"
    z, s = p.stdout.split()
    return py, f"zarr {z}, s3fs {s} (.venv-bench)"


def check(label, got, want):
    got = np.squeeze(np.asarray(got))
    want = np.squeeze(np.asarray(want))
    assert got.shape == want.shape and np.array_equal(got, want), f"{label}: other voxels"
    assert got.dtype == want.dtype, f"{label}: dtype {got.dtype}, not {want.dtype}"


def requests_of(proxy, fn):
    """(seconds, requests, round trips or None, result) of fn(), requests as counted by
    the proxy, round trips from their arrival times (ProxyProcess.waves_since)."""
    n0 = proxy.count
    t, out = timed(fn)
    return t, proxy.count - n0, proxy.waves_since(n0), out


def med_or_none(xs):
    xs = [x for x in xs if x is not None]
    return med(xs) if xs else None


def compact(requests):
    """The proxy's request list as 'METHOD tail-of-path' lines, for --trace."""
    out = []
    for method, path, _f in requests:
        p = path.split("?", 1)
        tail = "/".join(p[0].split("/")[-3:])
        out.append(f"    {method:<4} {tail}{'?' + p[1][:70] if len(p) > 1 else ''}")
    return "\n".join(out)


# ------------------------------------------------------------------------- ingest --

def run_ingest(ctx, delay_ms, reps):
    """Times radi's and 0.1.1's from_niftis to S3; returns {system: [(s, requests)...]}.
    The first dataset of each is kept in ctx.ds for the reads."""
    radi, rob = ctx.radi, ctx.rob
    images = {m: list(v) for m, v in ctx.srcs.items()}
    systems = [("radi", lambda uri: radi.RadiObject.from_niftis(uri, images=images))]
    if rob is not None:
        systems.append(("rob", lambda uri: rob.RadiObject.from_niftis(uri, images=images)))
    out = {k: [] for k, _f in systems}
    for r in range(reps):
        for k, fn in (systems if r % 2 == 0 else systems[::-1]):
            # A bucket for each dataset: moto lists a prefix by going through all keys of
            # the bucket, so the datasets written before would slow later listings down
            # (S3's listing does not depend on the bucket's size).
            bucket = ctx.moto.create_bucket(f"bench-{k}-{delay_ms}ms-{r}")
            uri = f"s3://{bucket}/ds"
            if ctx.trace:
                ctx.proxy.reset_counts()
            t, n, w, _ = requests_of(ctx.proxy, lambda: fn(uri))
            if ctx.trace and r == 0:
                kinds = Counter(m for m, _p, _f in ctx.proxy.requests)
                ctx.ingest_kinds[(k, delay_ms)] = dict(kinds)
            out[k].append((t, n, w))
            ctx.ds.setdefault(k, uri)
            print(f"  ingest {delay_ms:>3} ms {k:<5} run {r + 1}/{reps}: {t:6.2f} s, {n} requests",
                  file=sys.stderr)
    return out


# -------------------------------------------------------------------------- reads --

def setup_reads(ctx):
    """Opens what the held-handle rows hold and checks every system's voxels once."""
    radi, rob, tiledb = ctx.radi, ctx.rob, ctx.tiledb
    ro = radi.RadiObject(ctx.ds["radi"])
    oid = ro.FLAIR.obs_ids[0]
    sid = ro.FLAIR.obs_subject_ids[0]
    ctx.radi_oid, ctx.subject = oid, sid
    ctx.radi_uri = ro.FLAIR.loc[oid].uri
    ref = np.asarray(ctx.nib.load(dict((s, p) for p, s in ctx.srcs["FLAIR"])[sid]).dataobj)
    ctx.ref = ref
    fns = {}
    uri = ctx.radi_uri
    vol = radi.Volume(uri)
    fns["radi"] = {"open": lambda: radi.Volume(uri), "open_axial": lambda: radi.Volume(uri).axial(AXIAL_Z),
                   "axial": lambda: vol.axial(AXIAL_Z), "roi": lambda: vol[ROI],
                   "full": lambda: vol.to_numpy()}
    # TileDB keeps what it read (schemas, fragment metadata, read-ahead windows of 100 KB
    # that hold an axial tile) in caches of its context: repeating the same open or slice
    # would then measure memory, not the first open of a volume or the first read of a
    # slice. TileDB-Py and 0.1.1 therefore get a new context before each timed call (not
    # timed; its S3 client made there too), so that they start as cold as radi, which
    # caches nothing (its request counts show it). ctx.resets[system](held) does that;
    # held: also re-open what is held (not timed).
    ctx.resets = {}
    if tiledb is not None:
        cfg = tiledb_config(ctx.proxy.endpoint)
        bucket = "s3://" + uri[len("s3://"):].split("/", 1)[0]
        st = {"ctx": tiledb.Ctx(tiledb.Config(cfg)), "A": None}

        def t_reset(held):
            if st["A"] is not None:
                st["A"].close()
                st["A"] = None
            st["ctx"] = tiledb.Ctx(tiledb.Config(cfg))
            # Its S3 client is made on first use: here, as radi's exists already.
            tiledb.VFS(ctx=st["ctx"]).is_bucket(bucket)
            if held:
                st["A"] = tiledb.open(uri, ctx=st["ctx"])
        ctx.closers.append(lambda: t_reset(False))
        ctx.resets["tdb"] = t_reset

        def t_open_axial():
            with tiledb.open(uri, ctx=st["ctx"]) as A:
                return A[:, :, AXIAL_Z]["voxels"]
        fns["tdb"] = {"open": lambda: tiledb.open(uri, ctx=st["ctx"]).close(), "open_axial": t_open_axial,
                      "axial": lambda: st["A"][:, :, AXIAL_Z]["voxels"],
                      "roi": lambda: st["A"][ROI]["voxels"], "full": lambda: st["A"][:]["voxels"]}
    if rob is not None:
        from radiobject.ctx import S3Config
        from radiobject.volume import Volume as RobVolume
        rb = rob.RadiObject(ctx.ds["rob"])
        oid_o = rb.FLAIR.obs_ids[rb.FLAIR.obs_subject_ids.index(sid)]
        ctx.rob_oid = oid_o
        ruri = rb.FLAIR.loc[oid_o].uri
        rvol = RobVolume(ruri)  # holds no open array: every read opens it
        rbucket = "s3://" + ruri[len("s3://"):].split("/", 1)[0]
        s3 = rob.get_config().s3
        rctx = sys.modules["radiobject.ctx"]

        def rob_reset(held):
            # configure() drops 0.1.1's global context; ctx() builds the new one here, so
            # that the timed call does not (boto3's credential lookup, TileDB's thread pools).
            rob.configure(s3=S3Config(**s3.model_dump()))
            tiledb.VFS(ctx=rctx.ctx()).is_bucket(rbucket)
        ctx.resets["rob"] = rob_reset
        fns["rob"] = {"open": lambda: RobVolume(ruri).shape,
                      "open_axial": lambda: RobVolume(ruri).axial(AXIAL_Z),
                      "axial": lambda: rvol.axial(AXIAL_Z), "roi": lambda: rvol[ROI],
                      "full": lambda: rvol.to_numpy()}
    if ctx.zarr is not None:
        z = ctx.zarr
        fns["zarr"] = {op: (lambda op=op: z.call(op)) for op in ("open", "open_axial", "axial", "roi", "full")}
    # Correctness, once per system and read (untimed; also a warm-up).
    for k, ops in fns.items():
        for op, want in WANT.items():
            if k == "zarr":
                path = os.path.join(ctx.root, f"zarr_{op}.npy")
                ctx.zarr.call(op, out=path)
                got = np.load(path)
            else:
                if k in ctx.resets:
                    ctx.resets[k](op not in ("open", "open_axial"))
                got = ops[op]()
            check(f"{NAMES[k]} {op}", got, want(ref))
    return fns


def run_reads(ctx, fns, delay_ms, reps):
    """{(row, system): (median s, median requests)} for rows 1–5."""
    out = {}
    for op in ("open", "open_axial", "axial", "roi", "full"):
        keys = [k for k in SYSTEMS if k in fns]
        ts = {k: [] for k in keys}
        ns = {k: [] for k in keys}
        ws = {k: [] for k in keys}
        for i in range(reps):
            for k in keys[i % len(keys):] + keys[:i % len(keys)]:
                if k in ctx.resets:
                    ctx.resets[k](op not in ("open", "open_axial"))
                if k == "zarr":  # timed in the worker, around the call alone
                    n0 = ctx.proxy.count
                    t = fns[k][op]()
                    n, w = ctx.proxy.count - n0, ctx.proxy.waves_since(n0)
                else:
                    t, n, w, _ = requests_of(ctx.proxy, fns[k][op])
                ts[k].append(t)
                ns[k].append(n)
                ws[k].append(w)
        for k in keys:
            out[(op, k)] = (med(ts[k]), med(ns[k]), med_or_none(ws[k]))
        print(f"  reads {delay_ms:>3} ms {op:<10} ({reps} runs)", file=sys.stderr)
    return out


# ------------------------------------------------------------------ fresh process --

def fresh_commands(ctx):
    """[(system, interpreter, setup, expression)]: each system's program is setup + a
    line evaluating expression (the slice); each interpreter's `import numpy` is a
    baseline (system "base:<python>")."""
    ep = ctx.proxy.endpoint
    py = sys.executable
    cmds = [("base:" + py, py, "import numpy", None),
            ("radi", py, f"import radi\nradi.configure(s3=radi.S3Config(endpoint={'http://' + ep!r}, "
                         f"use_virtual_addressing=False))",
             f"radi.RadiObject({ctx.ds['radi']!r}).FLAIR.loc[{ctx.radi_oid!r}].axial({AXIAL_Z})")]
    if ctx.tiledb is not None:
        cmds.append(("tdb", py, f"import tiledb\nc = tiledb.Ctx(tiledb.Config({tiledb_config(ep)!r}))",
                     f"tiledb.open({ctx.radi_uri!r}, ctx=c)[:, :, {AXIAL_Z}]['voxels']"))
    if ctx.rob is not None:
        cmds.append(("rob", py, f"import radiobject{ROB_HTTP}from radiobject.ctx import S3Config\n"
                     f"radiobject.configure(s3=S3Config(endpoint={ep!r}, use_virtual_addressing=False))",
                     f"radiobject.RadiObject({ctx.ds['rob']!r}).FLAIR.loc[{ctx.rob_oid!r}].axial({AXIAL_Z})"))
    if ctx.zarr is not None:
        zp = ctx.zarr_python
        cmds.append(("base:" + zp, zp, "import numpy", None))
        cmds.append(("zarr", zp, "import zarr\nfrom zarr.storage import FsspecStore\n"
                                 f"s = FsspecStore.from_url({ctx.zarr_url!r}, storage_options="
                                 f"{{'endpoint_url': {'http://' + ep!r}}})",
                     f"zarr.open_array(s, mode='r')[:, :, {AXIAL_Z}]"))
    return cmds


def run_fresh(ctx, delay_ms, reps, trace=None):
    """{('fresh', system): (median s minus its interpreter's baseline, median requests)}.
    The slice is checked once per system (printed by the child, compared here)."""
    cmds = fresh_commands(ctx)
    want = ctx.ref[:, :, AXIAL_Z]
    for k, py, setup, expr in cmds:  # check + warm-up (page cache, .pyc), untimed
        if k.startswith("base:"):
            continue
        path = os.path.join(ctx.root, f"fresh_{k}.npy")
        chk = f"{setup}\nimport numpy as _n\n_n.save({path!r}, _n.asarray({expr}))"
        p = subprocess.run([py, "-c", chk], env=ctx.env, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"fresh process {k} failed:\n{p.stderr}")
        check(f"fresh {NAMES[k]}", np.load(path), want)
    ts = {c[0]: [] for c in cmds}
    ns = {c[0]: [] for c in cmds}
    ws = {c[0]: [] for c in cmds}
    for r in range(reps):
        j = r % len(cmds)
        for k, py, setup, expr in cmds[j:] + cmds[:j]:
            code = setup if expr is None else f"{setup}\n{expr}"
            if trace is not None and k == "radi" and r == 0:
                ctx.proxy.reset_counts()
            t, n, w, p = requests_of(ctx.proxy, lambda: subprocess.run(
                [py, "-c", code], env=ctx.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True))
            if trace is not None and k == "radi" and r == 0:
                trace.append(list(ctx.proxy.requests))
            if p.returncode != 0:
                raise SystemExit(f"fresh process {k} failed:\n{p.stderr}")
            ts[k].append(t)
            ns[k].append(n)
            ws[k].append(w)
    print(f"  fresh processes {delay_ms:>3} ms ({reps} runs)", file=sys.stderr)
    base = {c[1]: med(ts[c[0]]) for c in cmds if c[0].startswith("base:")}
    return {("fresh", c[0]): (med(ts[c[0]]) - base[c[1]], med(ns[c[0]]), med_or_none(ws[c[0]]))
            for c in cmds if not c[0].startswith("base:")}, base


# --------------------------------------------------------------------------- main --

class Ctx:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 subject, the 20 ms delay only, fewer repetitions (a smoke run)")
    ap.add_argument("--delays", default=None,
                    help="comma-separated delays in ms added to each request (default 0,20; quick 20)")
    ap.add_argument("--subjects", type=int, default=None, help="subjects (5 volumes each; default 3)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs of each read and fresh process (default 7; quick 5)")
    ap.add_argument("--ingest-repeat", type=int, default=None, help="ingest runs (default 2, quick 1)")
    ap.add_argument("--no-zarr", action="store_true", help="leave zarr v3 + s3fs out")
    ap.add_argument("--trace", action="store_true",
                    help="also list radi's requests for open + slice and the fresh process")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args()
    subjects = args.subjects or (1 if args.quick else 3)
    reps = args.repeat or (5 if args.quick else 7)
    ingest_reps = args.ingest_repeat or (1 if args.quick else 2)
    delays = [int(d) for d in (args.delays or ("20" if args.quick else "0,20")).split(",")]

    # The benchmark's own credentials for moto (which ignores them), whatever the caller's
    # environment holds: nothing here may reach a real account.
    for k, v in (("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"]),
                 ("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"]),
                 ("AWS_REGION", "us-east-1"), ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ[k] = v
    for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(k, None)
    # TileDB's AWS SDK otherwise sends its uploads with chunked transfer encoding (for a
    # trailing CRC), which FaultProxy does not forward (it reads Content-Length bytes):
    # 0.1.1's volumes would arrive empty. Checksums only where S3 requires them.
    os.environ["AWS_REQUEST_CHECKSUM_CALCULATION"] = "when_required"

    import radi
    ctx = Ctx()
    ctx.radi = radi
    ctx.rob, rob_err = try_import("radiobject")
    ctx.tiledb, tdb_err = try_import("tiledb")
    ctx.nib, nib_err = try_import("nibabel")
    if ctx.nib is None:
        raise SystemExit(f"nibabel is needed to generate the NIfTIs ({nib_err})")
    ctx.env = child_env(radi)
    check_child_radi(radi, ctx.env)
    ctx.zarr_python, zarr_note = bench_python(args.no_zarr)
    ctx.zarr = None
    ctx.ds = {}
    ctx.trace = args.trace
    ctx.ingest_kinds = {}
    ctx.closers = []
    ctx.root = tempfile.mkdtemp(prefix="radi-bench-s3-")
    ctx.nii = os.path.join(ctx.root, "nii")
    moto = proxy = None
    out = {"delays_ms": delays, "rows": {}}
    try:
        gen_s, _ = make_niftis(ctx.nii, subjects)
        ctx.srcs = sources(ctx.nii)
        nvol = sum(len(v) for v in ctx.srcs.values())
        ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        lines = ["# radi on S3 (moto behind a delaying proxy)", "",
                 f"- machine: {ncpu} CPUs, {cpu_model()}, {platform.system()} {platform.release()}, "
                 f"Python {platform.python_version()}; load average at start {loadavg()}",
                 f"- radi {radi.library_version()}: library {radi._lib.library_path()}",
                 f"- radiobject {ctx.rob.__version__}" if ctx.rob else f"- radiobject: left out ({rob_err})",
                 f"- TileDB-Py {ctx.tiledb.__version__} (core "
                 f"{'.'.join(map(str, ctx.tiledb.libtiledb.version()))})" if ctx.tiledb
                 else f"- TileDB-Py: left out ({tdb_err})",
                 f"- zarr v3: {zarr_note}",
                 f"- data: {subjects} subjects × {len(SEQUENCES)} = {nvol} volumes 240×240×155, "
                 f"{du(ctx.nii) / 1e6:.1f} MB of .nii.gz (generated in {gen_s:.0f} s); reads: FLAIR "
                 f"of the first subject",
                 f"- delays {', '.join(f'{d} ms' for d in delays)} per request; repetitions: reads "
                 f"and fresh processes {reps}, ingest {ingest_reps}; medians"]
        print("\n".join(lines), flush=True)
        out["header"] = lines

        moto = MotoServer().start()
        ctx.moto = moto
        proxy = ProxyProcess(moto.endpoint)
        ctx.proxy = proxy
        radi.configure(s3=radi.S3Config(endpoint="http://" + proxy.endpoint, use_virtual_addressing=False))
        if ctx.rob is not None:
            rob_use_endpoint(ctx.rob, proxy.endpoint)

        res = {}   # delay -> {(row, system): (seconds, requests)}
        trace = []
        for i, d in enumerate(delays):
            proxy.configure(delay_s=d / 1e3)
            r = res[d] = {}
            ing = run_ingest(ctx, d, ingest_reps)
            for k, v in ing.items():
                r[("ingest", k)] = (med([x[0] for x in v]), med([x[1] for x in v]),
                                    med_or_none([x[2] for x in v]))
            if i == 0:
                # Setup on the datasets of the first ingest (untimed): zarr's copy of FLAIR,
                # the held handles, the voxel checks.
                proxy.configure(delay_s=0)
                ro_check(ctx)
                if ctx.zarr_python:
                    ctx.zarr_url = f"s3://{moto.create_bucket('bench-zarr')}/flair.zarr"
                    ctx.zarr = ZarrWorker(ctx.zarr_python, "http://" + proxy.endpoint, ctx.zarr_url,
                                          ctx.env)
                    ctx.closers.append(ctx.zarr.close)
                    npy = os.path.join(ctx.root, "flair.npy")
                    np.save(npy, radi.Volume(ctx.radi_uri).to_numpy())
                    ctx.zarr.call("write", npy=npy)
                    ctx.zarr.call("hold")
                fns = setup_reads(ctx)
                proxy.configure(delay_s=d / 1e3)
            r.update(run_reads(ctx, fns, d, reps))
            if args.trace and not trace:
                proxy.reset_counts()
                fns["radi"]["open_axial"]()
                trace.append(list(proxy.requests))
            fr, base = run_fresh(ctx, d, reps, trace if args.trace else None)
            r.update(fr)
            out.setdefault("fresh_baseline_s", {})[d] = base

        print_results(ctx, res, delays, out)
        if args.trace and trace:
            print(f"\n## radi's requests, open + axial({AXIAL_Z}) ({len(trace[0])})\n\n```\n"
                  f"{compact(trace[0])}\n```")
            if len(trace) > 1:
                print(f"\n## radi's requests, fresh process ({len(trace[1])})\n\n```\n"
                      f"{compact(trace[1])}\n```")
        for (k, d), kinds in ctx.ingest_kinds.items():
            print(f"\nIngest requests of {NAMES[k]} at {d} ms: "
                  + ", ".join(f"{m} {n}" for m, n in sorted(kinds.items())))
        print(f"\nload average at end {loadavg()}")
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(out, fh, indent=1, default=str)
    finally:
        for close in ctx.closers:
            close()
        if proxy is not None:
            proxy.stop()
        if moto is not None:
            moto.stop()
        shutil.rmtree(ctx.root, ignore_errors=True)
    return 0


def ro_check(ctx):
    """Each library reads its own ingested dataset back (FLAIR of the first subject, the
    axial slice), equal to the NIfTI; fills ctx.radi_uri for the zarr copy."""
    radi, rob = ctx.radi, ctx.rob
    ro = radi.RadiObject(ctx.ds["radi"])
    sid = ro.FLAIR.obs_subject_ids[0]
    ctx.radi_uri = ro.FLAIR.loc[ro.FLAIR.obs_ids[0]].uri
    ref = np.asarray(ctx.nib.load(dict((s, p) for p, s in ctx.srcs["FLAIR"])[sid]).dataobj)
    check("radi ingest", radi.Volume(ctx.radi_uri).to_numpy(), ref)
    if rob is not None:
        rb = rob.RadiObject(ctx.ds["rob"])
        oid = rb.FLAIR.obs_ids[rb.FLAIR.obs_subject_ids.index(sid)]
        check("radiobject 0.1.1 ingest", rb.FLAIR.loc[oid].axial(AXIAL_Z), ref[:, :, AXIAL_Z])


def print_results(ctx, res, delays, out):
    d_hi = max(delays)
    d_lo = min(delays)
    both = len(delays) > 1 and d_lo == 0
    hdr = ["row", "system"]
    for d in delays:
        hdr += [f"ms @{d}", f"req @{d}", f"/radi @{d}"]
    if both:
        hdr += [f"round trips (t{d_hi}−t0)/{d_hi} ms"]
    if d_hi > 0:
        hdr += [f"round trips, arrivals @{d_hi}"]
    rows = []
    for row, label in ROWS:
        first = True
        for k in SYSTEMS:
            if not any((row, k) in res[d] for d in delays):
                continue
            cells = [label if first else "", NAMES[k]]
            first = False
            for d in delays:
                t, n, _w = res[d].get((row, k), (None, None, None))
                tr = res[d].get((row, "radi"), (None,))[0]
                cells += ["–" if t is None else (f"{t:,.2f} s" if row == "ingest" else fmt_ms(t)),
                          "–" if n is None else f"{n:g}",
                          "" if k == "radi" else fmt_ratio(t, tr)]
            if both:
                t0 = res[d_lo].get((row, k), (None,))[0]
                t1 = res[d_hi].get((row, k), (None,))[0]
                cells.append("–" if t0 is None or t1 is None else f"{(t1 - t0) / (d_hi / 1e3):.1f}")
            if d_hi > 0:
                w = res[d_hi].get((row, k), (None, None, None))[2]
                cells.append("–" if w is None else f"{w:g}")
            rows.append(cells)
            out["rows"].setdefault(row, {})[k] = {d: res[d].get((row, k)) for d in delays}
    print(f"\n## Reads and ingest on S3 (FLAIR of subject {ctx.subject})\n")
    print(md_table(hdr, rows, left=2))
    print("\nms: median time (rows 1–6 ms, row 7 s); req: median requests the proxy saw; "
          "/radi: the system's time over radi's (> 1: radi faster); round trips (t−t0): how "
          "many sequential round trips the delay added, from the times (noisy: t0 varies by "
          "several ms); round trips, arrivals: counted from the proxy's arrival times (a "
          "request arriving ≥ 0.8 × the delay after the one before it waited for an answer; "
          "requests sent together arrive within a few ms), median. Row 6 subtracts each "
          "interpreter's `python -c \"import numpy\"`; its requests are the whole process's.")

    # Targets (as the issue states them; reported, not asserted).
    def get(d, row, k, i=0):
        v = res.get(d, {}).get((row, k))
        return None if v is None else v[i]
    print("\n## Targets\n")
    lines = []
    waves = get(d_hi, "open_axial", "radi", 2)
    if both:
        rt = (get(d_hi, "open_axial", "radi") - get(d_lo, "open_axial", "radi")) / (d_hi / 1e3)
        lines.append(f"- open + slice in ≤ 3 sequential round trips, (t{d_hi} − t0) / {d_hi} ms: "
                     f"{rt:.1f} → {'met' if rt <= 3 else 'NOT met'}")
    if waves is not None:
        lines.append(f"- open + slice in ≤ 3 sequential round trips, from the arrivals at {d_hi} ms: "
                     f"{waves:g} → {'met' if waves <= 3 else 'NOT met'}")
    if get(d_hi, "open_axial", "tdb") is not None:
        r = get(d_hi, "open_axial", "tdb") / get(d_hi, "open_axial", "radi")
        lines.append(f"- open + slice ≥ 1.7× faster than TileDB-Py at {d_hi} ms: {r:.2f}× → "
                     f"{'met' if r >= 1.7 else 'NOT met'}")
    for row, what in (("axial", "slice"), ("roi", "64³ region")):
        ns = {d: get(d, row, "radi", 1) for d in delays}
        ok = all(n == 1 for n in ns.values())
        lines.append(f"- one request per {what} with a held handle: "
                     f"{', '.join(f'{n:g} @{d} ms' for d, n in ns.items())} → {'met' if ok else 'NOT met'}")
    for d in delays:
        if get(d, "ingest", "rob") is not None:
            r = get(d, "ingest", "rob") / get(d, "ingest", "radi")
            lines.append(f"- ingest to S3 ≥ 3× faster than radiobject 0.1.1 at {d} ms: {r:.2f}× → "
                         f"{'met' if r >= 3 else 'NOT met'}")
    print("\n".join(lines))
    out["targets"] = lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["--proxy-child"]:
        sys.exit(proxy_child(sys.argv[2]))
    sys.exit(main())
