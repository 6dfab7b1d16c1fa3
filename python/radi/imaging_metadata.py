"""NIfTI header metadata with radiobject 0.1.1's names (`radiobject.imaging_metadata`):
the per-volume fields an ingest stores in a collection's obs table, read by radi's C
NIfTI reader (no nibabel needed), and 0.1.1's series-type inference from file names.

Not provided: extract_dicom_metadata (0.1.1 reads the first file by name and takes the
slice spacing from SliceThickness; radi's DICOM ingest derives geometry from the slice
positions and records its own obs columns -- see Volume.from_dicom and docs/dicom.md).
DicomMetadata is provided as the record type.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .ctx import _Record
from .utils import affine_to_json

__all__ = ["KNOWN_SERIES_TYPES", "infer_series_type", "NiftiMetadata", "DicomMetadata",
           "extract_nifti_metadata"]

# BIDS suffixes and the other series names 0.1.1 recognises.
KNOWN_SERIES_TYPES = frozenset({
    "T1w", "T2w", "T1rho", "T1map", "T2map", "T2star", "FLAIR", "FLASH", "PD", "PDmap", "PDT2",
    "inplaneT1", "inplaneT2", "angio", "T1gd", "bold", "cbv", "phase", "dwi", "CT", "HRCT", "CTA",
    "CTPA", "phasediff", "magnitude", "fieldmap", "epi",
})

# Upper-cased name fragments and their series type, most specific first (T1GD before T1).
_NAME_FRAGMENTS = (
    ("T1GD", "T1gd"), ("T1CE", "T1gd"), ("T1C", "T1gd"), ("T1W", "T1w"), ("T1", "T1w"),
    ("T2W", "T2w"), ("T2", "T2w"), ("FLAIR", "FLAIR"), ("DWI", "dwi"), ("DTI", "dwi"),
    ("BOLD", "bold"), ("FUNC", "bold"), ("LUNG_", "CT"), ("LIVER_", "CT"), ("COLON_", "CT"),
    ("PANCREAS_", "CT"), ("SPLEEN_", "CT"), ("HEPATIC", "CT"), ("_CT_", "CT"), ("_CT.", "CT"),
)

_UNITS = {0: "unknown", 1: "m", 2: "mm", 3: "um"}


def infer_series_type(path, header=None) -> str:
    """The series type of a NIfTI file name: its last "_" part when that is a known type
    (any case, BIDS style: sub-01_T1w.nii.gz -> "T1w"), else the first known fragment
    of the name (T1_MPRAGE -> "T1w"), else a known type inside the header's `descrip`
    (a mapping-like header with .get, e.g. nibabel's), else "unknown"."""
    name = Path(path).stem
    if name.endswith(".nii"):
        name = name[:-4]
    suffix = name.split("_")[-1].lower()
    for known in KNOWN_SERIES_TYPES:
        if known.lower() == suffix:
            return known
    upper = name.upper()
    for fragment, series in _NAME_FRAGMENTS:
        if fragment in upper:
            return series
    if header is not None:
        raw = header.get("descrip", b"")
        if isinstance(raw, np.ndarray):
            raw = raw.item()
        text = (raw.decode("utf-8", errors="ignore") if isinstance(raw, bytes) else str(raw)).lower()
        for known in KNOWN_SERIES_TYPES:
            if known.lower() in text:
                return known
    return "unknown"


class _Metadata(_Record):
    """A record whose fields become one obs row (tuples written as their str)."""

    def model_dump(self) -> dict:
        return self._as_dict()

    def _obs(self, **extra) -> dict:
        row = self.model_dump()
        row["voxel_spacing"] = str(row["voxel_spacing"])
        row["dimensions"] = str(row["dimensions"])
        row.update(extra)
        return row


class NiftiMetadata(_Metadata):
    """The obs fields of one NIfTI volume (0.1.1's names and types)."""

    _fields = (("voxel_spacing", ()), ("dimensions", ()), ("datatype", 0), ("bitpix", 0),
               ("scl_slope", 1.0), ("scl_inter", 0.0), ("xyzt_units", 0), ("spatial_units", "unknown"),
               ("qform_code", 0), ("sform_code", 0), ("axcodes", ""), ("affine_json", ""),
               ("orientation_source", "identity"), ("source_path", ""))

    def to_obs_dict(self, obs_id: str, obs_subject_id: str, series_type: str) -> dict:
        """The obs row: these fields plus obs_id, obs_subject_id and series_type."""
        return self._obs(obs_id=obs_id, obs_subject_id=obs_subject_id, series_type=series_type)


class DicomMetadata(_Metadata):
    """The obs fields of one DICOM series (0.1.1's names and types)."""

    _fields = (("voxel_spacing", ()), ("dimensions", ()), ("modality", ""), ("series_description", ""),
               ("kvp", None), ("exposure", None), ("repetition_time", None), ("echo_time", None),
               ("magnetic_field_strength", None), ("axcodes", ""), ("affine_json", ""),
               ("orientation_source", "identity"), ("source_path", ""))

    def to_obs_dict(self, obs_id: str, obs_subject_id: str) -> dict:
        """The obs row: these fields plus obs_id and obs_subject_id."""
        return self._obs(obs_id=obs_id, obs_subject_id=obs_subject_id)


def extract_nifti_metadata(nifti_path) -> NiftiMetadata:
    """NiftiMetadata of a local NIfTI file from its header (radi's C reader; the voxels
    are not read): the values radi's ingest writes to obs -- pixdim as nibabel fixes it
    up, the file's scl_slope / scl_inter (1.0 / 0.0 when it has no scaling), the
    sform/qform/fallback affine and its axis codes. FileNotFoundError for a missing file."""
    from .orientation import _SOURCES, _read_header, _scaling

    path = Path(os.fspath(nifti_path))
    if not path.exists():
        raise FileNotFoundError(f"NIfTI file not found: {path}")
    h = _read_header(str(path))
    # The file's own scaling, as radi's obs rows record it (0.1.1 reports 1.0 / 0.0 for
    # every file: nibabel hands it a header whose scaling is already applied).
    slope, inter = _scaling(h)
    affine = np.array(h.affine[:], dtype=np.float64).reshape(4, 4)
    xyzt = int(h.xyzt_units)
    return NiftiMetadata(
        voxel_spacing=tuple(float(h.pixdim[i]) for i in (1, 2, 3)),
        dimensions=tuple(int(h.shape[i]) for i in range(3)),
        datatype=int(h.nifti_datatype), bitpix=int(np.dtype(_np_type(h)).itemsize * 8),
        scl_slope=slope, scl_inter=inter, xyzt_units=xyzt, spatial_units=_UNITS.get(xyzt & 7, "unknown"),
        qform_code=int(h.qform_code), sform_code=int(h.sform_code),
        axcodes=h.axcodes.decode(), affine_json=affine_to_json(affine),
        orientation_source=_SOURCES.get(int(h.affine_source), "identity"),
        source_path=str(path.absolute()))


def _np_type(h):
    from .volume import _NP_DTYPES

    return _NP_DTYPES[int(h.datatype)]
