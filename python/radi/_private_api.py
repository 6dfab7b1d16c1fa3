"""radiobject 0.1.1's internal constructors and `_metadata` properties, kept for code that
calls them (0.1.1's own tests and fixtures do): `VolumeCollection._create`,
`VolumeCollection._from_volumes`, `RadiObject._create`,
`RadiObject._from_volume_collections`, `radi.radi_object._copy_volume_collection` and
`_metadata` of Volume, VolumeCollection and RadiObject.

Each is built on what radi already does: empty and volume-by-volume collections and
datasets on the streaming writers (staged, published all-or-nothing:
radi/streaming.py), dataset assembly on `RadiObject.from_collections`, collection copies
on `materialize` (the library's file-by-file copy). The signatures are 0.1.1's; where a
result differs from 0.1.1's the function says so (docs/differences-from-radiobject-0.1.1.md).
"""
from __future__ import annotations

import ctypes as C

import numpy as np

from . import _lib

# Volume metadata a copy does not take from its source: obs_id is the copy's own, and the
# tile orientation describes the source's tiling, not the new volume's (configure()).
_STORAGE_KEYS = ("obs_id", "tile_orientation", "slice_orientation")
_KEYS = ("obs_id", "obs_subject_id")


def group_metadata(ctx, uri: str) -> dict:
    """A group's metadata as a dict, values as TileDB-Py's `dict(group.meta)` gives them."""
    from .volume import _meta_dict

    L = _lib.lib()
    g = C.c_void_p()
    _lib.check(L.radi_group_open(ctx.handle, _lib.encode_uri(uri), C.byref(g)))
    try:
        return _meta_dict(L.radi_group_meta(g))
    finally:
        L.radi_group_close(g)


def _no_count(what: str, n: int, holds: str) -> None:
    """0.1.1 writes the count it is given; radi counts what is there."""
    if n:
        raise ValueError(f"{what}={n}: a new empty object holds 0 {holds} (radi counts them); create it "
                         f"with its {holds} instead")


def _schema(frame, skip) -> dict | None:
    """{column: dtype} of a DataFrame's user columns as 0.1.1 derives it (object columns
    are strings, U64), or None when it has none."""
    schema = {}
    for c in frame.columns:
        if c not in skip:
            dt = frame[c].to_numpy().dtype
            schema[c] = np.dtype("U64") if dt == np.dtype("O") else dt
    return schema or None


def create_collection(cls, uri, shape=None, obs_schema=None, n_volumes: int = 0, name=None, ctx=None):
    """An empty stand-alone collection at uri (0.1.1's `VolumeCollection._create`).
    shape: (x, y, z) recorded as the collection's uniform shape (x_dim/y_dim/z_dim; a
    later volume must have it), None for mixed shapes. obs_schema: {column: dtype} of
    obs's user columns. name: default the last component of uri (0.1.1 leaves it
    unnamed). n_volumes must be 0 (0.1.1 records any count given). Nothing is left at
    uri on failure."""
    from .streaming import StreamingWriter

    _no_count("n_volumes", n_volumes, "volumes")
    with StreamingWriter(uri, shape=shape, obs_schema=obs_schema, name=name, ctx=ctx):
        pass
    return cls(uri, ctx=ctx)


def _obs_rows(ids: list, obs_data) -> list:
    """(obs_subject_id, {column: value}) per obs_id of `ids`: from obs_data's row with
    that obs_id when it has the column (0.1.1 pairs rows by position, so rows in another
    order would describe other volumes), else by position; subject default the obs_id."""
    if obs_data is None:
        return [(o, {}) for o in ids]
    if len(obs_data) != len(ids):
        raise ValueError(f"obs_data has {len(obs_data)} rows for {len(ids)} volumes")
    frame = obs_data.reset_index(drop=True)
    if "obs_id" in frame.columns:
        where = {str(o): i for i, o in enumerate(frame["obs_id"])}
        missing = [o for o in ids if o not in where]
        if missing:
            raise ValueError(f"obs_data has no row for obs_id(s) {missing[:5]}")
        order = [where[o] for o in ids]
    else:
        order = list(range(len(ids)))
    cols = [c for c in frame.columns if c not in _KEYS]
    has_sid = "obs_subject_id" in frame.columns
    return [(str(frame["obs_subject_id"].iloc[i]) if has_sid else o, {c: frame[c].iloc[i] for c in cols})
            for o, i in zip(ids, order)]


