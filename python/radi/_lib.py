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

from . import _capi
from ._capi import (  # noqa: F401  (re-exported: the package imports them from _lib)
    ANY, BLOB, BOOL, CHAR, CONSOLIDATION_MODES, FILTER_GZIP, FILTER_LZ4, FILTER_NONE, FILTER_RLE,
    FILTER_ZSTD, FLOAT32, FLOAT64, INT8, INT16, INT32, INT64, OBJECT_ARRAY, OK, PROGRESS_FN,
    ROW_MAJOR, SPARSE, STRING_ASCII, STRING_UTF8, UINT8, UINT16, UINT32, UINT64, VAR_NUM,
    AttrInfo, Compression, Config, DimInfo, Filter, FilterList, IngestCollection, IngestOptions,
    NiftiSource, ReadStats, SchemaInfo, Selection, SparseBuffer, SparseColumn, TileConfig,
    VolumeEntry)
from .errors import RadiError, RadiExistsError, RadiInvalidError, RadiNotFoundError  # noqa: F401

_PKG = Path(__file__).resolve().parent

_STATUS_NAMES = _capi.STATUS_NAMES
_STATUS_ERRORS = _capi.STATUS_ERRORS


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
    "radi_options_create": (C.c_int, [C.POINTER(_p)]),
    "radi_options_free": (None, [_p]),
    "radi_options_set": (C.c_int, [_p, C.c_char_p, C.c_char_p]),
    "radi_options_get": (C.c_int, [_p, C.c_char_p, C.POINTER(C.c_char_p)]),
    "radi_ctx_create_with_options": (C.c_int, [C.POINTER(Config), _p, C.POINTER(_p)]),
    "radi_abi_sizeof": (C.c_size_t, [C.c_char_p]),
    "radi_tile_extents_for_shape": (C.c_int, [C.POINTER(TileConfig), C.c_uint32, _u64p, _u64p]),
    "radi_volume_from_buffer": (C.c_int, [_p, C.c_char_p, C.c_uint32, _u64p, C.c_int, _p,
                                          C.POINTER(TileConfig), C.POINTER(Compression),
                                          C.POINTER(_p)]),
    "radi_volume_create": (C.c_int, [_p, C.c_char_p, C.c_uint32, _u64p, C.c_int,
                                     C.POINTER(TileConfig), C.POINTER(Compression), C.POINTER(_p)]),
    "radi_volume_from_nifti": (C.c_int, [_p, C.c_char_p, C.c_char_p, C.POINTER(TileConfig),
                                         C.POINTER(Compression), C.POINTER(_p)]),
    "radi_volume_from_nifti_reoriented": (C.c_int, [_p, C.c_char_p, C.c_char_p, C.c_int, C.c_int,
                                                    C.POINTER(TileConfig), C.POINTER(Compression),
                                                    C.POINTER(_p)]),
    "radi_affine_axcodes": (None, [C.POINTER(C.c_double), C.c_char_p]),
    "radi_order_statistics": (C.c_int, [_p, C.c_int, C.c_uint64, C.c_uint32, _u64p, _p]),
    "radi_nifti_open_ctx": (C.c_int, [_p, C.c_char_p, C.POINTER(_p)]),
    "radi_nifti_get_header": (C.POINTER(_capi.NiftiHeader), [_p]),
    "radi_nifti_close": (None, [_p]),
    "radi_nifti_read": (C.c_int, [_p, C.c_int, C.c_int, _p, C.c_uint64]),
    "radi_meta_put_many": (C.c_int, [_p, C.c_uint32, C.POINTER(_capi.MetaItem)]),
    "radi_volume_open": (C.c_int, [_p, C.c_char_p, C.POINTER(_p)]),
    "radi_volume_close": (None, [_p]),
    "radi_volume_ndim": (C.c_uint32, [_p]),
    "radi_volume_shape": (_u64p, [_p]),
    "radi_volume_dtype": (C.c_int, [_p]),
    "radi_volume_array": (_p, [_p]),
    "radi_array_uri": (C.c_char_p, [_p]),
    "radi_volume_read": (C.c_int, [_p, _i64p, _p, C.c_uint64, C.POINTER(ReadStats)]),
    "radi_volume_read_scaled": (C.c_int, [_p, _i64p, C.c_int, _p, C.c_uint64, C.POINTER(ReadStats)]),
    "radi_volume_scaling": (C.c_int, [_p, C.POINTER(C.c_double), C.POINTER(C.c_double),
                                      C.POINTER(C.c_int)]),
    "radi_volume_to_nifti": (C.c_int, [_p, C.c_char_p]),
    "radi_array_meta": (_p, [_p]),
    "radi_array_fragment_count": (C.c_uint32, [_p]),
    "radi_array_fragment": (C.c_int, [_p, C.c_uint32, C.POINTER(_capi.FragmentInfo)]),
    "radi_patch_options_init": (None, [C.POINTER(_capi.PatchOptions)]),
    "radi_read_patches": (C.c_int, [_p, _p, C.c_size_t, C.POINTER(_capi.PatchOptions),
                                    C.POINTER(ReadStats)]),
    "radi_meta_get": (C.c_int, [_p, C.c_char_p, C.POINTER(C.c_int), C.POINTER(C.c_uint32),
                                C.POINTER(_p)]),
    "radi_meta_count": (C.c_uint64, [_p]),
    "radi_meta_at": (C.c_int, [_p, C.c_uint64, C.POINTER(C.c_char_p), C.POINTER(C.c_int),
                               C.POINTER(C.c_uint32), C.POINTER(_p)]),
    "radi_datatype_size": (C.c_size_t, [C.c_int]),
    "radi_consolidate": (C.c_int, [_p, C.c_char_p, C.c_int]),
    "radi_vacuum": (C.c_int, [_p, C.c_char_p, C.c_int]),
    # datasets (include/radi/radiobject.h) and the group calls they need
    "radi_dataset_create": (C.c_int, [_p, C.c_char_p]),
    "radi_dataset_repair": (C.c_int, [_p, C.c_char_p, C.POINTER(C.c_void_p)]),
    "radi_free": (None, [C.c_void_p]),
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
    "radi_dataset_open_volume": (C.c_int, [_p, C.c_char_p, C.c_char_p, C.POINTER(_p)]),
    "radi_ingest_options_init": (None, [C.POINTER(IngestOptions)]),
    "radi_dataset_ingest_niftis": (C.c_int, [_p, C.c_char_p, C.c_size_t, C.POINTER(NiftiSource),
                                             C.POINTER(IngestOptions)]),
    "radi_dicom_options_init": (None, [C.POINTER(_capi.DicomOptions)]),
    "radi_dataset_ingest_images": (C.c_int, [_p, C.c_size_t, C.POINTER(IngestCollection), C.c_size_t,
                                             C.POINTER(_capi.DicomCollection), C.POINTER(IngestOptions),
                                             C.POINTER(_capi.DicomOptions)]),
    "radi_dicom_scan": (C.c_int, [_p, C.c_char_p, C.POINTER(_p)]),
    "radi_volume_from_dicom": (C.c_int, [_p, C.c_char_p, C.POINTER(_capi.DicomSource),
                                         C.POINTER(_capi.DicomOptions), C.POINTER(TileConfig),
                                         C.POINTER(Compression), C.POINTER(_p)]),
    "radi_volume_from_dicom_reoriented": (C.c_int, [_p, C.c_char_p, C.POINTER(_capi.DicomSource),
                                                    C.POINTER(_capi.DicomOptions), C.c_int, C.c_int,
                                                    C.POINTER(TileConfig), C.POINTER(Compression),
                                                    C.POINTER(_p)]),
    "radi_dicom_series_count": (C.c_size_t, [_p]),
    "radi_dicom_series_at": (C.POINTER(_capi.DicomSeriesInfo), [_p, C.c_size_t]),
    "radi_dicom_series_list_free": (None, [_p]),
    "radi_dicom_sources_from_pattern": (C.c_int, [_p, C.c_char_p, C.c_char_p, C.POINTER(_p)]),
    "radi_dicom_source_list_count": (C.c_size_t, [_p]),
    "radi_dicom_source_list_items": (C.POINTER(_capi.DicomSource), [_p]),
    "radi_dicom_source_list_free": (None, [_p]),
    "radi_dataset_ingest": (C.c_int, [_p, C.c_size_t, C.POINTER(IngestCollection),
                                      C.POINTER(IngestOptions)]),
    "radi_dataset_validate": (C.c_int, [_p, C.POINTER(C.POINTER(C.c_char_p)),
                                        C.POINTER(C.c_size_t)]),
    "radi_messages_free": (None, [C.POINTER(C.c_char_p), C.c_size_t]),
    "radi_dataset_consolidate": (C.c_int, [_p, C.c_int, PROGRESS_FN, _p]),
    "radi_dataset_vacuum": (C.c_int, [_p, C.c_int, PROGRESS_FN, _p]),
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
# The process the library state below belongs to. A fork()ed child gets a fresh lock, no
# cached context and a new _pid (_after_fork_in_child); handles compare their own pid with
# it and reopen lazily in the child (_handle.Handle).
_pid = os.getpid()


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
            # Before any call passes a struct: a stale mirror would corrupt memory.
            _capi.check_abi(dll, str(path))
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
    """One C context (thread pool, storage backends) for one configuration, given as
    radi_options key/value pairs. Volumes keep a reference to the context they were
    opened with, so it outlives them. A context belongs to the process that made it:
    in a fork()ed child it is stale (`live` is False) and handles reopen theirs through
    context_for(key). It pickles as its options less the S3 secrets (see context_for)."""

    def __init__(self, options: tuple):
        L = lib()
        opts = _p()
        check(L.radi_options_create(C.byref(opts)))
        try:
            for k, v in options:
                check(L.radi_options_set(opts, k.encode(), v.encode()))
            h = _p()
            check(L.radi_ctx_create_with_options(None, opts, C.byref(h)))
        finally:
            L.radi_options_free(opts)
        self.handle = h
        self.key = options
        self.pid = os.getpid()

    @property
    def live(self) -> bool:
        """True in the process that created the context."""
        return self.pid == _pid

    def __reduce__(self):
        return (context_for, (_public_key(self.key),))

    def __del__(self):
        # In a fork()ed child radi_ctx_free frees the child's copy of the memory only
        # (radi.h, "Fork"), so it is safe there too.
        h = getattr(self, "handle", None)
        try:
            if h and _lib is not None:
                _lib.radi_ctx_free(h)
                self.handle = None
        except Exception:  # interpreter shutdown: module globals may be gone
            pass


