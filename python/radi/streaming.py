"""Streaming writers (radiobject 0.1.1's `radiobject.streaming` names): build a collection
or a whole dataset from in-memory volumes, one volume at a time.

Memory. Each `write_volume` writes its volume to storage at once (tiled and compressed
as configure() says) and keeps only the obs row, so a writer holds no more than the
volume being written, whatever the number of volumes.

All-or-nothing. Volumes go to a staging object beside the target
(`<uri>.radi-tmp-<hex>`, through the context's storage); when the writer closes without
an exception the staged object is moved to `uri` by the library (radi_dataset_move /
radi_dataset_move_collection: the volumes renamed, not rewritten, under the new
dataset's lock and journal, nothing left at `uri` on failure), which also numbers
volumes in obs order and writes the counts and shape metadata. The staging object is
removed in every case. Until the writer closes nothing is at `uri` (0.1.1 builds the
object in place, so a failed or interrupted write leaves half a collection there). The
writer holds the staging object's lock (`<staging>.lock`) while it works, so a process
killed while writing leaves a staging object whose lock is free (never anything at `uri`;
a kill during the final move is rolled back by the move's journal): radi.repair(uri) and
the next streaming writer to `uri` remove it, never a live writer's (docs/dataset.md §8.7).
"""
from __future__ import annotations

import ctypes as C
import os
import re

import numpy as np

from . import _lib
from .errors import RadiExistsError

__all__ = ["StreamingWriter", "RadiObjectWriter"]

_KEYS = ("obs_subject_id", "obs_id")
_NAME_OK = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}$")

_PROTOTYPES = {
    "radi_group_create": (C.c_int, [C.c_void_p, C.c_char_p]),
    "radi_group_add_members": (C.c_int, [C.c_void_p, C.c_size_t, C.POINTER(C.c_char_p), C.c_int,
                                         C.POINTER(C.c_char_p)]),
    "radi_dataset_move": (C.c_int, [C.c_void_p, C.c_char_p]),
    "radi_dataset_move_collection": (C.c_int, [C.c_void_p, C.c_char_p, C.c_char_p, C.c_char_p]),
    "radi_staging_begin": (C.c_int, [C.c_void_p, C.c_char_p, C.POINTER(C.c_void_p)]),
    "radi_staging_uri": (C.c_char_p, [C.c_void_p]),
    "radi_staging_end": (C.c_int, [C.c_void_p]),
    "radi_dataset_remove_dead_stagings": (C.c_int, [C.c_void_p, C.c_char_p, C.c_void_p]),
}


def _lib_with_groups():
    """The library with the prototypes of the calls this module adds (group writes,
    moves) set; setting them again is harmless."""
    L = _lib.lib()
    for name, (res, args) in _PROTOTYPES.items():
        fn = getattr(L, name)
        if fn.argtypes != args:
            fn.restype, fn.argtypes = res, args
    return L


def _join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *parts])


class _Staging:
    """The staging object `<uri>.radi-tmp-<hex>` of a new object at uri, held under its
    writer lock (`<staging>.lock`) from creation to end(), which removes it. Staging
    objects of dead writers beside uri are removed first (docs/dataset.md §8.7)."""

    def __init__(self, ctx, uri: str):
        L = _lib_with_groups()
        _lib.check(L.radi_dataset_remove_dead_stagings(ctx.handle, _lib.encode_uri(uri), None))
        h = C.c_void_p()
        _lib.check(L.radi_staging_begin(ctx.handle, _lib.encode_uri(uri), C.byref(h)))
        self.ctx, self.h = ctx, h
        self.uri = L.radi_staging_uri(h).decode()

    def end(self) -> None:
        h, self.h = self.h, None
        if h:
            _lib.check(_lib_with_groups().radi_staging_end(h))

    def __del__(self):
        # A writer dropped without closing: its staging object goes, as on close.
        try:
            self.end()
        except Exception:
            pass


def _move_collection_out(ds, name: str, dst: str) -> None:
    """Publishes collection `name` of the staged dataset or collection handle ds at dst
    as a stand-alone collection (radi_dataset_move_collection: renamed, not rewritten),
    under ds's lock; closes ds, whose volumes may be gone whatever the outcome."""
    try:
        with ds.lock:
            _lib.check(_lib_with_groups().radi_dataset_move_collection(ds.h, name.encode(), _lib.encode_uri(dst),
                                                                       name.encode()))
    finally:
        ds.close()


