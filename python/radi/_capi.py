"""The ctypes mirrors of libradi's public C structs and code tables (include/radi/*.h).

One definition for the package and its test helpers. The mirrors are written by hand,
so when the library is loaded every one of them is checked against the library's own
sizeof (radi_abi_sizeof): a header change that the mirror missed is a clear error at
load time instead of memory corrupted later. Importing this module loads nothing.
"""
from __future__ import annotations

import ctypes as C

from .errors import (RadiBusyError, RadiError, RadiExistsError, RadiForkedError, RadiInvalidError,
                     RadiNotFoundError)

# ----------------------------------------------------------------- code tables --

# radi_status (radi.h).
OK = 0
STATUS_NAMES = {
    1: "RADI_E_INVALID", 2: "RADI_E_NOMEM", 3: "RADI_E_IO", 4: "RADI_E_NOT_FOUND",
    5: "RADI_E_EXISTS", 6: "RADI_E_CORRUPT", 7: "RADI_E_UNSUPPORTED", 8: "RADI_E_CODEC",
    9: "RADI_E_BUDGET", 10: "RADI_E_INTERNAL", 11: "RADI_E_BUSY", 12: "RADI_E_FORKED",
}
STATUS_ERRORS = {1: RadiInvalidError, 4: RadiNotFoundError, 5: RadiExistsError, 11: RadiBusyError,
                 12: RadiForkedError}

# radi_patch_output, radi_pad_mode (patches.h).
PATCH_STORED, PATCH_FLOAT32, PATCH_FLOAT64 = 0, 1, 2
PAD_CONSTANT, PAD_EDGE, PAD_REFLECT = 0, 1, 2

# radi_datatype codes.
INT32, INT64, FLOAT32, FLOAT64, CHAR = 0, 1, 2, 3, 4
INT8, UINT8, INT16, UINT16, UINT32, UINT64 = 5, 6, 7, 8, 9, 10
STRING_ASCII, STRING_UTF8, ANY, BLOB, BOOL = 11, 12, 17, 40, 41

# radi_filter_type codes.
FILTER_NONE, FILTER_GZIP, FILTER_ZSTD, FILTER_LZ4, FILTER_RLE = 0, 1, 2, 3, 4
FILTER_CODES = {"none": 0, "gzip": 1, "zstd": 2, "lz4": 3, "rle": 4, "bzip2": 5, "double_delta": 6,
                "bit_width_reduction": 7, "bitshuffle": 8, "byteshuffle": 9, "positive_delta": 10,
                "md5": 12, "sha256": 13, "dictionary": 14, "scale_float": 15, "xor": 16,
                "webp": 18, "delta": 19}

# radi_array_type, radi_layout, radi_object_type, radi_consolidation_mode.
DENSE, SPARSE = 0, 1
ROW_MAJOR, COL_MAJOR, GLOBAL_ORDER, UNORDERED = 0, 1, 2, 3
OBJECT_INVALID, OBJECT_GROUP, OBJECT_ARRAY = 0, 1, 2
CONSOLIDATION_MODES = {"fragments": 0, "commits": 1, "fragment_meta": 2, "array_meta": 3}

VAR_NUM = 0xFFFFFFFF  # RADI_VAR_NUM
MAX_FILTERS = 8       # RADI_MAX_FILTERS

# ------------------------------------------------------------------- radi.h --


class Filter(C.Structure):
    _fields_ = [("type", C.c_int), ("level", C.c_int32), ("reinterpret", C.c_int),
                ("max_window", C.c_uint32)]


class FilterList(C.Structure):
    _fields_ = [("max_chunk_size", C.c_uint32), ("count", C.c_uint32),
                ("filters", Filter * MAX_FILTERS)]


class Config(C.Structure):
    _fields_ = [("memory_budget", C.c_uint64), ("concurrency", C.c_uint32),
                ("format_version", C.c_uint32)]


class DimInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("type", C.c_int), ("cell_val_num", C.c_uint32),
                ("has_domain", C.c_int), ("lo", C.c_uint8 * 8), ("hi", C.c_uint8 * 8),
                ("has_extent", C.c_int), ("extent", C.c_uint8 * 8), ("filters", FilterList)]


class AttrInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("type", C.c_int), ("cell_val_num", C.c_uint32),
                ("nullable", C.c_int), ("fill", C.c_void_p), ("fill_size", C.c_uint64),
                ("filters", FilterList)]


