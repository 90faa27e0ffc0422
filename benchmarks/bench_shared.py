"""Shared archives: per-item cost of Redis, PostgreSQL, MariaDB, SQLite and dir, and 8 workers
sharing one.

Part 1 writes and reads 2,000 small values per backend (``cached=False``): one
``archive[k] = v`` per item, one batched ``update()``, one ``archive[k]`` per item.
Part 2 runs ``klepto_core.testing.shared.run_shared``: 8 worker processes map a
20 ms function over 40 inputs x 8 copies, once shuffled and once as a stampede
(all copies of an input at once), with no archive (each process its own memory),
with the shared archive, and with the shared archive plus ``single_flight``.
A backend whose server does not answer is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from klepto_core.testing.shared import SharedPool, overlapping, stampede

ITEMS = 2_000
ROUNDS = 3
WORKERS = 8
DISTINCT, COPIES, WORK = 40, 8, 0.02


def _backends(tmp: str) -> list[tuple[str, str]]:
    token = uuid.uuid4().hex[:8]
    redis = os.environ.get("KLEPTO_CORE_REDIS_URL", "redis://127.0.0.1:6379/0")
    postgres = os.environ.get(
        "KLEPTO_CORE_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    mariadb = os.environ.get("KLEPTO_CORE_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
    return [
        ("redis", f"{redis}?archive=bench-{token}"),
        ("postgresql", f"{postgres}?table=bench_{token}"),
        ("mariadb", f"{mariadb}?table=bench_{token}"),
        ("sqlite", f"sqlite:///{tmp}/bench-{token}.db"),
        ("dir", f"dir:{tmp}/bench-{token}"),
    ]


def _open(url: str) -> Any:
    from klepto_core.registry.urls import open_archive

    return open_archive(url)


def _discard(archive: Any) -> None:
    try:
        archive.__drop__()
    except Exception:
        archive.clear()
    archive.close()


def _median_us(run: Callable[[int], None]) -> float:
    samples = []
    for r in range(ROUNDS):
        start = time.perf_counter()
        run(r)
        samples.append((time.perf_counter() - start) / ITEMS * 1e6)
    return statistics.median(samples)


def per_item(url: str) -> tuple[float, float, float]:
    """Microseconds per item: single writes, one batched update, single reads."""
    archive = _open(url)
    try:
        values = {i: (i, "small value") for i in range(ITEMS)}

        def write(r: int) -> None:
            for i, v in values.items():
                archive[("w", r, i)] = v

        def update(r: int) -> None:
            archive.update({("u", r, i): v for i, v in values.items()})

        def read(r: int) -> None:
            for i in values:
                archive[("w", r, i)]

        return _median_us(write), _median_us(update), _median_us(read)
    finally:
        _discard(archive)


def shared_runs(
    pool: SharedPool, url: str | None, calls: list[int]
) -> list[tuple[str, float, int, int]]:
    """(mode, wall s, executions, worst executions of one input) with and without single_flight."""
    modes = [("no archive", None, False)] if url is None else []
    if url is not None:
        modes += [("shared", url, False), ("shared + single_flight", url, True)]
    rows = []
    for label, archive, flight in modes:
        run = pool.run(archive, calls, single_flight=flight, work=WORK)
        if run.wrong or len(run.results) != len(calls) or set(run.executions) != set(calls):
            raise AssertionError(f"{label}: wrong or lost results: {run.wrong[:3]}")
        worst = max(run.executions.values())
        rows.append((label, run.wall, run.total_executions, worst))
    return rows


def main() -> None:
    """Print the per-item table and the 8-worker shared-cache table."""
    from klepto_core.errors import ArchiveUnavailableError

    tmp = tempfile.mkdtemp(prefix="klepto-bench-shared-")
    try:
        backends = _backends(tmp)
        usable: list[tuple[str, str]] = []
        print(f"\nPer item, {ITEMS:,} small values, cached=False (us per item, median of {ROUNDS})")
        print(f"  {'backend':12} {'write':>10} {'update()':>10} {'read':>10}")
        for name, url in backends:
            try:
                write, update, read = per_item(url)
            except ArchiveUnavailableError as exc:
                print(f"  {name:12} skipped: {exc}")
                continue
            usable.append((name, url))
            print(f"  {name:12} {write:10.1f} {update:10.1f} {read:10.1f}")

        patterns = {
            "shuffled": overlapping(DISTINCT, COPIES, seed=0),
            "stampede": stampede(DISTINCT, COPIES),
        }
        with SharedPool(WORKERS) as pool:
            for pattern, calls in patterns.items():
                print(
                    f"\n{WORKERS} workers, {DISTINCT} inputs x {COPIES} calls, {pattern}, "
                    f"{WORK * 1000:.0f} ms per execution (ideal: {DISTINCT} executions)"
                )
                print(f"  {'backend':12} {'mode':24} {'wall s':>8} {'executions':>11} {'worst':>6}")
                for name, url_or_none in [("memory only", None), *usable]:
                    try:
                        rows = shared_runs(pool, url_or_none, calls)
                    except ArchiveUnavailableError as exc:
                        print(f"  {name:12} skipped: {exc}")
                        continue
                    for label, wall, executions, worst in rows:
                        print(f"  {name:12} {label:24} {wall:8.2f} {executions:11d} {worst:6d}")
        for _name, url in usable:
            _discard(_open(url))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
