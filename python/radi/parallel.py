"""Thread-pool helpers with radiobject 0.1.1's names (`radiobject.parallel`).

radi's bulk operations run their own C thread pool; these are for user code that wants
0.1.1's helper: map_on_threads runs a Python function over items on threads, keeping
the order. create_worker_ctx makes a new context per call, as 0.1.1 (radi's contexts are
also safe to share between threads).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed

from .ctx import get_config

__all__ = ["WriteResult", "create_worker_ctx", "map_on_threads"]


class WriteResult:
    """The outcome of writing one volume: its position, URI, obs_id, success and error."""

    __slots__ = ("index", "uri", "obs_id", "success", "error")

    def __init__(self, index: int, uri: str, obs_id: str, success: bool, error: Exception | None = None):
        for name, value in zip(self.__slots__, (index, uri, obs_id, success, error)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field '{name}'")  # frozen, as in 0.1.1

    def _key(self):
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other):
        return self._key() == other._key() if isinstance(other, WriteResult) else NotImplemented

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "WriteResult(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__) + ")"


def create_worker_ctx(base_ctx=None):
    """A new context for one worker thread, with base_ctx's settings (a radi context, a
    tiledb.Ctx or Config; None: the current configuration's), as 0.1.1 gives each worker
    its own. It is a radi context, not a tiledb.Ctx (as radi.ctx.ctx(); see
    docs/differences-ctx.md); radi's contexts are also safe to share between threads,
    so passing one context to every worker works as well."""
    from . import _lib

    return _lib.Context(_lib.as_radi_ctx(base_ctx).key)


def map_on_threads(fn: Callable, items: Iterable, max_workers: int | None = None, progress: bool = False,
                   desc: str | None = None) -> list:
    """[fn(item) for item in items], computed on up to max_workers threads (default:
    get_config().read.max_workers, at most one per item), in the items' order. The first
    exception raised by fn propagates. progress=True shows a tqdm bar when tqdm is
    installed (0.1.1 requires it)."""
    items = list(items)
    if not items:
        return []
    workers = max_workers or min(get_config().read.max_workers, len(items))
    results = [None] * len(items)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        done = as_completed(futures)
        if progress:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                done = tqdm(done, total=len(futures), desc=desc, unit="vol")
        for fut in done:
            results[futures[fut]] = fut.result()
    return results
