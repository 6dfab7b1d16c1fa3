"""Configuration with RadiObject 0.1.1's names and semantics (radiobject.ctx).

`configure()` changes only the parts it is given: `tile=` and `compression=` are merged
into the current write configuration, `write=` replaces it, `io=` (or `read=`) replaces the
read configuration and `s3=` the S3 one. Values are validated when a config object is
built, with the constraints of 0.1.1's models; a violation is a ValueError.
"""
from __future__ import annotations

import operator
from enum import Enum

__all__ = [
    "SliceOrientation", "Compressor", "TileConfig", "CompressionConfig", "IOConfig",
    "ReadConfig", "WriteConfig", "S3Config", "RadiObjectConfig", "configure", "get_config",
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
    thread pools of bulk operations (ingestion, copies)."""

    _fields = (("memory_budget_mb", 1024), ("concurrency", 4), ("max_workers", 4))

    def _check(self):
        name = type(self).__name__
        self.memory_budget_mb = _int_field(name, "memory_budget_mb", self.memory_budget_mb, lo=64)
        self.concurrency = _int_field(name, "concurrency", self.concurrency, lo=1, hi=64)
        self.max_workers = _int_field(name, "max_workers", self.max_workers, lo=1, hi=32)


class IOConfig(ReadConfig):
    """The seed's name for ReadConfig; configure(io=...) replaces the read config."""


class WriteConfig(_Record):
    _fields = (("tile", TileConfig), ("compression", CompressionConfig))

    def _check(self):
        if not isinstance(self.tile, TileConfig):
            raise ValueError(f"WriteConfig.tile must be a TileConfig, got {self.tile!r}")
        if not isinstance(self.compression, CompressionConfig):
            raise ValueError(f"WriteConfig.compression must be a CompressionConfig, got {self.compression!r}")


class S3Config(_Record):
    """S3 settings (stored; the S3 backend comes later)."""

    _fields = (("region", "us-east-1"), ("endpoint", None), ("use_virtual_addressing", True),
               ("max_parallel_ops", 8), ("multipart_part_size_mb", 50), ("include_credentials", True))

    def _check(self):
        if not isinstance(self.region, str) or not self.region:
            raise ValueError(f"S3Config.region must be a non-empty string, got {self.region!r}")
        if self.endpoint is not None and not isinstance(self.endpoint, str):
            raise ValueError(f"S3Config.endpoint must be a string or None, got {self.endpoint!r}")
        self.use_virtual_addressing = bool(self.use_virtual_addressing)
        self.include_credentials = bool(self.include_credentials)
        self.max_parallel_ops = _int_field("S3Config", "max_parallel_ops", self.max_parallel_ops, lo=1)
        self.multipart_part_size_mb = _int_field("S3Config", "multipart_part_size_mb",
                                                 self.multipart_part_size_mb, lo=5)


class RadiObjectConfig(_Record):
    _fields = (("write", WriteConfig), ("read", ReadConfig), ("s3", S3Config))

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
        new.read = ReadConfig(io.memory_budget_mb, io.concurrency, io.max_workers)
    if read is not None:
        _expect("read", read, ReadConfig)
        new.read = read
    if s3 is not None:
        _expect("s3", s3, S3Config)
        new.s3 = s3
    _config = new
