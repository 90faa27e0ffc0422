"""Cache nothing (klepto's ``no_cache``): every call is computed, only counters are kept.

With an archive behind memory the cache still reads from and writes to the
archive on every call, so it works as an archive-only cache. The klepto-style
decorator always runs it with ``maxsize=0`` and ``purge=True``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from itertools import islice
from typing import Any, ClassVar

from klepto_core.plugin import PluginSpec, Policy, hookimpl


class NoPolicy(Policy):
    """Keep no bookkeeping; whatever is in memory beyond ``maxsize`` (all of it) leaves."""

    default_maxsize: ClassVar[int | None] = 0
    default_purge: ClassVar[bool] = True
    forced: ClassVar[dict[str, Any]] = {"maxsize": 0, "purge": True}

    def victims(self, memory: Mapping[Hashable, Any], new_key: Hashable) -> list[Hashable]:
        return list(islice(memory, max(0, len(memory) - (self.maxsize or 0))))


@hookimpl
def klepto_core_policy() -> PluginSpec:
    """Register the ``no`` policy."""
    return PluginSpec(
        name="no",
        factory=NoPolicy,
        description="caches nothing: every call is computed (archives are still read and written)",
    )