_ctx: Context | None = None
_others = None  # weakref.WeakValueDictionary: contexts of other configurations, by key

# S3 secrets never go into a pickle: a process that unpickles a handle resolves them
# itself (its own configure(s3=...), AWS_* variables, ~/.aws), as the C library does.
_SECRET_KEYS = ("vfs.s3.aws_access_key_id", "vfs.s3.aws_secret_access_key", "vfs.s3.aws_session_token")


def _public_key(key: tuple) -> tuple:
    return tuple((k, v) for k, v in key if k not in _SECRET_KEYS)


def context_options(cfg=None) -> tuple:
    """The radi_options pairs of a configuration (default: the current one): the read
    settings and every S3 setting (see S3Config)."""
    if cfg is None:
        from .ctx import get_config

        cfg = get_config()
    read = cfg.read
    return (("memory_budget", str(int(read.memory_budget_mb) << 20)),
            ("concurrency", str(int(read.concurrency))),
            ("tile_cache_size", str(int(read.tile_cache_mb) << 20))) + cfg.s3._options()


def context() -> Context:
    """The context of the current configuration, rebuilt when configure() changes any of
    what it is built from (read.memory_budget_mb, read.concurrency, the S3 settings).
    S3 settings left unset are resolved from AWS_* and ~/.aws when it is built. A fork()ed
    child builds its own on first use."""
    global _ctx
    key = context_options()
    with _lock:
        if _ctx is None or _ctx.key != key or not _ctx.live:
            _ctx = Context(key)
        return _ctx


def context_for(key: tuple) -> Context:
    """A live context for the options `key` (as a handle recorded them): the current
    context when its options (secrets aside) are these, else one shared context per key,
    kept while anything uses it. This is how handles reopen after fork() or unpickling."""
    global _others
    key = tuple(tuple(kv) for kv in key)
    cur = context()
    if _public_key(cur.key) == _public_key(key):
        return cur
    with _lock:
        if _others is None:
            import weakref

            _others = weakref.WeakValueDictionary()
        got = _others.get(key)
        if got is None or not got.live:
            got = Context(key)
            _others[key] = got
        return got


def _after_fork_in_child() -> None:
    """os.register_at_fork hook: the parent's lock may be held by a thread that does not
    exist here, and its contexts' threads and connections are gone. Drop them; handles
    see the new pid and reopen lazily."""
    global _lock, _ctx, _others, _pid
    _lock = _thread.RLock()
    _ctx = None
    _others = None
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def as_radi_ctx(ctx=None) -> Context:
    """The radi context for a `ctx=` argument (None, a radi context, a TileDB-Py Ctx or
    Config): radi.ctx.as_radi_ctx, reachable from every module that loads the library."""
    from .ctx import as_radi_ctx as convert

    return convert(ctx)
