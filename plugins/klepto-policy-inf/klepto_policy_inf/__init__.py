"""No eviction at all: every result stays in memory (klepto's ``inf_cache``).

The policy keeps no bookkeeping, so a hit costs nothing beyond the lookup. The
klepto-style decorator always runs it with ``maxsize=None`` and ``purge=False``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from itertools import islice
from typing import Any, ClassVar

from klepto_core.plugin import PluginSpec, Policy, hookimpl


class InfPolicy(Policy):
    """Keep everything; memory grows without bound.

    The decorator never asks an unbounded cache for victims; if a caller still
    sets a maxsize, the oldest entries in memory order go first.
    """

    default_maxsize: ClassVar[int | None] = None
    default_purge: ClassVar[bool] = False
    forced: ClassVar[dict[str, Any]] = {"maxsize": None, "purge": False}

    def victims(self, memory: Mapping[Hashable, Any], new_key: Hashable) -> list[Hashable]:
        if self.maxsize is None:
            return []
        return list(islice(memory, max(0, len(memory) - self.maxsize)))


@hookimpl
def klepto_core_policy() -> PluginSpec:
    """Register the ``inf`` policy."""
    return PluginSpec(
        name="inf",
        factory=InfPolicy,
        description="unbounded: nothing is ever evicted",
    )
