"""Least-recently-used eviction: the entry unused for longest leaves first."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from klepto_core.plugin import PluginSpec, UseOrderPolicy, hookimpl, untracked_victims


class LRUPolicy(UseOrderPolicy):
    """Evict the least recently used key; hits and misses both count as a use.

    The base class keeps the use order in an OrderedDict (a hit is one C call,
    ``move_to_end``); an eviction is ``popitem(last=False)``: O(1) each.
    """

    def victims(self, memory: Mapping[Hashable, Any], new_key: Hashable) -> list[Hashable]:
        order = self._order
        out, excess = untracked_victims(memory, order, self.maxsize)
        while len(out) < excess and order:
            key, _ = order.popitem(last=False)
            if key in memory:
                out.append(key)
        return out


@hookimpl
def klepto_core_policy() -> PluginSpec:
    """Register the ``lru`` policy."""
    return PluginSpec(
        name="lru",
        factory=LRUPolicy,
        description="least recently used entries are evicted first",
    )
