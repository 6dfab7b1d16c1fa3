"""ctypes binding to libradi: loading, prototypes, errors and contexts.

The library is found, in order, at $RADI_LIBRARY, then bundled in the package
(radi/lib/libradi.so, put there by `pip install`). It is loaded on first use so that
`import radi` needs nothing but numpy.
"""
from __future__ import annotations

import ctypes as C
import os
import _thread  # not threading: a lock is all radi needs, and import time counts
from pathlib import Path

from .errors import (RadiError, RadiExistsError, RadiInvalidError, RadiNotFoundError)

_PKG = Path(__file__).resolve().parent

# radi_status codes (include/radi/radi.h).
OK = 0
_STATUS_NAMES = {
    1: "RADI_E_INVALID", 2: "RADI_E_NOMEM", 3: "RADI_E_IO", 4: "RADI_E_NOT_FOUND",
    5: "RADI_E_EXISTS", 6: "RADI_E_CORRUPT", 7: "RADI_E_UNSUPPORTED", 8: "RADI_E_CODEC",
    9: "RADI_E_BUDGET", 10: "RADI_E_INTERNAL",
}
_STATUS_ERRORS = {1: RadiInvalidError, 4: RadiNotFoundError, 5: RadiExistsError}

# radi_datatype codes.
INT32, INT64, FLOAT32, FLOAT64, CHAR = 0, 1, 2, 3, 4
INT8, UINT8, INT16, UINT16, UINT32, UINT64 = 5, 6, 7, 8, 9, 10
STRING_ASCII, STRING_UTF8, BOOL = 11, 12, 41

# radi_filter_type codes of the volume compressors.
FILTER_NONE, FILTER_GZIP, FILTER_ZSTD, FILTER_LZ4 = 0, 1, 2, 3

CONSOLIDATION_MODES = {"fragments": 0, "commits": 1, "fragment_meta": 2, "array_meta": 3}


class Config(C.Structure):
    _fields_ = [("memory_budget", C.c_uint64), ("concurrency", C.c_uint32),
                ("format_version", C.c_uint32)]


class TileConfig(C.Structure):
    _fields_ = [("orientation", C.c_int), ("x", C.c_uint32), ("y", C.c_uint32),
                ("z", C.c_uint32), ("t", C.c_uint32)]


class Compression(C.Structure):
    _fields_ = [("algorithm", C.c_int), ("level", C.c_int32), ("shuffle", C.c_int)]


class ReadStats(C.Structure):
    _fields_ = [("tiles_read", C.c_uint64), ("bytes_read", C.c_uint64),
                ("io_requests", C.c_uint64), ("batches", C.c_uint64)]


class Filter(C.Structure):
    _fields_ = [("type", C.c_int), ("level", C.c_int32), ("reinterpret", C.c_int),
                ("max_window", C.c_uint32)]


class FilterList(C.Structure):
    _fields_ = [("max_chunk_size", C.c_uint32), ("count", C.c_uint32), ("filters", Filter * 8)]


class SchemaInfo(C.Structure):
    _fields_ = [("version", C.c_uint32), ("type", C.c_int), ("tile_order", C.c_int),
                ("cell_order", C.c_int), ("capacity", C.c_uint64), ("allows_dups", C.c_int),
                ("ndim", C.c_uint32), ("nattr", C.c_uint32), ("coords_filters", FilterList),
                ("offsets_filters", FilterList), ("validity_filters", FilterList)]


class DimInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("type", C.c_int), ("cell_val_num", C.c_uint32),
                ("has_domain", C.c_int), ("lo", C.c_uint8 * 8), ("hi", C.c_uint8 * 8),
                ("has_extent", C.c_int), ("extent", C.c_uint8 * 8), ("filters", FilterList)]


class AttrInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("type", C.c_int), ("cell_val_num", C.c_uint32),
                ("nullable", C.c_int), ("fill", C.c_void_p), ("fill_size", C.c_uint64),
                ("filters", FilterList)]


class SparseBuffer(C.Structure):
    _fields_ = [("name", C.c_char_p), ("data", C.c_void_p), ("data_size", C.c_uint64),
                ("offsets", C.c_void_p), ("validity", C.c_void_p)]


class SparseColumn(C.Structure):
    _fields_ = [("name", C.c_char_p), ("type", C.c_int), ("cell_val_num", C.c_uint32),
                ("is_dim", C.c_int), ("data", C.c_void_p), ("data_size", C.c_uint64),
                ("offsets", C.c_void_p), ("validity", C.c_void_p)]


