"""Least-recently-used eviction: the entry unused for longest leaves first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from klepto_core.hookspecs import hookimpl
from klepto_core.policy import Policy, untracked
from klepto_core.types import PluginSpec


class LRUPolicy(Policy):
    """Evict the least recently used key; hits and misses both count as a use.

    The order lives in an OrderedDict, so a hit is one C call (``move_to_end``)
    and an eviction is ``popitem(last=False)``: O(1) each.
    """

    def __init__(self, maxsize: int | None) -> None:
        super().__init__(maxsize)
        self._order: OrderedDict[Hashable, None] = OrderedDict()
        self.on_hit = self._order.move_to_end

    def admitted(self, key: Hashable) -> None:
        order = self._order
        order[key] = None
        order.move_to_end(key)

    def victims(self, memory: Mapping[Hashable, Any], new_key: Hashable) -> list[Hashable]:
        excess = min(len(memory), len(memory) - (self.maxsize or 0))
        out: list[Hashable] = []
        for key in untracked(memory, self._order):
            if len(out) >= excess:
                return out
            out.append(key)
        order = self._order
        while len(out) < excess and order:
            key, _ = order.popitem(last=False)
            if key in memory:
                out.append(key)
        return out

    def forget(self, key: Hashable) -> None:
        self._order.pop(key, None)

    def clear(self) -> None:
        self._order.clear()


@hookimpl
def klepto_core_policy() -> PluginSpec:
    """Register the ``lru`` policy."""
    return PluginSpec(
        name="lru",
        factory=LRUPolicy,
        description="least recently used entries are evicted first",
    )
