"""The hit path of an ``async def`` function: the async twins of :mod:`klepto_core.memo.wrappers`.

:func:`klepto_core.memo.wrappers.memoize` picks one of these when the decorated
function is ``async def``. A memory hit returns the stored value without
awaiting anything (no task, no lock, no thread); a miss awaits
:class:`~klepto_core.memo.async_misses.AsyncMisses`, which coalesces concurrent
misses of one key and keeps archive I/O off the event loop. When the memory *is*
a persistent archive (klepto's ``cache=dir_archive(..., cached=False)``), the
lookup itself reads the archive, so :func:`archive_wrapper` runs it in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

from klepto_core.errors import UnhashableKeyError
from klepto_core.memo.async_misses import AsyncMisses
from klepto_core.memo.misses import MISSING

#: a wrapper and its hit counter: (wrapper, read the count, reset it)
Built = tuple[Callable[..., Any], Callable[[], int], Callable[[], None]]


def untracked_wrapper(
    memo_key: Callable[..., Hashable],
    get: Callable[[Hashable, Any], Any],
    misses: AsyncMisses,
    unhashable: Callable[[Exception], UnhashableKeyError],
    content_key: Callable[[Hashable], Hashable],
) -> Built:
    """A policy without hit bookkeeping (rr, inf, no): key, lookup, count."""
    miss = misses.miss
    hits = 0

    async def wrapper(*args: Any, **kwds: Any) -> Any:
        nonlocal hits
        try:
            key = memo_key(*args, **kwds)
        except Exception as exc:  # unhashable, or a keymap that cannot encode the arguments
            raise unhashable(exc) from exc
        try:
            value = get(key, MISSING)
        except TypeError:  # an unhashable argument: the call's content key
            key = content_key(key)
            value = get(key, MISSING)
        if value is not MISSING:
            hits += 1
            return value
        return await miss(key, args, kwds)

    def reset() -> None:
        nonlocal hits
        hits = 0

    return wrapper, lambda: hits, reset


def tracked_wrapper(
    memo_key: Callable[..., Hashable],
    get: Callable[[Hashable, Any], Any],
    misses: AsyncMisses,
    unhashable: Callable[[Exception], UnhashableKeyError],
    content_key: Callable[[Hashable], Hashable],
) -> Built:
    """A policy (or an observer) that wants each hit (lru, lfu, mru)."""
    sync = misses.misses
    miss, on_hit, lock, admitted = misses.miss, sync.on_hit, sync.lock, sync.admitted
    assert on_hit is not None
    hits = 0

    async def wrapper(*args: Any, **kwds: Any) -> Any:
        nonlocal hits
        try:
            key = memo_key(*args, **kwds)
        except Exception as exc:  # unhashable, or a keymap that cannot encode the arguments
            raise unhashable(exc) from exc
        try:
            value = get(key, MISSING)
        except TypeError:  # an unhashable argument: the call's content key
            key = content_key(key)
            value = get(key, MISSING)
        if value is not MISSING:
            hits += 1
            try:
                on_hit(key)
            except KeyError:  # an entry the policy never saw (pre-filled, loaded)
                with lock:
                    admitted(key)
            return value
        return await miss(key, args, kwds)

    def reset() -> None:
        nonlocal hits
        hits = 0

    return wrapper, lambda: hits, reset


def safe_wrapper(
    memo_key: Callable[..., Hashable],
    get: Callable[[Hashable, Any], Any],
    misses: AsyncMisses,
    content_key: Callable[[Hashable], Hashable],
) -> Built:
    """``safe`` decorators: a call that cannot be keyed is awaited, not cached."""
    sync = misses.misses
    miss, on_hit, uncached = misses.miss, sync.on_hit, misses.uncached
    hits = 0

    async def wrapper(*args: Any, **kwds: Any) -> Any:
        nonlocal hits
        try:
            key = memo_key(*args, **kwds)
            try:
                value = get(key, MISSING)
            except TypeError:
                key = content_key(key)
                value = get(key, MISSING)
        except Exception:
            return await uncached(args, kwds)
        if value is not MISSING:
            hits += 1
            if on_hit is not None:
                sync.tracked_hit(on_hit, key)
            return value
        return await miss(key, args, kwds)

    def reset() -> None:
        nonlocal hits
        hits = 0

    return wrapper, lambda: hits, reset


def archive_wrapper(
    memo_key: Callable[..., Hashable],
    get: Callable[[Hashable, Any], Any],
    misses: AsyncMisses,
    unhashable: Callable[[Exception], UnhashableKeyError] | None,
) -> Built:
    """Memory that is a persistent archive: the lookup reads it, in a worker thread.

    ``unhashable`` None means ``safe``: a call that cannot be keyed is awaited uncached.
    """
    sync = misses.misses
    miss, on_hit = misses.miss, sync.on_hit
    hits = 0

    async def wrapper(*args: Any, **kwds: Any) -> Any:
        nonlocal hits
        try:
            key = memo_key(*args, **kwds)
            hash(key)
        except Exception as exc:
            if unhashable is None:
                return await misses.uncached(args, kwds)
            raise unhashable(exc) from exc
        value = await asyncio.to_thread(get, key, MISSING)
        if value is not MISSING:
            hits += 1
            if on_hit is not None:
                sync.tracked_hit(on_hit, key)
            return value
        return await miss(key, args, kwds)

    def reset() -> None:
        nonlocal hits
        hits = 0

    return wrapper, lambda: hits, reset
