"""RadiObject: a dataset of subjects x collections of volumes (radiobject 0.1.1's layout
and names; include/radi/radiobject.h is the C model underneath).

Views (iloc, loc, filter, head, tail, sample, select_collections) are cheap and
immutable: the shared open dataset plus the tuples of subjects and collections kept. A
subject-filtered view filters its collections too (0.1.1 does not, its defect D4).

Subject ids in from_niftis. With a (path, subject_id) list the ids are as given. With a
glob or a directory (found by the library, as `radi ingest` finds them:
radi_sources_from_pattern in include/radi/radiobject.h, local or s3://), a file's subject
id is its name without `.nii.gz` / `.nii` (any case), less a trailing `_<collection>`
when it has one: `sub-01_FLAIR.nii.gz` in collection FLAIR gives `sub-01` (0.1.1 keeps
the suffix, giving `sub-01_FLAIR` and obs_id `sub-01_FLAIR_FLAIR`); two files giving one
subject are an error naming both. obs_ids are `{obs_subject_id}_{collection}`.
"""
from __future__ import annotations

import ctypes as C
import os

import numpy as np

from . import _dicom, _lib
from ._sources import (_legacy_images, _new_subjects_need_rows, _refuse_existing_obs_ids, _reorient_mode,
                       _route, _sources, _sources_lib)
from .collection import (VolumeCollection, _Dataset, _ExistsError, _ILoc, _LocIdx, _NotFoundError, _positions,
                         _validate)
from .ctx import _tile_struct, get_config

__all__ = ["RadiObject"]

def _progress_printer(total: int):
    """A C progress callback that keeps one status line on stderr."""
    import sys

    def report(_user, done, _total, path):
        name = os.path.basename(path.decode("utf-8", "replace")) if path else ""
        sys.stderr.write(f"\r[{done}/{total}] {name}\033[K" + ("\n" if done == total else ""))
        sys.stderr.flush()

    return _lib.PROGRESS_FN(report)


def _ingest(ds: _Dataset, plan, validate_alignment: bool = False, obs_meta=None,
            progress: bool = False, dicom_plan=None, keep_patient_id: bool = False,
            reorient=(0, 1)) -> None:
    """One all-or-nothing ingest (radi_dataset_ingest_images) of the NIfTI plan
    [(collection, [(path, sid, oid)])] and the DICOM plan [(collection, [(dir, sid, oid,
    series_uid)])] (_dicom.plan): tiling and compression from configure(); obs_meta a
    DataFrame of obs_meta rows; reorient as _sources._reorient_mode gives it."""
    L = _lib.lib()
    opt = _lib.IngestOptions()
    L.radi_ingest_options_init(C.byref(opt))
    w = get_config().write
    opt.tile = _tile_struct(w.tile)
    opt.compression = w.compression._struct()
    opt.validate_alignment = int(bool(validate_alignment))
    opt.reorient, opt.store_original_affine = reorient
    cells = _obs_meta_cells(ds, obs_meta) if obs_meta is not None else None
    if cells is not None and cells.n:
        opt.obs_meta_nbuffers = cells.nbufs
        opt.obs_meta_buffers = C.cast(cells.bufs, C.POINTER(_lib.SparseBuffer))
        opt.obs_meta_rows = cells.n
    keep = []
    colls = (_lib.IngestCollection * len(plan))()
    for k, (name, srcs) in enumerate(plan):
        enc = [(p.encode(), sid.encode(), oid.encode() if oid else None) for p, sid, oid in srcs]
        arr = (_lib.NiftiSource * len(enc))(*[_lib.NiftiSource(*e) for e in enc])
        keep += [enc, arr]
        colls[k] = _lib.IngestCollection(name.encode(), len(enc), arr)
    dicom_plan = dicom_plan or []
    dcolls, dkeep = _dicom.collections(dicom_plan)
    dopt = _dicom.options(keep_patient_id)
    if progress:
        opt.progress = _progress_printer(sum(len(srcs) for _n, srcs in plan + dicom_plan))
    try:
        with ds.lock:
            _lib.check(L.radi_dataset_ingest_images(ds.h, len(plan), colls, len(dicom_plan), dcolls,
                                                    C.byref(opt), C.byref(dopt)))
    finally:
        del dkeep
        ds.refresh()