def collection_from_volumes(cls, uri, volumes, obs_data=None, name=None, ctx=None):
    """A stand-alone collection at uri holding copies of `volumes`, [(obs_id, Volume)]
    (0.1.1's `VolumeCollection._from_volumes`). Each volume is copied as stored: raw
    values in their dtype with their scaling, affine and every metadata key but obs_id
    and the tiling, which follows configure() (0.1.1 keeps the voxels only). The volumes
    must share one (x, y, z), recorded as the collection's shape. obs_data: one row per
    volume, matched by its obs_id column when it has one (else by position, as 0.1.1),
    giving obs_subject_id (default: the obs_id) and user columns (object columns as
    strings). Written volume by volume by radi.StreamingWriter, so memory holds one
    volume; nothing is left at uri on failure."""
    from .streaming import StreamingWriter
    from .volume import _meta_items

    volumes = list(volumes)
    if not volumes:
        raise ValueError("At least one volume is required")
    first = tuple(volumes[0][1].shape[:3])
    for obs_id, vol in volumes:
        if tuple(vol.shape[:3]) != first:
            raise ValueError(f"Volume '{obs_id}' has shape {tuple(vol.shape[:3])}, expected {first}")
    ids = [str(o) for o, _v in volumes]
    rows = _obs_rows(ids, obs_data)
    schema = _schema(obs_data, _KEYS) if obs_data is not None else None
    L = _lib.lib()
    with StreamingWriter(uri, shape=first, obs_schema=schema, name=name, ctx=ctx) as w:
        for obs_id, (_o, vol), (sid, attrs) in zip(ids, volumes, rows):
            with vol.use() as h:
                meta = [m for m in _meta_items(L.radi_array_meta(L.radi_volume_array(h)))
                        if m[0] not in _STORAGE_KEYS]
            w._stage.write(vol.to_numpy(raw=True), obs_id, sid, attrs, meta=meta)
    return cls(uri, ctx=ctx)


def create_radi_object(cls, uri, obs_meta_schema=None, n_subjects: int = 0, ctx=None):
    """An empty dataset at uri (0.1.1's `RadiObject._create`): no collections, obs_meta
    with the user columns of obs_meta_schema ({column: dtype}). n_subjects must be 0
    (0.1.1 records any count given). Written by radi.RadiObjectWriter: nothing is left
    at uri on failure."""
    from .streaming import RadiObjectWriter

    _no_count("n_subjects", n_subjects, "subjects")
    with RadiObjectWriter(uri, obs_meta_schema=obs_meta_schema, ctx=ctx):
        pass
    return cls(uri, ctx=ctx)


def radi_object_from_volume_collections(cls, uri, collections, obs_meta=None, ctx=None):
    """A dataset at uri holding copies of `collections`, {name: VolumeCollection}
    (0.1.1's `RadiObject._from_volume_collections`): RadiObject.from_collections, which
    copies volumes file by file. obs_meta: as there; without it every subject gets a
    (subject, subject) row (0.1.1 writes none, leaving subjects without obs_meta rows)."""
    if not collections:
        raise ValueError("At least one VolumeCollection is required")
    return cls.from_collections(uri, collections, obs_meta=obs_meta, ctx=ctx)


def copy_volume_collection(src, dst_uri, name=None, ctx=None) -> None:
    """Copies a collection (or a view's volumes) to a stand-alone collection at dst_uri
    named `name` (default src's) and returns None (0.1.1's `_copy_volume_collection`):
    `materialize`, the library's file-by-file copy."""
    src.materialize(dst_uri, name=name, ctx=ctx)
