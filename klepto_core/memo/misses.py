"""What a call that memory cannot answer does: load it from the archive, or compute and store it.

A :class:`Misses` belongs to one decorated function. It owns the lock that
serialises the policy's bookkeeping, the miss and load counters, and the
overflow step (evict, or purge to the archive) that follows every new entry.
The hit path never enters it.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Hashable, Iterable
from types import CoroutineType
from typing import Any

from klepto_core.base.policy import Policy
from klepto_core.errors import (
    ArchiveStorageError,
    ArchiveStoreWarning,
    ArchiveUnavailableError,
    InvalidArgumentError,
)
from klepto_core.memo.memory import Memory, is_archive
from klepto_core.memo.notify import Notifier

#: "no value": memory and archive lookups return it instead of raising
MISSING: Any = object()


def _never() -> bool:
    return False


class Misses:
    """Loads, computations and evictions of one decorated function (see the module docstring)."""

    def __init__(
        self,
        func: Callable[..., Any],
        memory: Any,
        policy: Policy,
        maxsize: int | None,
        *,
        purge: bool,
        write_through: bool,
        report: Notifier | None,
        on_store_error: str = "warn",
    ) -> None:
        self.func = func
        self.memory = memory
        self.policy = policy
        self.maxsize = maxsize
        self.purge = purge
        self.write_through = write_through
        self.report = report
        self.on_store_error = on_store_error
        self._warned: set[int] = set()  # ids of the archives a failed store was warned about
        self.lock = threading.RLock()
        self.peek = memory.get
        self.admitted = policy.admitted
        # an archive passed as cache= *is* the memory: with maxsize 0 it is written
        # through and never wiped (klepto's no_cache emptied it on every call)
        self.keep_archive = is_archive(memory) and maxsize == 0
        self.is_archived: Callable[[], Any] = getattr(memory, "archived", None) or _never
        self.load = getattr(memory, "load", None)
        self.dump = getattr(memory, "dump", None)
        self.misses = self.loads = 0
        self.flight_hits = 0  # hits found while waiting for a single-flight lock
        #: what a hit runs: the policy's hook, with the observers' when they listen (see wrappers)
        self.on_hit: Callable[[Hashable], object] | None = policy.on_hit

    def overflow(self, key: Hashable) -> Iterable[Hashable]:
        """Make room after ``key`` entered memory (lock held); return the keys that left."""
        memory = self.memory
        if self.maxsize is None or self.keep_archive or len(memory) <= self.maxsize:
            return ()
        archived = self.is_archived() and not self.write_through  # written through: stored
        if self.purge and self.is_archived():
            if archived:
                self.store(self.dump)  # type: ignore[arg-type]
            gone = list(memory) if self.report is not None and self.report.evict else ()
            memory.clear()
            self.policy.clear()
            return gone
        victims = self.policy.victims(memory, key)
        for victim in victims:
            if archived:
                self.store(self.dump, victim)  # type: ignore[arg-type]
            memory.pop(victim, None)
        return victims

    def store(self, write: Callable[..., object], *args: Any) -> None:
        """Run an archive write; a storage fault or unreachable server warns once per archive
        and the call still answers, unless ``on_store_error="raise"``."""
        try:
            write(*args)
        except (ArchiveStorageError, ArchiveUnavailableError) as exc:
            if self.on_store_error == "raise":
                raise
            archive = getattr(self.memory, "archive", self.memory)
            if id(archive) not in self._warned:
                self._warned.add(id(archive))
                warnings.warn(
                    f"{self.func.__qualname__}: cannot store results in {archive!r} ({exc}); "
                    "results are still returned (on_store_error='raise' makes this an error)",
                    ArchiveStoreWarning, stacklevel=4,
                )

    def notify(
        self, gone: Iterable[Hashable], event: Callable[[Hashable], None] | None, key: Hashable
    ) -> None:
        """After the lock is released: tell observers what left memory, then this call's event."""
        evict = self.report.evict if self.report is not None else None
        if evict is not None:
            for victim in gone:
                evict(victim)
        if event is not None:
            event(key)

    def loaded(self, key: Hashable) -> Any:
        """The value the archive holds for ``key`` (now also in memory), or MISSING."""
        maxsize = self.maxsize
        if self.load is not None and self.is_archived():
            self.load(key)
            value = self.peek(key, MISSING)
        else:
            value = self.peek(key, MISSING) if maxsize == 0 else MISSING
        if value is MISSING:
            return value
        return self.admit_loaded(key, value)

    def admit_loaded(self, key: Hashable, value: Any) -> Any:
        """Count and admit ``value``, just copied from the archive into memory; return it."""
        maxsize = self.maxsize
        gone: Iterable[Hashable] = ()
        with self.lock:
            self.loads += 1
            if maxsize == 0:
                if not self.keep_archive:
                    self.memory.clear()  # it came from the archive: nothing to write back
            else:
                self.admitted(key)
                gone = self.overflow(key)
        if self.report is not None:
            self.notify(gone, self.report.load, key)
        return value

    def computed(
        self, key: Hashable, args: tuple[Any, ...], kwds: dict[str, Any], through: bool
    ) -> Any:
        """Call the function, store its result (in the archive first when ``through``)."""
        value = self.func(*args, **kwds)
        if type(value) is CoroutineType:
            value.close()
            raise InvalidArgumentError(
                f"{self.func!r} returned a coroutine but is not an 'async def' function: "
                "its coroutine cannot be cached; decorate the 'async def' function itself"
            )
        return self.stored(key, value, through)

    def stored(self, key: Hashable, value: Any, through: bool) -> Any:
        """Store a computed ``value`` (in the archive first when ``through``); return it."""
        memory = self.memory
        if through and self.is_archived():
            self.store(memory.archive.__setitem__, key, value)  # once, outside the lock
        with self.lock:
            memory[key] = value
            self.misses += 1
            self.admitted(key)
            gone = self.overflow(key)
        if self.report is not None:
            self.notify(gone, self.report.miss, key)
        return value

    def miss(self, key: Hashable, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        """Answer a call memory does not hold: from the archive, else by computing it."""
        value = self.loaded(key)
        if value is not MISSING:
            return value
        return self.computed(key, args, kwds, self.write_through)

    def uncached(self, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        """Compute a call that cannot be keyed (``safe`` decorators), counted as a miss."""
        with self.lock:
            self.misses += 1
        return self.func(*args, **kwds)

    def tracked_hit(self, on_hit: Callable[[Hashable], object], key: Hashable) -> None:
        """Run the policy's hit hook; a key it never saw (pre-filled, loaded) is admitted."""
        try:
            on_hit(key)
        except KeyError:
            with self.lock:
                self.admitted(key)

    def clear(self, keepstats: bool) -> None:
        """Empty memory (unless it is the archive itself) and the policy; reset the counters."""
        with self.lock:
            if not self.keep_archive:
                self.memory.clear()
            self.policy.clear()
            if not keepstats:
                self.misses = self.loads = self.flight_hits = 0


class SingleFlightMisses(Misses):
    """Misses that take the archive's per-key lock: of many callers missing a key, one computes."""

    def key_lock(self, key: Hashable) -> Any:
        """The lock on ``key``; looked up per miss, as the archive can be swapped or toggled."""
        memory = self.memory
        target = memory.archive if isinstance(memory, Memory) else memory
        take = getattr(target, "lock", None) if is_archive(target) else None
        # the lock machinery (os, time, fcntl paths) loads with the first single-flight miss
        from klepto_core.storage.locking import KeyLock

        return KeyLock(("memoize", id(memory)), key) if take is None else take(key)

    def miss(self, key: Hashable, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        value = self.loaded(key)
        if value is not MISSING:
            return value
        with self.key_lock(key):
            value = self.loaded(key)  # the holder before us may have stored it
            if value is not MISSING:
                return value
            value = self.peek(key, MISSING) if self.maxsize != 0 else MISSING
            if value is not MISSING:  # a thread of this process computed it meanwhile
                self.flight_hits += 1
                if self.on_hit is not None:  # the policy's (and observers') hit, as a wrapper's
                    self.tracked_hit(self.on_hit, key)
                return value
            # written to the archive before the lock is released, so waiters find it
            return self.computed(key, args, kwds, True)
