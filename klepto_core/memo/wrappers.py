"""Wrap a function in a memoizing cache: key the call, look it up, hand a miss on.

Everything is decided once, at decoration. :func:`memoize` picks one of three
small wrapper builders, so the hit path never tests an option:

- :func:`_untracked_wrapper`: the policy keeps no hit bookkeeping (rr, inf, no);
  a hit is the key, a dict lookup and a counter.
- :func:`_tracked_wrapper`: the policy (or an observer) wants each hit (lru, lfu, mru).
- :func:`_safe_wrapper`: ``safe`` decorators, where a call that cannot be keyed
  is computed, not cached.

An ``async def`` function gets the async twin of one of them
(:mod:`klepto_core.memo.async_wrappers`); generator functions are refused.

Everything a miss does lives in :mod:`klepto_core.memo.misses`; the methods a
decorated function carries (``info``, ``clear``, ``key`` ...) in
:mod:`klepto_core.memo.controls`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Hashable
from typing import Any

from klepto_core.errors import (
    InvalidArgumentError,
    ObserverError,
    SerializationError,
    UnhashableKeyError,
)
from klepto_core.keys.compose import build_key_functions, namespaced
from klepto_core.memo.controls import KeyFunctions, attach_controls
from klepto_core.memo.memory import is_archive
from klepto_core.memo.misses import MISSING, Misses, SingleFlightMisses
from klepto_core.memo.notify import notifier
from klepto_core.memo.options import Options, check_ignore

#: a wrapper and its hit counter: (wrapper, read the count, reset it)
Built = tuple[Callable[..., Any], Callable[[], int], Callable[[], None]]


def memoize(
    func: Callable[..., Any],
    options: Options,
    *,
    cache: Any,
    namespace: str | None = None,
    write_through: bool = False,
) -> Callable[..., Any]:
    """Return ``func`` wrapped in a cache run by ``options`` over the mapping ``cache``.

    ``namespace`` prefixes every key (so functions sharing one archive never
    read each other's results); ``write_through`` writes each computed value to
    the archive at once instead of on eviction, purge or ``dump()``.
    """
    if not callable(func):
        raise InvalidArgumentError(f"cannot cache {func!r}: it is not callable")
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise InvalidArgumentError(
            f"cannot cache {func!r}: it is a generator function, whose generators run once; "
            "cache a function that returns a list (or an 'async def' one that does)"
        )
    is_async = _is_async(func)
    check_ignore(func, options.ignore)
    memo_key, user_key = build_key_functions(
        func, options.keymap, options.ignore, options.tol, options.deep
    )
    if namespace is not None:
        memo_key, user_key = namespaced(namespace, memo_key), namespaced(namespace, user_key)
    kind = SingleFlightMisses if options.single_flight else Misses
    misses = kind(
        func, cache, options.new_policy(), options.maxsize,
        purge=options.purge, write_through=write_through, report=notifier(func, options.observers),
        on_store_error=options.on_store_error,
    )
    misses.on_hit = _hit_hook(func, misses)
    if is_async:
        built = _async_wrapper(memo_key, misses, options.safe, _unhashable(func))
    elif options.safe:
        built = _safe_wrapper(memo_key, _lookup(misses), misses, _unhashable(func))
    elif misses.on_hit is None:
        built = _untracked_wrapper(memo_key, _lookup(misses), misses, _unhashable(func))
    else:
        built = _tracked_wrapper(memo_key, _lookup(misses), misses, _unhashable(func))
    wrapper = built[0]
    functools.update_wrapper(wrapper, func)
    keys = KeyFunctions(memo_key, user_key, by_content(_unhashable(func)), namespace)
    attach_controls(wrapper, misses, built, keys, options)
    return wrapper


def _is_async(func: Callable[..., Any]) -> bool:
    """Whether calling ``func`` makes a coroutine: ``async def``, or an object whose __call__ is."""
    if inspect.iscoroutinefunction(func):
        return True
    if inspect.isfunction(func) or inspect.ismethod(func) or isinstance(func, type):
        return False
    return inspect.iscoroutinefunction(type(func).__call__)  # type: ignore[operator]


def _async_wrapper(
    memo_key: Callable[..., Hashable],
    misses: Misses,
    safe: bool,
    unhashable: Callable[[Exception], UnhashableKeyError],
) -> Built:
    """The ``async def`` wrapper over ``misses`` (see :mod:`klepto_core.memo.async_wrappers`)."""
    # asyncio is a third of a cold start: only an async def function loads it
    from klepto_core.memo import async_wrappers
    from klepto_core.memo.async_misses import AsyncMisses, persistent_target

    flights = AsyncMisses(misses)
    get = _lookup(misses)
    if is_archive(misses.memory) and persistent_target(misses.memory):
        return async_wrappers.archive_wrapper(memo_key, get, flights, None if safe else unhashable)
    content_key = by_content(unhashable)
    if safe:
        return async_wrappers.safe_wrapper(memo_key, get, flights, content_key)
    if misses.on_hit is None:
        return async_wrappers.untracked_wrapper(memo_key, get, flights, unhashable, content_key)
    return async_wrappers.tracked_wrapper(memo_key, get, flights, unhashable, content_key)


def _lookup(misses: Misses) -> Callable[[Hashable, Any], Any]:
    """Memory's ``get``; with maxsize 0 a lookup that never answers (klepto's no_cache).

    Either raises TypeError for a key that holds an unhashable argument, as a dict
    does, so the wrapper can fall back to the argument's content key.
    """
    memory = misses.memory
    if misses.maxsize != 0:
        if isinstance(memory, dict) and type(memory).get is dict.get:
            return memory.get
        mapping_get = memory.get  # an archive as memory may not hash the key itself

        def hashing_get(key: Hashable, default: Any) -> Any:
            hash(key)
            return mapping_get(key, default)

        return hashing_get

    def never(key: Hashable, default: Any) -> Any:
        hash(key)  # an unhashable key fails here, as a real lookup would
        return default

    # a value found in memory (pre-filled, or the archive that *is* memory) counts as a load
    return never


def _hit_hook(func: Callable[..., Any], misses: Misses) -> Callable[[Hashable], object] | None:
    """What a hit runs: the policy's hook, then the observers' (None when neither listens)."""
    policy_hit = misses.policy.on_hit
    tell = misses.report.hit if misses.report is not None else None
    if tell is None:
        return policy_hit

    def observed_hit(key: Hashable) -> None:
        # the policy's bookkeeping first (its KeyError handled here, as the wrappers do),
        # then the observers, whose own KeyError must not pass for it
        if policy_hit is not None:
            misses.tracked_hit(policy_hit, key)
        try:
            tell(key)
        except KeyError as exc:
            raise ObserverError(f"an observer of {func!r} raised on a hit: {exc!r}") from exc

    return observed_hit


def _unhashable(func: Callable[..., Any]) -> Callable[[Exception], UnhashableKeyError]:
    """The error for a call whose arguments the keymap cannot turn into a key."""

    def unhashable(exc: Exception) -> UnhashableKeyError:
        name = getattr(func, "__qualname__", func)
        error = UnhashableKeyError(f"cannot cache a call of {name!s}: {exc}")
        error.__cause__ = exc
        return error

    return unhashable


def by_content(
    unhashable: Callable[[Exception], UnhashableKeyError],
) -> Callable[[Hashable], Hashable]:
    """The key for a call holding an unhashable argument (an array, a list, a frame ...)."""

    def content_key(key: Hashable) -> Hashable:
        # content keying (pickle, hashlib, xxhash) loads at the first unhashable argument
        from klepto_core.keys.content import memo_key

        try:
            return memo_key(key)  # type: ignore[no-any-return]
        except SerializationError as exc:
            raise unhashable(exc) from exc

    return content_key


def _untracked_wrapper(
    memo_key: Callable[..., Hashable],
    get: Callable[[Hashable, Any], Any],
    misses: Misses,
    unhashable: Callable[[Exception], UnhashableKeyError],
) -> Built:
    miss, content_key = misses.miss, by_content(unhashable)
    hits = 0

    def wrapper(*args: Any, **kwds: Any) -> Any:
        nonlocal hits
        try:
            key = memo_key(*args, **kwds)
        except Exception as exc:  # unhashable, or a keymap that cannot encode the arguments
            raise unhashable(exc) from exc
        try:
            value = get(key, MISSING)
        except TypeError:
            key = content_key(key)
            value = get(key, MISSING)
        if value is not MISSING:
            hits += 1
            return value
        return miss(key, args, kwds)

    def reset() -> None:
        nonlocal hits
        hits = 0

    return wrapper, lambda: hits, reset


def _tracked_wrapper(
    memo_key: Callable[..., Hashable],
    get: Callable[[Hashable, Any], Any],
    misses: Misses,
    unhashable: Callable[[Exception], UnhashableKeyError],
) -> Built:
    miss, on_hit, lock, admitted = misses.miss, misses.on_hit, misses.lock, misses.admitted
    content_key = by_content(unhashable)
    assert on_hit is not None
    hits = 0

    def wrapper(*args: Any, **kwds: Any) -> Any:
        nonlocal hits
        try:
            key = memo_key(*args, **kwds)
        except Exception as exc:  # unhashable, or a keymap that cannot encode the arguments
            raise unhashable(exc) from exc
        try:
            value = get(key, MISSING)
        except TypeError:
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
        return miss(key, args, kwds)

    def reset() -> None:
        nonlocal hits
        hits = 0

    return wrapper, lambda: hits, reset


def _safe_wrapper(
    memo_key: Callable[..., Hashable],
    get: Callable[[Hashable, Any], Any],
    misses: Misses,
    unhashable: Callable[[Exception], UnhashableKeyError],
) -> Built:
    miss, on_hit, uncached = misses.miss, misses.on_hit, misses.uncached
    content_key = by_content(unhashable)
    hits = 0

    def wrapper(*args: Any, **kwds: Any) -> Any:
        nonlocal hits
        try:
            key = memo_key(*args, **kwds)
            try:
                value = get(key, MISSING)
            except TypeError:
                key = content_key(key)
                value = get(key, MISSING)
        except Exception:
            return uncached(args, kwds)
        if value is not MISSING:
            hits += 1
            if on_hit is not None:
                misses.tracked_hit(on_hit, key)
            return value
        return miss(key, args, kwds)

    def reset() -> None:
        nonlocal hits
        hits = 0

    return wrapper, lambda: hits, reset
