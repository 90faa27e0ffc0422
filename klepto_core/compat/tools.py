"""klepto's helpers ``isiterable``, ``IS_PYPY`` and ``_b``, re-exported by ``klepto_core.tools``."""

from __future__ import annotations

import codecs
import sys
from typing import Any

__all__ = ["isiterable"]

#: True on PyPy, where builtins are plain Python functions with inspectable signatures.
IS_PYPY: bool = sys.implementation.name == "pypy"


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
