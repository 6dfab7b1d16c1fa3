"""DICOM sources for RadiObject.from_dicoms / append(dicom_dirs=...): series discovery
(radi_dicom_scan, through the context's storage, so s3:// prefixes work) and the plan of
one all-or-nothing ingest. The reading itself (parsing, geometry, decoding) is the C
library's (docs/dataset.md §10)."""
from __future__ import annotations

import ctypes as C
import os

from . import _capi, _lib


def scan(path, ctx=None) -> list:
    """The image series under path (a directory's files, or one file): a list of dicts
    with series_uid, modality, series_description, series_number, nfiles, nframes, rows,
    cols, in series-number order. Non-image files are skipped."""
    ctx = _lib.as_radi_ctx(ctx)
    L = _lib.lib()
    h = C.c_void_p()
    _lib.check(L.radi_dicom_scan(ctx.handle, _lib.encode_uri(path), C.byref(h)))
    try:
        out = []
        for i in range(L.radi_dicom_series_count(h)):
            s = L.radi_dicom_series_at(h, i).contents
            text = {k: (getattr(s, k) or b"").decode("utf-8", "replace")
                    for k in ("series_uid", "modality", "series_description")}
            out.append(dict(text, series_number=s.series_number, nfiles=s.nfiles, nframes=s.nframes,
                            rows=s.rows, cols=s.cols))
        return out
    finally:
        L.radi_dicom_series_list_free(h)


def _entries(dicom_dirs) -> list:
    """[(dir, subject_id, obs_id or None)] of 0.1.1's [(series_dir, subject_id)] (a third
    item, an obs_id, is radi's addition)."""
    if isinstance(dicom_dirs, (str, bytes, os.PathLike)) or not hasattr(dicom_dirs, "__iter__"):
        raise TypeError("dicom_dirs must be a list of (series_dir, subject_id) pairs")
    out = []
    for e in dicom_dirs:
        if not isinstance(e, (tuple, list)) or len(e) not in (2, 3):
            raise ValueError(f"dicom_dirs entries are (series_dir, subject_id) pairs, got {e!r}")
        path, sid = os.fspath(e[0]), str(e[1])
        if not sid:
            raise ValueError(f"{path}: empty subject_id")
        out.append((path, sid, str(e[2]) if len(e) == 3 and e[2] is not None else None))
    if not out:
        raise ValueError("dicom_dirs is empty")
    return out


def plan(ctx, dicom_dirs, name=None, series_uid=None) -> list:
    """[(collection, [(dir, subject_id, obs_id, series_uid)])]: each directory's one image
    series (or the one with series_uid), in the collection `name`, else the one named
    after the series' Modality as 0.1.1 names them ("CT", "MR", ...). A directory with
    several image series is an error listing them (pass series_uid=...)."""
    groups: dict = {}
    for path, sid, oid in _entries(dicom_dirs):
        series = scan(path, ctx)
        if series_uid is not None:
            series = [s for s in series if s["series_uid"] == series_uid]
        if len(series) > 1 and series[0]["series_uid"] and all(s["series_uid"] == series[0]["series_uid"]
                                                                for s in series):
            # Parts of one series (its orientation, size or spacing changes between files,
            # e.g. a localizer): no series_uid can pick one. The C ingest refuses it by
            # name ("changes orientation, size or pixel spacing ... N parts").
            series = series[:1]
        if len(series) != 1:
            found = "; ".join(f"{s['series_description'] or '(no description)'} #{s['series_number']} "
                              f"{s['modality']} {s['nfiles']} files UID {s['series_uid']}" for s in series)
            what = f"no image series{' ' + series_uid if series_uid else ''}" if not series else \
                f"{len(series)} image series ({found}); pass series_uid=... to pick one"
            raise ValueError(f"{path}: {what}")
        coll = name or series[0]["modality"] or "OT"
        groups.setdefault(coll, []).append((path, sid, oid, series[0]["series_uid"]))
    return list(groups.items())


def collections(dplan) -> tuple:
    """The radi_dicom_collection array of a plan and the objects keeping it alive."""
    keep = []
    arr = (_capi.DicomCollection * max(len(dplan), 1))()
    for k, (coll, srcs) in enumerate(dplan):
        enc = [(p.encode(), sid.encode(), oid.encode() if oid else None, uid.encode() if uid else None)
               for p, sid, oid, uid in srcs]
        sarr = (_capi.DicomSource * len(enc))(*[_capi.DicomSource(*e) for e in enc])
        keep += [enc, sarr]
        arr[k] = _capi.DicomCollection(coll.encode(), len(enc), sarr)
    return arr, keep


def options(keep_patient_id: bool = False):
    opt = _capi.DicomOptions()
    _lib.lib().radi_dicom_options_init(C.byref(opt))
    opt.keep_patient_id = int(bool(keep_patient_id))
    return opt
