"""Deprecated: moved to ``klepto_core.memo.memory``; kept so caches pickled by 0.1.0 still load."""

import warnings

from klepto_core.memo.memory import _rebuild_cache as _rebuild_cache
from klepto_core.memo.memory import cache as cache

warnings.warn(
    "klepto_core.cachemap is deprecated; import from klepto_core.memo.memory",
    DeprecationWarning,
    stacklevel=2,
)
