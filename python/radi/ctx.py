"""Configuration with RadiObject 0.1.1's names and semantics (radiobject.ctx).

`configure()` changes only the parts it is given: `tile=` and `compression=` are merged
into the current write configuration, `write=` replaces it, `io=` (or `read=`) replaces the
read configuration and `s3=` the S3 one. Values are validated when a config object is
built, with the constraints of 0.1.1's models; a violation is a ValueError.
"""
from __future__ import annotations

import operator
import os
from enum import Enum

__all__ = [
    "SliceOrientation", "Compressor", "TileConfig", "CompressionConfig", "IOConfig",
    "ReadConfig", "WriteConfig", "S3Config", "RadiObjectConfig", "configure", "get_config",
    "ctx", "as_radi_ctx",
]


class SliceOrientation(str, Enum):
    """Tile orientation of a volume: which slices one tile holds."""

    AXIAL = "axial"          # tiles (X, Y, 1)
    SAGITTAL = "sagittal"    # tiles (1, Y, Z)
    CORONAL = "coronal"      # tiles (X, 1, Z)
    ISOTROPIC = "isotropic"  # tiles (64, 64, 64)


class Compressor(str, Enum):
    """Compression codec of a volume's voxels."""

    ZSTD = "zstd"
    LZ4 = "lz4"
    GZIP = "gzip"
    NONE = "none"


def _int_field(owner: str, name: str, value, lo=None, hi=None, optional=False):
    if value is None and optional:
        return None
    # bool is an int subclass; a flag where a count belongs is a mistake.
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{owner}.{name} must be an integer, got {value!r}") from None
    if lo is not None and value < lo:
        raise ValueError(f"{owner}.{name} must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ValueError(f"{owner}.{name} must be <= {hi}, got {value}")
    return value


def _enum_field(owner: str, name: str, value, enum):
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ValueError(f"{owner}.{name} must be one of {allowed}, got {value!r}") from None


class _Record:
    """Config records: fields in `_fields` ((name, default) pairs; a class as default
    means a fresh instance), set by position or keyword, checked by `_check`, with a
    repr and value equality: what the standard record decorator gives, without
    importing it (and inspect) when radi is imported."""

    _fields: tuple = ()

    def __init__(self, *args, **kwargs):
        cls = type(self).__name__
        names = [n for n, _d in self._fields]
        if len(args) > len(names):
            raise TypeError(f"{cls}() takes at most {len(names)} positional arguments")
        values = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"{cls}() got an unexpected keyword argument '{k}'")
            if k in values:
                raise TypeError(f"{cls}() got multiple values for argument '{k}'")
            values[k] = v
        for n, default in self._fields:
            setattr(self, n, values[n] if n in values else default() if isinstance(default, type) else default)
        self._given = frozenset(values)  # what the caller chose, as against the defaults
        self._check()

    def _check(self) -> None:
        pass

    def _as_dict(self) -> dict:
        return {n: getattr(self, n) for n, _d in self._fields}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in self._as_dict().items()) + ")"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and self._as_dict() == other._as_dict()

    __hash__ = None


class TileConfig(_Record):
    """Tile extents of new volumes: the orientation's defaults, with per-axis overrides
    x, y, z and the 4th-axis extent t."""

    _fields = (("orientation", SliceOrientation.AXIAL), ("x", None), ("y", None), ("z", None), ("t", 1))

    def _check(self):
        self.orientation = _enum_field("TileConfig", "orientation", self.orientation, SliceOrientation)
        for axis in ("x", "y", "z"):
            setattr(self, axis, _int_field("TileConfig", axis, getattr(self, axis), lo=1,
                                           hi=2**31, optional=True))
        self.t = _int_field("TileConfig", "t", self.t, lo=1, hi=2**31)

    def extents_for_shape(self, shape) -> tuple:
        """Tile extents for a 3-D or 4-D shape, not clipped to it (volumes clip when
        they are created), e.g. axial (240, 240, 155) -> (240, 240, 1)."""
        from . import _lib
        import ctypes as C

        shape = tuple(int(s) for s in shape)
        if len(shape) not in (3, 4):
            raise ValueError(f"Shape must be 3D or 4D, got {len(shape)}D")
        n = len(shape)
        cshape = (C.c_uint64 * n)(*shape)
        out = (C.c_uint64 * n)()
        tc = _tile_struct(self)
        _lib.check(_lib.lib().radi_tile_extents_for_shape(C.byref(tc), n, cshape, out))
        return tuple(int(v) for v in out)


