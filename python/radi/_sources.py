"""Where an ingest's files come from and the checks made before one starts, for
RadiObject and VolumeCollection: source discovery through the library (globs,
directories, 0.1.1's legacy niftis=/image_dir= forms grouped by series type), routing of
0.1.1's append(niftis=), reorient=True's options, and 0.1.1's refusals (new subjects without
obs_meta rows, obs_ids already present)."""
from __future__ import annotations

import ctypes as C
import os

from . import _lib
from .collection import _ExistsError, _pairs

_NIFTI_EXT = (".nii.gz", ".nii")


def _stem(path: str) -> str:
    """The file name without .nii.gz / .nii."""
    name = os.path.basename(path)
    for ext in _NIFTI_EXT:
        if name.lower().endswith(ext):
            return name[:-len(ext)]
    return name


_SOURCES_PROTOTYPES = {
    "radi_sources_from_pattern": (C.c_int, [C.c_void_p, C.c_char_p, C.c_char_p, C.POINTER(C.c_void_p)]),
    "radi_source_list_count": (C.c_size_t, [C.c_void_p]),
    "radi_source_list_items": (C.POINTER(_lib.NiftiSource), [C.c_void_p]),
    "radi_source_list_free": (None, [C.c_void_p]),
    "radi_dataset_import_collection": (C.c_int, [C.c_void_p, C.c_void_p, C.c_char_p,
                                                 C.POINTER(_lib.Selection), C.c_char_p]),
}


def _sources_lib():
    """The library with the source-discovery and import prototypes set (setting them again is
    harmless; _lib's table is not extended from here)."""
    L = _lib.lib()
    for name, (res, args) in _SOURCES_PROTOTYPES.items():
        fn = getattr(L, name)
        if fn.argtypes != args:
            fn.restype = res
            fn.argtypes = args
    return L


def _discover(ctx, collection: str, pattern: str) -> list:
    """[(path, subject_id, None)] of a directory, glob or file, found by the library
    (radi_sources_from_pattern, the same discovery as `radi ingest`): through the
    context's storage, so s3:// prefixes work; NIfTI extensions in any case; subject id =
    file name less .nii/.nii.gz and a trailing _<collection>; two files giving one
    subject are an error naming both."""
    L = _sources_lib()
    h = C.c_void_p()
    _lib.check(L.radi_sources_from_pattern(ctx.handle, _lib.encode_uri(pattern), collection.encode(),
                                           C.byref(h)))
    try:
        n = L.radi_source_list_count(h)
        items = L.radi_source_list_items(h)
        return [(items[i].path.decode(), items[i].subject_id.decode(), None) for i in range(n)]
    finally:
        L.radi_source_list_free(h)


def _sources(ctx, collection: str, spec) -> list:
    """[(path, subject_id, obs_id)] of one `images` entry: a glob, a directory or a list
    of pairs/triples."""
    if isinstance(spec, (str, os.PathLike)):
        return _discover(ctx, collection, os.fspath(spec))
    return _pairs(collection, spec)


def _route(niftis, collections, shape_of) -> list:
    """[(collection, [(path, sid, obs_id)])] for 0.1.1's legacy append(niftis=[(path, sid)]).
    A file whose name ends with one existing collection's name goes there
    (`sub-04_FLAIR.nii.gz` -> FLAIR, also for names no series type matches, e.g. `seg`;
    a shape other than a uniform collection's is then the ingest's "Dimension mismatch");
    any other file is routed as 0.1.1 does: to the collection named after its inferred
    series type (radi.imaging_metadata.infer_series_type, `unknown` if none), or, when that
    collection exists with another uniform shape (shape_of(name): (x, y, z) or None),
    to `{type}_{x}x{y}x{z}`; collections not there yet are created by the ingest."""
    from pathlib import Path

    from .imaging_metadata import extract_nifti_metadata, infer_series_type

    plan: dict = {}
    for path, sid, oid in _pairs("niftis", niftis):
        stem = _stem(path)
        hits = [c for c in collections if stem.endswith("_" + c)] or \
               [c for c in collections if stem.lower().endswith("_" + c.lower())]
        if len(hits) == 1:
            name = hits[0]
        else:
            name = infer_series_type(Path(path))
            have = shape_of(name) if name in collections else None
            # The header is read (locally, as 0.1.1) only to compare with a uniform collection.
            shape = extract_nifti_metadata(Path(path)).dimensions if have is not None else None
            if have is not None and tuple(have) != tuple(shape):
                name = f"{name}_{shape[0]}x{shape[1]}x{shape[2]}"
        plan.setdefault(name, []).append((path, sid, oid))
    return list(plan.items())


_REORIENT_TARGETS = {"RAS": 1, "LAS": 2, "LPS": 3}  # RADI_REORIENT_* (include/radi/volume.h)


