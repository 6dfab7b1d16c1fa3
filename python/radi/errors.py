"""Exceptions raised by radi. Every failure of the C library is a RadiError carrying the
library's one-line message; where a standard exception fits, the subclass is also one."""


class RadiError(Exception):
    """A failure reported by libradi (or the library could not be loaded)."""

    def __init__(self, message: str, status: str | None = None):
        super().__init__(message)
        self.status = status  # e.g. "RADI_E_CORRUPT"


class RadiInvalidError(RadiError, ValueError):
    """Bad argument (RADI_E_INVALID)."""


class RadiNotFoundError(RadiError, FileNotFoundError):
    """Object, file or key does not exist (RADI_E_NOT_FOUND)."""


class RadiExistsError(RadiError, FileExistsError):
    """Something already exists at the URI (RADI_E_EXISTS)."""


class RadiBusyError(RadiError, BlockingIOError):
    """Another writer holds the dataset's lock (RADI_E_BUSY)."""


class RadiForkedError(RadiError):
    """A context (or a handle made from it) used in a process fork()ed from the one that
    created it (RADI_E_FORKED): make a new context in the child."""
