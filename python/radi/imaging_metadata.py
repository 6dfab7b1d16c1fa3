"""NIfTI header metadata with radiobject 0.1.1's names (`radiobject.imaging_metadata`):
the per-volume fields an ingest stores in a collection's obs table, read by radi's C
NIfTI reader (no nibabel needed), and 0.1.1's series-type inference from file names.

extract_dicom_metadata gives the values radi's DICOM ingest records (geometry from the
slice positions; 0.1.1 reads the first file by name and takes the slice spacing from
SliceThickness); absent acquisition fields are None, as in 0.1.1.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .ctx import _Record
from .utils import affine_to_json

__all__ = ["KNOWN_SERIES_TYPES", "infer_series_type", "NiftiMetadata", "DicomMetadata",
           "extract_nifti_metadata", "extract_dicom_metadata"]

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


def _get_spatial_units(xyzt_units: int) -> str:
    """"m", "mm", "um" or "unknown" from the spatial bits of NIfTI's xyzt_units (0.1.1's
    helper, which its tests import)."""
    return _UNITS.get(int(xyzt_units) & 7, "unknown")


class _Metadata(_Record):
    """A frozen record whose fields become one obs row (tuples written as their str)."""

    def __setattr__(self, name, value):
        if "_given" in self.__dict__:  # set last by _Record.__init__: construction is over
            raise AttributeError(f"{type(self).__name__} is frozen: cannot assign to '{name}'")
        object.__setattr__(self, name, value)

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
        scl_slope=slope, scl_inter=inter, xyzt_units=xyzt, spatial_units=_get_spatial_units(xyzt),
        qform_code=int(h.qform_code), sform_code=int(h.sform_code),
        axcodes=h.axcodes.decode(), affine_json=affine_to_json(affine),
        orientation_source=_SOURCES.get(int(h.affine_source), "identity"),
        source_path=str(path.absolute()))


def _np_type(h):
    from .volume import _NP_DTYPES

    return _NP_DTYPES[int(h.datatype)]


def _obs_tuple(text: str, kind):
    """A "(a, b, c)" obs string back as a tuple of `kind`."""
    return tuple(kind(v) for v in text.strip("()").split(","))


def extract_dicom_metadata(dicom_dir) -> DicomMetadata:
    """DicomMetadata of the one image series in a directory: the obs fields radi's DICOM
    ingest records for it (the series is read whole, pixels included).
    FileNotFoundError for a missing directory, ValueError without DICOM image files or
    with several series."""
    import math
    import tempfile

    from . import _dicom
    from .radi_object import RadiObject

    path = Path(os.fspath(dicom_dir))
    if not path.exists():
        raise FileNotFoundError(f"DICOM directory not found: {path}")
    if not _dicom.scan(str(path)):
        raise ValueError(f"No DICOM files found in {path}")
    with tempfile.TemporaryDirectory(prefix="radi-dicom-meta-") as tmp:
        ds = RadiObject.from_dicoms(os.path.join(tmp, "ds"), [(str(path), "subject")])
        row = ds.collection(ds.collection_names[0]).obs.read().iloc[0].to_dict()
    names = [n for n, _d in DicomMetadata._fields]
    values = {n: row[n] for n in names if n in row}

    def opt(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    for n in ("kvp", "exposure", "repetition_time", "echo_time", "magnetic_field_strength"):
        values[n] = opt(values.get(n))
    values["voxel_spacing"] = _obs_tuple(values["voxel_spacing"], float)
    values["dimensions"] = _obs_tuple(values["dimensions"], int)
    values["source_path"] = str(path.absolute())
    return DicomMetadata(**values)