def _refuse_existing(ctx, uri: str) -> None:
    t = C.c_int()
    _lib.check(_lib.lib().radi_object_type_of(ctx.handle, _lib.encode_uri(uri), C.byref(t)))
    if t.value != 0:
        raise RadiExistsError(f"{uri}: something is already there; streaming writers create new objects")


def _remove(ctx, uri: str) -> None:
    """Removes a staging object (best effort: it is ours and only ever beside the target)."""
    _lib.lib().radi_object_remove(ctx.handle, _lib.encode_uri(uri))


def _add_members(L, ctx, group_uri: str, names) -> None:
    """Adds relative members `names` (also their names) to a group, as one change."""
    names = [n.encode() for n in names]
    if not names:
        return
    arr = (C.c_char_p * len(names))(*names)
    g = C.c_void_p()
    _lib.check(L.radi_group_open(ctx.handle, _lib.encode_uri(group_uri), C.byref(g)))
    try:
        _lib.check(L.radi_group_add_members(g, len(names), arr, 1, arr))
    finally:
        L.radi_group_close(g)


def _column(pd, values, dtype):
    """One obs column: cast to the schema's dtype (strings stay Python str)."""
    if dtype is None:
        return pd.Series(values)
    dt = np.dtype(dtype)
    if dt.kind in "UOS":
        return pd.Series([None if v is None else str(v) for v in values], dtype=object)
    return pd.Series(values, dtype=dt)


class _StagedCollection:
    """A collection group being built at `uri` (inside a staging object): volumes written
    as they come to volumes/<k>, carrying their obs_id; obs rows kept (they are small)
    and written by seal()."""

    def __init__(self, ctx, uri: str, name: str, shape, obs_schema, taken=None):
        self.ctx, self.uri, self.name = ctx, uri, name
        self.shape = tuple(int(d) for d in shape) if shape is not None else None
        self.schema = dict(obs_schema) if obs_schema else None
        self.rows: list = []
        self.ids: set = set()
        self.taken = taken  # obs_ids of the whole dataset being written (RadiObjectWriter)
        L = _lib_with_groups()
        _lib.check(L.radi_group_create(ctx.handle, _lib.encode_uri(uri)))
        _lib.check(L.radi_group_create(ctx.handle, _lib.encode_uri(_join(uri, "volumes"))))

    def _check_attrs(self, attrs: dict) -> None:
        want = list(self.schema) if self.schema is not None else \
            (list(self.rows[0][2]) if self.rows else None)
        if want is None:
            return
        missing = [k for k in want if k not in attrs]
        unknown = [k for k in attrs if k not in want]
        if missing or unknown:
            raise ValueError(f"collection '{self.name}': obs attributes must be {want}"
                             f"{f'; missing {missing}' if missing else ''}"
                             f"{f'; unknown {unknown}' if unknown else ''}")

    def write(self, data, obs_id: str, obs_subject_id: str, attrs: dict, meta=()) -> None:
        """meta: more volume metadata, [(key, datatype code, count, bytes)] as
        volume._meta_items gives them (a copy's source keys; obs_id is this write's)."""
        from .volume import Volume, _meta_put_items, _text_item

        arr = np.asarray(data)
        if self.shape is not None and tuple(arr.shape[:3]) != self.shape:
            raise ValueError(f"Volume shape {tuple(arr.shape[:3])} doesn't match collection shape "
                             f"{self.shape}")
        obs_id, obs_subject_id = str(obs_id), str(obs_subject_id)
        if not obs_id or not obs_subject_id:
            raise ValueError("obs_id and obs_subject_id must be non-empty")
        if obs_id in self.ids:
            raise ValueError(f"obs_id '{obs_id}' already written to collection '{self.name}'")
        if self.taken is not None and obs_id in self.taken:
            raise ValueError(f"obs_id '{obs_id}' already exists in RadiObject. obs_id must be unique "
                             "across all collections.")
        self._check_attrs(attrs)
        L = _lib.lib()
        vol = Volume.from_numpy(_join(self.uri, "volumes", str(len(self.rows))), arr, ctx=self.ctx)
        try:
            # The volume names its obs row: the copy that finishes the write places it by it.
            items = [m for m in meta if m[0] != "obs_id"] + [_text_item("obs_id", obs_id)]
            _meta_put_items(L.radi_array_meta(L.radi_volume_array(vol._handle())), items)
        finally:
            vol.close()
        self.rows.append((obs_subject_id, obs_id, dict(attrs)))
        self.ids.add(obs_id)
        if self.taken is not None:
            self.taken.add(obs_id)

    def seal(self) -> None:
        """Writes obs and the group members: the staged collection is then complete."""
        from .dataframe import Dataframe, _pd
        from .volume import _meta_put_items, _text_item

        pd = _pd()
        frame = pd.DataFrame({"obs_subject_id": pd.Series([r[0] for r in self.rows], dtype=object),
                              "obs_id": pd.Series([r[1] for r in self.rows], dtype=object)})
        names = list(self.schema) if self.schema is not None else \
            (list(self.rows[0][2]) if self.rows else [])
        for c in names:
            frame[c] = _column(pd, [r[2][c] for r in self.rows],
                               self.schema.get(c) if self.schema is not None else None)
        Dataframe.from_pandas(_join(self.uri, "obs"), frame, index_columns=list(_KEYS), ctx=self.ctx)
        L = _lib_with_groups()
        _add_members(L, self.ctx, _join(self.uri, "volumes"), [str(k) for k in range(len(self.rows))])
        g = C.c_void_p()
        _lib.check(L.radi_group_open(self.ctx.handle, _lib.encode_uri(self.uri), C.byref(g)))
        try:
            items = [_text_item("name", self.name)]
            if self.shape is not None:
                # The declared shape, kept by the publishing copy when no volume shows it.
                items += [(k, _lib.INT64, 1, np.int64(n).tobytes()) for k, n in zip(("x_dim", "y_dim", "z_dim"),
                                                                                    self.shape)]
            _meta_put_items(L.radi_group_meta(g), items)
        finally:
            L.radi_group_close(g)
        _add_members(L, self.ctx, self.uri, ["volumes", "obs"])

    @property
    def subjects(self) -> set:
        return {r[0] for r in self.rows}


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_OK.match(name):
        raise ValueError(f"bad collection name {name!r} (1-255 of A-Z a-z 0-9 _ . -, not starting with '.')")
    return name


