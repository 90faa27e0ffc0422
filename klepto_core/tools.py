"""Small helpers shared by klepto_core modules (klepto's ``tools`` module).

Only :func:`isiterable` is public API; ``CacheInfo``, ``IS_PYPY`` and ``_b`` are
kept because klepto's tests and downstream code import them from here.
"""

from __future__ import annotations

import codecs
import sys
from typing import Any, NamedTuple

__all__ = ["isiterable"]

#: True on PyPy, where builtins are plain Python functions with inspectable signatures.
IS_PYPY: bool = sys.implementation.name == "pypy"


class CacheInfo(NamedTuple):
    """Counters reported by a cache decorator's ``info()``: singular field names, as in klepto."""

    hit: int
    miss: int
    load: int
    maxsize: int | None
    size: int


def isiterable(x: Any) -> bool:
    """Return True if ``iter(x)`` succeeds; used to decide whether a value is a container."""
    try:
        iter(x)
    except TypeError:
        return False
    return True


def _b(message: str) -> bytes:
    """Encode ``message`` as latin-1 bytes (klepto's helper for byte-string literals in tests)."""
    return codecs.latin_1_encode(message)[0]
