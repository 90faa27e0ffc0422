"""``NULL``: the value an ignored argument takes in a cache key.

It lives with the keys because the argument binder puts it there; klepto's
``_inspect`` module re-exports it. Its class keeps klepto_core's original module
name, so keys pickled before the package was split still unpickle, and pickle to
the same bytes.
"""

from __future__ import annotations

from typing import Any

_NULL_HASH = 0x4B4C_4550_544F_4E55  # a fixed value, so keys holding NULL hash alike everywhere


class _Null:
    """Type of :data:`NULL`, the stand-in value for ignored arguments in cache keys."""

    __slots__ = ()
    _instance: _Null | None = None

    def __new__(cls) -> _Null:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NULL"

    def __hash__(self) -> int:
        return _NULL_HASH

    def __reduce__(self) -> str:
        return "NULL"  # pickled by reference to this module's global: unpickles to the singleton

    def __copy__(self) -> _Null:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Null:
        return self


NULL = _Null()


# pickled by reference to ``klepto_core._inspect.NULL`` (see __reduce__): keep that path
_Null.__module__ = "klepto_core._inspect"
