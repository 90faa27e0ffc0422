"""What an ``async def`` function's miss does: coalesce, load or compute, store, off the loop.

An :class:`AsyncMisses` drives the same :class:`~klepto_core.memo.misses.Misses`
a synchronous function has (counters, policy bookkeeping, overflow, observers),
and adds two things an event loop needs:

- **coalescing**: concurrent awaits of one missing key in one event loop share
  one task, so the body runs once; every awaiter gets its result or its
  exception (never cached). Each awaiter waits through :func:`asyncio.shield`,
  so cancelling one never cancels the computation the others wait for;
- **no blocking I/O on the loop**: with a persistent archive the load and the
  store (write-through, eviction to the archive) run in a worker thread, and
  ``single_flight``'s archive lock is taken and released in a thread of its own;
  an archive whose plugin has a native asyncio client (``native_async``, e.g.
  ``redis.asyncio``) is awaited directly instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import AbstractContextManager
from typing import Any

from klepto_core.memo.memory import Memory
from klepto_core.memo.misses import MISSING, Misses, SingleFlightMisses


def persistent_target(memory: Any) -> bool:
    """True when a miss on ``memory`` reads or writes a persistent archive (disk or server)."""
    target = memory.archive if isinstance(memory, Memory) else memory
    return bool(getattr(target, "persistent", False))


def native_archive(misses: Misses) -> Any:
    """The archive behind memory when its plugin has a native asyncio client, else None."""
    memory = misses.memory
    if not isinstance(memory, Memory) or not misses.is_archived():
        return None
    archive = memory.archive
    return archive if getattr(archive, "native_async", False) else None


async def _run(offload: bool, call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)``: in a worker thread when ``offload``, else here on the loop."""
    if offload:
        return await asyncio.to_thread(call, *args)
    return call(*args)


class AsyncMisses:
    """The misses of one ``async def`` function (see the module docstring)."""

    def __init__(self, misses: Misses) -> None:
        self.misses = misses
        self.single_flight = isinstance(misses, SingleFlightMisses)
        # per event loop: the keys being computed there -> the task computing each
        self._flights: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Hashable, asyncio.Task[Any]]
        ] = weakref.WeakKeyDictionary()

    async def miss(self, key: Hashable, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        """Answer a call memory does not hold, joining a computation of ``key`` in flight."""
        loop = asyncio.get_running_loop()
        flights = self._flights.get(loop)
        if flights is None:
            flights = self._flights.setdefault(loop, {})
        task = flights.get(key)
        if task is not None:
            value = await asyncio.shield(task)
            self.joined(key)
            return value
        task = loop.create_task(self.resolve(key, args, kwds))
        flights[key] = task
        task.add_done_callback(functools.partial(_landed, flights, key))
        return await asyncio.shield(task)

    def joined(self, key: Hashable) -> None:
        """An awaiter got a value another one computed: a hit, as a single-flight waiter's."""
        misses = self.misses
        with misses.lock:
            misses.flight_hits += 1
        if misses.on_hit is not None:
            misses.tracked_hit(misses.on_hit, key)

    async def resolve(self, key: Hashable, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        """Load ``key`` from the archive, else await the function and store its result."""
        misses = self.misses
        native = native_archive(misses)
        if native is not None and not self.single_flight:
            return await self._native(misses, native, key, args, kwds)
        offload = persistent_target(misses.memory)
        value = await _run(offload, misses.loaded, key)
        if value is not MISSING:
            return value
        if self.single_flight:
            assert isinstance(misses, SingleFlightMisses)
            return await self._single_flight(misses, key, args, kwds, offload)
        value = await misses.func(*args, **kwds)
        return await _run(offload, misses.stored, key, value, misses.write_through)

    async def _native(
        self,
        misses: Misses,
        archive: Any,
        key: Hashable,
        args: tuple[Any, ...],
        kwds: dict[str, Any],
    ) -> Any:
        """A miss over an archive with a native asyncio client: its reads and writes awaited.

        Only eviction to the archive (klepto-style caches, which write on eviction
        rather than through) still goes through a thread.
        """
        evicts_to_archive = not misses.write_through
        try:
            value = await archive.aget(key)
        except KeyError as exc:
            if getattr(exc, "archive", None) is not None:
                raise  # a corrupt entry is reported, not mistaken for a miss
        else:
            misses.memory[key] = value
            return await _run(evicts_to_archive, misses.admit_loaded, key, value)
        value = await misses.func(*args, **kwds)
        if misses.write_through:
            await archive.aset(key, value)
        return await _run(evicts_to_archive, misses.stored, key, value, False)

    async def _single_flight(
        self,
        misses: SingleFlightMisses,
        key: Hashable,
        args: tuple[Any, ...],
        kwds: dict[str, Any],
        offload: bool,
    ) -> Any:
        """Compute under the archive's lock on ``key`` (other processes wait, loads after it)."""
        async with held_in_thread(misses.key_lock(key)):
            value = await _run(offload, misses.loaded, key)  # the holder before us stored it
            if value is not MISSING:
                return value
            value = misses.peek(key, MISSING) if misses.maxsize != 0 else MISSING
            if value is not MISSING:  # a thread of this process computed it meanwhile
                self.joined(key)
                return value
            value = await misses.func(*args, **kwds)
            # written to the archive before the lock is released, so waiters find it
            return await _run(offload, misses.stored, key, value, True)

    async def uncached(self, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        """Await a call that cannot be keyed (``safe`` decorators), counted as a miss."""
        misses = self.misses
        with misses.lock:
            misses.misses += 1
        return await misses.func(*args, **kwds)


def _landed(
    flights: dict[Hashable, asyncio.Task[Any]], key: Hashable, task: asyncio.Task[Any]
) -> None:
    """A computation ended: later calls start afresh (an exception is never kept)."""
    if flights.get(key) is task:
        del flights[key]
    if not task.cancelled():
        task.exception()  # retrieved: no "never retrieved" warning when every awaiter left


@contextlib.asynccontextmanager
async def held_in_thread(lock: AbstractContextManager[Any]) -> AsyncIterator[None]:
    """Hold ``lock`` for the body, entered and left in one thread of its own.

    The archive locks are thread-affine (an RLock for this process's threads,
    a file, advisory or Redis lock for other processes) and may wait long, so
    one thread enters, holds and leaves it while the loop goes on.
    """
    loop = asyncio.get_running_loop()
    entered: asyncio.Future[None] = loop.create_future()
    release = threading.Event()
    done: asyncio.Future[None] = loop.create_future()

    def tell(future: asyncio.Future[None], exc: BaseException | None) -> bool:
        try:
            loop.call_soon_threadsafe(_settle, future, exc)
        except RuntimeError:  # the loop is closed: nobody waits for the lock any more
            return False
        return True

    def hold() -> None:
        try:
            lock.__enter__()
        except BaseException as exc:
            tell(entered, exc)
            return
        try:
            if tell(entered, None):
                release.wait()
        finally:
            lock.__exit__(None, None, None)
            tell(done, None)

    threading.Thread(target=hold, name="klepto-core-lock", daemon=True).start()
    try:
        await entered
    except BaseException:
        release.set()  # cancelled while waiting: the thread lets go as soon as it holds it
        raise
    try:
        yield
    finally:
        release.set()
        await asyncio.shield(done)


def _settle(future: asyncio.Future[None], exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
