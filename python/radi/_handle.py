"""One base for the Python objects that own a C handle (Volume, the shared dataset handle).

What it gives every handle:

- Lazy opening: a handle may be created closed-but-openable (unpickled, or inherited
  through fork()) and opens on first use, with a live context for the options it was
  made with (_lib.context_for). That radi context is `_rctx`; `_ctx` is left to
  subclasses (Volume keeps the caller's ctx argument there, as 0.1.1 does).
- Fork: a handle records the pid it was opened in; in a fork()ed child (the pid in _lib
  changes, os.register_at_fork) the first use drops the parent's handle (freeing the
  child's copy of its memory only, radi.h "Fork") and reopens a new one.
- Close during use: `use()` counts the callers holding the raw handle; close() marks the
  object closed and the C handle is freed by whoever finishes last, so a close racing a
  read on another thread is never a use-after-free. A closed handle stays closed
  (ValueError on use); it does not reopen.
- Pickling: subclasses give `_token()` (what reopens them: URI, options, cached header)
  and are rebuilt by `_restore` without touching storage.
"""
from __future__ import annotations

import _thread

from . import _lib


class _Use:
    """`with handle.use() as h:` -- h is the raw C handle, valid until the block ends."""

    __slots__ = ("_owner", "_h")

    def __init__(self, owner):
        self._owner = owner

    def __enter__(self):
        self._h = self._owner._acquire()
        return self._h

    def __exit__(self, *exc):
        self._owner._release()
        return False


class Handle:
    """Base of handle owners. Subclasses implement _open_raw(ctx) -> raw handle and
    _close_raw(h), and call _init_handle(ctx, raw or None)."""

    _what = "handle"

    def _init_handle(self, ctx, raw=None) -> None:
        self._rctx = ctx
        self._h = raw
        self._hpid = _lib._pid
        self._hlock = _thread.allocate_lock()
        self._users = 0
        self._closed = False

    # -- subclass hooks ----------------------------------------------------------
    def _open_raw(self, ctx):  # pragma: no cover - abstract
        raise NotImplementedError

    def _close_raw(self, h) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _opened(self, h) -> None:
        """Called (under the lock) after a lazy (re)open with the new raw handle."""

    # -- use ---------------------------------------------------------------------
    def _forked(self) -> None:
        """In a fork()ed child: forget the parent's handle and lock state (once)."""
        with _lib._lock:
            if self._hpid == _lib._pid:
                return
            old, self._h = self._h, None
            self._hlock = _thread.allocate_lock()
            self._users = 0
            self._hpid = _lib._pid
            if self._rctx is not None and not self._rctx.live:
                self._rctx = _lib.context_for(self._rctx.key)
        if old:
            try:
                self._close_raw(old)  # frees the child's copy of the memory only
            except Exception:
                pass

    def _acquire(self):
        if self._hpid != _lib._pid:
            self._forked()
        with self._hlock:
            if self._closed:
                raise ValueError(f"{self._describe()}: {self._what} is closed")
            if not self._h:
                if self._rctx is None or not self._rctx.live:
                    key = self._rctx.key if self._rctx is not None else _lib.context_options()
                    self._rctx = _lib.context_for(key)
                self._h = self._open_raw(self._rctx)
                self._opened(self._h)
            self._users += 1
            return self._h

    def _release(self) -> None:
        free = None
        with self._hlock:
            self._users -= 1
            if self._closed and self._users == 0 and self._h:
                free, self._h = self._h, None
        if free:
            self._close_raw(free)

    def use(self) -> _Use:
        return _Use(self)

    def _describe(self) -> str:
        return getattr(self, "_uri", "?")

    @property
    def closed(self) -> bool:
        return self._closed

    # -- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        """Closes the handle; a read running on another thread finishes first (the C
        handle is freed when the last one ends). Idempotent."""
        if getattr(self, "_hlock", None) is None:
            return
        if self._hpid != _lib._pid:
            self._forked()
        free = None
        with self._hlock:
            self._closed = True
            if self._users == 0 and self._h:
                free, self._h = self._h, None
        if free:
            self._close_raw(free)

    def __del__(self):
        try:
            h = getattr(self, "_h", None)
            if h and _lib._lib is not None:
                self._h = None
                self._close_raw(h)
        except Exception:  # interpreter shutdown
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