class SchemaInfo(C.Structure):
    _fields_ = [("version", C.c_uint32), ("type", C.c_int), ("tile_order", C.c_int),
                ("cell_order", C.c_int), ("capacity", C.c_uint64), ("allows_dups", C.c_int),
                ("ndim", C.c_uint32), ("nattr", C.c_uint32), ("coords_filters", FilterList),
                ("offsets_filters", FilterList), ("validity_filters", FilterList)]


class FragmentInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("t1", C.c_uint64), ("t2", C.c_uint64),
                ("version", C.c_uint32), ("dense", C.c_int), ("tile_count", C.c_uint64),
                ("cell_count", C.c_uint64), ("size_bytes", C.c_uint64),
                ("ned", C.c_int64 * 8)]


class FieldBuffer(C.Structure):
    _fields_ = [("attr", C.c_char_p), ("data", C.c_void_p), ("size", C.c_uint64),
                ("validity", C.c_void_p)]


class ReadStats(C.Structure):
    _fields_ = [("tiles_read", C.c_uint64), ("bytes_read", C.c_uint64),
                ("io_requests", C.c_uint64), ("batches", C.c_uint64)]


class MetaItem(C.Structure):
    _fields_ = [("key", C.c_char_p), ("type", C.c_int), ("count", C.c_uint32),
                ("value", C.c_void_p)]


class GroupMember(C.Structure):
    _fields_ = [("name", C.c_char_p), ("uri", C.c_char_p), ("resolved_uri", C.c_char_p),
                ("type", C.c_int), ("relative", C.c_int)]


# ----------------------------------------------------------------- sparse.h --


class SparseBuffer(C.Structure):
    _fields_ = [("name", C.c_char_p), ("data", C.c_void_p), ("data_size", C.c_uint64),
                ("offsets", C.c_void_p), ("validity", C.c_void_p)]


class SparseColumn(C.Structure):
    _fields_ = [("name", C.c_char_p), ("type", C.c_int), ("cell_val_num", C.c_uint32),
                ("is_dim", C.c_int), ("data", C.c_void_p), ("data_size", C.c_uint64),
                ("offsets", C.c_void_p), ("validity", C.c_void_p)]


# ----------------------------------------------------------------- volume.h --


class TileConfig(C.Structure):
    _fields_ = [("orientation", C.c_int), ("x", C.c_uint32), ("y", C.c_uint32),
                ("z", C.c_uint32), ("t", C.c_uint32)]


class Compression(C.Structure):
    _fields_ = [("algorithm", C.c_int), ("level", C.c_int32), ("shuffle", C.c_int)]


# ---------------------------------------------------------------- patches.h --


class PatchOptions(C.Structure):
    _fields_ = [("output", C.c_int), ("pad_mode", C.c_int), ("pad_value", C.c_double)]


class PatchRequest(C.Structure):
    _fields_ = [("volume", C.c_void_p), ("start", C.c_int64 * 4), ("shape", C.c_uint64 * 4),
                ("out", C.c_void_p), ("out_size", C.c_uint64), ("status", C.c_int)]


# ------------------------------------------------------------------ nifti.h --


class NiftiHeader(C.Structure):
    _fields_ = [
        ("version", C.c_int32), ("big_endian", C.c_int32), ("gzip", C.c_int32),
        ("nifti_datatype", C.c_int32), ("datatype", C.c_int32), ("file_ndim", C.c_int32),
        ("ndim", C.c_uint32), ("shape", C.c_uint64 * 7), ("pixdim", C.c_double * 8),
        ("vox_offset", C.c_uint64), ("scl_slope", C.c_double), ("scl_inter", C.c_double),
        ("cal_min", C.c_double), ("cal_max", C.c_double), ("slice_duration", C.c_double),
        ("toffset", C.c_double), ("xyzt_units", C.c_int32), ("intent_code", C.c_int32),
        ("intent_p", C.c_double * 3), ("intent_name", C.c_char * 17), ("descrip", C.c_char * 81),
        ("aux_file", C.c_char * 25), ("dim_info", C.c_int32), ("slice_code", C.c_int32),
        ("slice_start", C.c_int64), ("slice_end", C.c_int64), ("qform_code", C.c_int32),
        ("sform_code", C.c_int32), ("quatern", C.c_double * 3), ("qoffset", C.c_double * 3),
        ("srow", C.c_double * 12), ("affine", C.c_double * 16), ("affine_source", C.c_int32),
        ("axcodes", C.c_char * 4),
    ]


# ------------------------------------------------------------- radiobject.h --


class VolumeEntry(C.Structure):
    _fields_ = [("obs_subject_id", C.c_char_p), ("obs_id", C.c_char_p),
                ("volume_uri", C.c_char_p)]