class NiftiSource(C.Structure):
    _fields_ = [("path", C.c_char_p), ("subject_id", C.c_char_p), ("obs_id", C.c_char_p)]


class VolumeEntry(C.Structure):
    _fields_ = [("obs_subject_id", C.c_char_p), ("obs_id", C.c_char_p),
                ("volume_uri", C.c_char_p)]


PROGRESS_FN = C.CFUNCTYPE(None, C.c_void_p, C.c_uint64, C.c_uint64, C.c_char_p)


class IngestOptions(C.Structure):
    _fields_ = [("tile", TileConfig), ("compression", Compression),
                ("validate_alignment", C.c_int), ("obs_meta_nbuffers", C.c_uint32),
                ("obs_meta_buffers", C.POINTER(SparseBuffer)), ("obs_meta_rows", C.c_uint64),
                ("progress", PROGRESS_FN), ("progress_user", C.c_void_p)]


class IngestCollection(C.Structure):
    _fields_ = [("name", C.c_char_p), ("n", C.c_size_t), ("sources", C.POINTER(NiftiSource))]


class Selection(C.Structure):
    _fields_ = [("n_collections", C.c_size_t), ("collections", C.POINTER(C.c_char_p)),
                ("n_subjects", C.c_size_t), ("subjects", C.POINTER(C.c_char_p)),
                ("n_obs_ids", C.c_size_t), ("obs_ids", C.POINTER(C.c_char_p))]


def selection(collections=None, subjects=None, obs_ids=None) -> tuple:
    """A Selection (None = everything for that list) and the objects keeping it alive."""
    keep, fields = [], []
    for items in (collections, subjects, obs_ids):
        if items is None:
            fields += [0, None]
            continue
        arr = (C.c_char_p * max(len(items), 1))(*[str(i).encode() for i in items])
        keep.append(arr)
        fields += [len(items), arr]
    return Selection(*fields), keep


# Sparse arrays (include/radi/sparse.h) and the generic schema/array calls they need.
SPARSE, ROW_MAJOR = 1, 0
VAR_NUM = 0xFFFFFFFF
FILTER_RLE = 4
BLOB = 40
OBJECT_ARRAY = 2

_p = C.c_void_p
_u64p = C.POINTER(C.c_uint64)
_i64p = C.POINTER(C.c_int64)