def _publish_or_abandon(writer, ok: bool) -> None:
    """The end of a staged write: publish (writer._commit) when the block succeeded; in
    every case the writer is finished and its staging object and lock are released, so a
    failed publish or an exception in the block leaves nothing behind."""
    try:
        if ok:
            writer._commit()
    finally:
        writer._finalized = True
        writer._held.end()


class StreamingWriter:
    """Writes a stand-alone collection at `uri` one volume at a time (a context manager):

        with StreamingWriter(uri, shape=(240, 240, 155), name="T1w") as w:
            for data, sid in source:
                w.write_volume(data, obs_id=f"{sid}_T1w", obs_subject_id=sid, age=...)

    shape: (x, y, z) every volume must have, or None for any shapes. obs_schema: {column:
    dtype} of the obs attributes each write_volume gives as keywords (None: the first
    volume's keywords set them). name: the collection's name (default: the last component
    of uri). The collection appears at `uri` when the block ends without an exception
    (nothing does otherwise); open it with VolumeCollection(uri)."""

    def __init__(self, uri, shape=None, obs_schema=None, name: str | None = None, ctx=None):
        self.uri = os.fspath(uri)
        self.shape = shape
        self.obs_schema = dict(obs_schema) if obs_schema else {}
        self.name = name
        self._ctx = ctx
        self._stage = None
        self._staging = None
        self._held = None
        self._finalized = False

    def _context(self):
        return _lib.as_radi_ctx(self._ctx)

    def __enter__(self) -> "StreamingWriter":
        if self._stage is not None or self._finalized:
            raise RuntimeError("StreamingWriter already initialized")
        ctx = self._context()
        name = _check_name(self.name if self.name is not None else self.uri.rstrip("/").rsplit("/", 1)[-1])
        _refuse_existing(ctx, self.uri)
        self._held = _Staging(ctx, self.uri)
        self._staging = self._held.uri
        try:
            self._stage = self._open_stage(ctx, name)
        except BaseException:
            self._held.end()
            raise
        return self

    def _open_stage(self, ctx, name) -> _StagedCollection:
        return _StagedCollection(ctx, self._staging, name, self.shape, self.obs_schema or None)

    def write_volume(self, data, obs_id: str, obs_subject_id: str, **attrs) -> None:
        """Writes one volume (3-D or 4-D array) now, with its obs row (attrs: the obs
        attributes)."""
        if self._stage is None:
            raise RuntimeError("StreamingWriter not initialized. Use as context manager.")
        if self._finalized:
            raise RuntimeError("StreamingWriter already finalized")
        self._stage.write(data, obs_id, obs_subject_id, attrs)

    def write_batch(self, volumes) -> None:
        """Writes [(data, obs_id, obs_subject_id, attrs dict), ...] in order."""
        for data, obs_id, obs_subject_id, attrs in volumes:
            self.write_volume(data, obs_id, obs_subject_id, **(attrs or {}))

    @property
    def n_written(self) -> int:
        """Volumes written so far."""
        return len(self._stage.rows) if self._stage is not None else 0

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._finalized and self._stage is not None:
            _publish_or_abandon(self, exc_type is None)

    def _commit(self) -> None:
        from .collection import _Dataset

        self._stage.seal()
        _move_collection_out(_Dataset(self._staging, self._stage.ctx, standalone=True), self._stage.name, self.uri)