class NiftiSource(C.Structure):
    _fields_ = [("path", C.c_char_p), ("subject_id", C.c_char_p), ("obs_id", C.c_char_p)]


PROGRESS_FN = C.CFUNCTYPE(None, C.c_void_p, C.c_uint64, C.c_uint64, C.c_char_p)


class IngestOptions(C.Structure):
    _fields_ = [("tile", TileConfig), ("compression", Compression),
                ("validate_alignment", C.c_int), ("obs_meta_nbuffers", C.c_uint32),
                ("obs_meta_buffers", C.POINTER(SparseBuffer)), ("obs_meta_rows", C.c_uint64),
                ("progress", PROGRESS_FN), ("progress_user", C.c_void_p),
                ("reorient", C.c_int), ("store_original_affine", C.c_int)]


class IngestCollection(C.Structure):
    _fields_ = [("name", C.c_char_p), ("n", C.c_size_t), ("sources", C.POINTER(NiftiSource))]


class Selection(C.Structure):
    _fields_ = [("n_collections", C.c_size_t), ("collections", C.POINTER(C.c_char_p)),
                ("n_subjects", C.c_size_t), ("subjects", C.POINTER(C.c_char_p)),
                ("n_obs_ids", C.c_size_t), ("obs_ids", C.POINTER(C.c_char_p))]


class DicomSource(C.Structure):
    _fields_ = [("path", C.c_char_p), ("subject_id", C.c_char_p), ("obs_id", C.c_char_p),
                ("series_uid", C.c_char_p)]


class DicomCollection(C.Structure):
    _fields_ = [("name", C.c_char_p), ("n", C.c_size_t), ("sources", C.POINTER(DicomSource))]


class DicomOptions(C.Structure):
    _fields_ = [("keep_patient_id", C.c_int), ("gap_tolerance_mm", C.c_double),
                ("gap_tolerance_rel", C.c_double)]


class DicomSeriesInfo(C.Structure):
    _fields_ = [("series_uid", C.c_char_p), ("modality", C.c_char_p),
                ("series_description", C.c_char_p), ("series_number", C.c_int32),
                ("nfiles", C.c_uint64), ("nframes", C.c_uint64), ("rows", C.c_uint32),
                ("cols", C.c_uint32)]


# ---------------------------------------------------------------- ABI check --

# Every public struct of include/radi/*.h and its mirror.
ABI_MIRRORS = {
    "radi_filter": Filter, "radi_filter_list": FilterList, "radi_config": Config,
    "radi_dim_info": DimInfo, "radi_attr_info": AttrInfo, "radi_schema_info": SchemaInfo,
    "radi_fragment_info": FragmentInfo, "radi_field_buffer": FieldBuffer,
    "radi_read_stats": ReadStats, "radi_meta_item": MetaItem, "radi_group_member": GroupMember,
    "radi_sparse_buffer": SparseBuffer, "radi_sparse_column": SparseColumn,
    "radi_tile_config": TileConfig, "radi_compression": Compression,
    "radi_patch_options": PatchOptions, "radi_patch_request": PatchRequest,
    "radi_nifti_header": NiftiHeader, "radi_volume_entry": VolumeEntry,
    "radi_nifti_source": NiftiSource, "radi_ingest_options": IngestOptions,
    "radi_ingest_collection": IngestCollection, "radi_selection": Selection,
    "radi_dicom_source": DicomSource, "radi_dicom_collection": DicomCollection,
    "radi_dicom_options": DicomOptions, "radi_dicom_series_info": DicomSeriesInfo,
}


def check_abi(dll, where: str = "libradi", mirrors: dict | None = None) -> None:
    """Raises RadiError naming the first struct whose mirror's size differs from the
    library's (radi_abi_sizeof), or that the library does not know."""
    try:
        fn = dll.radi_abi_sizeof
    except AttributeError:
        raise RadiError(f"{where} has no radi_abi_sizeof: it is older than this radi package; "
                        "rebuild or reinstall the library") from None
    fn.restype, fn.argtypes = C.c_size_t, [C.c_char_p]
    for name, cls in (ABI_MIRRORS if mirrors is None else mirrors).items():
        want, got = C.sizeof(cls), fn(name.encode())
        if got == 0:
            raise RadiError(f"{where} does not know the struct {name} that radi/_capi.py mirrors: "
                            "the library and the Python package are from different versions")
        if got != want:
            raise RadiError(f"struct {name}: the Python mirror ({cls.__name__}, {want} bytes) does not "
                            f"match {where} ({got} bytes): radi/_capi.py is out of date with "
                            "include/radi, or the library is from another version")
