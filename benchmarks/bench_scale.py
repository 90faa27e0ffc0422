"""Cost at scale (issue 15, item 6): per-item write, read and verify cost as archives grow.

Every archive kind (cached=False, in a temp directory; redis on its server when
it answers) is filled with 1,000, 10,000 and 100,000 small entries, each size
in a fresh archive: the whole write loop, the last 1,000 writes alone (the
marginal cost at that size: an O(N) per-write step shows there first), a read
of every key, and ``verify()``. The kinds that compact a log (file, dir) then
overwrite every key twice ("rewrite": compaction runs once more than half the
file is superseded records, so its cost is in that figure). Growth is the largest size's per-item figure
over the smallest's; the issue's target is <= 1.5x. 1,000,000 entries for sql,
sqltable and dir take minutes, so they run only with KLEPTO_CORE_BENCH_LARGE=1.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.bench_archives import _close, _items, _location

SIZES = (1_000, 10_000, 100_000)
LARGE, LARGE_KINDS = 1_000_000, ("sql", "sqltable", "dir")
#: a plain dict first: the growth every in-memory store shows from CPU caches alone
PLAIN = "(a dict)"
KINDS = (PLAIN, "dict", "null", "file", "dir", "sql", "sqltable", "hdf", "hdfdir", "redis")
TAIL = 1_000
REWRITE_KINDS, REWRITES = ("file", "dir"), 2
TARGET = 1.5
LARGE_ENV = "KLEPTO_CORE_BENCH_LARGE"


@dataclass
class Cost:
    """One kind at one size (microseconds per item; None: not measured)."""

    n: int
    write_us: float
    tail_us: float
    read_us: float | None
    verify_us: float | None
    rewrite_us: float | None
    seconds: float


def _open(kind: str, folder: str) -> tuple[Any, Callable[[], None]]:
    """A fresh archive of ``kind`` and a function that removes what it stored."""
    import klepto_core.archives

    if kind == PLAIN:
        return {}, lambda: None
    if kind == "redis":
        import klepto_core

        url = os.environ.get("KLEPTO_CORE_REDIS_URL", "redis://127.0.0.1:6379/0")
        archive = klepto_core.open_archive(f"{url}?archive=bench-scale-{uuid.uuid4().hex[:8]}")

        def drop() -> None:
            archive.__drop__()
            archive.close()

        return archive, drop
    location = None if kind == "null" else _location(kind, folder)
    archive = getattr(klepto_core.archives, f"{kind}_archive")(location, cached=False)
    return archive, lambda: (_close(archive), shutil.rmtree(folder, ignore_errors=True))


def measure(kind: str, n: int, folder: str) -> Cost:
    """Fill a fresh ``kind`` archive with ``n`` entries; time writes, reads and verify()."""
    started = time.perf_counter()
    items = _items(n)
    for key, _ in items:
        hash(key)
    archive, drop = _open(kind, folder)
    try:
        clock = time.perf_counter
        start = clock()
        for key, value in items[:-TAIL]:
            archive[key] = value
        middle = clock()
        for key, value in items[-TAIL:]:
            archive[key] = value
        end = clock()
        write_us = (end - start) / n * 1e6
        tail_us = (end - middle) / TAIL * 1e6
        read_us = verify_us = None
        if not getattr(archive, "is_null", False):
            start = clock()
            for key, _ in items:
                archive[key]
            read_us = (clock() - start) / n * 1e6
            if archive[items[-1][0]] != items[-1][1]:
                raise AssertionError(f"{kind} read back a wrong value")
        if hasattr(archive, "verify") and not getattr(archive, "is_null", False):
            start = clock()
            errors = archive.verify()
            verify_us = (clock() - start) / n * 1e6
            if errors:
                raise AssertionError(f"{kind}: verify() found {len(errors)} corrupt entries")
        rewrite_us = _rewrite_us(archive, items) if kind in REWRITE_KINDS else None
    finally:
        drop()
    return Cost(n, write_us, tail_us, read_us, verify_us, rewrite_us, time.perf_counter() - started)


def _rewrite_us(archive: Any, items: list[tuple[str, Any]]) -> float:
    """us per overwrite of every key ``REWRITES`` times (compactions included)."""
    start = time.perf_counter()
    for round_ in range(REWRITES):
        for key, _ in items:
            archive[key] = round_
    elapsed = time.perf_counter() - start
    if archive[items[0][0]] != REWRITES - 1:
        raise AssertionError("an overwrite was lost")
    return elapsed / (len(items) * REWRITES) * 1e6


def _growth(costs: list[Cost], field: str) -> float | None:
    first, last = getattr(costs[0], field), getattr(costs[-1], field)
    return last / first if first and last is not None else None


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def report(kind: str, costs: list[Cost]) -> None:
    """Print one kind's rows and its growth, largest size over smallest."""
    for cost in costs:
        print(
            f"  {kind:9} {cost.n:>9,} {_fmt(cost.write_us):>9} {_fmt(cost.tail_us):>12}"
            f" {_fmt(cost.read_us):>9} {_fmt(cost.verify_us):>10} {_fmt(cost.rewrite_us):>9}"
            f" {cost.seconds:8.1f}"
        )
    parts = []
    worst = 0.0
    for field, label in (
        ("write_us", "write"),
        ("tail_us", "last 1,000"),
        ("read_us", "read"),
        ("verify_us", "verify"),
        ("rewrite_us", "rewrite"),
    ):
        growth = _growth(costs, field)
        if growth is not None:
            worst = max(worst, growth)
            parts.append(f"{label} {growth:.2f}x")
    verdict = "ok" if worst <= TARGET else f"ABOVE {TARGET}x"
    print(f"  {'':9} growth {costs[-1].n:,} / {costs[0].n:,}: {', '.join(parts)}  ({verdict})")


def _available(kind: str) -> str | None:
    """Why ``kind`` cannot be measured here, or None."""
    try:
        if kind == "redis":
            import redis

            url = os.environ.get("KLEPTO_CORE_REDIS_URL", "redis://127.0.0.1:6379/0")
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        elif kind != PLAIN:
            import klepto_core.archives

            getattr(klepto_core.archives, f"{kind}_archive")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def main() -> None:
    """Measure every kind at every size and print per-item costs and their growth."""
    large = os.environ.get(LARGE_ENV) == "1"
    tmp = tempfile.mkdtemp(prefix="klepto-bench-scale-")
    started = time.perf_counter()
    print(
        f"\nCost at scale, cached=False, small str-keyed values (us per item; each size a fresh"
        f"\n archive; 'last 1,000' = the final {TAIL:,} writes alone; target growth <= {TARGET}x)"
    )
    if not large:
        print(
            f" (1,000,000 entries for {', '.join(LARGE_KINDS)} take minutes: set {LARGE_ENV}=1 for them)"
        )
    print(
        f"  {'archive':9} {'entries':>9} {'write':>9} {'last 1,000':>12} {'read':>9}"
        f" {'verify':>10} {'rewrite':>9} {'seconds':>8}"
    )
    try:
        for kind in KINDS:
            missing = _available(kind)
            if missing is not None:
                print(f"  {kind:9} skipped: {missing}")
                continue
            sizes = SIZES + ((LARGE,) if large and kind in LARGE_KINDS else ())
            measure(
                kind, TAIL, os.path.join(tmp, f"{kind}-warm-up")
            )  # imports, caches, a first file
            costs = [measure(kind, n, os.path.join(tmp, f"{kind}-{n}")) for n in sizes]
            report(kind, costs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n(bench_scale took {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
