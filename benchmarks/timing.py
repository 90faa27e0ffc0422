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


def interleaved_ns(
    runs: dict[str, Callable[[int], None]], numbers: dict[str, int], rounds: int = 9
) -> dict[str, float]:
    """Median ns per call of each ``runs[name](numbers[name])``, the contenders taking turns.

    Round by round every contender runs once, so a machine that slows down (other
    jobs on a shared box) slows them alike and the ratios between them hold; the
    order rotates from round to round.
    """
    for name, run in runs.items():
        run(max(1, numbers[name] // 10))  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in runs}
    turns = list(runs.items())
    for i in range(rounds):
        shift = i % len(turns)  # who goes first rotates: no contender always runs after another
        for name, run in turns[shift:] + turns[:shift]:
            start = time.perf_counter_ns()
            run(numbers[name])
            samples[name].append((time.perf_counter_ns() - start) / numbers[name])
    return {name: statistics.median(values) for name, values in samples.items()}


def ratio(value: float | None, reference: float | None) -> str:
    """``value / reference`` as ``1.23x``, or ``-`` when either is missing."""
    return f"{value / reference:.2f}x" if value is not None and reference else "-"


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
