"""Lazy queries (radiobject 0.1.1's `Query` and `CollectionQuery`): selections and a
transform composed without touching data, resolved when asked for.

A query records its steps; nothing is read until a result is asked for (count,
to_obs_meta / to_obs, iter_volumes, iter_batches, to_numpy_stack, materialize, len,
repr). Then the steps run in order, each on the result of the previous one, so
`q.filter("age > 40").head(2)` is the first two subjects over 40 (0.1.1 intersects
every step with positions of the whole dataset instead). Subject filters run in C
over obs_meta, collection filters in C over each collection's obs (the filter language
of docs/dataframe.md); counts come from those tables alone, never from volumes.

`map(fn)` records a transform (ndarray -> ndarray; maps compose in order). It is applied
by materialize, which streams volume by volume (read, fn, write) through
radi.streaming, so memory holds one volume and its transform at a time and the result
appears all at once or not at all; to_numpy_stack and iter_batches apply it too. Without
a transform, materialize is the library's file-by-file copy of the selection, keeping
voxels and geometry exactly.
"""
from __future__ import annotations

import ctypes as C
import os
from dataclasses import dataclass

import numpy as np

from . import _lib

__all__ = ["Query", "CollectionQuery", "QueryCount", "VolumeBatch"]


@dataclass(frozen=True)
class VolumeBatch:
    """One batch of iter_batches: per collection the stacked volumes (N, X, Y, Z) and their
    obs_ids, and the batch's subjects."""

    volumes: dict
    subject_ids: tuple
    obs_ids: dict


@dataclass(frozen=True)
class QueryCount:
    """Query.count(): subjects, and volumes per collection."""

    n_subjects: int
    n_volumes: dict


def _compose(first, then):
    if first is None:
        return then

    def composed(v):
        return then(first(v))

    return composed


def _positions(key, n: int) -> list:
    """Positions of an int, slice, list of ints or bool mask over n items (negative
    positions count from the end)."""
    if isinstance(key, (bool, np.bool_)):
        raise TypeError("iloc key must be int, slice, list[int], or bool array")
    if isinstance(key, (int, np.integer)):
        key = [int(key)]
    if isinstance(key, slice):
        return list(range(*key.indices(n)))
    arr = np.asarray(key)
    if arr.dtype == np.bool_:
        if arr.shape != (n,):
            raise IndexError(f"boolean mask of length {arr.size} for {n} items")
        return [int(i) for i in np.flatnonzero(arr)]
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError("iloc key must be int, slice, list[int], or bool array")
    out = []
    for i in arr.reshape(-1).tolist():
        if i < -n or i >= n:
            raise IndexError(f"position {i} is out of range for {n} items")
        out.append(i % n)
    return out


def _iloc_key(key):
    """key checked when the step is recorded (its positions resolve later): an int, a
    slice, a list of ints or a bool mask."""
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer, slice, list, tuple, np.ndarray)):
        raise TypeError("iloc key must be int, slice, list[int], or bool array")
    if isinstance(key, (list, tuple, np.ndarray)):
        arr = np.asarray(key)
        if arr.size and arr.dtype.kind not in "iub":
            raise TypeError("iloc key must be int, slice, list[int], or bool array")
    return key


def _ids(key) -> list:
    return [key] if isinstance(key, str) else [str(k) for k in key]


