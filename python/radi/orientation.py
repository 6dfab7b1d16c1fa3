"""Anatomical orientation helpers with radiobject 0.1.1's names (`radiobject.orientation`).

OrientationInfo is radi's (affine as a numpy array, where 0.1.1 keeps nested lists).
Axis codes come from the C library (radi_affine_axcodes: nibabel's
aff2axcodes(io_orientation(affine))), the same rule the NIfTI ingest applies; a NIfTI
file's header is read by the C reader. No nibabel needed: functions that 0.1.1 gives a
nibabel image also accept a path, or any object with nibabel's image interface.

detect_dicom_orientation gives radi's DICOM geometry (the slice positions), where 0.1.1
builds the affine from the first file by name and SliceThickness: the same for a
series whose files are named in slice order and whose thickness equals the spacing.
"""
from __future__ import annotations

import ctypes as C
import json
import os

import numpy as np

from . import _lib
from .utils import affine_to_json, affine_to_list
from .volume import OrientationInfo

__all__ = ["OrientationInfo", "is_orientation_valid", "detect_nifti_orientation", "detect_dicom_orientation",
           "axcodes_of",
           "reorient_to_canonical", "orientation_info_to_metadata", "metadata_to_orientation_info"]

_SOURCES = {0: "identity", 1: "nifti_qform", 2: "nifti_sform"}  # radi_nifti_affine_source
_AXIS = {"L": (0, -1), "R": (0, 1), "P": (1, -1), "A": (1, 1), "I": (2, -1), "S": (2, 1)}


def axcodes_of(affine) -> tuple:
    """The axis codes of a 4x4 voxel-to-world affine, e.g. ('L', 'A', 'S'); '?' marks an
    axis with no direction (nibabel's aff2axcodes(io_orientation(affine)))."""
    a = np.ascontiguousarray(affine, dtype=np.float64)
    if a.shape != (4, 4):
        raise ValueError(f"affine must be 4x4, got shape {a.shape}")
    out = C.create_string_buffer(4)
    _lib.lib().radi_affine_axcodes(a.ctypes.data_as(C.POINTER(C.c_double)), out)
    return tuple(out.value.decode())


def _is_identity(affine, tol: float = 1e-6) -> bool:
    return bool(np.allclose(affine, np.eye(4), atol=tol))


def is_orientation_valid(info: OrientationInfo) -> bool:
    """Whether the affine is a usable transform: not the identity (a missing header's
    default), invertible with a sane scale (1e-6 < |det| < 1e6), axes orthogonal."""
    a = np.asarray(info.affine, dtype=np.float64)
    if _is_identity(a):
        return False
    det = abs(np.linalg.det(a[:3, :3]))
    if not 1e-6 < det < 1e6:
        return False
    gram = a[:3, :3].T @ a[:3, :3]
    off = gram - np.diag(np.diag(gram))
    return bool(np.allclose(off, 0, atol=1e-4 * np.max(np.abs(np.diag(gram)))))


def _info(affine, source: str) -> OrientationInfo:
    affine = np.asarray(affine, dtype=np.float64)
    if _is_identity(affine):
        source = "identity"  # a numerically identity affine says nothing about the patient
    codes = axcodes_of(affine)
    return OrientationInfo(axcodes=codes, affine=affine, is_canonical=codes == ("R", "A", "S"),
                           confidence="header" if source != "identity" else "unknown", source=source)


def _read_header(path, ctx=None):
    """The C reader's header of a NIfTI file (a copy: the handle is closed)."""
    ctx = _lib.as_radi_ctx(ctx)
    L = _lib.lib()
    h = C.c_void_p()
    _lib.check(L.radi_nifti_open_ctx(ctx.handle, _lib.encode_uri(path), C.byref(h)))
    try:
        from ._capi import NiftiHeader

        hdr = NiftiHeader()
        C.pointer(hdr)[0] = L.radi_nifti_get_header(h)[0]
        return hdr
    finally:
        L.radi_nifti_close(h)


def detect_nifti_orientation(img) -> OrientationInfo:
    """OrientationInfo of a NIfTI image: the sform if sform_code > 0, else the qform if
    qform_code > 0, else the pixdim fallback (source 'identity', confidence 'unknown').
    `img` is a path or URI (read by radi's C reader) or a nibabel-style image (header,
    get_sform(), get_qform(), affine), as in 0.1.1."""
    if isinstance(img, (str, bytes, os.PathLike)):
        hdr = _read_header(os.fsdecode(img) if isinstance(img, bytes) else os.fspath(img))
        return _info(np.array(hdr.affine[:], dtype=np.float64).reshape(4, 4),
                     _SOURCES.get(int(hdr.affine_source), "identity"))
    header = img.header
    if int(header.get("sform_code", 0)) > 0:
        return _info(img.get_sform(), "nifti_sform")
    if int(header.get("qform_code", 0)) > 0:
        return _info(img.get_qform(), "nifti_qform")
    return _info(img.affine, "identity")


