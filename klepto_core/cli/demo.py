"""The demo behind ``make demo``: results computed in one interpreter, found by the next.

It decorates a slow function in both API styles over an on-disk archive, runs
it, then starts a second Python process that calls the same function and
reports how many results it found without recomputing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import klepto_core

_CHILD = textwrap.dedent(
    """
    import json, sys, time
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
    print(json.dumps({"run": sys.argv[2], "results": results, "ms": round(took * 1000),
                      "computed": len(computed), "loaded": info.load, "hits": info.hit}))
    """
)


def run(directory: str | None = None, as_json: bool = False) -> int:
    """Run the demo in ``directory`` (a fresh temp dir by default); return an exit code.

    ``as_json`` prints one JSON document (the plugins and both runs) instead of the story.
    """
    say = (lambda *_: None) if as_json else print
    say("klepto_core demo")
    say("\n1. Plugins installed:")
    rows = klepto_core.plugins()
    for row in rows:
        say(f"  {row.kind:10} {row.name:12} {row.distribution}")

    say("\n2. klepto-style decorator, in memory:")
    calls = []

    @klepto_core.lru_cache(maxsize=2)  # type: ignore[misc,untyped-decorator,unused-ignore]
    def add(a: int, b: int) -> int:
        calls.append((a, b))
        return a + b

    for a, b in [(1, 2), (1, 2), (2, 3), (1, 2), (3, 4), (2, 3)]:
        add(a, b)
    say(f"  add over 6 calls computed {len(calls)} times: {add.info()}")

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(directory or tmp) / "demo-archive"
        say(f"\n3. by-name decorator over a dir archive at {where}:")
        for label in ("first interpreter", "second interpreter"):
            child = subprocess.run(
                [sys.executable, "-c", _CHILD, str(where), label],
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            run = json.loads(child.stdout.strip().splitlines()[-1])
            runs.append(run)
            say(
                f"  {label}: results {run['results'][:4]}... in {run['ms']} ms; "
                f"computed {run['computed']}, loaded from the archive {run['loaded']}, "
                f"hits {run['hits']}"
            )
    survived = runs[1]["computed"] == 0 and runs[1]["loaded"] == runs[0]["computed"]
    if survived:
        say("\nThe second interpreter found every result the first one stored.")
    else:
        say("\nThe second interpreter had to recompute results: the archive did not keep them.")
    if as_json:
        print(
            json.dumps(
                {
                    "plugins": [[r.kind, r.name, r.distribution] for r in rows],
                    "in_memory": {"calls": 6, "computed": len(calls)},
                    "archive": str(where),
                    "runs": runs,
                },
                indent=2,
            )
        )
    return 0 if survived else 1
