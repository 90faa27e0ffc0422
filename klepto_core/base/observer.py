"""Observers: plugins told of each cache event (hit, miss, load, evict), for metrics and logs.

An observer plugin's factory is called once per process, with no arguments,
and returns an :class:`Observer`; :mod:`klepto_core.memo.notify` decides which
observers a decorated function reports to.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["EVENTS", "Observer"]

#: the events an observer can receive, each a method of :class:`Observer`
EVENTS: tuple[str, ...] = ("hit", "miss", "load", "evict")


class Observer:
    """Receives the cache events of decorated functions; override the methods you need.

    Each method gets the undecorated function and the key of the call. ``hit``:
    answered from memory; ``miss``: computed; ``load``: found in the archive;
    ``evict``: dropped from memory by the policy or a purge. Methods run on the
    calling thread, outside the cache's lock, after the event took effect; an
    exception they raise reaches the caller (a KeyError from ``hit`` as
    :class:`~klepto_core.errors.ObserverError`, so it is never taken for the
    cache's own), so keep them cheap and safe.
    """

    def hit(self, func: Callable[..., Any], key: Hashable) -> None:
        """A call answered from memory."""

    def miss(self, func: Callable[..., Any], key: Hashable) -> None:
        """A call that ran the function."""

    def load(self, func: Callable[..., Any], key: Hashable) -> None:
        """A call answered from the archive (and now kept in memory)."""

    def evict(self, func: Callable[..., Any], key: Hashable) -> None:
        """An entry dropped from memory (to the archive, if one is attached)."""
