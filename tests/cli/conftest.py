"""Run the real ``klepto-core`` command in a subprocess, with its exit code, stdout and stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from klepto_core.registry import REGISTRY

SCRIPT = Path(sys.executable).with_name("klepto-core")
#: the console script when installed (it is, in .venv), else ``python -m klepto_core``
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "klepto_core"]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(*args: str, cwd: Path, command: list[str] | None = None) -> Result:
    proc = subprocess.run(
        [*(command or COMMAND), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., Result]:
    """``cli("info", url, "--json")``: run the command with ``tmp_path`` as working directory.

    ``command=[...]`` runs another form of it (``python -m klepto_core``).
    """

    def run(*args: str, cwd: Path | None = None, command: list[str] | None = None) -> Result:
        return run_cli(*args, cwd=cwd or tmp_path, command=command)

    return run


@pytest.fixture
def need_archives() -> Callable[..., None]:
    """``need_archives("dir", "sql")``: skip, with the reason, unless these plugins are installed."""

    def need(*names: str) -> None:
        missing = [n for n in names if n not in REGISTRY.names("archive")]
        if missing:
            pytest.skip(
                f"archive plugin(s) {', '.join(missing)} not installed "
                f"(pip install -e plugins/klepto-archive-{missing[0]})"
            )

    return need
