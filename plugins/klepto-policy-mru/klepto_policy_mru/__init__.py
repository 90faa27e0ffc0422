"""Most-recently-used eviction: the key used last before this call leaves first.

Useful for cyclic scans larger than the cache, where the oldest entry is the
next one needed. As in klepto's ``mru_cache``, the key that caused the overflow
is never the victim; unlike klepto, entries the policy never saw (a pre-filled
cache, a bulk ``load()``) are evicted before any of them instead of crashing.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from klepto_core.plugin import PluginSpec, UseOrderPolicy, hookimpl, untracked_victims

_ABSENT: Any = object()


class MRUPolicy(UseOrderPolicy):
    """Evict the most recently used key other than the one just admitted.

    The base class keeps the use order in an OrderedDict (a hit is one C call,
    ``move_to_end``, safe without the decorator's lock); an eviction is a
    ``popitem()``: O(1) each.
    """

    def victims(self, memory: Mapping[Hashable, Any], new_key: Hashable) -> list[Hashable]:
        order = self._order
        size = len(memory)
        if size - (self.maxsize or 0) == 1 and 1 < size <= len(order):
            # the usual overflow, every key tracked: the victim is the key used just before
            # the new one, read from the back of the order without moving the new key
            try:
                back = reversed(order)
                last = next(back)
                victim = next(back) if last is new_key or last == new_key else last
            except RuntimeError:  # a hit moved a key meanwhile: the general path below
                victim = new_key
            if victim is not new_key and victim != new_key and victim in memory:
                del order[victim]
                return [victim]
        out, excess = untracked_victims(memory, order, self.maxsize)
        if len(out) >= excess:
            return out
        # take the new key out while popping, so the victim is the most recent use before it
        had_new = order.pop(new_key, _ABSENT) is not _ABSENT
        while len(out) < excess and order:
            key, _ = order.popitem()
            if key in memory:
                out.append(key)
        if had_new:
            if len(out) < excess and new_key in memory:
                out.append(new_key)  # only when maxsize < 1 leaves nothing else to evict
            else:
                order[new_key] = None
        if len(out) < excess:  # memory holds keys our bookkeeping lost track of
            chosen = set(out)
            out.extend(k for k in list(memory) if k not in chosen and k != new_key)
            del out[excess:]
        return out


@hookimpl
def klepto_core_policy() -> PluginSpec:
    """Register the ``mru`` policy."""
    return PluginSpec(
        name="mru",
        factory=MRUPolicy,
        description="the most recently used entry (before the current call) is evicted first",
    )
