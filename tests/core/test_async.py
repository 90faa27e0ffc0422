"""``async def`` functions: cached, coalesced, persistent, and the event loop never blocked.

Every decorator door (``cached()``, the klepto-style ``*_cache`` classes, methods,
``safe``) goes through ``memoize``, so each is exercised here with an ``async def``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import klepto_core
from klepto_core import lru_cache
from klepto_core.archives import dir_archive
from klepto_core.errors import InvalidArgumentError, UnhashableKeyError
from klepto_core.plugin import Observer
from klepto_core.safe import lru_cache as safe_lru_cache

pytestmark = pytest.mark.asyncio


def counting(result: Callable[[Any], Any] = lambda x: x * 2, pause: float = 0.0) -> Any:
    """An ``async def`` recording every execution of its body."""
    calls: list[Any] = []

    async def body(x: Any) -> Any:
        calls.append(x)
        if pause:
            await asyncio.sleep(pause)
        return result(x)

    body.calls = calls  # type: ignore[attr-defined]
    return body


def finished_without_suspending(awaitable: Awaitable[Any]) -> Any:
    """Run a coroutine one step: its value if it returned at once; AssertionError if it waited."""
    coro = awaitable.__await__()
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise AssertionError("the call suspended: it awaited something")


# -- the wrapper ---------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["lru", "lfu", "mru", "rr", "inf"])
async def test_a_hit_returns_without_awaiting(policy: str) -> None:
    body = counting()
    f = klepto_core.cached(policy=policy, maxsize=8)(body)
    assert asyncio.iscoroutinefunction(f)
    assert await f(3) == 6
    assert finished_without_suspending(f(3)) == 6
    assert body.calls == [3]
    assert f.info()[:3] == (1, 1, 0)


async def test_counts_clear_key_lookup_work_as_for_a_sync_function() -> None:
    body = counting()
    f = lru_cache(maxsize=2)(body)
    for x in (1, 2, 1, 3, 1):
        await f(x)
    assert body.calls == [1, 2, 3]
    assert f.info() == (2, 3, 0, 2, 2)
    assert f.lookup(1) == 2
    assert f.key(1) == f.key(x=1)
    with pytest.raises(KeyError):
        f.lookup(2)  # evicted: the least recently used
    f.clear()
    assert f.info() == (0, 0, 0, 2, 0)
    await f(1)
    assert body.calls == [1, 2, 3, 1]


async def test_observers_hear_hits_and_misses() -> None:
    seen: list[tuple[str, Any]] = []

    class Tally(Observer):
        def hit(self, func: Any, key: Any) -> None:
            seen.append(("hit", key))

        def miss(self, func: Any, key: Any) -> None:
            seen.append(("miss", key))

    f = klepto_core.cached(maxsize=4, observers=[Tally()])(counting())
    await f(1)
    await f(1)
    assert [event for event, _ in seen] == ["miss", "hit"]


async def test_an_exception_is_not_cached() -> None:
    attempts: list[int] = []

    @klepto_core.cached(maxsize=4)
    async def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) == 1:
            raise ValueError("first time")
        return x

    with pytest.raises(ValueError, match="first time"):
        await flaky(1)
    assert await flaky(1) == 1
    assert await flaky(1) == 1
    assert attempts == [1, 1]
    assert flaky.info().miss == 1


async def test_a_method_is_cached_per_instance() -> None:
    class Service:
        def __init__(self, base: int) -> None:
            self.base = base
            self.calls = 0

        @lru_cache(maxsize=8)
        async def get(self, x: int) -> int:
            self.calls += 1
            return self.base + x

    a, b = Service(10), Service(20)
    assert [await a.get(1), await a.get(1), await b.get(1)] == [11, 11, 21]
    assert (a.calls, b.calls) == (1, 1)


async def test_safe_awaits_a_call_it_cannot_key() -> None:
    def generator():
        yield 1  # no key can hold a generator: neither its content nor its repr is the value

    body = counting(result=lambda x: 7)
    f = safe_lru_cache(maxsize=4)(body)
    assert await f([1, 2]) == await f([1, 2]) == 7  # safe keys a list: cached
    assert len(body.calls) == 1
    assert await f(generator()) == await f(generator()) == 7  # cannot be keyed: awaited each time
    assert len(body.calls) == 3
    assert f.info()[:2] == (1, 3) and f.info().size == 1


async def test_an_unhashable_argument_is_keyed_by_content_and_an_unkeyable_one_refused() -> None:
    body = counting(result=lambda x: 7)
    f = lru_cache(maxsize=4)(body)
    assert await f([1]) == await f([1]) == 7  # a list: by content, as the sync wrapper does
    assert len(body.calls) == 1
    with pytest.raises(UnhashableKeyError):
        await f([(i for i in ())])  # a list holding a generator: nothing can encode it


# -- refusals ---------------------------------------------------------------------------------


async def test_a_generator_function_is_refused_at_decoration() -> None:
    def numbers(n: int) -> Any:
        yield from range(n)

    with pytest.raises(InvalidArgumentError, match="generator function"):
        klepto_core.cached()(numbers)
    with pytest.raises(InvalidArgumentError, match="generator function"):
        lru_cache()(numbers)


async def test_an_async_generator_is_refused_at_decoration() -> None:
    async def numbers(n: int) -> Any:
        for i in range(n):
            yield i

    with pytest.raises(InvalidArgumentError, match="generator function"):
        klepto_core.cached()(numbers)


async def test_a_plain_function_returning_a_coroutine_is_refused_at_the_first_call() -> None:
    async def inner(x: int) -> int:
        return x

    def hands_back_a_coroutine(x: int) -> Any:
        return inner(x)

    f = klepto_core.cached(maxsize=4)(hands_back_a_coroutine)
    with pytest.raises(InvalidArgumentError, match="returned a coroutine"):
        f(1)
    with pytest.raises(InvalidArgumentError):
        f(1)  # nothing was cached
    assert f.info().size == 0


async def test_an_object_with_an_async_call_gets_the_async_wrapper() -> None:
    class Fetch:
        async def __call__(self, x: int) -> int:
            return x + 1

    f = klepto_core.cached(maxsize=4)(Fetch())
    assert asyncio.iscoroutinefunction(f)
    assert await f(1) == 2
    assert await f(1) == 2
    assert f.info().hit == 1


# -- coalescing -------------------------------------------------------------------------------


async def test_200_concurrent_awaits_of_one_key_run_the_body_once() -> None:
    body = counting(pause=0.01)
    f = klepto_core.cached(maxsize=8)(body)
    results = await asyncio.gather(*(f(7) for _ in range(200)))
    assert results == [14] * 200
    assert body.calls == [7]
    assert f.info() == (199, 1, 0, 8, 1)


async def test_concurrent_awaits_share_an_exception_and_it_is_not_cached() -> None:
    attempts: list[int] = []
    gate = asyncio.Event()

    @klepto_core.cached(maxsize=8)
    async def fails_once(x: int) -> int:
        attempts.append(x)
        await gate.wait()
        if len(attempts) == 1:
            raise RuntimeError("boom")
        return x

    waiters = [asyncio.ensure_future(fails_once(1)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert attempts == [1]
    assert await fails_once(1) == 1
    assert attempts == [1, 1]


async def test_cancelling_one_awaiter_does_not_cancel_the_shared_computation() -> None:
    gate = asyncio.Event()
    body_calls: list[int] = []

    @klepto_core.cached(maxsize=8)
    async def slow(x: int) -> int:
        body_calls.append(x)
        await gate.wait()
        return x * 10

    first = asyncio.ensure_future(slow(1))
    others = [asyncio.ensure_future(slow(1)) for _ in range(5)]
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*others) == [10] * 5
    with pytest.raises(asyncio.CancelledError):
        await first
    assert body_calls == [1]
    assert finished_without_suspending(slow(1)) == 10


async def test_different_keys_are_computed_concurrently() -> None:
    body = counting(pause=0.01)
    f = klepto_core.cached(maxsize=8)(body)
    assert await asyncio.gather(f(1), f(2), f(1), f(2)) == [2, 4, 2, 4]
    assert sorted(body.calls) == [1, 2]


# -- persistent archives, off the loop -------------------------------------------------------


async def test_a_result_persists_for_a_new_decoration(tmp_path: Path) -> None:
    name = str(tmp_path / "memo")
    first = counting()
    f = klepto_core.cached(archive="dir", name=name, namespace="ns")(first)
    assert await f(2) == 4
    second = counting()
    g = klepto_core.cached(archive="dir", name=name, namespace="ns")(second)
    assert await g(2) == 4
    assert second.calls == []
    assert g.info().load == 1


async def _ticks_during(work: Awaitable[Any]) -> tuple[Any, int]:
    """Await ``work`` while a ticker yields to the loop; (its result, ticks while it ran)."""
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    start = ticks
    try:
        result = await work
    finally:
        running = False
        await task
    return result, ticks - start


BIG = 24 * 2**20  # a value whose durable write and read take a while


async def test_a_ticker_keeps_running_while_a_dir_archive_miss_and_load_are_in_flight(
    tmp_path: Path,
) -> None:
    name = str(tmp_path / "big")

    async def blob(x: int) -> bytes:
        return bytes([x]) * BIG  # no await inside: only the archive I/O can give way

    f = klepto_core.cached(archive="dir", name=name, durable=True, serializer="pickle")(blob)
    value, ticks = await _ticks_during(f(1))
    assert len(value) == BIG
    assert ticks >= 10, f"the loop was blocked while the value was written ({ticks} ticks)"

    g = klepto_core.cached(archive="dir", name=name, durable=True, serializer="pickle")(blob)
    value, ticks = await _ticks_during(g(1))
    assert g.info().load == 1 and len(value) == BIG
    assert ticks >= 10, f"the loop was blocked while the value was loaded ({ticks} ticks)"


async def test_single_flight_waits_for_the_archive_lock_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    archive = dir_archive(str(tmp_path / "sf"), cached=False)
    order: list[str] = []
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with archive.lock(("x", 1)):
            held.set()
            release.wait(10)
            order.append("released")

    @lru_cache(maxsize=8, cache=archive, single_flight=True)
    async def f(x: int) -> int:
        order.append("body")
        return x + 100

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    ticks = 0
    call = asyncio.ensure_future(f(1))
    while ticks < 50:  # the loop keeps turning while f waits for the lock
        ticks += 1
        await asyncio.sleep(0)
    assert not call.done()
    release.set()
    assert await call == 101
    thread.join()
    assert order == ["released", "body"]
    assert archive[("x", 1)] == 101


async def test_single_flight_coalesces_in_one_loop(tmp_path: Path) -> None:
    body = counting(pause=0.01)
    f = klepto_core.cached(archive="dir", name=str(tmp_path / "sf2"), single_flight=True)(body)
    assert await asyncio.gather(*(f(3) for _ in range(50))) == [6] * 50
    assert body.calls == [3]


async def test_memory_that_is_the_archive_is_read_in_a_thread(tmp_path: Path) -> None:
    archive = dir_archive(str(tmp_path / "raw"), cached=False)
    body = counting()
    f = lru_cache(maxsize=8, cache=archive)(body)
    assert await f(5) == 10
    assert await f(5) == 10
    assert body.calls == [5]
    assert archive[("x", 5)] == 10


async def test_a_loop_shut_down_while_waiting_for_the_lock_leaves_it_free(tmp_path: Path) -> None:
    archive = dir_archive(str(tmp_path / "sf3"), cached=False)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with archive.lock(("x", 1)):
            held.set()
            release.wait(10)

    @lru_cache(maxsize=8, cache=archive, single_flight=True)
    async def f(x: int) -> int:
        return x

    async def leave_early() -> None:
        asyncio.ensure_future(f(1))
        for _ in range(20):
            await asyncio.sleep(0)  # f waits for the lock; asyncio.run then cancels it

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    await asyncio.to_thread(asyncio.run, leave_early())
    release.set()
    thread.join()
    with archive.lock(("x", 1), timeout=5):  # the abandoned waiter let go of it
        pass
    assert await f(1) == 1


async def test_a_redis_archive_is_awaited_through_its_native_asyncio_client() -> None:
    from tests import services

    services.require("redis")
    import uuid

    name = f"kctest-async-{uuid.uuid4().hex[:8]}"
    body = counting()
    f = klepto_core.cached(archive="redis", name=name, url=services.REDIS_URL)(body)
    archive = f.__cache__().archive
    assert archive.native_async
    try:
        assert await asyncio.gather(*(f(4) for _ in range(20))) == [8] * 20
        assert body.calls == [4]
        assert [archive[key] for key in archive.keys()] == [8]  # written through
        # a second decoration finds it: loaded through the native client
        again = counting()
        g = klepto_core.cached(archive="redis", name=name, url=services.REDIS_URL)(again)
        g.__cache__().archive._read = None  # a tripwire: the sync read must not be used
        assert await g(4) == 8
        assert again.calls == [] and g.info().load == 1
        await g.__cache__().archive.aclose()
    finally:
        await archive.aclose()
        archive.clear()
