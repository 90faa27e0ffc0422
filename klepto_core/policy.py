"""The eviction policy base type: which keys leave memory when it is full.

A policy only keeps bookkeeping; the decorator owns the memory mapping and the
archive. The decorator calls :attr:`Policy.on_hit` on every memory hit (bound
once at decoration, so a policy with nothing to do on a hit costs nothing),
:meth:`Policy.admitted` after a miss or an archive load put a key in memory,
and :meth:`Policy.victims` when memory holds more than ``maxsize`` entries.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
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


def untracked(
    memory: Mapping[Hashable, Any], tracked: Mapping[Hashable, Any]
) -> Iterator[Hashable]:
    """Keys in ``memory`` the policy's bookkeeping does not know, oldest first."""
    if len(memory) <= len(tracked):
        # every memory key may still be tracked; a full scan is only needed when not
        return iter(())
    return (key for key in list(memory) if key not in tracked)
