"""The demo behind ``make demo``: results computed in one interpreter, found by the next.

It decorates a slow function in both API styles over an on-disk archive, runs
it, then starts a second Python process that calls the same function and
reports how many results it found without recomputing.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

_CHILD = textwrap.dedent(
    """
    import sys, time
    import klepto_core

    computed = []

    @klepto_core.cached(policy="lru", maxsize=64, archive="dir", name=sys.argv[1])
    def slow_square(x):
        computed.append(x)
        time.sleep(0.05)
        return x * x

    start = time.perf_counter()
    results = [slow_square(x) for x in range(10)]
    took = time.perf_counter() - start
    info = slow_square.info()
    print(f"  {sys.argv[2]}: results {results[:4]}... in {took * 1000:.0f} ms; "
          f"computed {len(computed)}, loaded from the archive {info.load}, hits {info.hit}")
    """
)


def run(directory: str | None = None) -> int:
    """Run the demo in ``directory`` (a fresh temp dir by default); return an exit code."""
    import klepto_core

    print("klepto_core demo")
    print("\n1. Plugins installed:")
    for row in klepto_core.plugins():
        print(f"  {row.kind:10} {row.name:12} {row.distribution}")

    print("\n2. klepto-style decorator, in memory:")
    calls = []

    @klepto_core.lru_cache(maxsize=2)
    def add(a: int, b: int) -> int:
        calls.append((a, b))
        return a + b

    for a, b in [(1, 2), (1, 2), (2, 3), (1, 2), (3, 4), (2, 3)]:
        add(a, b)
    print(f"  add over 6 calls computed {len(calls)} times: {add.info()}")

    with tempfile.TemporaryDirectory() as tmp:
        where = Path(directory or tmp) / "demo-archive"
        print(f"\n3. by-name decorator over a dir archive at {where}:")
        for label in ("first interpreter", "second interpreter"):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", _CHILD, str(where), label], check=True)
            del start
    print("\nThe second interpreter found every result the first one stored.")
    return 0
