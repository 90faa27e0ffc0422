"""Random-replacement eviction: a key chosen at random leaves, possibly the one just added.

The choice is made by the global :func:`random.choice`, as klepto's ``rr_cache``
does, so ``random.seed()`` makes evictions reproducible and klepto's tests that
pin numbers depending on the global generator keep their values.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping
from typing import Any

from klepto_core.plugin import PluginSpec, Policy, hookimpl, untracked_victims


class RRPolicy(Policy):
    """Evict a uniformly random key; hits need no bookkeeping.

    Keys sit in a list (in admission order, which is memory order until the
    first eviction) plus a key -> position index; a victim is removed by moving
    the last key into its slot, so an eviction is O(1). The first eviction
    consumes the generator exactly as ``random.choice(list(memory))`` would and
    picks the same key.
    """

    def __init__(self, maxsize: int | None) -> None:
        super().__init__(maxsize)
        self._keys: list[Hashable] = []
        self._index: dict[Hashable, int] = {}

    def admitted(self, key: Hashable) -> None:
        index = self._index
        if key not in index:
            index[key] = len(self._keys)
            self._keys.append(key)

    def _remove(self, key: Hashable) -> None:
        keys = self._keys
        position = self._index.pop(key)
        last = keys.pop()
        if position < len(keys):
            keys[position] = last
            self._index[last] = position

    def victims(self, memory: Mapping[Hashable, Any], new_key: Hashable) -> list[Hashable]:
        out, excess = untracked_victims(memory, self._index, self.maxsize)
        keys = self._keys
        while len(out) < excess and keys:
            key = random.choice(keys)
            self._remove(key)
            if key in memory:  # a key removed behind our back is only forgotten
                out.append(key)
        if len(out) < excess:  # memory holds keys our bookkeeping lost track of
            chosen = set(out)
            out.extend(k for k in list(memory) if k not in chosen)
            del out[excess:]
        return out

    def forget(self, key: Hashable) -> None:
        if key in self._index:
            self._remove(key)

    def clear(self) -> None:
        self._keys.clear()
        self._index.clear()


@hookimpl
def klepto_core_policy() -> PluginSpec:
    """Register the ``rr`` policy."""
    return PluginSpec(
        name="rr",
        factory=RRPolicy,
        description="a random entry (global random module, as klepto) is evicted",
    )
