"""NIfTI file discovery with radiobject 0.1.1's names (`radiobject.ingest`): pair image
files with label files of the same name, and turn a glob, a directory or a list into
(path, subject_id) pairs -- the forms RadiObject.from_niftis / VolumeCollection.from_niftis
accept. Local files only (pathlib / glob), as in 0.1.1; radi's own ingest lists sources
through the context's storage (s3:// too) in C.
"""
from __future__ import annotations

from collections.abc import Callable
from glob import glob
from pathlib import Path

__all__ = ["NiftiSource", "discover_nifti_pairs", "resolve_nifti_source"]


class NiftiSource:
    """One image file, its subject id and its label file (or None)."""

    __slots__ = ("image_path", "subject_id", "label_path")

    def __init__(self, image_path, subject_id: str, label_path=None):
        object.__setattr__(self, "image_path", Path(image_path))
        object.__setattr__(self, "subject_id", subject_id)
        object.__setattr__(self, "label_path", Path(label_path) if label_path is not None else None)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field '{name}'")  # frozen, as in 0.1.1

    @property
    def has_label(self) -> bool:
        return self.label_path is not None

    def _key(self):
        return (self.image_path, self.subject_id, self.label_path)

    def __eq__(self, other):
        return self._key() == other._key() if isinstance(other, NiftiSource) else NotImplemented

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return (f"NiftiSource(image_path={self.image_path!r}, subject_id={self.subject_id!r}, "
                f"label_path={self.label_path!r})")


def _stem(p: Path) -> str:
    """The file name without .nii / .nii.gz: 0.1.1's default subject id."""
    name = p.stem
    return name[:-4] if name.endswith(".nii") else name


def discover_nifti_pairs(image_dir, label_dir=None, pattern: str = "*.nii.gz",
                         subject_id_fn: Callable[[Path], str] | None = None) -> list:
    """NiftiSource for each file of image_dir matching `pattern` (or, when none does, the
    pattern without ".gz"), sorted by path; with label_dir, each gets the label file
    whose subject id (subject_id_fn, default the name without .nii[.gz]) is the same.
    FileNotFoundError for a missing directory, ValueError when no image matches."""
    image_dir = Path(image_dir)
    if not image_dir.exists():
        raise FileNotFoundError(f"Image directory not found: {image_dir}")
    sid = subject_id_fn or _stem
    alt = pattern.replace(".gz", "")
    images = sorted(image_dir.glob(pattern)) or sorted(image_dir.glob(alt))
    if not images:
        raise ValueError(f"No NIfTI files found in {image_dir} with pattern {pattern}")
    labels: dict = {}
    if label_dir is not None:
        label_dir = Path(label_dir)
        if not label_dir.exists():
            raise FileNotFoundError(f"Label directory not found: {label_dir}")
        for f in label_dir.glob(pattern):
            labels[sid(f)] = f
        for f in label_dir.glob(alt):  # the pattern's files win over the uncompressed ones
            labels.setdefault(sid(f), f)
    return [NiftiSource(p, sid(p), labels.get(sid(p))) for p in images]


def resolve_nifti_source(source, subject_id_fn: Callable[[Path], str] | None = None) -> list:
    """[(Path, subject_id)] from a list of (path, subject_id) pairs (kept as given), a
    glob pattern (sorted matches, recursive "**" allowed) or a directory (its *.nii.gz,
    else *.nii, files). ValueError when a pattern matches nothing."""
    if isinstance(source, (list, tuple)) and source and isinstance(source[0], tuple):
        return [(Path(p), s) for p, s in source]
    text = str(source)
    sid = subject_id_fn or _stem
    if any(c in text for c in "*?["):
        matched = sorted(glob(text, recursive=True))
        if not matched:
            raise ValueError(f"No files matched pattern: {source}")
        return [(Path(f), sid(Path(f))) for f in matched]
    # As 0.1.1: a directory is discovered with the default subject ids.
    return [(s.image_path, s.subject_id) for s in discover_nifti_pairs(source)]
