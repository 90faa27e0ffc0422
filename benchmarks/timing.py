"""Small timing helpers: warm up, take the median of several rounds, print ratio tables."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable


def per_call_ns(run: Callable[[int], None], number: int, rounds: int = 7) -> float:
    """Median nanoseconds per call of ``run(number)`` (which makes ``number`` calls)."""
    run(max(1, number // 10))  # warm-up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        run(number)
        samples.append((time.perf_counter_ns() - start) / number)
    return statistics.median(samples)


def import_ms(statement: str, rounds: int = 9) -> float:
    """Median wall milliseconds a fresh interpreter spends on ``statement`` beyond starting up."""

    def wall(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return (time.perf_counter() - start) * 1000

    base = statistics.median(wall("pass") for _ in range(rounds))
    return max(0.0, statistics.median(wall(statement) for _ in range(rounds)) - base)


def table(title: str, rows: list[tuple[str, float, str]], reference: str, unit: str) -> None:
    """Print rows of (name, value, note) with each value's ratio to the ``reference`` row."""
    ref = next(value for name, value, _ in rows if name == reference)
    print(f"\n{title}")
    print(f"  {'':28} {unit:>12} {'/ ' + reference:>22}")
    for name, value, note in rows:
        ratio = value / ref if ref else float("nan")
        print(f"  {name:28} {value:12.1f} {ratio:21.2f}x  {note}")
