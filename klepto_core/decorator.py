"""Wrap a function in a memoizing cache: key the call, look it up, compute on a miss.

Everything is resolved once, here, at decoration: the keymap, the argument
binder, the rounding, the policy's hit hook and the archive methods become
local variables of one closure. A hit runs the binder, a dict lookup and (for
policies that track hits) one C-level call; there is no plugin dispatch and no
signature inspection per call.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from klepto_core._binder import compile_binder
from klepto_core.cachemap import cache as cache_type
from klepto_core.cachemap import is_archive
from klepto_core.errors import (
    InvalidArgumentError,
    ObserverError,
    SerializationError,
    UnhashableKeyError,
)
from klepto_core.keymap import Keymap
from klepto_core.observer import notifier
from klepto_core.policy import Policy
from klepto_core.tools import CacheInfo

_MISS: Any = object()


def build_key_functions(
    func: Callable[..., Any], keymap: Keymap, ignore: Any, tol: int | None, deep: bool
) -> tuple[Callable[..., Hashable], Callable[..., Hashable]]:
    """Return ``(memo_key, user_key)``: the key the cache stores, and klepto's ``f.key``."""
    from klepto_core.rounding import make_rounder

    if not callable(keymap):
        raise InvalidArgumentError(f"keymap= expects a keymap or a callable, got {keymap!r}")
    rounder = make_rounder(tol, deep)
    if isinstance(keymap, Keymap) and keymap.is_plain_flat:
        binder = compile_binder(func, ignore, flat=True)
        fast = keymap._fasttypes
        if getattr(binder, "__kc_may_collapse__", True):
            flat_binder = binder

            def binder(*args: Any, **kwds: Any) -> Any:
                key = flat_binder(*args, **kwds)
                if len(key) == 1 and type(key[0]) in fast:
                    return key[0]
                return key

        encode = keymap.encode_key
        if keymap.lossy or keymap.identity:
            formatted = binder
        else:

            def formatted(*args: Any, **kwds: Any) -> Hashable:
                return encode(binder(*args, **kwds))

        def flat_user(*args: Any, **kwds: Any) -> Hashable:
            return encode(binder(*args, **kwds))

        memo: Callable[..., Hashable] = formatted
        user: Callable[..., Hashable] = flat_user
    else:
        pair_binder = compile_binder(func, ignore, flat=False)
        memo_of = keymap.memo_key if isinstance(keymap, Keymap) else keymap

        def pair_memo(*args: Any, **kwds: Any) -> Hashable:
            a, k = pair_binder(*args, **kwds)
            return memo_of(*a, **k)

        def pair_user(*args: Any, **kwds: Any) -> Hashable:
            a, k = pair_binder(*args, **kwds)
            return keymap(*a, **k)

        memo, user = pair_memo, pair_user

    if rounder is None:
        return memo, user
    plain_memo, plain_user = memo, user

    def rounded_memo(*args: Any, **kwds: Any) -> Hashable:
        a, k = rounder(args, kwds)
        return plain_memo(*a, **k)

    def rounded_user(*args: Any, **kwds: Any) -> Hashable:
        a, k = rounder(args, kwds)
        return plain_user(*a, **k)

    return rounded_memo, rounded_user


def _namespaced(namespace: str, key_of: Callable[..., Hashable]) -> Callable[..., Hashable]:
    def namespaced(*args: Any, **kwds: Any) -> Hashable:
        return (namespace, key_of(*args, **kwds))

    return namespaced


