"""Batch patch reads: many boxes of many volumes in one C call (include/radi/patches.h).

`read_patches(volumes, starts, shape)` reads n boxes of one shape into one (n, *shape)
array (or the caller's), the boxes spread over the context's thread pool with the GIL
released (ctypes releases it for the whole call). `read_boxes(requests)` is the general
form the ML datasets use: any box shape per request and any output buffer, e.g. the
(batch, channel) sub-arrays of one preallocated batch.
"""
from __future__ import annotations

import ctypes as C

import numpy as np

from . import _capi, _lib

__all__ = ["read_patches", "read_boxes", "PAD_MODES", "OUTPUTS"]

PAD_MODES = {"constant": _capi.PAD_CONSTANT, "edge": _capi.PAD_EDGE, "reflect": _capi.PAD_REFLECT}
OUTPUTS = {"stored": _capi.PATCH_STORED, "float32": _capi.PATCH_FLOAT32, "float64": _capi.PATCH_FLOAT64}
_OUT_DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}


def _request_dtype() -> np.dtype:
    """A numpy structured dtype laid out exactly as radi_patch_request (offsets and size
    from the ctypes mirror, which is checked against the library at load), so a batch of
    requests is filled by vectorised assignment instead of a Python loop over structs."""
    R = _capi.PatchRequest
    return np.dtype({"names": ["volume", "start", "shape", "out", "out_size", "status"],
                     "formats": [np.uintp, (np.int64, 4), (np.uint64, 4), np.uintp, np.uint64, np.int32],
                     "offsets": [R.volume.offset, R.start.offset, R.shape.offset, R.out.offset,
                                 R.out_size.offset, R.status.offset],
                     "itemsize": C.sizeof(R)})


_REQ = None


def _output_name(dtype) -> str:
    if isinstance(dtype, str) and dtype in OUTPUTS:
        return dtype
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be 'stored', 'float32' or 'float64', got {dtype!r}") from None
    if dt == np.float32:
        return "float32"
    if dt == np.float64:
        return "float64"
    raise ValueError(f"dtype must be 'stored', 'float32' or 'float64', got {dtype!r}")


def _options(output: str, pad_mode: str, pad_value: float) -> _capi.PatchOptions:
    if pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode must be one of {', '.join(PAD_MODES)}, got {pad_mode!r}")
    opt = _capi.PatchOptions()
    _lib.lib().radi_patch_options_init(C.byref(opt))
    opt.output = OUTPUTS[output]
    opt.pad_mode = PAD_MODES[pad_mode]
    opt.pad_value = float(pad_value)
    return opt