def _obs_meta_cells(ds: _Dataset, df):
    """obs_meta rows for an append, checked against the dataset's obs_meta schema: key
    columns obs_subject_id (and obs_id, default obs_subject_id), only known columns;
    missing ones keep stored values for existing rows (new rows need every
    non-nullable one)."""
    from .dataframe import _Cells, _pd

    pd = _pd()
    frame = _obs_meta_frame(pd, df)
    target = ds.obs_meta()
    return _Cells(target.uri, target._dims + target._attrs, target._complete(pd, frame))


_OBS_META_KEYS = ["obs_subject_id", "obs_id"]


def _obs_meta_frame(pd, df):
    """A user obs_meta table as rows: obs_subject_id (required) and obs_id (default: the
    subject id, as 0.1.1) as strings, each key once."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"obs_meta must be a pandas DataFrame, got {type(df).__name__}")
    if "obs_subject_id" not in df.columns:
        raise ValueError("obs_meta must have an 'obs_subject_id' column")
    frame = df.reset_index(drop=True).copy()
    frame["obs_subject_id"] = frame["obs_subject_id"].astype(str)
    frame["obs_id"] = frame["obs_id"].astype(str) if "obs_id" in frame.columns \
        else frame["obs_subject_id"]
    dup = frame.duplicated(_OBS_META_KEYS)
    if dup.any():
        raise ValueError(f"obs_meta repeats the key {tuple(frame.loc[dup, _OBS_META_KEYS].iloc[0])}")
    return frame


def _obs_meta_schema(df):
    """The C schema of a user obs_meta (dims obs_subject_id, obs_id; the other columns as
    attributes, as Dataframe.from_pandas maps them) and the frame of its rows."""
    from .dataframe import _attr_spec, _filters, _pd

    pd = _pd()
    frame = _obs_meta_frame(pd, df)
    keys = _OBS_META_KEYS
    attrs = [_attr_spec(pd, c, frame[c]) for c in frame.columns if c not in keys]
    L = _lib.lib()
    sch = C.c_void_p()
    _lib.check(L.radi_schema_create(_lib.SPARSE, C.byref(sch)))
    try:
        zstd = _filters((_lib.FILTER_ZSTD, -1))
        _lib.check(L.radi_schema_set_offsets_filters(sch, C.byref(zstd)))
        for k in keys:
            _lib.check(L.radi_schema_add_dim(sch, k.encode(), _lib.STRING_ASCII, None, None, None,
                                             C.byref(zstd)))
        for name, code, var, nullable, _r in attrs:
            _lib.check(L.radi_schema_add_attr(sch, name.encode(), code, _lib.VAR_NUM if var else 1,
                                              int(nullable), C.byref(zstd), None, 0))
    except BaseException:
        L.radi_schema_free(sch)
        raise
    return sch, frame[keys + [c for c in frame.columns if c not in keys]]


class RadiObject:
    """A radi dataset: `RadiObject(uri)` opens one (radi's or radiobject 0.1.1's),
    `RadiObject.from_niftis(uri, images={...})` creates one."""

    def __init__(self, uri=None, ctx=None, *, _ds=None, _subjects=None, _collections=None):
        self._ds = _ds if _ds is not None else _Dataset(uri, ctx)
        self._subjects = tuple(_subjects) if _subjects is not None else None
        self._colls = tuple(_collections) if _collections is not None else None

    def __reduce__(self):
        # A token: the dataset's (URI, options, names) and the view's selection.
        return (_restore_radi_object, (self._ds, self._subjects, self._colls))

    def _derive(self, subjects=None, collections=None) -> "RadiObject":
        return RadiObject(_ds=self._ds,
                          _subjects=subjects if subjects is not None else self._subjects,
                          _collections=collections if collections is not None else self._colls)

    # -------------------------------------------------------------- properties --
    @property
    def is_view(self) -> bool:
        return self._subjects is not None or self._colls is not None

    @property
    def uri(self):
        """The dataset's URI (None for a view, as in 0.1.1)."""
        return None if self.is_view else self._ds.uri

    @property
    def collection_names(self) -> tuple:
        """Collection names in the order they were added to the dataset (the order of the
        `collections` group's member entries). 0.1.1 lists them in TileDB's hash-map
        order, which is arbitrary (FLAIR then T1w gives ('T1w', 'FLAIR')): compare as
        sets, or look collections up by name."""
        return self._colls if self._colls is not None else self._ds.collections

    @property
    def n_collections(self) -> int:
        return len(self.collection_names)

    @property
    def obs_subject_ids(self) -> list:
        return list(self._subjects if self._subjects is not None else self._ds.subjects)

    @property
    def index(self):
        """The subjects (obs_subject_ids, in this object's order) as a radi.indexing.Index:
        get_index, get_key, keys, key_to_idx, len, in."""
        got = self.__dict__.get("_index")
        if got is None or got.keys != tuple(self.obs_subject_ids):
            from .indexing import Index

            got = self.__dict__["_index"] = Index.build(self.obs_subject_ids)
        return got

    def get_obs_row_by_obs_subject_id(self, obs_subject_id: str):
        """The subject's obs_meta row as a pandas DataFrame (empty when the subject is not
        in this dataset or view, as 0.1.1 gives it)."""
        rows = self._ds.obs_meta().read(index={"obs_subject_id": [str(obs_subject_id)]})
        return rows if obs_subject_id in set(self.obs_subject_ids) else rows.iloc[0:0]

    # radiobject 0.1.1's internal names, kept for code that calls them (radi/_private_api.py).
    @property
    def _metadata(self) -> dict:
        """The dataset group's metadata as a dict (subject_count, n_collections), as
        0.1.1's; a view gives its dataset's."""
        from ._private_api import group_metadata

        return group_metadata(self._ds.ctx, self._ds.uri)

    @classmethod
    def _create(cls, uri, obs_meta_schema=None, n_subjects: int = 0, ctx=None) -> "RadiObject":
        """0.1.1's internal constructor of an empty dataset, kept for code that calls it:
        radi._private_api.create_radi_object."""
        from ._private_api import create_radi_object

        return create_radi_object(cls, uri, obs_meta_schema, n_subjects, ctx)

    @classmethod
    def _from_volume_collections(cls, uri, collections, obs_meta=None, ctx=None) -> "RadiObject":
        """0.1.1's internal constructor of a dataset from {name: VolumeCollection}, kept
        for code that calls it: radi._private_api.radi_object_from_volume_collections."""
        from ._private_api import radi_object_from_volume_collections

        return radi_object_from_volume_collections(cls, uri, collections, obs_meta, ctx)

    def copy(self) -> "RadiObject":
        """An equal RadiObject object (a view stays a view of the same subjects and
        collections), sharing the open dataset; nothing is written (materialize writes)."""
        return self._derive()

    def __len__(self) -> int:
        return len(self.obs_subject_ids)

    def __iter__(self):
        return iter(self.collection_names)

    def __contains__(self, name) -> bool:
        return name in self.collection_names

    @property
    def all_obs_ids(self) -> list:
        return [o for n in self.collection_names for o in self.collection(n).obs_ids]

    @property
    def obs_meta(self):
        """Per-subject metadata: the `obs_meta` radi.Dataframe (`.read()` gives pandas);
        on a subject view, a pandas DataFrame of the view's subjects, as 0.1.1 gives."""
        df = self._ds.obs_meta()
        if self._subjects is None:
            return df
        return df.read(index={"obs_subject_id": list(self._subjects)})

    def __repr__(self) -> str:
        names = ", ".join(self.collection_names) if self.collection_names else "none"
        view = " (view)" if self.is_view else ""
        return f"RadiObject({len(self)} subjects, {self.n_collections} collections: [{names}]){view}"

    # ----------------------------------------------------------- collections --
    def collection(self, name: str) -> VolumeCollection:
        """The collection `name`; on a subject view, only those subjects' volumes."""
        if name not in self.collection_names:
            raise KeyError(f"Collection '{name}' not found. Available: {tuple(self.collection_names)}")
        vc = VolumeCollection(_ds=self._ds, _name=name)
        return vc if self._subjects is None else vc._restrict_subjects(self._subjects)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            if name in self.collection_names:
                return self.collection(name)
        except AttributeError:
            pass
        raise AttributeError(f"'RadiObject' has no collection '{name}'")

    def __dir__(self):
        return list(super().__dir__()) + list(self.collection_names)

    def select_collections(self, names) -> "RadiObject":
        names = [names] if isinstance(names, str) else list(names)
        for n in names:
            if n not in self.collection_names:
                raise KeyError(f"Collection '{n}' not found. Available: {tuple(self.collection_names)}")
        return self._derive(collections=names)

    # --------------------------------------------------------------- subjects --
    @property
    def iloc(self) -> _ILoc:
        """Subjects by position (int, slice, list, bool mask): always a view."""
        return _ILoc(self)

    @property
    def loc(self) -> _LocIdx:
        """Subjects by obs_subject_id (str or list): always a view."""
        return _LocIdx(self)

    def __getitem__(self, key):
        return self._loc(key) if isinstance(key, str) else self._iloc(key)

    def _iloc(self, key):
        ids = self.obs_subject_ids
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            key = [int(key)]
        return self._derive(subjects=[ids[i] for i in _positions(key, len(ids), "subjects")])

    def _loc(self, key):
        want = [key] if isinstance(key, str) else list(key)
        have = set(self.obs_subject_ids)
        for s in want:
            if s not in have:
                raise KeyError(f"obs_subject_id '{s}' not found")
        return self._derive(subjects=want)

    def head(self, n: int = 5) -> "RadiObject":
        return self._derive(subjects=self.obs_subject_ids[:n])

    def tail(self, n: int = 5) -> "RadiObject":
        ids = self.obs_subject_ids
        return self._derive(subjects=ids[-n:] if n > 0 else [])

    def sample(self, n: int = 5, seed=None) -> "RadiObject":
        ids = self.obs_subject_ids
        rng = np.random.default_rng(seed)
        pick = sorted(rng.choice(len(ids), size=min(n, len(ids)), replace=False))
        return self._derive(subjects=[ids[i] for i in pick])

    def filter(self, expr: str) -> "RadiObject":
        """A view of the subjects whose obs_meta row matches expr, e.g. "age > 40 and
        grade == 'HGG'" (the filter language of docs/dataframe.md)."""
        df = self._ds.obs_meta()
        keep = set(df.read(columns=["obs_subject_id"], value_filter=expr)["obs_subject_id"])
        return self._derive(subjects=[s for s in self.obs_subject_ids if s in keep])

    def lazy(self):
        """A lazy Query over this dataset or view (radi/query.py)."""
        from .query import Query

        return Query(self)

    # ------------------------------------------------------------ summaries --
    def describe(self) -> str:
        """A text summary: URI, subjects, collections with shapes, label columns of
        obs_meta (int, float or string columns with at most 10 distinct values)."""
        lines = ["RadiObject Summary", "==================", f"URI: {self.uri or '(view)'}",
                 f"Subjects: {len(self)}", f"Collections: {self.n_collections}", "", "Collections:"]
        for name in self.collection_names:
            coll = self.collection(name)
            shape = coll.shape
            shape_str = "x".join(str(d) for d in shape) if shape else "heterogeneous"
            mixed = "" if shape else " (mixed shapes)"
            lines.append(f"  - {name}: {len(coll)} volumes, shape={shape_str}{mixed}")
        meta = self.obs_meta
        meta = meta if not hasattr(meta, "read") else meta.read()
        labels = [c for c in meta.columns if c not in ("obs_subject_id", "obs_id")
                  and meta[c].dtype in (np.int64, np.int32, np.float64, np.float32, object)
                  and meta[c].nunique() <= 10]
        if labels:
            lines += ["", "Label Columns:"]
            lines += [f"  - {c}: {meta[c].value_counts().to_dict()}" for c in labels]
        return "\n".join(lines)

    def validate(self) -> None:
        """Raises ValueError listing every inconsistency radi_dataset_validate finds."""
        _validate(self._ds)

    def consolidate(self, mode: str = "fragments", progress: bool = False) -> None:
        """Consolidates every array of the dataset in `mode`: "fragments" (default),
        "commits", "fragment_meta", "array_meta" (also every group's metadata) or "all"
        (the four, in that order): every volume, every obs, obs_meta. Readers see the
        same values before and after; nothing is deleted until vacuum(mode).
        progress: a status line on stderr as objects complete."""
        self._attached("consolidate")
        self._ds.maintain(mode, vacuum=False, progress=progress)

    def vacuum(self, mode: str = "fragments", progress: bool = False) -> None:
        """Deletes what an earlier consolidate(mode) made obsolete, in every array (and
        with array_meta every group) of the dataset."""
        self._attached("vacuum")
        self._ds.maintain(mode, vacuum=True, progress=progress)

    def get_volume(self, obs_id: str):
        """The Volume with this obs_id, from whichever collection holds it."""
        for name in self.collection_names:
            coll = self.collection(name)
            if obs_id in coll:
                return coll.loc[obs_id]
        raise KeyError(f"obs_id '{obs_id}' not found in any collection")

    # ------------------------------------------------------------------ writes --
    def _attached(self, what: str) -> None:
        if self.is_view:
            raise ValueError(f"Cannot {what} on a view. Call materialize(uri) first to create "
                             "an attached RadiObject.")

    def materialize(self, uri, streaming: bool = True, ctx=None) -> "RadiObject":
        """Writes this dataset (or view: its subjects and collections) as a new dataset at
        uri. Volumes are copied file by file, so voxels, tiling, compression, affine,
        orientation and NIfTI keys are kept exactly (0.1.1 drops the geometry); obs and
        obs_meta rows keep every column. `streaming` is accepted for 0.1.1's signature."""
        sel, keep = _lib.selection(collections=self._colls, subjects=self._subjects)
        dst = os.fspath(uri)
        with self._ds.lock:
            _lib.check(_lib.lib().radi_dataset_materialize(self._ds.h, _lib.encode_uri(dst),
                                                           C.byref(sel)))
        del keep
        return RadiObject(dst, ctx=_lib.as_radi_ctx(ctx) if ctx is not None else self._ds.ctx)

    def append(self, images=None, niftis=None, obs_meta=None, validate_alignment: bool = False,
               progress: bool = False, dicom_dirs=None, reorient=None, *, series_uid=None,
               keep_patient_id: bool = False) -> None:
        """Adds NIfTI files to existing or new collections, all-or-nothing.

        images: {collection: glob | directory | [(path, subject_id)]}, as from_niftis.
        niftis: 0.1.1's [(path, subject_id)]; each file goes to the collection its name
        ends with (`sub-04_FLAIR.nii.gz` -> FLAIR), else, as 0.1.1, to the one named after
        its series type (`_DWI` -> dwi; `{type}_{x}x{y}x{z}` if that one has another
        shape), created if missing. niftis with dicom_dirs: ValueError, as 0.1.1.
        obs_meta: a DataFrame of obs_meta rows (obs_subject_id, optional obs_id, user
        columns); required for new subjects (ValueError "obs_meta required for new
        subjects", as 0.1.1); rows of existing subjects update theirs, columns left out
        keep their values.
        A collection whose volumes share one shape takes only that shape ("Dimension
        mismatch"); validate_alignment: the collections given must cover the same
        subjects, and files of one collection share one shape.
        dicom_dirs: 0.1.1's [(series_dir, subject_id)]; each series goes to the collection
        named after its Modality ("CT", "MR"; created if new), as from_dicoms.
        reorient: 0.1.1's (None: configure's orientation.reorient_on_load): permute and
        flip each volume's axes to the canonical target (RAS; no resampling), see
        docs/dataset.md.
        Volumes stay in sorted order (renumbered when new keys sort between old ones)."""
        self._attached("append")
        if niftis is not None and dicom_dirs is not None:
            raise ValueError("Cannot provide both niftis and dicom_dirs")
        mode = _reorient_mode(reorient)
        plan = [(str(n), _sources(self._ds.ctx, str(n), spec)) for n, spec in (images or {}).items()]
        if niftis:
            names = self.collection_names
            plan += _route(niftis, names, lambda n: self.collection(n).shape)
        dplan = _dicom.plan(self._ds.ctx, dicom_dirs, series_uid=series_uid) if dicom_dirs else []
        if not plan and not dplan:
            raise ValueError("Must provide images={collection: ...}, niftis=[(path, subject_id)] or "
                             "dicom_dirs=[(series_dir, subject_id)]")
        merged: dict = {}
        for name, srcs in plan:
            merged.setdefault(name, []).extend(srcs)
        _new_subjects_need_rows(self._ds, plan, dplan, obs_meta)
        _refuse_existing_obs_ids(self._ds, plan, dplan)
        _ingest(self._ds, list(merged.items()), validate_alignment, obs_meta, progress, dplan,
                keep_patient_id, reorient=mode)

    def rename_collection(self, old: str, new: str) -> None:
        """Renames a collection: its directory, its group member and its `name`, so the
        dataset opens under the new name everywhere (0.1.1 leaves the directory behind)."""
        self._attached("rename a collection")
        # 0.1.1's exceptions for the two mistakes a caller can check for.
        if old not in self.collection_names:
            raise _NotFoundError(f"Collection '{old}' not found")
        if new in self.collection_names:
            raise _ExistsError(f"Collection '{new}' already exists")
        try:
            with self._ds.lock:
                _lib.check(_lib.lib().radi_dataset_rename_collection(self._ds.h, old.encode(),
                                                                     new.encode()))
        finally:
            self._ds.refresh()

    # ----------------------------------------------------------------- ingest --
    @classmethod
    def from_dicoms(cls, uri, dicom_dirs, obs_meta=None, reorient=None, ctx=None, progress: bool = False,
                    *, series_uid=None, keep_patient_id: bool = False) -> "RadiObject":
        """Creates a dataset at uri from DICOM series, with 0.1.1's signature and names.

        dicom_dirs: [(series_dir, subject_id)] (a third item, an obs_id, is radi's
        addition); each directory must hold one image series (or pass series_uid). Series
        go to collections named after their Modality ("CT", "MR", ...) with obs_ids
        "{subject_id}_{Modality}", as 0.1.1. Unlike 0.1.1, slices are sorted by position
        along the slice normal (not InstanceNumber), spacing comes from the positions,
        the affine from the first slice in that order, and reads return physical values
        (Hounsfield units for CT); docs/dataset.md §10 lists every difference.
        obs_meta: as from_niftis. keep_patient_id: also store PatientID (default: no
        patient identifier is stored). reorient: as from_niftis.
        All-or-nothing: if anything fails, nothing is left at uri."""
        mode = _reorient_mode(reorient)
        ctx = _lib.as_radi_ctx(ctx)
        dplan = _dicom.plan(ctx, dicom_dirs, series_uid=series_uid)
        return cls._create_and_ingest(uri, ctx, [], dplan, False, obs_meta, progress, keep_patient_id,
                                      reorient=mode)

    @classmethod
    def from_niftis(cls, uri, niftis=None, image_dir=None, collection_name=None, images=None,
                    validate_alignment: bool = False, obs_meta=None, reorient=None, ctx=None,
                    progress: bool = False) -> "RadiObject":
        """Creates a dataset at uri from NIfTI files (.nii, .nii.gz; NIfTI-1 or -2), with
        0.1.1's signature.

        images: {collection name: a glob, a directory, or a list of (path, subject_id)
        pairs or (path, subject_id, obs_id) triples} (subject ids of globs and
        directories: see the module docstring; obs_ids default to
        "{subject_id}_{collection}"). A dict passed in the niftis position is taken as
        images (radi's earlier signature).
        niftis / image_dir (0.1.1's legacy forms, not with images): [(path, subject_id)]
        or a directory's NIfTI files; all go into collection_name when given, else into
        collections named after the series type inferred from each file name
        (`sub-01_T1w.nii.gz` -> T1w, as 0.1.1); niftis= with collection_name: obs_ids
        "{subject_id}_{series type}", as 0.1.1.
        validate_alignment: refuse collections that do not cover the same subjects (as
        0.1.1) or whose files differ in spatial shape (radi's addition).
        obs_meta: optional pandas DataFrame with an obs_subject_id column (and optionally
        obs_id) plus user columns, one row per subject; it must cover every subject.
        reorient: True permutes and flips each volume's axes to the canonical target (RAS,
        or configure's orientation.canonical_target; no resampling; a file already RAS is
        kept), as 0.1.1: orientation_* metadata describe the stored voxels, original_affine
        the file's; obs rows describe the file. None: orientation.reorient_on_load.
        Tiling and compression follow configure(tile=..., compression=...). All files are
        checked before anything is written; if anything fails, nothing is left at uri.
        progress: a status line on stderr as files complete.
        """
        if isinstance(niftis, dict) and images is None:
            niftis, images = None, niftis
        if images is not None:
            if niftis is not None or image_dir is not None or collection_name is not None:
                raise ValueError("Cannot use 'images' with legacy parameters")
            if not images:
                raise ValueError("images dict cannot be empty")
        elif niftis is not None and image_dir is not None:
            raise ValueError("Cannot specify both 'niftis' and 'image_dir'")
        elif niftis is None and image_dir is None:
            raise ValueError("Must specify 'images', 'niftis', or 'image_dir'")
        mode = _reorient_mode(reorient)
        ctx = _lib.as_radi_ctx(ctx)
        if images is None:
            images = _legacy_images(ctx, niftis, image_dir, collection_name)
        plan = [(str(name), _sources(ctx, str(name), spec)) for name, spec in images.items()]
        return cls._create_and_ingest(uri, ctx, plan, [], validate_alignment, obs_meta, progress,
                                      reorient=mode)

    @classmethod
    def from_collections(cls, uri, collections, obs_meta=None, ctx=None) -> "RadiObject":
        """A new dataset at uri holding copies of existing collections: {name:
        VolumeCollection (or a view of one) | collection URI}. Volumes are copied file by
        file (voxels, tiling, compression, affine and NIfTI keys exactly; 0.1.1 keeps only
        voxels and obs_id). obs_meta: a DataFrame as in from_niftis, covering every
        subject of the collections; default: one row (subject, subject) per subject, as
        0.1.1 derives it. A collection already at {uri}/collections/{name} (a stand-alone
        collection, e.g. materialized there; `collections` a TileDB group or a plain
        directory) is linked in place as 0.1.1 links it: adopted as it is, not copied,
        left byte for byte (radi_dataset_create_adopting); uri may then hold nothing
        else, each such collection must be valid and named {name}, and the other
        collections are copied beside it in the same operation. All-or-nothing: on
        failure nothing is left at uri (with collections in place: uri holds exactly
        what it held before)."""
        if not collections:
            raise ValueError("At least one collection is required")
        ctx = _lib.as_radi_ctx(ctx)
        srcs = {}
        for name, vc in collections.items():
            vc = VolumeCollection(os.fspath(vc), ctx=ctx) if isinstance(vc, (str, os.PathLike)) else vc
            if not isinstance(vc, VolumeCollection):
                raise TypeError(f"collection '{name}': expected a VolumeCollection or a URI, got "
                                f"{type(vc).__name__}")
            srcs[str(name)] = vc
        subjects = sorted({s for vc in srcs.values() for s in vc.obs_subject_ids})
        if obs_meta is None:
            from .dataframe import _pd

            obs_meta = _pd().DataFrame({"obs_subject_id": subjects, "obs_id": subjects})
        in_place = [name for name, vc in srcs.items() if _at_own_place(uri, name, vc)]
        if in_place:
            return cls._adopt(uri, ctx, in_place, srcs, obs_meta)
        return cls._create_and_ingest(uri, ctx, [], [], False, obs_meta, False,
                                      copies=list(srcs.items()))

    @classmethod
    def _adopt(cls, uri, ctx, in_place, srcs, obs_meta) -> "RadiObject":
        """from_collections around the collections in_place (at {uri}/collections/{name}):
        one C call adopts them, copies the others and writes obs_meta, all-or-nothing."""
        import contextlib

        from .dataframe import Dataframe, _Cells

        uri_s = os.fspath(uri)
        L = _adopt_lib()
        sch, frame = _obs_meta_schema(obs_meta)
        try:
            missing = sorted({s for vc in srcs.values() for s in vc.obs_subject_ids} - set(frame["obs_subject_id"]))
            if missing:
                raise ValueError(f"obs_subject_ids in collections not found in obs_meta: {missing[:5]}")
            # obs_meta's fields as the schema about to be written declares them.
            fields = Dataframe.__new__(Dataframe)
            fields._uri = f"{uri_s}/obs_meta"
            fields._load_schema_of(sch)
            cells = _Cells(fields._uri, fields._dims + fields._attrs, frame)
            rows = _ObsMetaRows(sch, cells.nbufs, C.cast(cells.bufs, C.POINTER(_lib.SparseBuffer)), cells.n)
            copies = [(name, vc) for name, vc in srcs.items() if name not in in_place]
            keep = []
            arr = (_CollectionCopy * max(len(copies), 1))()
            for k, (name, vc) in enumerate(copies):
                sel, kept = _lib.selection(obs_ids=list(vc.obs_ids) if vc.is_view else None)
                cname, nname = vc.name.encode(), name.encode()
                keep += [sel, kept, cname, nname]
                arr[k] = _CollectionCopy(vc._ds.h, cname, C.pointer(sel), nname)
            names = (C.c_char_p * len(in_place))(*[n.encode() for n in in_place])
            with contextlib.ExitStack() as held:
                for _name, vc in copies:
                    held.enter_context(vc._ds.lock)
                _lib.check(L.radi_dataset_create_adopting(ctx.handle, _lib.encode_uri(uri_s), len(in_place),
                                                          names, len(copies), arr, C.byref(rows)))
            del keep
        finally:
            L.radi_schema_free(sch)
        return cls(_ds=_Dataset(uri_s, ctx))

    @classmethod
    def _create_and_ingest(cls, uri, ctx, plan, dplan, validate_alignment, obs_meta, progress,
                           keep_patient_id=False, copies=(), reorient=(0, 1)) -> "RadiObject":
        """A new dataset at uri holding the NIfTI plan and the DICOM plan, or copies of
        the collections [(name, VolumeCollection)], all-or-nothing."""
        uri_s = os.fspath(uri)
        L = _lib.lib()
        if obs_meta is not None:
            sch, frame = _obs_meta_schema(obs_meta)
            known = set(frame["obs_subject_id"])
            missing = sorted(({src[1] for _n, srcs in plan + dplan for src in srcs}
                              | {s for _n, vc in copies for s in vc.obs_subject_ids}) - known)
            if missing:
                L.radi_schema_free(sch)
                raise ValueError(f"obs_subject_ids in niftis not found in obs_meta: {missing[:5]}")
            try:
                _lib.check(L.radi_dataset_create_with_obs_meta(ctx.handle, uri_s.encode(), sch))
            finally:
                L.radi_schema_free(sch)
        else:
            _lib.check(L.radi_dataset_create(ctx.handle, uri_s.encode()))
        try:
            ds = _Dataset(uri_s, ctx)
            if copies:
                _import(ds, frame, copies)
            else:
                # A new dataset: the rows go in first (the whole dataset goes on failure).
                _ingest(ds, plan, validate_alignment, frame if obs_meta is not None else None, progress,
                        dplan, keep_patient_id, reorient=reorient)
        except BaseException:
            # All-or-nothing: the dataset this call created goes away again.
            if L.radi_object_remove(ctx.handle, uri_s.encode()) != _lib.OK and os.path.isdir(uri_s):
                import shutil

                shutil.rmtree(uri_s, ignore_errors=True)
            raise
        return cls(_ds=ds)


