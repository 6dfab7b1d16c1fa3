"""Shared helpers of the oracle tests: a deterministic pairwise case generator, test data,
TileDB twins of radi's schemas, and a hash of a directory tree."""
from __future__ import annotations

import hashlib
import itertools
import os
import random
import re
import time

import numpy as np
import tiledb

DTYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float32", "float64", "bool"]

SHAPE = {3: (23, 19, 11), 4: (13, 11, 7, 3)}


def pairwise(factors: dict, seed: int = 1, candidates: int = 60) -> list:
    """A covering array of strength 2: every pair of values of every two factors appears in
    at least one case (greedy, seeded, so the same cases come out on every run)."""
    names = list(factors)
    rng = random.Random(seed)
    uncovered = set()
    for a, b in itertools.combinations(range(len(names)), 2):
        for va in range(len(factors[names[a]])):
            for vb in range(len(factors[names[b]])):
                uncovered.add((a, va, b, vb))

    def pairs(case):
        return {(a, case[a], b, case[b]) for a, b in itertools.combinations(range(len(names)), 2)}

    cases = []
    while uncovered:
        # Seed each candidate from one uncovered pair so that every step makes progress.
        a, va, b, vb = min(uncovered)
        best, best_gain = None, -1
        for _ in range(candidates):
            c = [rng.randrange(len(factors[n])) for n in names]
            c[a], c[b] = va, vb
            gain = len(pairs(c) & uncovered)
            if gain > best_gain:
                best, best_gain = c, gain
        uncovered -= pairs(best)
        cases.append(best)
    return [{n: factors[n][v] for n, v in zip(names, c)} for c in cases]


def case_id(case: dict) -> str:
    return "-".join(str(v) for v in case.values())