def read_boxes(volumes, starts, shapes, outs, dtype="float32", pad_mode: str = "constant",
               pad_value: float = 0.0, stats: dict | None = None, ctx=None) -> None:
    """Reads box i of volumes[i] (start starts[i], extent shapes[i], both of the volume's
    ndim) into outs[i], a C-contiguous array of exactly that many values of the output
    type ("stored": the volume's stored dtype; "float32"/"float64": physical values).
    One radi_read_patches call. stats, when given, is a dict whose tiles_read,
    bytes_read, io_requests and batches are increased by this call's counts. Raises the
    first failing request's RadiError (naming the request and the volume)."""
    global _REQ
    n = len(volumes)
    if not (len(starts) == len(shapes) == len(outs) == n):
        raise ValueError("volumes, starts, shapes and outs must have the same length")
    output = _output_name(dtype)
    opt = _options(output, pad_mode, pad_value)
    if _REQ is None:
        _REQ = _request_dtype()
    req = np.zeros(n, dtype=_REQ)
    users = {}  # id -> Volume, each acquired once for the call (a close waits for it)
    try:
        for i in range(n):
            v = volumes[i]
            key = id(v)
            if key not in users:
                users[key] = (v, v._acquire())
            h = users[key][1]
            st, sh, o = starts[i], shapes[i], outs[i]
            nd = v.ndim
            if len(st) != nd or len(sh) != nd:
                raise ValueError(f"request {i}: start and shape need {nd} values for {v.uri} "
                                 f"(shape {v.shape}), got {tuple(st)} and {tuple(sh)}")
            want = v.stored_dtype if output == "stored" else _OUT_DTYPES[output]
            if not isinstance(o, np.ndarray) or o.dtype != want or not o.flags.c_contiguous \
                    or not o.flags.writeable or o.size != int(np.prod(sh)):
                raise ValueError(f"request {i}: out must be a writeable C-contiguous {want} array of "
                                 f"{int(np.prod(sh))} values, got "
                                 f"{getattr(o, 'dtype', type(o).__name__)} {getattr(o, 'shape', '')}")
            r = req[i]
            r["volume"] = h.value
            r["start"][:nd] = st
            r["shape"][:nd] = sh
            r["out"] = o.ctypes.data
            r["out_size"] = o.nbytes
        rs = _lib.ReadStats()
        cx = _lib.as_radi_ctx(ctx)
        status = _lib.lib().radi_read_patches(cx.handle, req.ctypes.data, n, C.byref(opt), C.byref(rs))
        if status != _lib.OK:
            bad = int(np.flatnonzero(req["status"] != 0)[0]) if (req["status"] != 0).any() else 0
            try:
                _lib.check(status)
            except _lib.RadiError as e:
                raise type(e)(f"{e} (volume {volumes[bad].uri})", status=e.status) from None
        if stats is not None:
            for f in ("tiles_read", "bytes_read", "io_requests", "batches"):
                stats[f] = stats.get(f, 0) + int(getattr(rs, f))
    finally:
        for v, _h in users.values():
            v._release()


def read_patches(volumes, starts, shape, out=None, dtype="float32", pad_mode: str = "constant",
                 pad_value: float = 0.0, stats: dict | None = None) -> np.ndarray:
    """Reads n boxes of one shape, box i from volumes[i] (or from the one Volume given) at
    starts[i], into an (n, *shape) array: `out` when given (C-contiguous, that shape, the
    output dtype), else a new one.

    dtype: "float32" (default) or "float64" -- physical values, raw * slope + inter
    computed in double and rounded once, as Volume reads -- or "stored" (the volumes'
    own stored dtype, which must then be the same for all). Boxes may overhang the
    volume on any side: pad_mode "constant" fills the outside cells with pad_value,
    "edge" and "reflect" as numpy.pad. Reads run on the context's thread pool, each box
    on one thread, with the GIL released. stats: see read_boxes."""
    from .volume import Volume

    if isinstance(volumes, Volume):
        starts = np.asarray(starts, dtype=np.int64)
        volumes = [volumes] * (len(starts) if starts.ndim == 2 else 1)
    vols = list(volumes)
    n = len(vols)
    shape = tuple(int(s) for s in shape)
    starts = np.asarray(starts, dtype=np.int64).reshape(n, len(shape)) if n else \
        np.zeros((0, len(shape)), np.int64)
    if any(s < 1 for s in shape):
        raise ValueError(f"shape must be positive, got {shape}")
    output = _output_name(dtype)
    if output == "stored":
        kinds = {v.stored_dtype for v in vols}
        if len(kinds) > 1:
            raise ValueError(f"dtype='stored' needs one stored dtype, the volumes have {sorted(map(str, kinds))}")
        want = kinds.pop() if kinds else np.dtype(np.float32)
    else:
        want = _OUT_DTYPES[output]
    if out is None:
        out = np.empty((n,) + shape, dtype=want)
    elif not isinstance(out, np.ndarray) or out.shape != (n,) + shape or out.dtype != want \
            or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {want} array of shape {(n,) + shape}, got "
                         f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}")
    if n:
        read_boxes(vols, starts, [shape] * n, list(out), output, pad_mode, pad_value, stats)
    return out