class _CollectionCopy(C.Structure):
    _fields_ = [("src", C.c_void_p), ("collection", C.c_char_p), ("sel", C.POINTER(_lib.Selection)),
                ("name", C.c_char_p)]


class _ObsMetaRows(C.Structure):
    _fields_ = [("schema", C.c_void_p), ("nbuffers", C.c_uint32), ("buffers", C.POINTER(_lib.SparseBuffer)),
                ("rows", C.c_uint64)]


def _adopt_lib():
    """The library with radi_dataset_create_adopting's prototype set."""
    L = _lib.lib()
    fn = L.radi_dataset_create_adopting
    fn.restype = C.c_int
    fn.argtypes = [C.c_void_p, C.c_char_p, C.c_size_t, C.POINTER(C.c_char_p), C.c_size_t,
                   C.POINTER(_CollectionCopy), C.POINTER(_ObsMetaRows)]
    return L


def _at_own_place(uri, name, vc) -> bool:
    """Whether vc is the stand-alone collection stored at {uri}/collections/{name} (0.1.1
    compares URI strings; local paths compare resolved here). A view of it is refused:
    adopting would bring every volume, and it cannot be copied onto itself."""
    if not vc._ds.standalone:
        return False
    want = f"{os.fspath(uri).rstrip('/')}/collections/{name}"

    def norm(u):
        u = os.fspath(u).rstrip("/")
        if u.startswith("file://"):
            u = u[len("file://"):]
        return u if "://" in u else os.path.realpath(u)

    if norm(vc._ds.uri) != norm(want):
        return False
    if vc.is_view:
        raise ValueError(f"collection '{name}': a view of the collection at {want} cannot be linked in place "
                         "(materialize it elsewhere first)")
    return True


def _import(ds: _Dataset, frame, copies) -> None:
    """obs_meta rows, then a copy of each collection (radi_dataset_import_collection:
    file-by-file, as materialize copies)."""
    _obs_meta_cells(ds, frame).write(ds.ctx)
    L = _sources_lib()
    try:
        for name, vc in copies:
            sel, keep = _lib.selection(obs_ids=list(vc.obs_ids) if vc.is_view else None)
            with ds.lock, vc._ds.lock:
                _lib.check(L.radi_dataset_import_collection(ds.h, vc._ds.h, vc.name.encode(), C.byref(sel),
                                                            name.encode()))
            del keep
    finally:
        ds.refresh()


def _copy_volume_collection(src, dst_uri, name=None, ctx=None) -> None:
    """0.1.1's internal collection copy, kept for code that calls it:
    radi._private_api.copy_volume_collection (materialize, returning None)."""
    from ._private_api import copy_volume_collection

    copy_volume_collection(src, dst_uri, name, ctx)


def _restore_radi_object(ds, subjects, collections) -> RadiObject:
    return RadiObject(_ds=ds, _subjects=subjects, _collections=collections)
