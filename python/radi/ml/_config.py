"""LoadingMode, DatasetConfig and LabelSource with radiobject 0.1.1's names, fields and defaults
(radiobject.ml.config), without pydantic: a frozen record validated on creation."""
from __future__ import annotations

import operator
from collections.abc import Callable
from enum import Enum
from typing import Any, Union

__all__ = ["LoadingMode", "DatasetConfig", "LabelSource"]

# 0.1.1's type of a dataset's `labels`: an obs column name, a pandas DataFrame (obs_id
# column or index), a dict obs_id -> label, a callable of obs_id, or None (pandas is
# named, not imported).
LabelSource = Union[str, "pandas.DataFrame", dict, Callable[[str], Any], None]


class LoadingMode(str, Enum):
    """Volume loading strategy."""

    FULL_VOLUME = "full_volume"
    PATCH = "patch"
    SLICE_2D = "slice_2d"


_FIELDS = ("loading_mode", "patch_size", "patches_per_volume", "modalities", "label_column",
           "value_filter")


class DatasetConfig:
    """Configuration of a dataset (0.1.1's fields and defaults): loading_mode
    (FULL_VOLUME), patch_size (None; required for PATCH; three positive ints),
    patches_per_volume (1, >= 1), modalities (None), label_column (None), value_filter
    (None). Frozen; equal when the fields are; `model_copy(update=...)` and
    `model_dump()` as on 0.1.1's pydantic model."""

    __slots__ = _FIELDS

    def __init__(self, loading_mode=LoadingMode.FULL_VOLUME, patch_size=None, patches_per_volume: int = 1,
                 modalities=None, label_column=None, value_filter=None):
        try:
            mode = LoadingMode(loading_mode)
        except ValueError:
            raise ValueError(f"loading_mode must be one of {[m.value for m in LoadingMode]}, "
                             f"got {loading_mode!r}") from None
        if patch_size is not None:
            try:
                ps = tuple(operator.index(v) for v in patch_size)
            except TypeError:
                raise ValueError(f"patch_size must be three integers, got {patch_size!r}") from None
            if len(ps) != 3 or min(ps) < 1:
                raise ValueError(f"patch_size must be three positive integers, got {patch_size!r}")
            patch_size = ps
        if isinstance(patches_per_volume, bool):
            raise ValueError("patches_per_volume must be an integer")
        ppv = operator.index(patches_per_volume)
        if ppv < 1:
            raise ValueError("patches_per_volume must be >= 1")
        if mode == LoadingMode.PATCH and patch_size is None:
            raise ValueError("patch_size required when loading_mode is PATCH")
        for name, value in (("loading_mode", mode), ("patch_size", patch_size),
                            ("patches_per_volume", ppv),
                            ("modalities", list(modalities) if modalities is not None else None),
                            ("label_column", label_column), ("value_filter", value_filter)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise TypeError("DatasetConfig is frozen")

    def model_dump(self) -> dict:
        return {f: getattr(self, f) for f in _FIELDS}

    def model_copy(self, update: dict | None = None) -> "DatasetConfig":
        d = self.model_dump()
        d.update(update or {})
        return DatasetConfig(**d)

    def __eq__(self, other) -> bool:
        return isinstance(other, DatasetConfig) and self.model_dump() == other.model_dump()

    def __hash__(self):
        return hash(tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in self.model_dump().items()))

    def __repr__(self) -> str:
        return "DatasetConfig(" + ", ".join(f"{k}={v!r}" for k, v in self.model_dump().items()) + ")"

    def __reduce__(self):
        return (DatasetConfig, tuple(getattr(self, f) for f in _FIELDS))
