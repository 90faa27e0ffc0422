"""Issue 2 benchmark: hit latency, miss+evict on a Zipf stream, and import time.

Each figure is measured for klepto_core, klepto 0.2.8, cachetools and
functools.lru_cache in the same run and printed with ratios.
"""

from __future__ import annotations

import functools
import random
import sys
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from benchmarks.timing import import_ms, per_call_ns, table

HEAVY = ("h5py", "sqlalchemy", "pandas", "redis", "pluggy", "importlib.metadata")


def _contenders(maxsize: int | None) -> dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]]:
    """A fresh decorator per use: klepto-style decorator objects share one cache between uses."""
    import klepto_core

    out: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
        "klepto_core.lru_cache": lambda f: klepto_core.lru_cache(maxsize=maxsize)(f),
        "klepto_core.cached": lambda f: klepto_core.cached(policy="lru", maxsize=maxsize)(f),
        "functools.lru_cache": lambda f: functools.lru_cache(maxsize=maxsize)(f),
    }
    try:
        import cachetools

        out["cachetools LRUCache"] = lambda f: cachetools.cached(
            cachetools.LRUCache(maxsize or 1 << 30)
        )(f)
    except ImportError:
        pass
    try:
        import klepto

        out["klepto.lru_cache"] = lambda f: klepto.lru_cache(maxsize=maxsize)(f)
    except ImportError:
        pass
    return out


def hit_latency() -> list[tuple[str, float, str]]:
    """Nanoseconds per cache hit of f(1, 2)."""
    rows = []
    for name, decorator in _contenders(100).items():

        def f(a: int, b: int) -> int:
            return a + b

        g = decorator(f)
        g(1, 2)
        number = 2_000 if name.startswith("klepto.") else 200_000

        def run(n: int, g: Callable[..., Any] = g) -> None:
            for _ in range(n):
                g(1, 2)

        rows.append((name, per_call_ns(run, number), ""))
    return rows


def zipf_stream(n_keys: int = 2_000, length: int = 50_000, s: float = 1.1, seed: int = 7) -> list[int]:
    """A reproducible Zipf-distributed stream of keys 0..n_keys-1."""
    rng = random.Random(seed)
    weights = [1 / (k + 1) ** s for k in range(n_keys)]
    return rng.choices(range(n_keys), weights=weights, k=length)


def reference_lru_hits(stream: list[int], maxsize: int) -> int:
    """Hits of an exact LRU model on ``stream``."""
    order: OrderedDict[int, None] = OrderedDict()
    hits = 0
    for key in stream:
        if key in order:
            hits += 1
            order.move_to_end(key)
        else:
            order[key] = None
            if len(order) > maxsize:
                order.popitem(last=False)
    return hits


def _recorder() -> tuple[Callable[[int], int], list[int]]:
    """An identity function that records each computation, and its record."""
    computed: list[int] = []

    def record(x: int) -> int:
        computed.append(x)
        return x

    return record, computed


def miss_and_evict(maxsize: int = 256) -> list[tuple[str, float, str]]:
    """Nanoseconds per call on a Zipf stream over 2,000 keys (hits, misses and evictions)."""
    stream = zipf_stream()
    rows = []
    for name, decorator in _contenders(maxsize).items():
        part = stream[:5_000] if name.startswith("klepto.") else stream

        def run(n: int, decorator: Any = decorator, part: list[int] = part) -> None:
            g = decorator(lambda x: x)  # a fresh cache each round, so misses are measured too
            for x in part[:n]:
                g(x)

        ns = per_call_ns(run, len(part), rounds=3)
        record, computed = _recorder()
        g = decorator(record)
        for x in part:
            g(x)
        ratio = 1 - len(computed) / len(part)
        model = reference_lru_hits(part, maxsize) / len(part)
        rows.append((name, ns, f"hit ratio {ratio:.4f} (LRU model {model:.4f})"))
    print(f"\n(Zipf s=1.1 over 2,000 keys, maxsize {maxsize})")
    return rows


def import_time() -> list[tuple[str, float, str]]:
    """Milliseconds ``import X`` adds to a bare interpreter, and heavy modules it pulls in."""
    check = (
        "import sys, klepto_core; "
        f"bad = [m for m in {HEAVY!r} if m in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    import subprocess

    clean = subprocess.run([sys.executable, "-c", check]).returncode == 0
    rows = [("klepto_core", import_ms("import klepto_core"), "no heavy backend" if clean else "HEAVY")]
    rows.append(("klepto_core + lru_cache()", import_ms("import klepto_core; klepto_core.lru_cache()"), "first use: plugins resolved"))
    for name in ("klepto", "cachetools", "functools"):
        try:
            __import__(name)
        except ImportError:
            continue
        rows.append((name, import_ms(f"import {name}"), ""))
    return rows


def main() -> None:
    """Run the core benchmarks and print ratio tables."""
    table("Hit latency, f(1, 2) (ns per call)", hit_latency(), "cachetools LRUCache", "ns")
    table("Miss + evict, Zipf stream (ns per call)", miss_and_evict(), "cachetools LRUCache", "ns")
    table("Import time (ms over a bare interpreter)", import_time(), "klepto", "ms")
