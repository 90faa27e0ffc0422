"""The counters a decorated function's ``info()`` reports."""

from __future__ import annotations

from typing import NamedTuple


class CacheInfo(NamedTuple):
    """Counters reported by a cache decorator's ``info()``: singular field names, as in klepto."""

    hit: int
    miss: int
    load: int
    maxsize: int | None
    size: int