# name: (restype, argtypes); restype int = radi_status.
_PROTOTYPES = {
    "radi_version": (C.c_char_p, []),
    "radi_errmsg": (C.c_char_p, []),
    "radi_config_init": (None, [C.POINTER(Config)]),
    "radi_ctx_create": (C.c_int, [C.POINTER(Config), C.POINTER(_p)]),
    "radi_ctx_free": (None, [_p]),
    "radi_tile_extents_for_shape": (C.c_int, [C.POINTER(TileConfig), C.c_uint32, _u64p, _u64p]),
    "radi_volume_from_buffer": (C.c_int, [_p, C.c_char_p, C.c_uint32, _u64p, C.c_int, _p,
                                          C.POINTER(TileConfig), C.POINTER(Compression),
                                          C.POINTER(_p)]),
    "radi_volume_open": (C.c_int, [_p, C.c_char_p, C.POINTER(_p)]),
    "radi_volume_close": (None, [_p]),
    "radi_volume_ndim": (C.c_uint32, [_p]),
    "radi_volume_shape": (_u64p, [_p]),
    "radi_volume_dtype": (C.c_int, [_p]),
    "radi_volume_array": (_p, [_p]),
    "radi_volume_read": (C.c_int, [_p, _i64p, _p, C.c_uint64, C.POINTER(ReadStats)]),
    "radi_volume_read_scaled": (C.c_int, [_p, _i64p, C.c_int, _p, C.c_uint64, C.POINTER(ReadStats)]),
    "radi_volume_scaling": (C.c_int, [_p, C.POINTER(C.c_double), C.POINTER(C.c_double),
                                      C.POINTER(C.c_int)]),
    "radi_volume_to_nifti": (C.c_int, [_p, C.c_char_p]),
    "radi_array_meta": (_p, [_p]),
    "radi_meta_get": (C.c_int, [_p, C.c_char_p, C.POINTER(C.c_int), C.POINTER(C.c_uint32),
                                C.POINTER(_p)]),
    "radi_consolidate": (C.c_int, [_p, C.c_char_p, C.c_int]),
    "radi_vacuum": (C.c_int, [_p, C.c_char_p, C.c_int]),
    # datasets (include/radi/radiobject.h) and the group calls they need
    "radi_dataset_create": (C.c_int, [_p, C.c_char_p]),
    "radi_dataset_create_with_obs_meta": (C.c_int, [_p, C.c_char_p, _p]),
    "radi_dataset_open": (C.c_int, [_p, C.c_char_p, C.POINTER(_p)]),
    "radi_dataset_close": (None, [_p]),
    "radi_collection_open": (C.c_int, [_p, C.c_char_p, C.POINTER(_p)]),
    "radi_dataset_is_collection": (C.c_int, [_p]),
    "radi_dataset_rename_collection": (C.c_int, [_p, C.c_char_p, C.c_char_p]),
    "radi_dataset_materialize": (C.c_int, [_p, C.c_char_p, C.POINTER(Selection)]),
    "radi_dataset_copy_collection": (C.c_int, [_p, C.c_char_p, C.POINTER(Selection), C.c_char_p,
                                               C.c_char_p]),
    "radi_dataset_collection_count": (C.c_uint64, [_p]),
    "radi_dataset_collection_name": (C.c_char_p, [_p, C.c_uint64]),
    "radi_dataset_subject_count": (C.c_uint64, [_p]),
    "radi_dataset_subject_id": (C.c_char_p, [_p, C.c_uint64]),
    "radi_dataset_volumes": (C.c_int, [_p, C.c_char_p, C.POINTER(C.POINTER(VolumeEntry)), _u64p]),
    "radi_ingest_options_init": (None, [C.POINTER(IngestOptions)]),
    "radi_dataset_ingest_niftis": (C.c_int, [_p, C.c_char_p, C.c_size_t, C.POINTER(NiftiSource),
                                             C.POINTER(IngestOptions)]),
    "radi_dataset_ingest": (C.c_int, [_p, C.c_size_t, C.POINTER(IngestCollection),
                                      C.POINTER(IngestOptions)]),
    "radi_dataset_validate": (C.c_int, [_p, C.POINTER(C.POINTER(C.c_char_p)),
                                        C.POINTER(C.c_size_t)]),
    "radi_messages_free": (None, [C.POINTER(C.c_char_p), C.c_size_t]),
    "radi_object_remove": (C.c_int, [_p, C.c_char_p]),
    "radi_group_open": (C.c_int, [_p, C.c_char_p, C.POINTER(_p)]),
    "radi_group_close": (None, [_p]),
    "radi_group_meta": (_p, [_p]),
    # sparse dataframes
    "radi_filter_list_init": (None, [C.POINTER(FilterList)]),
    "radi_filter_list_add": (C.c_int, [C.POINTER(FilterList), C.c_int, C.c_int32]),
    "radi_schema_create": (C.c_int, [C.c_int, C.POINTER(_p)]),
    "radi_schema_free": (None, [_p]),
    "radi_schema_set_capacity": (C.c_int, [_p, C.c_uint64]),
    "radi_schema_set_allows_dups": (C.c_int, [_p, C.c_int]),
    "radi_schema_set_offsets_filters": (C.c_int, [_p, C.POINTER(FilterList)]),
    "radi_schema_add_dim": (C.c_int, [_p, C.c_char_p, C.c_int, _p, _p, _p, C.POINTER(FilterList)]),
    "radi_schema_add_attr": (C.c_int, [_p, C.c_char_p, C.c_int, C.c_uint32, C.c_int,
                                       C.POINTER(FilterList), _p, C.c_uint64]),
    "radi_schema_get_info": (C.c_int, [_p, C.POINTER(SchemaInfo)]),
    "radi_schema_get_dim": (C.c_int, [_p, C.c_uint32, C.POINTER(DimInfo)]),
    "radi_schema_get_attr": (C.c_int, [_p, C.c_uint32, C.POINTER(AttrInfo)]),
    "radi_object_type_of": (C.c_int, [_p, C.c_char_p, C.POINTER(C.c_int)]),
    "radi_array_create": (C.c_int, [_p, C.c_char_p, _p]),
    "radi_array_open": (C.c_int, [_p, C.c_char_p, C.c_uint64, C.c_uint64, C.POINTER(_p)]),
    "radi_array_close": (None, [_p]),
    "radi_array_schema": (_p, [_p]),
    "radi_meta_put": (C.c_int, [_p, C.c_char_p, C.c_int, C.c_uint32, _p]),
    "radi_array_write_sparse": (C.c_int, [_p, C.c_uint32, C.POINTER(SparseBuffer), C.c_uint64,
                                          C.c_uint64]),
    "radi_array_sparse_count": (C.c_int, [_p, _u64p]),
    "radi_sparse_query_create": (C.c_int, [_p, C.POINTER(_p)]),
    "radi_sparse_query_free": (None, [_p]),
    "radi_sparse_query_add_range": (C.c_int, [_p, C.c_char_p, _p, C.c_uint64, _p, C.c_uint64]),
    "radi_sparse_query_set_columns": (C.c_int, [_p, C.c_uint32, C.POINTER(C.c_char_p)]),
    "radi_sparse_query_set_filter": (C.c_int, [_p, C.c_char_p]),
    "radi_sparse_query_submit": (C.c_int, [_p, C.POINTER(ReadStats)]),
    "radi_sparse_query_rows": (C.c_uint64, [_p]),
    "radi_sparse_query_ncolumns": (C.c_uint32, [_p]),
    "radi_sparse_query_column": (C.c_int, [_p, C.c_uint32, C.POINTER(SparseColumn)]),
    "radi_sparse_query_copy_column": (C.c_int, [_p, C.c_uint32, _p, C.c_uint64, _p, C.c_uint64,
                                                _p, C.c_uint64]),
}