class _CollectionStreamingWriter(StreamingWriter):
    """A collection of a RadiObjectWriter: staged inside its dataset's staging object and
    registered there when its block ends without an exception."""

    def __init__(self, parent: "RadiObjectWriter", name: str, shape, obs_schema):
        super().__init__(_join(parent.uri, "collections", name), shape, obs_schema, name, parent._ctx)
        self._parent = parent

    def __enter__(self) -> "_CollectionStreamingWriter":
        if self._stage is not None or self._finalized:
            raise RuntimeError("StreamingWriter already initialized")
        p = self._parent
        p._busy.add(self.name)
        self._staging = _join(p._staging, "collections", self.name)
        try:
            self._stage = _StagedCollection(p._ctx_used, self._staging, self.name, self.shape,
                                            self.obs_schema or None, taken=p._all_obs_ids)
        except BaseException:
            p._busy.discard(self.name)
            _remove(p._ctx_used, self._staging)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._finalized or self._stage is None:
            return
        p = self._parent
        self._finalized = True
        p._busy.discard(self.name)
        if exc_type is not None:
            p._all_obs_ids.difference_update(self._stage.ids)
            _remove(p._ctx_used, self._staging)
            return
        self._stage.seal()
        _add_members(_lib_with_groups(), p._ctx_used, _join(p._staging, "collections"), [self.name])
        p._collections.append(self.name)
        p._subjects |= self._stage.subjects


