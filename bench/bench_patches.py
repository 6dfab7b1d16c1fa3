#!/usr/bin/env python3
"""Batch patch reads (radi_read_patches) through ctypes: random unaligned 64³ patches
from BraTS-like int16 volumes (240×240×155, ZSTD level 3), tiled 64³ and axial
(240×240×1), with 1 and 2 pool threads; raw int16 and scaled float32 output.

Each configuration reads `--batches` batches of `--batch` patches (one radi_read_patches
call per batch, as a loader's __getitems__ would) after one warm-up batch; the volumes
are opened once, outside the timing, and their files are in the page cache after the
warm-up (local disk). Prints patches/s (median over batches, wall clock), patches per
CPU-second of the process (all threads: the per-core rate, less sensitive to other load on
the machine) and tiles read per patch.

    RADI_LIBRARY=build/libradi.so .venv/bin/python bench/bench_patches.py [--quick]
"""
import argparse
import ctypes as C
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
from radi import _capi  # noqa: E402  (the ctypes mirrors only; loads nothing)
from bench_dense import brain_volume  # noqa: E402

SHAPE = (240, 240, 155)
P = 64


def load(path):
    L = C.CDLL(path)
    _capi.check_abi(L, path)
    vp = C.c_void_p
    L.radi_ctx_create.argtypes = [C.POINTER(_capi.Config), C.POINTER(vp)]
    L.radi_config_init.argtypes = [C.POINTER(_capi.Config)]
    L.radi_ctx_free.argtypes = [vp]
    L.radi_volume_from_buffer.argtypes = [vp, C.c_char_p, C.c_uint32, C.POINTER(C.c_uint64), C.c_int, vp,
                                          C.POINTER(_capi.TileConfig), vp, C.POINTER(vp)]
    L.radi_volume_open.argtypes = [vp, C.c_char_p, C.POINTER(vp)]
    L.radi_volume_close.argtypes = [vp]
    L.radi_read_patches.argtypes = [vp, C.POINTER(_capi.PatchRequest), C.c_size_t,
                                    C.POINTER(_capi.PatchOptions), C.POINTER(_capi.ReadStats)]
    L.radi_errmsg.restype = C.c_char_p
    return L


def check(L, st):
    if st:
        raise RuntimeError(L.radi_errmsg().decode())


def ctx(L, threads):
    cfg = _capi.Config()
    L.radi_config_init(C.byref(cfg))
    cfg.concurrency = threads
    h = C.c_void_p()
    check(L, L.radi_ctx_create(C.byref(cfg), C.byref(h)))
    return h


def write(L, c, uri, data, orient):
    tc = _capi.TileConfig(orient, 0, 0, 0, 1)
    shape = (C.c_uint64 * 3)(*data.shape)
    data = np.ascontiguousarray(data)
    check(L, L.radi_volume_from_buffer(c, uri.encode(), 3, shape, _capi.INT16, data.ctypes.data,
                                       C.byref(tc), None, None))


def run(L, c, vols, batch, nbatches, output, seed):
    rng = np.random.default_rng(seed)
    dt = np.int16 if output == 0 else np.float32
    out = np.empty((batch, P, P, P), dt)
    reqs = (_capi.PatchRequest * batch)()
    opt = _capi.PatchOptions(output, 0, 0.0)
    stats = _capi.ReadStats()
    times, tiles, cpu = [], 0, 0.0
    for b in range(nbatches + 1):
        for i in range(batch):
            r = reqs[i]
            r.volume = vols[rng.integers(len(vols))]
            for d in range(3):
                r.start[d] = int(rng.integers(0, SHAPE[d] - P + 1))
                r.shape[d] = P
            r.out = out[i].ctypes.data
            r.out_size = out[i].nbytes
        t0, c0 = time.perf_counter(), time.process_time()
        check(L, L.radi_read_patches(c, reqs, batch, C.byref(opt), C.byref(stats)))
        dt_s, dc = time.perf_counter() - t0, time.process_time() - c0
        if b:  # the first batch warms the page cache and the allocator
            times.append(dt_s)
            cpu += dc
            tiles += stats.tiles_read
    med = statistics.median(times)
    return batch / med, tiles / (batch * nbatches), batch * nbatches / cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=os.environ.get("RADI_LIBRARY", "build/libradi.so"))
    ap.add_argument("--volumes", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--tiling", choices=("both", "64", "axial"), default="both")
    ap.add_argument("--threads", default="1,2", help="pool sizes, comma-separated")
    a = ap.parse_args()
    if a.quick:
        a.volumes, a.batches = 2, 6
    L = load(a.lib)
    root = tempfile.mkdtemp(prefix="radi_bench_patches_", dir=a.dir)
    try:
        c1 = ctx(L, 1)
        data = []
        t0 = time.perf_counter()
        for s in range(a.volumes):
            v = brain_volume(seed=s)
            data.append(np.clip(v, -32768, 32767).astype(np.int16))
        print(f"(data made in {time.perf_counter() - t0:.1f} s)")
        print(f"{a.volumes} volumes {SHAPE} int16, batches of {a.batch} random 64³ patches, "
              f"{a.batches} timed batches per row")
        print(f"{'tiling':>8} {'output':>8} {'threads':>7} {'patches/s':>10} {'per CPU-s':>9} {'tiles/patch':>11}")
        tilings = [t for t in (("64³", 3), ("axial", 0))
                   if a.tiling == "both" or t[0].startswith(a.tiling)]
        for name, orient in tilings:
            uris = []
            for i, d in enumerate(data):
                uri = os.path.join(root, f"{name}_{i}".replace("³", "3"))
                write(L, c1, uri, d, orient)
                uris.append(uri)
            for threads in [int(t) for t in a.threads.split(",")]:
                c = ctx(L, threads)
                vols = []
                for uri in uris:
                    h = C.c_void_p()
                    check(L, L.radi_volume_open(c, uri.encode(), C.byref(h)))
                    vols.append(h)
                for output, oname in ((0, "int16"), (1, "float32")):
                    med, tpp, mean = run(L, c, vols, a.batch, a.batches, output, seed=threads)
                    print(f"{name:>8} {oname:>8} {threads:>7} {med:>10.0f} {mean:>9.0f} {tpp:>11.2f}")
                for h in vols:
                    L.radi_volume_close(h)
                L.radi_ctx_free(c)
        L.radi_ctx_free(c1)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