def values(rng: np.random.Generator, dtype, shape) -> np.ndarray:
    """Values that exercise each type (negative numbers, runs of equal values for RLE-like
    codecs), small enough that int64/uint64/float sums are exact."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dt.kind == "f":
        v = np.round(rng.standard_normal(shape) * 100, 2).astype(dt)
    else:
        info = np.iinfo(dt)
        v = rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape,
                         endpoint=True).astype(dt)
    flat = v.reshape(-1)
    flat[: flat.size // 5] = flat[0]  # a constant run
    return v


def extents(tiling: str, shape) -> tuple:
    """Tile extents as radi volumes choose them (orientation defaults clipped to the shape);
    'custom' is deliberately not a divisor of any axis."""
    x, y, z = shape[:3]
    ext = {"axial": (x, y, 1), "sagittal": (1, y, z), "coronal": (x, 1, z),
           "isotropic": (min(64, x), min(64, y), min(64, z)), "custom": (7, 5, 4)}[tiling]
    if len(shape) == 4:
        ext = ext + ((2,) if tiling == "custom" else (1,))
    return tuple(min(e, s) for e, s in zip(ext, shape))


def filters_for(codec: str, shuffle: str) -> list:
    """radi_capi filter spec and the matching TileDB-Py FilterList."""
    spec = []
    if shuffle == "byte":
        spec.append("byteshuffle")
    elif shuffle == "bit":
        spec.append("bitshuffle")
    level = {"zstd": 3, "lz4": -1, "gzip": 6, "none": None}[codec]
    if codec != "none":
        spec.append((codec, level))
    return spec


def tiledb_filters(spec) -> tiledb.FilterList:
    out = []
    for f in spec:
        name, level = (f, None) if isinstance(f, str) else f
        cls = {"byteshuffle": tiledb.ByteShuffleFilter, "bitshuffle": tiledb.BitShuffleFilter,
               "zstd": tiledb.ZstdFilter, "lz4": tiledb.LZ4Filter, "gzip": tiledb.GzipFilter,
               "delta": tiledb.DeltaFilter, "double_delta": tiledb.DoubleDeltaFilter,
               "positive_delta": tiledb.PositiveDeltaFilter, "rle": tiledb.RleFilter}[name]
        out.append(cls(level=level) if level is not None and level != -1
                   and name in ("zstd", "lz4", "gzip") else cls())
    return tiledb.FilterList(out)


def tiledb_create(uri, shape, ext, dtype, spec, fill=None, order=("row-major", "row-major"),
                  dim_names="xyzt"):
    dims = [tiledb.Dim(n, (0, s - 1), e, dtype=np.int32)
            for n, s, e in zip(dim_names, shape, ext)]
    attr = tiledb.Attr("voxels", dtype=np.dtype(dtype), filters=tiledb_filters(spec),
                       fill=fill)
    tiledb.Array.create(uri, tiledb.ArraySchema(domain=tiledb.Domain(*dims), attrs=[attr],
                                                tile_order=order[0], cell_order=order[1],
                                                sparse=False))


def box_slices(box):
    return tuple(slice(lo, hi + 1) for lo, hi in box)


def box_shape(box):
    return tuple(hi - lo + 1 for lo, hi in box)


def unaligned_box(rng: np.random.Generator, shape, min_margin=1):
    """A box that starts and ends off any tile boundary of the extents used here."""
    box = []
    for s in shape:
        if s <= 3:
            lo = int(rng.integers(0, s))
            hi = int(rng.integers(lo, s))
        else:
            lo = int(rng.integers(min_margin, max(min_margin + 1, s // 3)))
            hi = int(rng.integers(max(lo, s // 2), s - 1))
        box.append((lo, hi))
    return box


def random_box(rng: np.random.Generator, domain):
    box = []
    for lo, hi in domain:
        a, b = sorted(int(v) for v in rng.integers(lo, hi + 1, size=2))
        box.append((a, b))
    return box


def tree_hash(root) -> str:
    """Hash of every file name, size, mode and content under root (and of the empty
    directories), to prove that a read changed nothing."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        h.update(b"D" + os.path.relpath(dirpath, root).encode() + b"\0")
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            st = os.stat(p)
            h.update(b"F" + f.encode() + b"\0" + str((st.st_size, st.st_mode, st.st_mtime_ns))
                     .encode())
            with open(p, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def as_cmp(a: np.ndarray) -> np.ndarray:
    """Comparable form: bools by their stored byte being non-zero (TileDB bools may hold
    any non-zero byte), everything else as is."""
    a = np.asarray(a)
    if a.dtype == np.bool_:
        return a.view(np.uint8) != 0
    return a


def assert_same(got, want, what=""):
    got, want = as_cmp(got), as_cmp(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    eq = got == want
    if got.dtype.kind == "f":
        eq |= np.isnan(got) & np.isnan(want)
    if not eq.all():
        bad = np.argwhere(~eq)
        i = tuple(bad[0])
        raise AssertionError(f"{what}: {len(bad)} cells differ, first at {list(i)}: "
                             f"got {got[i]!r}, want {want[i]!r}")


_TS_NAME = re.compile(r"^__(\d+)_(\d+)_")


def wait_for_clock(root, limit_s: float = 2.0):
    """radi gives every write a distinct, increasing timestamp (max(now, newest + 1)), so a
    burst of writes can run a few milliseconds ahead of the wall clock; TileDB-Py opens at
    "now" and would not see them yet. Waits until the clock has passed the newest
    timestamp under root (bounded, so a wild timestamp fails the test instead of hanging)."""
    wait_for_names((n for _, dirnames, filenames in os.walk(root) for n in dirnames + filenames), limit_s)


def wait_for_names(names, limit_s: float = 2.0):
    """wait_for_clock for the given file names (the last path segments of an S3 listing,
    say)."""
    newest = 0
    for n in names:
        m = _TS_NAME.match(n)
        if m:
            newest = max(newest, int(m.group(2)))
    deadline = time.time() + limit_s
    while time.time() * 1000 <= newest and time.time() < deadline:
        time.sleep(0.002)


def tdb_config(**extra) -> tiledb.Config:
    """TileDB config for the oracle's consolidations: small buffers (the default allocates
    and clears ~2 s worth of memory per call; results are the same)."""
    cfg = {"sm.consolidation.buffer_size": str(1 << 20)}
    cfg.update(extra)
    return tiledb.Config(cfg)
