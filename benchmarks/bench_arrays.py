"""Issue 10 benchmark: keying numpy arrays, and caching array results, beside joblib.

1. Hash throughput on a 100 MB float64 array: klepto_core's content key (what a
   decorated ``f(a)`` computes), ``hashmap(algorithm="stable")``, ``joblib.hash``,
   hashlib's blake2b and bare xxhash (XXH3-128), in MB/s.
2. ``f(a) = a * 2`` on a 1e6-element float64 array (an 8 MB result), cached by
   klepto_core (``cached(archive="dir")``, plainly and with ``mmap_mode="r"``; the
   file archive too) and by ``joblib.Memory`` (plainly and with ``mmap_mode="r"``):
   a miss (key, compute, store), an in-process hit, a fresh interpreter's first
   call (a hit read from disk; timed inside that interpreter, after imports and
   decoration, as a user's first call is), and bytes on disk after one entry.

Every figure is measured in the same run and printed with its ratio to joblib's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from typing import Any

from benchmarks.timing import table

MB = 1 << 20
N = 1_000_000
ROUNDS = 5

#: the contenders of part 2: (name, the decorator made from a location, in a script's text)
CACHES: dict[str, str] = {
    "klepto_core dir": "klepto_core.cached(archive='dir', name=LOCATION)",
    "klepto_core dir mmap": "klepto_core.cached(archive='dir', name=LOCATION, mmap_mode='r')",
    "klepto_core file": "klepto_core.cached(archive='file', name=LOCATION + '.pkl')",
    "klepto_core hdf": "klepto_core.cached(archive='hdf', name=LOCATION + '.h5')",
    "klepto_core hdf mmap": "klepto_core.cached(archive='hdf', name=LOCATION + '.h5', mmap_mode='r')",
    "joblib.Memory": "joblib.Memory(LOCATION, verbose=0).cache",
    "joblib.Memory mmap": "joblib.Memory(LOCATION, verbose=0, mmap_mode='r').cache",
}
REFERENCE = "joblib.Memory"

#: the script a fresh interpreter runs: argv = [decorator text, location, mode, seed].
#: mode "first" prints the first call's ms; "steady" prints the median ms of misses on new
#: arrays and of repeated hits, after a warm-up call
SCRIPT = textwrap.dedent(
    """
    import statistics, sys, time
    import numpy, joblib, klepto_core
    decorator, LOCATION, mode, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

    def f(a):
        return a * 2

    g = eval(decorator)(f)
    rng = numpy.random.default_rng(seed)
    a = rng.random(SIZE)

    def timed(x):
        start = time.perf_counter()
        result = g(x)
        elapsed = (time.perf_counter() - start) * 1e3
        assert float(result[7]) == float(x[7]) * 2
        return elapsed

    if mode == "first":
        print(timed(a))
    else:
        timed(a)
        misses = [timed(rng.random(SIZE)) for _ in range(5)]
        hits = [timed(a) for _ in range(20)]
        print(statistics.median(misses), statistics.median(hits))
    """
).replace("SIZE", str(N))


def _median_ms(run: Callable[[], Any], rounds: int = ROUNDS) -> float:
    run()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def hash_throughput() -> list[tuple[str, float, str]]:
    """MB/s hashing a 100 MB float64 array."""
    import joblib
    import numpy
    import xxhash

    from klepto_core.keymaps import hashmap
    from klepto_core.keys.content import hashable_key

    a = numpy.random.default_rng(0).random(100 * MB // 8)
    size = a.nbytes / MB
    stable = hashmap(algorithm="stable")
    rows = [
        ("klepto_core key of f(a)", lambda: hashable_key(("a", a)), "decorated call, any keymap"),
        ("hashmap(algorithm='stable')", lambda: stable(a), ""),
        ("joblib.hash", lambda: joblib.hash(a), "what joblib.Memory keys a call by"),
        ("hashlib blake2b", lambda: hashlib.blake2b(a.data).digest(), "raw buffer"),
        ("xxhash xxh3_128", lambda: xxhash.xxh3_128(a.data).digest(), "raw buffer"),
    ]
    out = []
    for name, run, note in rows:
        ms = _median_ms(run, rounds=3)
        out.append((name, size / (ms / 1e3), f"{ms:.1f} ms; {note}" if note else f"{ms:.1f} ms"))
    return out


def _run(decorator: str, location: str, mode: str, seed: int) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, decorator, location, mode, str(seed)],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    return [float(x) for x in done.stdout.split()]


def _disk_bytes(location: str) -> int:
    total = 0
    for path in (location, location + ".pkl", location + ".pkl.blobs", location + ".h5"):
        if os.path.isfile(path):
            total += os.path.getsize(path)
        for root, _dirs, files in os.walk(path):
            total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    return total


def array_results() -> dict[str, list[tuple[str, float, str]]]:
    """Per contender: steady miss, cold miss, in-process hit, fresh-process hit (ms), bytes."""
    kinds = ("miss", "cold", "hit", "fresh", "bytes")
    figures: dict[str, list[tuple[str, float, str]]] = {kind: [] for kind in kinds}
    root = tempfile.mkdtemp(prefix="bench_arrays_")
    try:
        for name, decorator in CACHES.items():
            got: dict[str, list[float]] = {kind: [] for kind in kinds}
            for r in range(3):
                one = os.path.join(root, f"{name.replace(' ', '_')}_one_{r}")
                got["cold"] += _run(decorator, one, "first", r)  # a new archive: a miss
                got["bytes"].append(_disk_bytes(one) / 1e3)
                got["fresh"] += _run(decorator, one, "first", r)  # stored: a hit from disk
                many = os.path.join(root, f"{name.replace(' ', '_')}_many_{r}")
                miss, hit = _run(decorator, many, "steady", r)
                got["miss"].append(miss)
                got["hit"].append(hit)
            for kind in kinds:
                figures[kind].append((name, statistics.median(got[kind]), ""))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return figures


def main() -> None:
    """Print the hash throughput and the array-result tables."""
    table("Hashing a 100 MB float64 array (MB/s)", hash_throughput(), "joblib.hash", "MB/s")
    figures = array_results()
    what = {
        "miss": "f(a), a 1e6-element array: miss = key + compute + store (ms, warm process)",
        "cold": "f(a): a fresh interpreter's first call on a new archive, a miss (ms)",
        "hit": "f(a): in-process hit (ms, median of 20)",
        "fresh": "f(a): a fresh interpreter's first call, a hit from disk (ms)",
        "bytes": "f(a): bytes on disk for one entry (kB)",
    }
    for kind, rows in figures.items():
        table(what[kind], rows, REFERENCE, "kB" if kind == "bytes" else "ms")


if __name__ == "__main__":
    main()