def _reorient_mode(reorient) -> tuple:
    """(radi_ingest_options.reorient, .store_original_affine) for 0.1.1's reorient
    argument: None takes the configuration's orientation.reorient_on_load (default
    False); True reorients to its canonical_target (default "RAS"), recording the
    source's affine unless store_original_affine is False -- 0.1.1's OrientationConfig."""
    from .ctx import get_config

    conf = getattr(get_config(), "orientation", None)
    if reorient is None:
        reorient = getattr(conf, "reorient_on_load", False)
    if not reorient:
        return 0, 1
    target = str(getattr(conf, "canonical_target", "RAS"))
    if target not in _REORIENT_TARGETS:
        raise ValueError(f"canonical_target must be 'RAS', 'LAS' or 'LPS', got {target!r}")
    return _REORIENT_TARGETS[target], int(bool(getattr(conf, "store_original_affine", True)))


def _new_subjects_need_rows(ds, plan, dplan, obs_meta) -> None:
    """0.1.1's rule for RadiObject.append: a subject the dataset does not have yet needs
    its row in obs_meta (radi would otherwise make a bare one)."""
    have = set(ds.subjects)
    new = sorted({src[1] for _n, srcs in plan + dplan for src in srcs} - have)
    if not new:
        return
    if obs_meta is None:
        raise _lib.RadiInvalidError(f"obs_meta required for new subjects: {new[:5]}")
    if "obs_subject_id" not in obs_meta.columns:
        raise _lib.RadiInvalidError(f"obs_meta must contain an 'obs_subject_id' column (columns: "
                                    f"{list(obs_meta.columns)})")
    given = set(obs_meta["obs_subject_id"].astype(str))
    missing = [s for s in new if s not in given]
    if missing:
        raise _lib.RadiInvalidError(f"obs_meta missing entries for: {missing[:5]}")


def _refuse_existing_obs_ids(ds, plan, dplan) -> None:
    """0.1.1's ValueError for an append bringing obs_ids the dataset already holds (radi
    keeps obs_ids unique across the whole dataset; the C ingest refuses them too)."""
    new = {src[2] or f"{src[1]}_{name}" for name, srcs in plan + dplan for src in srcs}
    have = {e[1] for name in ds.collections for e in ds.volumes(name)}
    dup = sorted(new & have)
    if dup:
        raise _ExistsError(f"obs_ids already exist: {dup[:5]}")


def _legacy_images(ctx, niftis, image_dir, collection_name) -> dict:
    """0.1.1's legacy from_niftis inputs as an images dict: niftis=[(path, subject_id)]
    or the NIfTI files of image_dir, all into collection_name when given (niftis=:
    obs_ids {subject}_{series type}, as 0.1.1), else grouped by
    the series type inferred from each file name (radi.imaging_metadata.
    infer_series_type: `sub-01_T1w.nii.gz` -> T1w). Subject ids of image_dir's files: the
    file name less .nii/.nii.gz and a trailing _<collection> (when grouping: less a last
    _<token> naming the series type), as for directories in images= (0.1.1 keeps the
    suffix)."""
    if image_dir is not None:
        if collection_name:
            return {str(collection_name): os.fspath(image_dir)}
        # The directory's files, then each file's subject id for its series type.
        niftis = [(p, _stem(p)) for p, _sid, _o in _discover(ctx, "", os.fspath(image_dir))]
        grouped = _by_series_type(niftis)
        return {t: [(p, _strip_series_suffix(sid, t)) for p, sid, _o in items] for t, items in grouped.items()}
    if collection_name:
        # 0.1.1's obs_ids here are {subject}_{series type}: one subject's several series
        # in the one collection stay distinct (the caller's obs_id of a triple is kept).
        from pathlib import Path

        from .imaging_metadata import infer_series_type

        return {str(collection_name): [(p, sid, o or f"{sid}_{infer_series_type(Path(p))}")
                                       for p, sid, o in _pairs("niftis", niftis)]}
    return {t: [(p, sid) if o is None else (p, sid, o) for p, sid, o in items]
            for t, items in _by_series_type(niftis).items()}


def _by_series_type(niftis) -> dict:
    """{series type: [(path, subject_id, obs_id)]} in input order."""
    from pathlib import Path

    from .imaging_metadata import infer_series_type

    groups: dict = {}
    for path, sid, oid in _pairs("niftis", niftis):
        groups.setdefault(infer_series_type(Path(path)), []).append((path, sid, oid))
    return groups


def _strip_series_suffix(stem: str, series_type: str) -> str:
    """The stem less its last `_<token>` when that token alone names the series type
    (`sub-01_flair` in FLAIR, `BraTS_001_t1` in T1w -> `sub-01`, `BraTS_001`); stems whose
    type is unknown keep their name (`scan_001` must not become `scan`)."""
    from pathlib import Path

    from .imaging_metadata import infer_series_type

    head, sep, tail = stem.rpartition("_")
    if not (sep and head and tail) or series_type == "unknown":
        return stem
    return head if infer_series_type(Path(tail + ".nii")) == series_type else stem
