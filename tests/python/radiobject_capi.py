"""A thin ctypes wrapper over radi's dataset C API (include/radi/radiobject.h), for the
compatibility tests with radiobject 0.1.1 only. It loads the same libradi.so as radi_capi
($RADI_LIBRARY, else the installed package's copy). Failing calls raise RadiCError.
"""
from __future__ import annotations

import ctypes as C

import numpy as np

import radi_capi
from radi._capi import Config as _Config  # the package's mirrors of the C structs
from radi._capi import IngestOptions as _IngestOptions
from radi._capi import NiftiSource as _Source
from radi._capi import VolumeEntry as _Entry
from radi._capi import check_abi
from radi_capi import NP_OF


class RadiCError(RuntimeError):
    pass


_P = C.c_void_p
_PROTOTYPES = {
    "radi_errmsg": (C.c_char_p, []),
    "radi_config_init": (None, [C.POINTER(_Config)]),
    "radi_ctx_create": (C.c_int, [C.POINTER(_Config), C.POINTER(_P)]),
    "radi_ctx_free": (None, [_P]),
    "radi_dataset_create": (C.c_int, [_P, C.c_char_p]),
    "radi_dataset_open": (C.c_int, [_P, C.c_char_p, C.POINTER(_P)]),
    "radi_dataset_close": (None, [_P]),
    "radi_dataset_collection_count": (C.c_uint64, [_P]),
    "radi_dataset_collection_name": (C.c_char_p, [_P, C.c_uint64]),
    "radi_dataset_subject_count": (C.c_uint64, [_P]),
    "radi_dataset_subject_id": (C.c_char_p, [_P, C.c_uint64]),
    "radi_dataset_add_collection": (C.c_int, [_P, C.c_char_p]),
    "radi_dataset_volumes": (C.c_int, [_P, C.c_char_p, C.POINTER(C.POINTER(_Entry)),
                                       C.POINTER(C.c_uint64)]),
    "radi_dataset_open_volume": (C.c_int, [_P, C.c_char_p, C.c_char_p, C.POINTER(_P)]),
    "radi_ingest_options_init": (None, [C.POINTER(_IngestOptions)]),
    "radi_dataset_ingest_niftis": (C.c_int, [_P, C.c_char_p, C.c_size_t, C.POINTER(_Source),
                                             C.POINTER(_IngestOptions)]),
    "radi_dataset_validate": (C.c_int, [_P, C.POINTER(C.POINTER(C.c_char_p)),
                                        C.POINTER(C.c_size_t)]),
    "radi_messages_free": (None, [C.POINTER(C.c_char_p), C.c_size_t]),
    "radi_volume_close": (None, [_P]),
    "radi_volume_ndim": (C.c_uint32, [_P]),
    "radi_volume_shape": (C.POINTER(C.c_uint64), [_P]),
    "radi_volume_dtype": (C.c_int, [_P]),
    "radi_volume_read": (C.c_int, [_P, C.POINTER(C.c_int64), C.c_void_p, C.c_uint64, _P]),
}

_LIB = None


def lib() -> C.CDLL:
    global _LIB
    if _LIB is None:
        dll = C.CDLL(str(radi_capi.library_path()))
        check_abi(dll, str(radi_capi.library_path()))
        for name, (res, args) in _PROTOTYPES.items():
            fn = getattr(dll, name)
            fn.restype, fn.argtypes = res, args
        _LIB = dll
    return _LIB


def _check(status: int) -> None:
    if status != 0:
        raise RadiCError(lib().radi_errmsg().decode())


class Dataset:
    """An open radi dataset (radi_dataset) with its own context."""

    def __init__(self, uri: str, concurrency: int = 2, create: bool = False):
        L = lib()
        cfg = _Config()
        L.radi_config_init(C.byref(cfg))
        cfg.concurrency = concurrency
        self._ctx = _P()
        _check(L.radi_ctx_create(C.byref(cfg), C.byref(self._ctx)))
        self._ds = _P()
        try:
            if create:
                _check(L.radi_dataset_create(self._ctx, uri.encode()))
            _check(L.radi_dataset_open(self._ctx, uri.encode(), C.byref(self._ds)))
        except Exception:
            L.radi_ctx_free(self._ctx)
            raise

    def close(self) -> None:
        if self._ds:
            lib().radi_dataset_close(self._ds)
            self._ds = _P()
        if self._ctx:
            lib().radi_ctx_free(self._ctx)
            self._ctx = _P()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def collection_names(self) -> list[str]:
        L = lib()
        return [L.radi_dataset_collection_name(self._ds, i).decode()
                for i in range(L.radi_dataset_collection_count(self._ds))]

    @property
    def subject_ids(self) -> list[str]:
        L = lib()
        return [L.radi_dataset_subject_id(self._ds, i).decode()
                for i in range(L.radi_dataset_subject_count(self._ds))]

    def ingest(self, collection: str, sources, validate_alignment: bool = False) -> None:
        """sources: list of (path, subject_id) or (path, subject_id, obs_id)."""
        arr = (_Source * len(sources))()
        keep = []
        for i, s in enumerate(sources):
            vals = [str(x).encode() if x is not None else None for x in s] + [None]
            keep.append(vals)
            arr[i] = _Source(vals[0], vals[1], vals[2])
        opt = _IngestOptions()
        lib().radi_ingest_options_init(C.byref(opt))
        opt.validate_alignment = int(validate_alignment)
        _check(lib().radi_dataset_ingest_niftis(self._ds, collection.encode(), len(sources), arr,
                                                C.byref(opt)))

    def volumes(self, collection: str) -> list[tuple[str, str, str | None]]:
        """(obs_subject_id, obs_id, volume_uri) per obs row, in obs order."""
        p = C.POINTER(_Entry)()
        n = C.c_uint64()
        _check(lib().radi_dataset_volumes(self._ds, collection.encode(), C.byref(p), C.byref(n)))
        return [(p[i].obs_subject_id.decode(), p[i].obs_id.decode(),
                 p[i].volume_uri.decode() if p[i].volume_uri else None) for i in range(n.value)]

    def read(self, collection: str, obs_id: str) -> np.ndarray:
        """The whole volume of obs_id, found by the volume's own obs_id metadata."""
        L = lib()
        v = _P()
        _check(L.radi_dataset_open_volume(self._ds, collection.encode(), obs_id.encode(), C.byref(v)))
        try:
            nd = L.radi_volume_ndim(v)
            shape = tuple(L.radi_volume_shape(v)[i] for i in range(nd))
            out = np.empty(shape, NP_OF[L.radi_volume_dtype(v)])
            box = (C.c_int64 * (2 * nd))(*[b for s in shape for b in (0, s - 1)])
            _check(L.radi_volume_read(v, box, out.ctypes.data, out.nbytes, None))
            return out
        finally:
            L.radi_volume_close(v)

    def validate(self) -> list[str]:
        msgs = C.POINTER(C.c_char_p)()
        n = C.c_size_t()
        _check(lib().radi_dataset_validate(self._ds, C.byref(msgs), C.byref(n)))
        out = [msgs[i].decode() for i in range(n.value)]
        lib().radi_messages_free(msgs, n)
        return out
