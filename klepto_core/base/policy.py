"""The eviction policy base type: which keys leave memory when it is full.

A policy only keeps bookkeeping; the decorator owns the memory mapping and the
archive. The decorator calls :attr:`Policy.on_hit` on every memory hit (bound
once at decoration, so a policy with nothing to do on a hit costs nothing),
:meth:`Policy.admitted` after a miss or an archive load put a key in memory,
and :meth:`Policy.victims` when memory holds more than ``maxsize`` entries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from itertools import islice
from typing import Any, ClassVar


class Policy:
    """Bookkeeping for one cache; subclasses implement an eviction order.

    Class attributes describe the klepto decorator built on the policy:
    ``default_maxsize``/``default_purge`` are its defaults, ``forced`` holds
    options it always overrides (``{"maxsize": 0, "purge": True}`` for a policy
    that keeps nothing).
    """

    default_maxsize: ClassVar[int | None] = 100
    default_purge: ClassVar[bool] = False
    forced: ClassVar[dict[str, Any]] = {}

    #: called with the key on every memory hit; None when hits need no bookkeeping
    on_hit: Callable[[Hashable], object] | None = None

    def __init__(self, maxsize: int | None) -> None:
        self.maxsize = maxsize

    def admitted(self, key: Hashable) -> None:
        """Record that ``key`` was just stored in memory (after a miss or a load)."""

    def victims(self, memory: Mapping[Hashable, Any], new_key: Hashable) -> list[Hashable]:
        """Keys to remove now that ``memory`` holds more than ``maxsize`` entries.

        ``new_key`` is the key admitted by this call. Every returned key is in
        ``memory``; entries the policy never saw (a pre-filled cache, a bulk
        ``load()``) are evicted first, so memory ends at ``maxsize`` or below.
        """
        return []

    def forget(self, key: Hashable) -> None:
        """Drop ``key`` from the bookkeeping (it left memory by other means)."""

    def clear(self) -> None:
        """Forget everything (memory was cleared or purged)."""


class UseOrderPolicy(Policy):
    """A policy whose bookkeeping is the order of last use (a miss or a hit), oldest first.

    The order is an OrderedDict (``self._order``), so a hit is one C call
    (``move_to_end``, safe without the decorator's lock) and admitting,
    forgetting and popping either end are O(1). Subclasses only choose
    :meth:`~Policy.victims` from it: least-recently-used pops its front,
    most-recently-used its back.
    """

    def __init__(self, maxsize: int | None) -> None:
        super().__init__(maxsize)
        self._order: OrderedDict[Hashable, None] = OrderedDict()
        self.on_hit = self._order.move_to_end

    def admitted(self, key: Hashable) -> None:
        order = self._order
        order[key] = None
        order.move_to_end(key)

    def forget(self, key: Hashable) -> None:
        self._order.pop(key, None)

    def clear(self) -> None:
        self._order.clear()


def untracked(
    memory: Mapping[Hashable, Any], tracked: Mapping[Hashable, Any]
) -> Iterator[Hashable]:
    """Keys in ``memory`` the policy's bookkeeping does not know, oldest first."""
    if len(memory) <= len(tracked):
        # every memory key may still be tracked; a full scan is only needed when not
        return iter(())
    return (key for key in list(memory) if key not in tracked)


def untracked_victims(
    memory: Mapping[Hashable, Any], tracked: Mapping[Hashable, Any], maxsize: int | None
) -> tuple[list[Hashable], int]:
    """The first victims of an eviction, and how many keys must leave in all.

    Returns ``(victims, excess)``: ``excess`` is how many keys must leave
    ``memory`` for it to hold ``maxsize`` (all of them when ``maxsize`` is below
    one); ``victims`` holds, oldest first, up to ``excess`` of the keys the
    policy's bookkeeping ``tracked`` does not know (a pre-filled cache, a bulk
    ``load()``), which leave before any tracked one. A policy's ``victims`` adds
    ``excess - len(victims)`` keys of its own order. When every key is tracked
    (the usual case) this costs two ``len`` calls.
    """
    size = len(memory)
    excess = min(size, size - (maxsize or 0))
    if size <= len(tracked) or excess <= 0:
        return [], excess
    return list(islice(untracked(memory, tracked), excess)), excess