def detect_dicom_orientation(series_path) -> OrientationInfo:
    """OrientationInfo of the image series in a directory, from radi's DICOM reader
    (source 'dicom_iop': orientation, pixel spacing and the slice positions, in RAS).
    A directory without a DICOM image series gives the identity, as 0.1.1 does. The
    series is read whole (pixels included); use Volume.from_dicom to keep it."""
    import tempfile

    from . import _dicom
    from .volume import Volume

    path = os.fspath(series_path)
    if not os.path.isdir(path) or not _dicom.scan(path):
        return OrientationInfo(axcodes=("R", "A", "S"), affine=np.eye(4), is_canonical=True,
                               confidence="unknown", source="identity")
    with tempfile.TemporaryDirectory(prefix="radi-orient-") as tmp:
        vol = Volume.from_dicom(os.path.join(tmp, "v"), path)
        try:
            info = vol.orientation_info
        finally:
            vol.close()
    return info if info is not None else _info(np.eye(4), "identity")


def _ornt(affine) -> list:
    """(world axis, direction) of each voxel axis, from the axis codes."""
    codes = axcodes_of(affine)
    if "?" in codes:
        raise ValueError(f"cannot reorient: the affine has a degenerate axis (axcodes {''.join(codes)})")
    return [_AXIS[c] for c in codes]


def _flip_axes(data, affine, axes):
    """Flips data along `axes`, moving the affine's origin to the new first voxel."""
    affine = affine.copy()
    for ax in axes:
        data = np.flip(data, axis=ax)
        affine[:3, 3] += (data.shape[ax] - 1) * affine[:3, ax]
        affine[:3, ax] = -affine[:3, ax]
    return data, affine


def reorient_to_canonical(data, affine, target: str = "RAS"):
    """(data, affine) resampled by axis flips and transposes only (no interpolation) so
    that the voxel axes run along `target`: "RAS" (nibabel's as_closest_canonical), "LAS"
    or "LPS". Axes past the third (time) are kept. As 0.1.1: returns views of `data`."""
    if target not in ("RAS", "LAS", "LPS"):
        raise ValueError(f"target must be 'RAS', 'LAS' or 'LPS', got {target!r}")
    data = np.asarray(data)
    affine = np.asarray(affine, dtype=np.float64)
    ornt = _ornt(affine)
    if ornt != [(0, 1), (1, 1), (2, 1)]:
        flips = np.array([d for _w, d in ornt], dtype=np.float64)
        for ax in np.flatnonzero(flips < 0):
            data = np.flip(data, axis=int(ax))
        order = sorted(range(3), key=lambda i: ornt[i][0])  # voxel axis holding world axis 0, 1, 2
        data = np.transpose(data, order + list(range(3, data.ndim)))
        # New voxel -> old voxel, composed as nibabel's inv_ornt_aff (flip about the
        # centre after undoing the transpose) so the affine rounds as 0.1.1's does.
        undo_reorder = np.eye(4)[[w for w, _d in ornt] + [3], :]
        undo_flip = np.diag(list(flips) + [1.0])
        centre = -(np.array(data.shape[:3])[[ornt[i][0] for i in range(3)]] - 1) / 2.0
        undo_flip[:3, 3] = flips * centre - centre
        affine = np.dot(affine, np.dot(undo_flip, undo_reorder))
    if target != "RAS":
        data, affine = _flip_axes(data, affine, [0] if target == "LAS" else [0, 1])
    return data, affine


def orientation_info_to_metadata(info: OrientationInfo, original_affine=None) -> dict:
    """The volume metadata keys (str values) that record `info`, plus original_affine
    when given, as 0.1.1 and radi's ingest write them."""
    meta = {"orientation_axcodes": "".join(info.axcodes),
            "orientation_affine": affine_to_json(info.affine),
            "orientation_source": info.source,
            "orientation_confidence": info.confidence}
    if original_affine is not None:
        meta["original_affine"] = affine_to_json(original_affine)
    return meta


def metadata_to_orientation_info(metadata: dict):
    """OrientationInfo from volume metadata, or None without orientation_axcodes and
    orientation_affine."""
    codes, text = metadata.get("orientation_axcodes"), metadata.get("orientation_affine")
    if not codes or not text:
        return None
    codes = tuple(codes)
    return OrientationInfo(axcodes=codes, affine=np.array(json.loads(text), dtype=np.float64),
                           is_canonical=codes == ("R", "A", "S"),
                           confidence=metadata.get("orientation_confidence", "unknown"),
                           source=metadata.get("orientation_source", "identity"))


def _scaling(hdr) -> tuple:
    """(slope, inter) as radi's ingest records them: a slope of 0 or non-finite means no
    scaling (1.0, 0.0); a non-finite intercept reads as 0.0."""
    slope, inter = float(hdr.scl_slope), float(hdr.scl_inter)
    if slope == 0 or not np.isfinite(slope):
        return 1.0, 0.0
    return slope, inter if np.isfinite(inter) else 0.0