class RadiObjectWriter:
    """Writes a dataset at `uri` collection by collection (a context manager, or call
    finalize()):

        with RadiObjectWriter(uri) as w:
            w.write_obs_meta(obs_meta_df)
            with w.add_collection("T1w", shape=(240, 240, 155)) as t1:
                t1.write_volume(data, "sub-01_T1w", "sub-01")
        ds = RadiObject(uri)

    obs_meta_schema: {column: dtype} of obs_meta's user columns (None: write_obs_meta's
    first frame sets them, or none). Every subject with a volume gets an obs_meta row:
    without user columns, missing rows are added as (subject, subject); with user columns
    a subject without a row is an error at finalize. obs_ids must be unique across the
    dataset. The dataset appears at `uri` on finalize (nothing does on failure)."""

    def __init__(self, uri, obs_meta_schema=None, ctx=None):
        self.uri = os.fspath(uri)
        self.obs_meta_schema = dict(obs_meta_schema) if obs_meta_schema else {}
        self._ctx = ctx
        self._ctx_used = None
        self._staging = None
        self._held = None
        self._created = False
        self._initialized = False
        self._finalized = False
        self._collections: list = []
        self._busy: set = set()
        self._subjects: set = set()
        self._all_obs_ids: set = set()
        self._meta_rows = False

    def __enter__(self) -> "RadiObjectWriter":
        if self._initialized:
            raise RuntimeError("RadiObjectWriter already initialized")
        self._ctx_used = _lib.as_radi_ctx(self._ctx)
        _refuse_existing(self._ctx_used, self.uri)
        self._held = _Staging(self._ctx_used, self.uri)
        self._staging = self._held.uri
        self._initialized = True
        return self

    def _require_open(self) -> None:
        if not self._initialized:
            raise RuntimeError("RadiObjectWriter not initialized. Use as context manager.")
        if self._finalized:
            raise RuntimeError("RadiObjectWriter already finalized")

    def _create(self, first_meta=None) -> None:
        """Creates the staging dataset, obs_meta's columns from obs_meta_schema or else
        from the first obs_meta frame."""
        if self._created:
            return
        from .dataframe import _pd
        from .radi_object import _obs_meta_schema

        L = _lib.lib()
        pd = _pd()
        if self.obs_meta_schema:
            cols = {"obs_subject_id": pd.Series([], dtype=object)}
            cols.update({c: _column(pd, [], dt) for c, dt in self.obs_meta_schema.items()})
            shape_frame = pd.DataFrame(cols)
        elif first_meta is not None and [c for c in first_meta.columns if c not in _KEYS]:
            shape_frame = first_meta
        else:
            shape_frame = None
        if shape_frame is None:
            _lib.check(L.radi_dataset_create(self._ctx_used.handle, _lib.encode_uri(self._staging)))
        else:
            sch, _frame = _obs_meta_schema(shape_frame)
            try:
                _lib.check(L.radi_dataset_create_with_obs_meta(self._ctx_used.handle,
                                                               _lib.encode_uri(self._staging), sch))
            finally:
                L.radi_schema_free(sch)
        self._created = True

    def write_obs_meta(self, df) -> None:
        """Writes obs_meta rows: obs_subject_id, optional obs_id (default the subject id),
        the user columns."""
        from .dataframe import Dataframe, _pd
        from .radi_object import _obs_meta_frame

        self._require_open()
        pd = _pd()
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"obs_meta must be a pandas DataFrame, got {type(df).__name__}")
        if "obs_subject_id" not in df.columns:
            raise ValueError("DataFrame must contain 'obs_subject_id' column")
        frame = _obs_meta_frame(pd, df)
        for c, dt in self.obs_meta_schema.items():
            if c in frame.columns:
                frame[c] = _column(pd, list(frame[c]), dt)
        self._create(frame)
        Dataframe(_join(self._staging, "obs_meta"), ctx=self._ctx_used).update(frame)
        self._meta_rows = True

    def add_collection(self, name: str, shape=None, obs_schema=None) -> StreamingWriter:
        """A StreamingWriter (use it as a context manager) for a new collection `name`."""
        self._require_open()
        _check_name(name)
        if name in self._collections or name in self._busy:
            raise ValueError(f"Collection '{name}' already added")
        self._create()
        return _CollectionStreamingWriter(self, name, shape, obs_schema)

    @property
    def collection_names(self) -> list:
        """Collections completed so far, in the order they were added."""
        return list(self._collections)

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._finalized and self._initialized:
            _publish_or_abandon(self, exc_type is None)

    def _commit(self) -> None:
        from .collection import _Dataset
        from .dataframe import Dataframe, _pd

        self._create()
        om = Dataframe(_join(self._staging, "obs_meta"), ctx=self._ctx_used)
        have = set(om.read(columns=[])["obs_subject_id"]) if self._meta_rows else set()
        missing = sorted(self._subjects - have)
        if missing and om.columns:
            raise ValueError(f"obs_meta has no row for subject(s) {missing[:5]} (obs_meta has user "
                             f"columns {om.columns}); call write_obs_meta with them")
        if missing:
            pd = _pd()
            om.update(pd.DataFrame({"obs_subject_id": missing, "obs_id": missing}))
        ds = _Dataset(self._staging, self._ctx_used)
        try:
            with ds.lock:
                _lib.check(_lib_with_groups().radi_dataset_move(ds.h, _lib.encode_uri(self.uri)))
        finally:
            ds.close()

    def finalize(self):
        """Writes the dataset to uri (if the block has not already) and opens it."""
        from .radi_object import RadiObject

        if not self._finalized:
            if not self._initialized:
                self.__enter__()
            self.__exit__(None, None, None)
        return RadiObject(self.uri, ctx=self._ctx)
