"""Index: an immutable two-way map between string keys (obs_ids, subject ids) and
positions, as radiobject 0.1.1's `radiobject.indexing.Index`.

Same names and errors as 0.1.1: duplicate keys raise ValueError on build, an unknown
key raises KeyError, a position outside [0, len) raises IndexError (negative positions
are refused rather than counted from the end, as in 0.1.1).
"""
from __future__ import annotations

from collections import Counter
from types import MappingProxyType

__all__ = ["Index"]


class Index:
    """Keys in order (`keys`, a tuple) and their positions (`key_to_idx`, a mapping)."""

    __slots__ = ("_keys", "_pos")

    def __init__(self, keys, key_to_idx=None):
        keys = tuple(keys)
        pos = {k: i for i, k in enumerate(keys)} if key_to_idx is None else dict(key_to_idx)
        if len(pos) != len(keys) or any(pos.get(k) != i for i, k in enumerate(keys)):
            raise ValueError("key_to_idx must map each key to its position in keys")
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_pos", pos)

    @classmethod
    def build(cls, keys) -> "Index":
        """The index of `keys` (any iterable of str) in the order given; ValueError
        naming up to five keys that occur more than once."""
        keys = list(keys)
        if len(set(keys)) != len(keys):
            dup = [k for k, n in Counter(keys).items() if n > 1]
            raise ValueError(f"Duplicate keys detected: {dup[:5]}")
        return cls(keys)

    def __setattr__(self, name, value):
        # Immutable like 0.1.1's frozen dataclass: an Index is shared between views.
        raise AttributeError(f"cannot assign to field '{name}'")

    @property
    def keys(self) -> tuple:
        return self._keys

    @property
    def key_to_idx(self):
        """Read-only mapping key -> position."""
        return MappingProxyType(self._pos)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key) -> bool:
        return key in self._pos

    def __iter__(self):
        return iter(self._keys)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Index):
            return NotImplemented
        return self._keys == other._keys

    __hash__ = None

    def __repr__(self) -> str:
        return f"Index(keys={self._keys!r})"

    def get_index(self, key) -> int:
        """The position of key; KeyError when it is not in the index."""
        try:
            return self._pos[key]
        except (KeyError, TypeError):
            raise KeyError(f"Key '{key}' not found in index") from None

    def get_key(self, idx: int) -> str:
        """The key at position idx; IndexError outside [0, len)."""
        n = len(self._keys)
        if idx < 0 or idx >= n:
            raise IndexError(f"Index {idx} out of range [0, {n})")
        return self._keys[idx]
