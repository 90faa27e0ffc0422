"""A child interpreter that opens archives and reads them, so a crash or hang there is observed.

Corrupt storage can make a C library (HDF5, SQLite, zlib) crash or loop; the
reads run in a long-lived child that answers one JSON line per job, and is
restarted when it dies or misses its deadline.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r'''
import json, sys
from klepto_core.registry.urls import archive
from klepto_core.errors import KleptoCoreError

def failure(exc):
    kind = type(exc)
    return {"error": f"{kind.__module__}.{kind.__qualname__}: {str(exc)[:300]}",
            "klepto": isinstance(exc, KleptoCoreError), "keyerror": isinstance(exc, KeyError)}

def attempt(action):
    try:
        return {"value": action()}
    except BaseException as exc:  # reported, never raised: the parent judges it
        return failure(exc)

for line in sys.stdin:
    job = json.loads(line)
    out = {}
    opened = attempt(lambda: archive(job["kind"], job["name"], **job["options"]))
    if "error" in opened:
        out["open"] = opened
    else:
        store = opened.pop("value")
        out["listed"] = attempt(lambda: sorted(k for k in store if isinstance(k, str)))
        out["reads"] = {key: attempt(lambda: store[key]) for key in job["keys"]}
        out["contains"] = {key: attempt(lambda: key in store) for key in job["keys"]}
        out["verify"] = attempt(lambda: [str(e.key) for e in store.verify()])
        out["close"] = attempt(store.close)
    print(json.dumps(out, default=repr), flush=True)
'''


class Reader:
    """Send read jobs to a child interpreter; report its crash or hang instead of suffering it."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._child: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self._child is None or self._child.poll() is not None:
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            self._child = subprocess.Popen(
                [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env,
            )
        return self._child

    def read(self, kind: str, name: str, keys: list[str], **options: Any) -> dict[str, Any]:
        """What the child saw opening ``kind`` at ``name`` and reading ``keys``."""
        child = self._start()
        assert child.stdin is not None and child.stdout is not None
        job = {"kind": kind, "name": name, "keys": keys, "options": {"cached": False, **options}}
        try:
            child.stdin.write(json.dumps(job) + "\n")
            child.stdin.flush()
        except BrokenPipeError:
            pass
        ready, _, _ = select.select([child.stdout], [], [], self.timeout)
        if not ready:
            self.close()
            return {"hang": f"no answer in {self.timeout} s"}
        line = child.stdout.readline()
        if not line:
            code = child.wait()
            self._child = None
            return {"crash": f"the reading interpreter died (exit code {code})"}
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child.wait()
            self._child = None
