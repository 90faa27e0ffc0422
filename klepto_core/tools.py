"""klepto's ``tools`` module: ``isiterable``, ``CacheInfo``, ``IS_PYPY`` and ``_b``."""

from klepto_core.compat.tools import IS_PYPY as IS_PYPY
from klepto_core.compat.tools import _b as _b
from klepto_core.compat.tools import isiterable as isiterable
from klepto_core.memo.info import CacheInfo as CacheInfo

__all__ = ["isiterable"]
