"""radi: radiology volumes in the TileDB array format, natively in C.

Names follow RadiObject 0.1.1 (and the seed notebook): configure / get_config and the
config classes (also importable from radi.ctx), RadiObject, VolumeCollection, Volume,
Dataframe, plus consolidate and
vacuum.
Importing radi needs only numpy; libradi is loaded on first use.
"""
from __future__ import annotations

from . import _lib
from .ctx import (CompressionConfig, Compressor, IOConfig, RadiObjectConfig, ReadConfig,
                  S3Config, SliceOrientation, TileConfig, WriteConfig, configure, get_config)
from .errors import (RadiBusyError, RadiError, RadiExistsError, RadiForkedError, RadiInvalidError,
                     RadiNotFoundError)
from .volume import OrientationInfo, Volume
from .collection import VolumeCollection
from .radi_object import RadiObject
from .patches import read_patches

__version__ = "0.1.0"

__all__ = [
    "RadiObject", "VolumeCollection", "Volume", "OrientationInfo", "Dataframe", "configure", "get_config", "TileConfig", "CompressionConfig", "IOConfig",
    "ReadConfig", "WriteConfig", "S3Config", "RadiObjectConfig", "SliceOrientation",
    "Compressor", "consolidate", "vacuum", "repair", "RadiError", "RadiInvalidError",
    "RadiNotFoundError", "RadiExistsError", "RadiBusyError", "RadiForkedError",
    "library_version", "read_patches",
]


def _mode(mode: str) -> int:
    try:
        return _lib.CONSOLIDATION_MODES[mode]
    except (KeyError, TypeError):
        raise ValueError(f"mode must be one of {', '.join(_lib.CONSOLIDATION_MODES)}, "
                         f"got {mode!r}") from None


def consolidate(uri, mode: str = "fragments") -> None:
    """Merges the fragments (or commits, fragment_meta, array_meta) of the array at uri
    into one, as TileDB does. Nothing is deleted until vacuum(uri, mode)."""
    m = _mode(mode)
    _lib.check(_lib.lib().radi_consolidate(_lib.context().handle, _lib.encode_uri(uri), m))


def vacuum(uri, mode: str = "fragments") -> None:
    """Deletes what an earlier consolidate(uri, mode) made obsolete."""
    m = _mode(mode)
    _lib.check(_lib.lib().radi_vacuum(_lib.context().handle, _lib.encode_uri(uri), m))


def repair(uri) -> str | None:
    """Rolls back the write an interrupted process left half-done in the dataset at uri
    (its journal, docs/dataset.md §8.5; the next write does the same by itself). Returns
    the name of the operation rolled back ("ingest", "rename_collection", ...) or None
    when nothing was interrupted. RadiBusyError while another writer works on it. Also
    removes the staging objects killed streaming writers left beside uri (§8.7; then
    "streaming_write", and uri need not exist)."""
    import ctypes

    op = ctypes.c_void_p()
    L = _lib.lib()
    _lib.check(L.radi_dataset_repair(_lib.context().handle, _lib.encode_uri(uri), ctypes.byref(op)))
    if not op.value:
        return None
    try:
        return ctypes.string_at(op.value).decode()
    finally:
        L.radi_free(op)


def library_version() -> str:
    """Version of the loaded libradi."""
    return _lib.version()


# 0.1.1's public helper modules, reachable as attributes (radi.orientation, ...) as in
# 0.1.1, imported on first use.
_SUBMODULES = frozenset({"indexing", "orientation", "imaging_metadata", "utils", "ingest", "parallel"})


def __getattr__(name):
    # Dataframe (pandas-facing) loads on first use, keeping `import radi` light.
    if name == "Dataframe":
        from .dataframe import Dataframe

        return Dataframe
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'radi' has no attribute '{name}'")
