"""Many worker processes calling one cached function over one shared archive, executions counted.

Tests and ``benchmarks/bench_shared.py`` use this to show what a shared archive
buys. Each worker process decorates a 'slow square' with
``klepto_core.cached(archive=..., single_flight=...)`` and maps it over
overlapping inputs. Every real execution appends its input to a counter file
(one small ``O_APPEND`` write is atomic), so the parent can tell how often each
input was computed, whichever process computed it. A :class:`SharedPool` keeps
its worker processes across runs, so several runs pay for starting them once.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import klepto_core

__all__ = ["SharedPool", "SharedRun", "expected", "overlapping", "run_shared", "stampede"]

# (archive, options, single_flight, namespace, counter file, seconds of work)
_Config = tuple[Any, tuple[tuple[str, Any], ...], bool, str, str, float]
_FUNCS: dict[_Config, Callable[[int], int]] = {}


def expected(x: int) -> int:
    """The right answer for input ``x``."""
    return x * x + 1


def _function(config: _Config) -> Callable[[int], int]:
    """This worker's cached function for ``config`` (decorated on first use)."""
    func = _FUNCS.get(config)
    if func is None:
        archive, options, single_flight, namespace, counter, work = config

        def slow_square(x: int) -> int:
            fd = os.open(counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{x}\n".encode())
            finally:
                os.close(fd)
            if work:
                time.sleep(work)
            return expected(x)

        decorate = klepto_core.cached(
            maxsize=None,
            archive=archive,
            single_flight=single_flight,
            namespace=namespace if archive is not None else True,
            **dict(options),
        )
        func = _FUNCS[config] = decorate(slow_square)
    return func


def _warm(config: _Config, pause: float) -> int:
    for old in [c for c in _FUNCS if c != config]:  # a new run: close the last run's archive
        storage = _FUNCS.pop(old).__cache__()  # type: ignore[attr-defined]
        close = getattr(getattr(storage, "archive", None), "close", None)
        if close is not None:
            close()
    _function(config)  # open the archive before the clock starts
    time.sleep(pause)  # holds this worker, so each of the N warm-up calls lands on its own
    return os.getpid()


def _call(config: _Config, x: int) -> tuple[int, int]:
    return x, _function(config)(x)


def overlapping(distinct: int, copies: int, seed: int = 0) -> list[int]:
    """``copies`` calls of each of ``distinct`` inputs, shuffled (seeded)."""
    calls = [x for x in range(distinct) for _ in range(copies)]
    random.Random(seed).shuffle(calls)
    return calls


def stampede(distinct: int, copies: int) -> list[int]:
    """``copies`` calls of each input in a row: every worker misses the same key at once."""
    return [x for x in range(distinct) for _ in range(copies)]


@dataclass
class SharedRun:
    """What one run did: results per call, executions per input, the wall time of the calls."""

    results: list[tuple[int, int]]
    executions: Counter[int]
    wall: float
    wrong: list[tuple[int, int]] = field(default_factory=list)

    @property
    def total_executions(self) -> int:
        return sum(self.executions.values())


class SharedPool:
    """``workers`` processes (started with ``start_method``) reused by every :meth:`run`."""

    def __init__(self, workers: int = 8, start_method: str = "spawn") -> None:
        self.workers = workers
        context = multiprocessing.get_context(start_method)
        self._pool = ProcessPoolExecutor(workers, mp_context=context)

    def run(
        self,
        archive: str | None,
        calls: Sequence[int],
        *,
        single_flight: bool = False,
        work: float = 0.01,
        namespace: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> SharedRun:
        """Map the slow square over ``calls`` in every worker, sharing ``archive`` (a URL).

        ``archive=None`` gives each process its own memory cache (the baseline).
        The workers open the archive before the clock starts; ``wall`` times
        only the calls. ``namespace`` keeps runs over one archive apart
        (default: unique to the run).
        """
        namespace = namespace or f"klepto_core.testing.shared.{os.getpid()}.{time.time_ns()}"
        fd, counter = tempfile.mkstemp(prefix="klepto-executions-", suffix=".txt")
        os.close(fd)
        config: _Config = (
            archive,
            tuple(sorted((options or {}).items())),
            single_flight,
            namespace,
            counter,
            work,
        )
        try:
            pool, n = self._pool, self.workers
            for _ in range(3):  # each worker should have taken one warm-up call
                if len(set(pool.map(_warm, [config] * n, [0.2] * n))) == n:
                    break
            start = time.perf_counter()
            results = list(pool.map(_call, [config] * len(calls), calls, chunksize=1))
            wall = time.perf_counter() - start
            with open(counter) as lines:
                executions = Counter(int(line) for line in lines if line.strip())
        finally:
            os.unlink(counter)
        wrong = [(x, y) for x, y in results if y != expected(x)]
        return SharedRun(results, executions, wall, wrong)

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.shutdown()

    def __enter__(self) -> SharedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_shared(
    archive: str | None,
    calls: Sequence[int],
    *,
    workers: int = 8,
    single_flight: bool = False,
    work: float = 0.01,
    namespace: str | None = None,
    options: dict[str, Any] | None = None,
    start_method: str = "spawn",
) -> SharedRun:
    """One :meth:`SharedPool.run` in a pool of its own."""
    with SharedPool(workers, start_method) as pool:
        return pool.run(
            archive,
            calls,
            single_flight=single_flight,
            work=work,
            namespace=namespace,
            options=options,
        )