def _sample(items: list, n: int, seed) -> list:
    """n items drawn without replacement (numpy's default_rng(seed)), in their order."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(items), size=min(n, len(items)), replace=False) if items else []
    return [items[i] for i in sorted(int(p) for p in pick)]


def _obs_keys(df, expr=None) -> list:
    """[(obs_subject_id, obs_id)] of an obs Dataframe's rows (matching expr), in obs order
    (byte order of the keys, the order volumes/<k> follow)."""
    rows = df.read(columns=["obs_subject_id", "obs_id"], value_filter=expr)
    keys = list(zip(rows["obs_subject_id"].astype(str), rows["obs_id"].astype(str)))
    return sorted(keys, key=lambda k: (k[0].encode(), k[1].encode()))


class _Steps:
    """The immutable chain of steps both lazy queries build: each call returns a new
    query of the same class with one more step (resolved later, in order)."""

    def __init__(self, source, _steps=(), _transform=None):
        self._source = source
        self._steps = tuple(_steps)
        self._transform = _transform

    def _then(self, *step):
        return type(self)(self._source, self._steps + (step,), self._transform)

    def _mapped(self, fn):
        return type(self)(self._source, self._steps, _compose(self._transform, fn))

    def head(self, n: int = 5):
        """The first n (of subjects for a Query, of volumes for a CollectionQuery)."""
        return self._then("iloc", slice(0, max(int(n), 0)))

    def tail(self, n: int = 5):
        """The last n."""
        return self._then("tail", int(n))


class Query(_Steps):
    """A lazy query over a RadiObject (or a view of one): RadiObject.lazy()."""

    # ------------------------------------------------------------ subjects --
    def filter(self, expr: str) -> "Query":
        """Subjects whose obs_meta row matches expr (e.g. "age > 40 and grade == 'HGG'")."""
        return self._then("filter", expr)

    def filter_subjects(self, ids) -> "Query":
        """Subjects among ids (ids not in the query are ignored)."""
        return self._then("subjects", frozenset(_ids(ids)))

    def iloc(self, key) -> "Query":
        """Subjects by position among the query's subjects (int, slice, list, bool mask)."""
        return self._then("iloc", _iloc_key(key))

    def loc(self, key) -> "Query":
        """Subjects by obs_subject_id (str or list), as filter_subjects."""
        return self.filter_subjects(key)

    def sample(self, n: int = 5, seed=None) -> "Query":
        """n of the query's subjects drawn at random (seeded: numpy default_rng(seed))."""
        return self._then("sample", int(n), seed)

    # --------------------------------------------------------- collections --
    def filter_collection(self, collection_name: str, expr: str) -> "Query":
        """Keeps the volumes of collection_name whose obs row matches expr, and the
        subjects with at least one such volume."""
        self._known(collection_name)
        return self._then("collection", collection_name, expr)

    def select_collections(self, names) -> "Query":
        """Limits the output to these collections (filters still apply)."""
        names = _ids(names)
        for n in names:
            self._known(n)
        return self._then("collections", frozenset(names))

    def _known(self, name: str) -> None:
        if name not in self._source.collection_names:
            raise KeyError(f"Collection '{name}' not found. Available: {list(self._source.collection_names)}")

    def map(self, fn) -> "Query":
        """Applies fn (ndarray -> ndarray, any shape) to each volume when the query is
        materialized (and in iter_batches); maps compose in order."""
        return self._mapped(fn)

    # ------------------------------------------------------------- resolve --
    def _resolve(self):
        """(subjects, {collection: [(obs_subject_id, obs_id)]}) in dataset order: the steps
        applied in turn on obs_meta's subjects and the obs tables (no volume is opened)."""
        src = self._source
        subjects = list(src.obs_subject_ids)
        collections = list(src.collection_names)
        keys: dict = {}  # collection -> [(sid, oid)] of its kept rows, read when first needed

        def rows(name):
            if name not in keys:
                keys[name] = _obs_keys(src._ds.obs(name))
            return keys[name]

        for step in self._steps:
            op = step[0]
            if op == "filter":
                hit = set(src._ds.obs_meta().read(columns=["obs_subject_id"],
                                                  value_filter=step[1])["obs_subject_id"].astype(str))
                subjects = [s for s in subjects if s in hit]
            elif op == "subjects":
                subjects = [s for s in subjects if s in step[1]]
            elif op == "iloc":
                subjects = [subjects[i] for i in _positions(step[1], len(subjects))]
            elif op == "tail":
                subjects = subjects[-step[1]:] if step[1] > 0 else []
            elif op == "sample":
                subjects = _sample(subjects, step[1], step[2])
            elif op == "collections":
                collections = [c for c in collections if c in step[1]]
            elif op == "collection":
                name, expr = step[1], step[2]
                hit = {k[1] for k in _obs_keys(src._ds.obs(name), expr)}
                keys[name] = [k for k in rows(name) if k[1] in hit]
                have = {k[0] for k in keys[name]}
                subjects = [s for s in subjects if s in have]
        kept = set(subjects)
        return subjects, {c: [k for k in rows(c) if k[0] in kept] for c in collections}

    def _selected(self):
        """(subjects, {collection: [obs_id]})."""
        subjects, vols = self._resolve()
        return subjects, {c: [o for _s, o in keys] for c, keys in vols.items()}

    # ------------------------------------------------------------- results --
    def count(self) -> QueryCount:
        """Subjects and volumes per collection, from obs_meta and obs alone."""
        subjects, vols = self._selected()
        return QueryCount(n_subjects=len(subjects), n_volumes={c: len(v) for c, v in vols.items()})

    def __len__(self) -> int:
        return len(self._selected()[0])

    def __repr__(self) -> str:
        c = self.count()
        return (f"Query({c.n_subjects} subjects, {sum(c.n_volumes.values())} volumes across "
                f"[{', '.join(c.n_volumes)}])")

    def to_obs_meta(self):
        """obs_meta rows of the query's subjects (pandas), in subject order."""
        subjects = self._selected()[0]
        df = self._source._ds.obs_meta()
        if not subjects:
            return df.read().iloc[0:0].reset_index(drop=True)
        rows = df.read(index={"obs_subject_id": subjects})
        order = {s: i for i, s in enumerate(subjects)}
        return rows.iloc[np.argsort([order[s] for s in rows["obs_subject_id"]], kind="stable")] \
                   .reset_index(drop=True)

    def _volume(self, name: str, obs_id: str):
        return self._source._ds.open_volume(name, obs_id)

    def iter_volumes(self, collection_name: str | None = None):
        """The query's volumes (radi.Volume), collection by collection in obs order."""
        _subjects, vols = self._selected()
        if collection_name is not None:
            if collection_name not in vols:
                raise ValueError(f"Collection '{collection_name}' not in query scope")
            vols = {collection_name: vols[collection_name]}
        for name, ids in vols.items():
            for o in ids:
                yield self._volume(name, o)

    def _array(self, name: str, obs_id: str) -> np.ndarray:
        vol = self._volume(name, obs_id)
        try:
            data = vol.to_numpy()
        finally:
            vol.close()
        return self._transform(data) if self._transform is not None else data

    def iter_batches(self, batch_size: int = 32):
        """VolumeBatch per batch_size subjects: each collection's volumes of those
        subjects stacked (N, X, Y, Z) (the transform applied), with their obs_ids."""
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        subjects, vols = self._resolve()
        for i in range(0, len(subjects), int(batch_size)):
            batch = subjects[i:i + int(batch_size)]
            want = set(batch)
            volumes, obs_ids = {}, {}
            for name, keys in vols.items():
                mine = [o for s, o in keys if s in want]
                if mine:
                    volumes[name] = np.stack([self._array(name, o) for o in mine])
                    obs_ids[name] = tuple(mine)
            yield VolumeBatch(volumes=volumes, subject_ids=tuple(batch), obs_ids=obs_ids)

    def materialize(self, uri, streaming: bool = True, ctx=None):
        """Writes the query's result as a new dataset at uri and opens it (all-or-nothing:
        nothing is left at uri on failure). Without map: the library's file-by-file copy
        of the selected subjects, collections and volumes (geometry kept). With map:
        each volume is read, transformed and written in turn (radi.streaming), obs and
        obs_meta rows kept; collections left without volumes are omitted, as in 0.1.1.
        `streaming` is accepted for 0.1.1's signature (radi always streams)."""
        from .radi_object import RadiObject

        subjects, vols = self._selected()
        ds = self._source._ds
        dst = os.fspath(uri)
        ctx = _lib.as_radi_ctx(ctx) if ctx is not None else ds.ctx   # the source's storage settings by default
        if self._transform is None:
            # obs_ids only narrow the copy when a collection filter picked volumes.
            picked = any(step[0] == "collection" for step in self._steps)
            sel, keep = _lib.selection(collections=list(vols), subjects=subjects,
                                       obs_ids=[o for ids in vols.values() for o in ids] if picked else None)
            with ds.lock:
                _lib.check(_lib.lib().radi_dataset_materialize(ds.h, _lib.encode_uri(dst), C.byref(sel)))
            del keep
            return RadiObject(dst, ctx=ctx)
        from .streaming import RadiObjectWriter

        with RadiObjectWriter(dst, ctx=ctx) as w:
            w.write_obs_meta(self.to_obs_meta())
            for name, ids in vols.items():
                if ids:
                    _stream(ds.obs(name), ids, lambda o, n=name: self._array(n, o),
                            lambda schema, n=name: w.add_collection(n, obs_schema=schema))
        return RadiObject(dst, ctx=ctx)