_ORIENTATION_CODES = {SliceOrientation.AXIAL: 0, SliceOrientation.SAGITTAL: 1,
                      SliceOrientation.CORONAL: 2, SliceOrientation.ISOTROPIC: 3}
_SHUFFLE_CODES = {None: 0, "byte": 1, "bit": 2}


def _tile_struct(tc: TileConfig):
    from . import _lib

    return _lib.TileConfig(_ORIENTATION_CODES[tc.orientation], tc.x or 0, tc.y or 0, tc.z or 0, tc.t)


class CompressionConfig(_Record):
    """Compression of new volumes. `shuffle` ('byte' or 'bit', applied before the codec)
    is a radi extension; RadiObject 0.1.1 has no shuffle."""

    _fields = (("algorithm", Compressor.ZSTD), ("level", 3), ("shuffle", None))

    def _check(self):
        self.algorithm = _enum_field("CompressionConfig", "algorithm", self.algorithm, Compressor)
        self.level = _int_field("CompressionConfig", "level", self.level, lo=-1, hi=22)
        if self.shuffle not in _SHUFFLE_CODES:
            raise ValueError(f"CompressionConfig.shuffle must be None, 'byte' or 'bit', got {self.shuffle!r}")

    def _struct(self):
        from . import _lib

        codes = {Compressor.ZSTD: _lib.FILTER_ZSTD, Compressor.LZ4: _lib.FILTER_LZ4,
                 Compressor.GZIP: _lib.FILTER_GZIP, Compressor.NONE: _lib.FILTER_NONE}
        return _lib.Compression(codes[self.algorithm], self.level, _SHUFFLE_CODES[self.shuffle])


class ReadConfig(_Record):
    """Reads: bytes of tiles in flight (MB) and worker threads. max_workers sizes
    thread pools of bulk operations (ingestion, copies). tile_cache_mb (radi's own):
    decoded tiles the batch patch reader keeps between calls (option tile_cache_size;
    0 turns the cache off)."""

    _fields = (("memory_budget_mb", 1024), ("concurrency", 4), ("max_workers", 4), ("tile_cache_mb", 256))

    def _check(self):
        name = type(self).__name__
        self.memory_budget_mb = _int_field(name, "memory_budget_mb", self.memory_budget_mb, lo=64)
        self.concurrency = _int_field(name, "concurrency", self.concurrency, lo=1, hi=64)
        self.max_workers = _int_field(name, "max_workers", self.max_workers, lo=1, hi=32)
        self.tile_cache_mb = _int_field(name, "tile_cache_mb", self.tile_cache_mb, lo=0)


class IOConfig(ReadConfig):
    """The seed's name for ReadConfig; configure(io=...) replaces the read config."""


class WriteConfig(_Record):
    _fields = (("tile", TileConfig), ("compression", CompressionConfig))

    def _check(self):
        if not isinstance(self.tile, TileConfig):
            raise ValueError(f"WriteConfig.tile must be a TileConfig, got {self.tile!r}")
        if not isinstance(self.compression, CompressionConfig):
            raise ValueError(f"WriteConfig.compression must be a CompressionConfig, got {self.compression!r}")


_SECRETS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")


