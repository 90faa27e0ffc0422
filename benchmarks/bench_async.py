"""Issue 12 benchmark: ``async def`` hit latency against async-lru, and coalescing of 1,000 awaits.

The hit is ``await g(1, 2)`` on a warm cache, timed inside one running event
loop for klepto_core's ``cached``/``lru_cache`` and async-lru's ``alru_cache``
(the target: <= 1.5x alru_cache), with an uncached ``async def`` as the floor.
Coalescing: 1,000 concurrent awaits of one missing key, and how many times
each library ran the body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from benchmarks.timing import interleaved_ns, ratio, table

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _contenders() -> dict[str, Decorator]:
    import klepto_core

    out: dict[str, Decorator] = {
        "klepto_core.cached": lambda f: klepto_core.cached(policy="lru", maxsize=100)(f),
        "klepto_core.lru_cache": lambda f: klepto_core.lru_cache(maxsize=100)(f),
        "klepto_core.rr_cache": lambda f: klepto_core.rr_cache(maxsize=100)(f),
        "uncached async def": lambda f: f,
    }
    try:
        from async_lru import alru_cache

        out["async_lru.alru_cache"] = lambda f: alru_cache(maxsize=100)(f)
    except ImportError:
        pass
    return out


def _hit_runner(loop: asyncio.AbstractEventLoop, g: Callable[..., Any]) -> Callable[[int], None]:
    async def many(number: int) -> None:
        for _ in range(number):
            await g(1, 2)

    return lambda number: loop.run_until_complete(many(number))


def hit_latency() -> list[tuple[str, float, str]]:
    """Nanoseconds per awaited hit of g(1, 2), the contenders taking turns in one loop."""
    loop = asyncio.new_event_loop()
    try:
        runs = {}
        for name, decorator in _contenders().items():

            async def f(a: int, b: int) -> int:
                return a + b

            g = decorator(f)
            loop.run_until_complete(g(1, 2))
            runs[name] = _hit_runner(loop, g)
        times = interleaved_ns(runs, dict.fromkeys(runs, 100_000))
    finally:
        loop.close()
    floor = times["uncached async def"]
    return [(name, ns, f"{ratio(ns, floor)} an uncached await") for name, ns in times.items()]


def coalescing(waiters: int = 1_000) -> list[tuple[str, int, int]]:
    """(library, awaits, executions of the body) for ``waiters`` concurrent awaits of one key."""
    rows = []
    with TemporaryDirectory() as tmp:
        contenders = dict(_contenders())
        contenders.pop("uncached async def")
        import klepto_core

        contenders["klepto_core.cached(archive=dir)"] = lambda f: klepto_core.cached(
            archive="dir", name=str(Path(tmp) / "memo")
        )(f)
        for name, decorator in contenders.items():
            runs = 0

            async def body(x: int) -> int:
                nonlocal runs
                runs += 1
                await asyncio.sleep(0.01)
                return x

            g = decorator(body)

            async def storm(g: Callable[..., Any] = g) -> list[Any]:
                return await asyncio.gather(*(g(7) for _ in range(waiters)))

            results = asyncio.run(storm())
            assert results == [7] * waiters
            rows.append((name, waiters, runs))
    return rows


def main() -> None:
    """Print the hit table (ratio to alru_cache) and the coalescing counts."""
    rows = hit_latency()
    names = [name for name, _, _ in rows]
    reference = "async_lru.alru_cache" if "async_lru.alru_cache" in names else names[0]
    table("Async hit latency, await g(1, 2) (ns per call)", rows, reference, "ns")
    print("\n1,000 concurrent awaits of one missing key")
    for name, waiters, runs in coalescing():
        print(f"  {name:36} {waiters:6} awaits -> {runs} execution(s)")


if __name__ == "__main__":
    main()