def memoize(
    func: Callable[..., Any],
    *,
    policy: Policy,
    maxsize: int | None,
    cache: Any,
    keymap: Keymap,
    ignore: Any = None,
    tol: int | None = None,
    deep: bool = False,
    purge: bool = False,
    safe: bool = False,
    namespace: str | None = None,
    write_through: bool = False,
    single_flight: bool = False,
    observers: Any = None,
) -> Callable[..., Any]:
    """Return ``func`` wrapped in a cache run by ``policy`` over the mapping ``cache``.

    ``namespace`` prefixes every key (so functions sharing one archive never
    read each other's results); ``write_through`` writes each computed value to
    the archive at once instead of on eviction, purge or ``dump()``;
    ``single_flight`` makes a miss take the archive's lock on the key, so of many
    threads or processes missing one key at once one computes, the rest load it.
    ``observers`` receive the cache's events (None: every installed observer plugin).
    """
    if not callable(func):
        raise InvalidArgumentError(f"cannot cache {func!r}: it is not callable")
    memory = cache
    memo_key, user_key = build_key_functions(func, keymap, ignore, tol, deep)
    if namespace is not None:
        memo_key, user_key = _namespaced(namespace, memo_key), _namespaced(namespace, user_key)
    lock = threading.RLock()
    get = peek = memory.get
    if not (isinstance(memory, dict) and type(memory).get is dict.get):
        # an archive (or another mapping) as memory may not raise for an unhashable key
        # the way a dict does; the content-key fallback below needs that TypeError
        mapping_get = peek

        def get(key: Hashable, default: Any) -> Any:
            hash(key)
            return mapping_get(key, default)

    if maxsize == 0:
        # klepto's no_cache never answers from memory: a value found there (pre-filled, or
        # the uncached archive that *is* memory) is counted as a load in miss(), never a hit

        def get(key: Hashable, default: Any) -> Any:
            hash(key)  # an unhashable key fails here, as a real lookup would
            return default

    on_hit = policy.on_hit
    admitted = policy.admitted
    report = notifier(func, observers)  # None unless some observer wants an event
    report_hit = report_miss = report_load = report_evict = None
    if report is not None:
        report_hit, report_miss, report_load = report.hit, report.miss, report.load
        report_evict = report.evict
    bounded = maxsize is not None
    # an archive passed as cache= *is* the memory: with maxsize 0 it is written
    # through and never wiped (klepto's no_cache emptied it on every call)
    keep_archive = is_archive(memory) and maxsize == 0
    is_archived: Callable[[], Any] = getattr(memory, "archived", None) or (lambda: False)
    load = getattr(memory, "load", None)
    dump = getattr(memory, "dump", None)
    hits = misses = loads = 0

    def overflow(key: Hashable) -> Iterable[Hashable]:
        # called with the lock held, after ``key`` entered memory; returns the keys that left
        if keep_archive or len(memory) <= maxsize:  # type: ignore[operator]
            return ()
        archived = is_archived() and not write_through  # written through: already stored
        if purge and is_archived():
            if archived:
                dump()  # type: ignore[misc]
            gone = list(memory) if report_evict is not None else ()
            memory.clear()
            policy.clear()
            return gone
        victims = policy.victims(memory, key)
        for victim in victims:
            if archived:
                dump(victim)  # type: ignore[misc]
            memory.pop(victim, None)
        return victims

    def notify(
        gone: Iterable[Hashable], event: Callable[[Hashable], None] | None, key: Hashable
    ) -> None:
        # after the lock is released: the observers hear what left memory, then this call
        if report_evict is not None:
            for victim in gone:
                report_evict(victim)
        if event is not None:
            event(key)

    def loaded(key: Hashable) -> Any:
        # the value the archive holds for ``key`` (now also in memory), or _MISS
        nonlocal loads
        if load is not None and is_archived():
            load(key)
            value = peek(key, _MISS)
        else:
            value = peek(key, _MISS) if maxsize == 0 else _MISS
        if value is not _MISS:
            gone: Iterable[Hashable] = ()
            with lock:
                loads += 1
                if maxsize == 0:
                    if not keep_archive:
                        memory.clear()  # it came from the archive: nothing to write back
                else:
                    admitted(key)
                    if bounded:
                        gone = overflow(key)
            if report is not None:
                notify(gone, report_load, key)
        return value

    def computed(key: Hashable, args: tuple[Any, ...], kwds: dict[str, Any], through: bool) -> Any:
        nonlocal misses
        value = func(*args, **kwds)
        if through and is_archived():
            memory.archive[key] = value  # written through once, outside the lock
        gone: Iterable[Hashable] = ()
        with lock:
            memory[key] = value
            misses += 1
            admitted(key)
            if bounded:
                gone = overflow(key)
        if report is not None:
            notify(gone, report_miss, key)
        return value

    def miss(key: Hashable, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        value = loaded(key)
        if value is not _MISS:
            return value
        return computed(key, args, kwds, write_through)

    if single_flight:
        from klepto_core.locking import KeyLock

        def key_lock(key: Hashable) -> Any:
            # looked up per miss: the archive can be swapped or toggled after decoration
            target = memory.archive if isinstance(memory, cache_type) else memory
            take = getattr(target, "lock", None) if is_archive(target) else None
            return KeyLock(("memoize", id(memory)), key) if take is None else take(key)

        def miss(key: Hashable, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
            nonlocal hits
            value = loaded(key)
            if value is not _MISS:
                return value
            with key_lock(key):
                value = loaded(key)  # the holder before us may have stored it
                if value is not _MISS:
                    return value
                value = peek(key, _MISS) if maxsize != 0 else _MISS
                if value is not _MISS:  # a thread of this process computed it meanwhile
                    hits += 1
                    if on_hit is not None:  # the policy's (and observers') hit, as a wrapper's
                        try:
                            on_hit(key)
                        except KeyError:
                            with lock:
                                admitted(key)
                    return value
                # written to the archive before the lock is released, so waiters find it
                return computed(key, args, kwds, True)

    if report_hit is not None:
        policy_hit, tell = on_hit, report_hit

        def on_hit(key: Hashable) -> None:
            # the policy's bookkeeping first (a KeyError from it handled here, as the
            # wrappers do), then the observers, whose own KeyError must not pass for it
            if policy_hit is not None:
                try:
                    policy_hit(key)
                except KeyError:
                    with lock:
                        admitted(key)
            try:
                tell(key)
            except KeyError as exc:
                raise ObserverError(f"an observer of {func!r} raised on a hit: {exc!r}") from exc

    def unhashable(exc: Exception) -> UnhashableKeyError:
        error = UnhashableKeyError(
            f"cannot cache a call of {getattr(func, '__qualname__', func)!s}: {exc}"
        )
        error.__cause__ = exc
        return error

    def by_content(key: Hashable) -> Hashable:
        # the key holds an unhashable argument (an array, a list, a frame...): key it by content
        from klepto_core.keys.content import memo_key as content_memo_key

        try:
            return content_memo_key(key)  # type: ignore[no-any-return]
        except SerializationError as exc:
            raise unhashable(exc) from exc

    if safe:

        def wrapper(*args: Any, **kwds: Any) -> Any:
            nonlocal hits, misses
            try:
                key = memo_key(*args, **kwds)
                try:
                    value = get(key, _MISS)
                except TypeError:
                    key = by_content(key)
                    value = get(key, _MISS)
            except Exception:
                with lock:
                    misses += 1
                return func(*args, **kwds)
            if value is not _MISS:
                hits += 1
                if on_hit is not None:
                    try:
                        on_hit(key)
                    except KeyError:
                        with lock:
                            admitted(key)
                return value
            return miss(key, args, kwds)

    elif on_hit is None:

        def wrapper(*args: Any, **kwds: Any) -> Any:
            nonlocal hits
            try:
                key = memo_key(*args, **kwds)
            except Exception as exc:  # unhashable, or a keymap that cannot encode the arguments
                raise unhashable(exc) from exc
            try:
                value = get(key, _MISS)
            except TypeError:
                key = by_content(key)
                value = get(key, _MISS)
            if value is not _MISS:
                hits += 1
                return value
            return miss(key, args, kwds)

    else:

        def wrapper(*args: Any, **kwds: Any) -> Any:
            nonlocal hits
            try:
                key = memo_key(*args, **kwds)
            except Exception as exc:  # unhashable, or a keymap that cannot encode the arguments
                raise unhashable(exc) from exc
            try:
                value = get(key, _MISS)
            except TypeError:
                key = by_content(key)
                value = get(key, _MISS)
            if value is not _MISS:
                hits += 1
                try:
                    on_hit(key)
                except KeyError:  # an entry the policy never saw (pre-filled, loaded)
                    with lock:
                        admitted(key)
                return value
            return miss(key, args, kwds)

    def info() -> CacheInfo:
        """Hits, misses and loads so far, the maxsize and the number of entries in memory."""
        return CacheInfo(hits, misses, loads, maxsize, len(memory))

    def clear(keepstats: bool = False) -> None:
        """Empty memory (not the archive) and, unless ``keepstats``, reset the counters."""
        nonlocal hits, misses, loads
        with lock:
            if not keep_archive:
                memory.clear()
            policy.clear()
            if not keepstats:
                hits = misses = loads = 0

    def key(*args: Any, **kwds: Any) -> Hashable:
        """The key a call with these arguments is cached under."""
        try:
            return user_key(*args, **kwds)
        except TypeError:
            if not (isinstance(keymap, Keymap) and keymap.lossy):
                raise
        # builtin hash of a key holding unhashable arguments: the hash of its content key
        memo = by_content(memo_key(*args, **kwds))
        if namespace is not None:
            return (memo[0], keymap.encode_key(memo[1]))  # type: ignore[index]
        return keymap.encode_key(memo)

    def lookup(*args: Any, **kwds: Any) -> Any:
        """The value in memory for a call with these arguments; KeyError if absent."""
        memo = memo_key(*args, **kwds)
        try:
            return memory[memo]
        except TypeError:
            return memory[by_content(memo)]

    def set_archive(obj: Any) -> None:
        """Attach a new archive behind memory (a cache's archive, or an archive)."""
        if not isinstance(memory, cache_type):
            raise ValueError("cannot set new archive")
        if isinstance(obj, cache_type):
            obj = obj.archive
        if not is_archive(obj):
            raise InvalidArgumentError(
                f"archive() expects an archive or a cache, got {type(obj).__name__}; "
                "use f.archived(False) to switch archiving off"
            )
        memory.archive = obj

    def archived(*on: bool) -> Any:
        """Whether an archive is attached; ``archived(False)``/``archived(True)`` toggle it."""
        method = getattr(memory, "archived", None)
        if method is None:
            if on:
                raise ValueError("cannot toggle archive")
            return False
        return method(*on)

    def load_keys(*keys: Hashable) -> None:
        """Copy these keys (all when none) from the archive into memory."""
        if load is not None:
            load(*keys)

    def dump_keys(*keys: Hashable) -> None:
        """Write these keys (all of memory when none) to the archive."""
        if dump is not None:
            dump(*keys)

    functools.update_wrapper(wrapper, func)
    wrapper.info = info  # type: ignore[attr-defined]
    wrapper.clear = clear  # type: ignore[attr-defined]
    wrapper.key = key  # type: ignore[attr-defined]
    wrapper.lookup = lookup  # type: ignore[attr-defined]
    wrapper.load = load_keys  # type: ignore[attr-defined]
    wrapper.dump = dump_keys  # type: ignore[attr-defined]
    wrapper.archive = set_archive  # type: ignore[attr-defined]
    wrapper.archived = archived  # type: ignore[attr-defined]
    wrapper.__cache__ = lambda: memory  # type: ignore[attr-defined]
    wrapper.__mask__ = lambda: ignore  # type: ignore[attr-defined]
    wrapper.__map__ = lambda: keymap  # type: ignore[attr-defined]
    wrapper.__policy__ = lambda: policy  # type: ignore[attr-defined]
    return wrapper