_lock = _thread.RLock()  # context() loads the library while holding it
_lib: C.CDLL | None = None


def library_path() -> Path:
    """Where libradi is loaded from: $RADI_LIBRARY, else the copy bundled in the package."""
    env = os.environ.get("RADI_LIBRARY")
    if env:
        return Path(env)
    return _PKG / "lib" / "libradi.so"


def cli_path() -> Path:
    """Where the `radi` binary is: $RADI_CLI, else the copy bundled in the package."""
    env = os.environ.get("RADI_CLI")
    if env:
        return Path(env)
    return _PKG / "bin" / "radi"


def lib() -> C.CDLL:
    """The loaded library with its prototypes (loaded once, on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            path = library_path()
            if not path.is_file():
                raise RadiError(
                    f"libradi not found at {path}: install the package with `pip install .` "
                    "or set RADI_LIBRARY to a built libradi.so")
            try:
                dll = C.CDLL(str(path))
            except OSError as e:
                raise RadiError(f"cannot load {path}: {e}") from None
            for name, (res, args) in _PROTOTYPES.items():
                fn = getattr(dll, name)
                fn.restype = res
                fn.argtypes = args
            _lib = dll
    return _lib


def check(status: int) -> None:
    """Raises the RadiError subclass for a failed radi_status, carrying the C message."""
    if status == OK:
        return
    msg = lib().radi_errmsg().decode("utf-8", "replace")
    cls = _STATUS_ERRORS.get(status, RadiError)
    raise cls(msg or _STATUS_NAMES.get(status, f"radi status {status}"),
              status=_STATUS_NAMES.get(status, str(status)))


def version() -> str:
    return lib().radi_version().decode()


def encode_uri(uri) -> bytes:
    return os.fspath(uri).encode("utf-8")


class Context:
    """One C context (thread pool, storage backends) for one IO configuration. Volumes
    keep a reference to the context they were opened with, so it outlives them."""

    def __init__(self, memory_budget_mb: int, concurrency: int):
        cfg = Config()
        lib().radi_config_init(C.byref(cfg))
        cfg.memory_budget = int(memory_budget_mb) << 20
        cfg.concurrency = int(concurrency)
        h = _p()
        check(lib().radi_ctx_create(C.byref(cfg), C.byref(h)))
        self.handle = h
        self.key = (int(memory_budget_mb), int(concurrency))

    def __del__(self):
        h = getattr(self, "handle", None)
        try:
            if h and _lib is not None:
                _lib.radi_ctx_free(h)
                self.handle = None
        except Exception:  # interpreter shutdown: module globals may be gone
            pass


_ctx: Context | None = None


def context() -> Context:
    """The context of the current IO configuration, rebuilt when configure(io=...) or
    configure(read=...) changes memory_budget_mb or concurrency."""
    global _ctx
    from .ctx import get_config

    io = get_config().read
    key = (int(io.memory_budget_mb), int(io.concurrency))
    with _lock:
        if _ctx is None or _ctx.key != key:
            _ctx = Context(*key)
        return _ctx