def _stream(obs_df, ids, read, open_writer) -> None:
    """Writes volumes ids (read(obs_id) gives each array) with their obs rows through the
    StreamingWriter open_writer(obs_schema) returns."""
    rows = obs_df.read(index={"obs_id": list(ids)}).set_index("obs_id", drop=False)
    schema = {c: rows[c].dtype for c in rows.columns if c not in ("obs_subject_id", "obs_id")}
    with open_writer(schema) as w:
        for o in ids:
            row = rows.loc[o]
            attrs = {c: (row[c].item() if hasattr(row[c], "item") else row[c]) for c in schema}
            w.write_volume(read(o), o, str(row["obs_subject_id"]), **attrs)


class CollectionQuery(_Steps):
    """A lazy query over a VolumeCollection (or a view): VolumeCollection.lazy() / .map()."""

    def filter(self, expr: str) -> "CollectionQuery":
        """Volumes whose obs row matches expr."""
        return self._then("filter", expr)

    def filter_subjects(self, ids) -> "CollectionQuery":
        """Volumes of these subjects."""
        return self._then("subjects", frozenset(_ids(ids)))

    def iloc(self, key) -> "CollectionQuery":
        """Volumes by position among the query's volumes (int, slice, list, bool mask)."""
        return self._then("iloc", _iloc_key(key))

    def loc(self, key) -> "CollectionQuery":
        """Volumes by obs_id (str or list; ids not in the query are ignored)."""
        return self._then("ids", frozenset(_ids(key)))

    def sample(self, n: int = 5, seed=None) -> "CollectionQuery":
        return self._then("sample", int(n), seed)

    def map(self, fn) -> "CollectionQuery":
        """Applies fn (ndarray -> ndarray) to each volume in materialize and
        to_numpy_stack; maps compose in order."""
        return self._mapped(fn)

    def _resolve(self):
        """The selected view of the source collection (no volume is read)."""
        vc = self._source
        for step in self._steps:
            op = step[0]
            if op == "filter":
                vc = vc.filter(step[1])
            elif op == "subjects":
                vc = vc.loc[[o for o, s in zip(vc.obs_ids, vc.obs_subject_ids) if s in step[1]]]
            elif op == "ids":
                vc = vc.loc[[o for o in vc.obs_ids if o in step[1]]]
            elif op == "iloc":
                vc = vc.loc[[vc.obs_ids[i] for i in _positions(step[1], len(vc))]]
            elif op == "tail":
                vc = vc.tail(step[1])
            elif op == "sample":
                vc = vc.loc[_sample(vc.obs_ids, step[1], step[2])]
        return vc

    def count(self) -> int:
        """Volumes selected (no volume is read)."""
        return len(self._resolve())

    def __len__(self) -> int:
        return self.count()

    def __repr__(self) -> str:
        vc = self._resolve()
        shape = vc.shape
        return (f"CollectionQuery('{self._source.name}', {len(vc)} volumes, "
                f"shape={'x'.join(map(str, shape)) if shape else 'heterogeneous'})")

    def to_obs(self):
        """obs rows of the selected volumes (pandas), in the query's order."""
        vc = self._resolve()
        obs = vc.obs
        return obs.read() if hasattr(obs, "read") else obs

    def iter_volumes(self):
        """The selected volumes (radi.Volume), in the query's order."""
        yield from self._resolve()

    def _arrays(self, vc):
        for v in vc:
            data = v.to_numpy()
            v.close()
            yield self._transform(data) if self._transform is not None else data

    def to_numpy_stack(self) -> np.ndarray:
        """The selected volumes (transformed when map was given) stacked (N, X, Y, Z)."""
        vc = self._resolve()
        if not len(vc):
            raise ValueError("No volumes match the query")
        return np.stack(list(self._arrays(vc)))

    def materialize(self, uri, name: str | None = None, ctx=None):
        """Writes the selected volumes as a stand-alone collection at uri named `name`
        (default: the source's) and opens it; all-or-nothing. Without map: the library's
        file-by-file copy (voxels, geometry and obs kept exactly). With map: volume by
        volume, read, transformed and written (radi.streaming), obs rows kept."""
        from .collection import VolumeCollection
        from .streaming import StreamingWriter

        vc = self._resolve()
        if not len(vc):
            raise ValueError("No volumes match the query")
        cname = name or self._source.name
        ctx = _lib.as_radi_ctx(ctx) if ctx is not None else self._source._ds.ctx
        if self._transform is None:
            return vc.materialize(uri, name=cname, ctx=ctx)
        ids = vc.obs_ids
        _stream(self._source._ds.obs(self._source.name), ids,
                lambda o: next(self._arrays([vc.loc[o]])),
                lambda schema: StreamingWriter(uri, shape=None, obs_schema=schema, name=cname, ctx=ctx))
        return VolumeCollection(uri, ctx=ctx)