def _str_field(name: str, value, optional=True, secret=False):
    """A string (or None when optional); a secret's value is never put in the message."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not secret and not value):
        shown = "" if secret else f", got {value!r}"
        raise ValueError(f"S3Config.{name} must be a {'non-empty ' if not secret else ''}string"
                         f"{' or None' if optional else ''}{shown}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"S3Config.{name} holds a control character")
    return value


def _endpoint_scheme(endpoint: str):
    """'http' / 'https' for an endpoint URL, None for a bare host[:port]."""
    low = endpoint.lower()
    scheme = next((s for s in ("https", "http") if low.startswith(s + "://")), None)
    rest = endpoint[len(scheme) + 3:] if scheme else endpoint
    if rest.endswith("/"):
        rest = rest[:-1]
    # The C library checks the host and port; the shape is checked here, at once.
    if "://" in rest or not rest or any(ch in rest for ch in "/?#@ "):
        raise ValueError("S3Config.endpoint must be host[:port] or an http(s)://host[:port] URL "
                         "(no path, query or user)")
    return scheme


class S3Config(_Record):
    """S3 settings of the context (radi's own S3 backend; keys vfs.s3.* of radi.h).

    RadiObject 0.1.1's six fields keep its defaults and checks: region "us-east-1",
    endpoint None, use_virtual_addressing True, max_parallel_ops 8 (>= 1),
    multipart_part_size_mb 50 (>= 5), include_credentials True. radi's additions:
    scheme, connect_timeout_ms, request_timeout_ms, max_retries, lock_lease_ms (a dataset
    writer's lease, renewed while held: how long a crashed writer blocks others),
    multipart_copy_threshold (bytes, default 5 GiB: a move or copy of a larger object is a
    server-side multipart copy, as AWS refuses CopyObject above 5 GiB), verify_ssl,
    ca_file, the keys and profile. As with the AWS tools,
    region and use_virtual_addressing left at their defaults yield to AWS_REGION /
    ~/.aws/config and to the endpoint (path-style requests for a custom endpoint such
    as "http://127.0.0.1:9000", whose URL also sets the scheme). Credentials: the keys
    given here, else (include_credentials=True) AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
    / AWS_SESSION_TOKEN or the shared files' profile (`profile`, else AWS_PROFILE, else
    "default"), read when the context is built; include_credentials=False means
    anonymous requests unless keys are given here. Secrets never appear in repr or in
    error messages.
    """

    _fields = (("region", "us-east-1"), ("endpoint", None), ("scheme", None),
               ("use_virtual_addressing", True), ("max_parallel_ops", 8),
               ("multipart_part_size_mb", 50), ("connect_timeout_ms", 3000),
               ("request_timeout_ms", 30000), ("max_retries", 5), ("lock_lease_ms", 30000),
               ("multipart_copy_threshold", 5 << 30), ("verify_ssl", True),
               ("ca_file", None), ("include_credentials", True), ("aws_access_key_id", None),
               ("aws_secret_access_key", None), ("aws_session_token", None), ("profile", None))

    def _check(self):
        if not isinstance(self.region, str) or not self.region:
            raise ValueError(f"S3Config.region must be a non-empty string, got {self.region!r}")
        self.endpoint = _str_field("endpoint", self.endpoint)
        if self.scheme is not None and self.scheme not in ("http", "https"):
            raise ValueError(f"S3Config.scheme must be None, 'http' or 'https', got {self.scheme!r}")
        if self.endpoint is not None:
            url_scheme = _endpoint_scheme(self.endpoint)
            if url_scheme and self.scheme and url_scheme != self.scheme:
                raise ValueError(f"S3Config.scheme {self.scheme!r} contradicts the endpoint's "
                                 f"{url_scheme}://")
        self.use_virtual_addressing = bool(self.use_virtual_addressing)
        self.include_credentials = bool(self.include_credentials)
        self.verify_ssl = bool(self.verify_ssl)
        # The bounds beyond 0.1.1's minimums are the C library's (and S3's part size limit).
        self.max_parallel_ops = _int_field("S3Config", "max_parallel_ops", self.max_parallel_ops,
                                           lo=1, hi=1024)
        self.multipart_part_size_mb = _int_field("S3Config", "multipart_part_size_mb",
                                                 self.multipart_part_size_mb, lo=5, hi=5120)
        self.connect_timeout_ms = _int_field("S3Config", "connect_timeout_ms",
                                             self.connect_timeout_ms, lo=1, hi=600000)
        self.request_timeout_ms = _int_field("S3Config", "request_timeout_ms",
                                             self.request_timeout_ms, lo=1, hi=86400000)
        self.max_retries = _int_field("S3Config", "max_retries", self.max_retries, lo=0, hi=100)
        self.lock_lease_ms = _int_field("S3Config", "lock_lease_ms", self.lock_lease_ms, lo=1000,
                                        hi=86400000)
        self.multipart_copy_threshold = _int_field("S3Config", "multipart_copy_threshold",
                                                   self.multipart_copy_threshold, lo=5 << 20, hi=5 << 30)
        if self.ca_file is not None and not isinstance(self.ca_file, str):
            try:
                self.ca_file = os.fspath(self.ca_file)
            except TypeError:
                raise ValueError(f"S3Config.ca_file must be a path or None, got {self.ca_file!r}") from None
        self.ca_file = _str_field("ca_file", self.ca_file)
        self.profile = _str_field("profile", self.profile)
        for name in _SECRETS:
            setattr(self, name, _str_field(name, getattr(self, name), secret=True))
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ValueError("S3Config.aws_access_key_id and S3Config.aws_secret_access_key must be "
                             "given together")
        if self.aws_session_token is not None and self.aws_access_key_id is None:
            raise ValueError("S3Config.aws_session_token needs aws_access_key_id and "
                             "aws_secret_access_key")

    def __repr__(self) -> str:
        shown = {k: ("***" if k in _SECRETS and v is not None else v) for k, v in self._as_dict().items()}
        return "S3Config(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    __str__ = __repr__

    def _options(self) -> tuple:
        """The vfs.s3.* radi_options pairs. Settings the C library resolves from the
        environment are passed only when chosen (given, or changed from the default)."""
        given = getattr(self, "_given", frozenset())
        defaults = dict(self._fields)

        def chosen(name):
            return name in given or getattr(self, name) != defaults[name]

        def flag(v):
            return "true" if v else "false"

        o = []
        if chosen("region"):
            o.append(("vfs.s3.region", self.region))
        if self.endpoint is not None:
            o.append(("vfs.s3.endpoint", self.endpoint))
        if self.scheme is not None:
            o.append(("vfs.s3.scheme", self.scheme))
        if chosen("use_virtual_addressing"):
            o.append(("vfs.s3.use_virtual_addressing", flag(self.use_virtual_addressing)))
        o += [("vfs.s3.max_parallel_ops", str(self.max_parallel_ops)),
              ("vfs.s3.multipart_part_size_mb", str(self.multipart_part_size_mb)),
              ("vfs.s3.connect_timeout_ms", str(self.connect_timeout_ms)),
              ("vfs.s3.request_timeout_ms", str(self.request_timeout_ms)),
              ("vfs.s3.max_retries", str(self.max_retries)),
              ("vfs.s3.lock_lease_ms", str(self.lock_lease_ms)),
              ("vfs.s3.multipart_copy_threshold", str(self.multipart_copy_threshold)),
              ("vfs.s3.verify_ssl", flag(self.verify_ssl))]
        if self.ca_file is not None:
            o.append(("vfs.s3.ca_file", self.ca_file))
        if self.profile is not None:
            o.append(("vfs.s3.profile", self.profile))
        if self.aws_access_key_id is not None:
            o += [("vfs.s3.aws_access_key_id", self.aws_access_key_id),
                  ("vfs.s3.aws_secret_access_key", self.aws_secret_access_key)]
            if self.aws_session_token is not None:
                o.append(("vfs.s3.aws_session_token", self.aws_session_token))
        elif not self.include_credentials:
            # An explicitly empty pair: anonymous, whatever AWS_* or ~/.aws hold.
            o += [("vfs.s3.aws_access_key_id", ""), ("vfs.s3.aws_secret_access_key", "")]
        return tuple(o)


class RadiObjectConfig(_Record):
    _fields = (("write", WriteConfig), ("read", ReadConfig), ("s3", S3Config))

    def __init__(self, *args, io: IOConfig | None = None, **kwargs):
        # 0.1.1 takes its deprecated io= here too, as the read config (as configure(io=)).
        if io is not None:
            if "read" in kwargs or len(args) > 1:
                raise TypeError("RadiObjectConfig() got both 'read' and 'io'")
            if not isinstance(io, ReadConfig):
                raise TypeError(f"RadiObjectConfig(io=...) expects an IOConfig, got {type(io).__name__}")
            kwargs["read"] = _read_from_io(io)
        super().__init__(*args, **kwargs)

    # 0.1.1's alias properties.
    @property
    def tile(self) -> TileConfig:
        return self.write.tile

    @property
    def compression(self) -> CompressionConfig:
        return self.write.compression

    @property
    def io(self) -> ReadConfig:
        return self.read

    def to_tiledb_config(self, include_s3_credentials: bool = False):
        """This configuration as a TileDB-Py `tiledb.Config` (0.1.1's method), for code
        that hands it to TileDB-Py: the keys 0.1.1 sets (memory budget, both concurrency
        levels, S3 region and addressing when chosen, parallel ops, part size, endpoint),
        plus the scheme and keys given in S3Config. radi itself never needs it (every ctx= takes radi's configuration),
        and TileDB-Py is imported here only: ImportError naming it when not installed.
        include_s3_credentials is accepted for 0.1.1's signature; keys given in S3Config
        are always put in, and TileDB reads the AWS environment itself (0.1.1 asks boto3)."""
        try:
            import tiledb
        except ImportError as e:
            raise ImportError("RadiObjectConfig.to_tiledb_config / to_tiledb_ctx need the tiledb "
                              "package (TileDB-Py), which is not installed; radi itself does not "
                              "need it") from e
        cfg = tiledb.Config()
        cfg["sm.memory_budget"] = str(self.read.memory_budget_mb * 1024 * 1024)
        cfg["sm.compute_concurrency_level"] = str(self.read.concurrency)
        cfg["sm.io_concurrency_level"] = str(self.read.concurrency)
        s3 = self.s3
        # Region and addressing only when chosen: left at their defaults they yield to
        # AWS_REGION and the endpoint, in TileDB as in radi (S3Config).
        chosen = dict(s3._options())
        for key in ("vfs.s3.region", "vfs.s3.use_virtual_addressing"):
            if key in chosen:
                cfg[key] = chosen[key]
        cfg["vfs.s3.max_parallel_ops"] = str(s3.max_parallel_ops)
        cfg["vfs.s3.multipart_part_size"] = str(s3.multipart_part_size_mb * 1024 * 1024)
        if s3.endpoint:
            cfg["vfs.s3.endpoint_override"] = s3.endpoint
        if s3.scheme:
            cfg["vfs.s3.scheme"] = s3.scheme
        if s3.aws_access_key_id is not None:
            cfg["vfs.s3.aws_access_key_id"] = s3.aws_access_key_id
            cfg["vfs.s3.aws_secret_access_key"] = s3.aws_secret_access_key
            if s3.aws_session_token is not None:
                cfg["vfs.s3.aws_session_token"] = s3.aws_session_token
        elif not s3.include_credentials:
            cfg["vfs.s3.no_sign_request"] = "true"
        return cfg

    def to_tiledb_ctx(self, include_s3_credentials: bool = False):
        """A new TileDB-Py `tiledb.Ctx` of to_tiledb_config() (0.1.1's method). radi's
        ctx= arguments take it too, converted back to the same settings."""
        cfg = self.to_tiledb_config(include_s3_credentials)  # the clear ImportError first
        import tiledb

        return tiledb.Ctx(cfg)


def _read_from_io(io) -> ReadConfig:
    """0.1.1's io= (an IOConfig, or a ReadConfig) as the ReadConfig it stands for."""
    return ReadConfig(io.memory_budget_mb, io.concurrency, io.max_workers, io.tile_cache_mb)


_config = RadiObjectConfig()


def get_config() -> RadiObjectConfig:
    """The current configuration (the live object)."""
    return _config


def _expect(name, value, cls):
    if not isinstance(value, cls):
        raise TypeError(f"configure({name}=...) expects a {cls.__name__}, got {type(value).__name__}")


def configure(*, tile: TileConfig | None = None, compression: CompressionConfig | None = None,
              io: IOConfig | None = None, s3: S3Config | None = None,
              write: WriteConfig | None = None, read: ReadConfig | None = None) -> None:
    """Changes only the parts given (see the module docstring)."""
    global _config
    new = RadiObjectConfig(**_config._as_dict())
    if write is not None:
        _expect("write", write, WriteConfig)
        new.write = write
    if tile is not None or compression is not None:
        if tile is not None:
            _expect("tile", tile, TileConfig)
        if compression is not None:
            _expect("compression", compression, CompressionConfig)
        new.write = WriteConfig(tile=tile if tile is not None else new.write.tile,
                                compression=compression if compression is not None else new.write.compression)
    if io is not None:
        _expect("io", io, ReadConfig)
        new.read = _read_from_io(io)
    if read is not None:
        _expect("read", read, ReadConfig)
        new.read = read
    if s3 is not None:
        _expect("s3", s3, S3Config)
        new.s3 = s3
    _config = new


# ------------------------------------------------------------------ contexts --
#
# 0.1.1's `ctx=` arguments take a TileDB-Py `tiledb.Ctx` (its `radiobject.ctx.ctx()` returns
# one). radi has its own C context; `as_radi_ctx` is the one conversion every `ctx=` entry
# point uses (docs/differences-ctx.md).

# TileDB config keys that carry over to radi options one for one (same value syntax).
_TILEDB_SAME = {k: k for k in (
    "vfs.s3.region", "vfs.s3.scheme", "vfs.s3.use_virtual_addressing", "vfs.s3.max_parallel_ops",
    "vfs.s3.connect_timeout_ms", "vfs.s3.request_timeout_ms", "vfs.s3.verify_ssl",
    "vfs.s3.ca_file", "vfs.s3.aws_access_key_id", "vfs.s3.aws_secret_access_key",
    "vfs.s3.aws_session_token")}
_TILEDB_RENAMED = {"sm.memory_budget": "memory_budget",
                   "vfs.s3.endpoint_override": "vfs.s3.endpoint",
                   "vfs.s3.multipart_part_size": "vfs.s3.multipart_part_size"}
# radi keys one TileDB key replaces besides its own (aliases, or settings it implies).
_ALSO_REPLACES = {"vfs.s3.multipart_part_size": ("vfs.s3.multipart_part_size_mb",),
                  "vfs.s3.endpoint": ("vfs.s3.scheme",),
                  "vfs.s3.aws_access_key_id": ("vfs.s3.aws_secret_access_key", "vfs.s3.aws_session_token")}
_CONCURRENCY_KEYS = ("sm.compute_concurrency_level", "sm.io_concurrency_level")

_tiledb_defaults = None   # {key: value} of a default tiledb.Config, read once when first needed
_converted: dict = {}     # radi options key -> Context, for contexts built from TileDB configs
_by_ctx: dict = {}        # id(tiledb.Ctx) -> (that Ctx, radi options it was merged with, Context)
_CONVERTED_MAX = 16


def _tiledb_kind(obj):
    """'Ctx' or 'Config' for TileDB-Py objects (recognised by their class's module, so that
    radi never imports tiledb itself), else None."""
    cls = type(obj)
    if (getattr(cls, "__module__", "") or "").split(".")[0] != "tiledb":
        return None
    return cls.__name__ if cls.__name__ in ("Ctx", "Config") else None


def _tiledb_options(config) -> tuple:
    """radi options for a TileDB config: the current radi configuration's, with what the
    TileDB config sets to other than TileDB's defaults put over them (keys with no radi
    meaning, such as sm.tile_cache_size, are ignored)."""
    global _tiledb_defaults
    from . import _lib

    given = dict(config.items())
    if _tiledb_defaults is None:
        _tiledb_defaults = dict(type(config)().items())
    chosen = {k: v for k, v in given.items() if _tiledb_defaults.get(k) != v}
    over = {}
    for k, v in chosen.items():
        if k in _TILEDB_SAME or k in _TILEDB_RENAMED:
            over[_TILEDB_SAME.get(k) or _TILEDB_RENAMED[k]] = v
    levels = [int(chosen[k]) for k in _CONCURRENCY_KEYS if k in chosen and chosen[k].isdigit()]
    if levels:
        over["concurrency"] = str(max(levels))
    if chosen.get("vfs.s3.no_sign_request", "").lower() == "true":
        over["vfs.s3.aws_access_key_id"] = over["vfs.s3.aws_secret_access_key"] = ""
    drop = set(over)
    for k in over:
        drop.update(_ALSO_REPLACES.get(k, ()))
    if "vfs.s3.scheme" in over:   # TileDB's own scheme stays with its endpoint
        drop.discard("vfs.s3.scheme")
    base = tuple((k, v) for k, v in _lib.context_options() if k not in drop)
    return base + tuple(sorted(over.items()))


def as_radi_ctx(ctx=None):
    """The radi context for a `ctx=` argument: None -> the context of the current
    configuration; a radi context -> itself; a TileDB-Py `tiledb.Ctx` or `tiledb.Config` ->
    a radi context with the settings radi understands (memory budget, concurrency, the
    vfs.s3.* keys: see docs/differences-ctx.md), one per distinct configuration, reused.
    Anything else is a TypeError."""
    from . import _lib

    if ctx is None:
        return _lib.context()
    if isinstance(ctx, _lib.Context):
        return ctx
    kind = _tiledb_kind(ctx)
    if kind is None:
        raise TypeError(f"ctx must be a radi context, a tiledb.Ctx or a tiledb.Config, "
                        f"got {type(ctx).__module__}.{type(ctx).__qualname__}")
    # A tiledb.Ctx's settings never change: the same object maps to the same context as
    # long as radi's configuration is the same (reading a TileDB config costs ~0.5 ms).
    # A Config may change, so it is read every time.
    base = _lib.context_options()
    with _lib._lock:
        hit = _by_ctx.get(id(ctx)) if kind == "Ctx" else None
        if hit is not None and hit[0] is ctx and hit[1] == base and hit[2].live:
            return hit[2]
    key = _tiledb_options(ctx.config() if kind == "Ctx" else ctx)
    with _lib._lock:
        got = _converted.get(key)
        if got is not None and got.live:
            if kind == "Ctx":
                _remember(ctx, base, got)
            return got
    try:
        # Not context_for: it matches contexts secrets aside, and the keys may differ.
        cur = _lib.context()
        got = cur if cur.key == key else _lib.Context(key)
    except Exception as e:
        raise ValueError(f"ctx: the TileDB configuration cannot be used by radi: {e}") from None
    with _lib._lock:
        if len(_converted) >= _CONVERTED_MAX:
            _converted.pop(next(iter(_converted)))
        _converted[key] = got
        if kind == "Ctx":
            _remember(ctx, base, got)
    return got


def _remember(tctx, base, got) -> None:
    # Holds the tiledb.Ctx itself, so its id is not reused while the entry lives.
    if len(_by_ctx) >= _CONVERTED_MAX:
        _by_ctx.pop(next(iter(_by_ctx)))
    _by_ctx[id(tctx)] = (tctx, base, got)


def ctx():
    """The context of the current configuration (0.1.1's `radiobject.ctx.ctx()`, which
    returns a tiledb.Ctx; radi's is a radi context, accepted by every `ctx=` argument)."""
    return as_radi_ctx(None)


class _CallableModule(type(os)):
    # 0.1.1's `radiobject.ctx` attribute is the function ctx(); radi's is this module, which
    # is callable so that `radi.ctx()` works too while `radi.ctx.configure` & co stay.
    def __call__(self):
        return ctx()


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
