"""Run klepto's own test files against klepto_core, without copying them into this repository.

Each file is read from the installed klepto package at test time, every ``klepto``
name token is renamed ``klepto_core``, and the result runs in a subprocess (cwd: a
temporary directory) where ``import klepto`` raises ImportError, so a passing file
proves klepto_core alone does the work.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import os
import subprocess
import sys
import tokenize
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

# Executed in the subprocess: argv = [rewritten test file, results json].
DRIVER = r'''
import importlib.abc
import importlib.util
import inspect
import json
import sys
import traceback


class BlockKlepto(importlib.abc.MetaPathFinder):
    """Refuse to import the original klepto: the port must run on klepto_core alone."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "klepto" or fullname.startswith("klepto."):
            raise ImportError(f"import of {fullname!r} is blocked in the klepto_core port")
        return None


sys.meta_path.insert(0, BlockKlepto())
source_path, results_path = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("klepto_suite_port", source_path)
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
results = []
try:
    spec.loader.exec_module(module)
except BaseException:
    results.append(["<module>", "failed", traceback.format_exc()])
else:
    for name, obj in list(vars(module).items()):
        if not (name.startswith("test_") and inspect.isfunction(obj)):
            continue
        if obj.__module__ != module.__name__:
            continue
        required = [
            p for p in inspect.signature(obj).parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if required:  # a helper that other tests call with arguments
            continue
        try:
            obj()
        except BaseException:
            results.append([name, "failed", traceback.format_exc()])
        else:
            results.append([name, "passed", ""])
# then the file as klepto runs it: as a script, whose __main__ block calls the helpers
# (test_basic(z), test_alchemy(z), ...) that take arguments
imported = not (results and results[0][0] == "<module>")
if imported and "if __name__ == '__main__':" in open(source_path, encoding="utf-8").read():
    import os
    import runpy

    os.makedirs("_script", exist_ok=True)
    os.chdir("_script")
    try:
        runpy.run_path(source_path, run_name="__main__")
    except BaseException:
        results.append(["<__main__>", "failed", traceback.format_exc()])
    else:
        results.append(["<__main__>", "passed", ""])
with open(results_path, "w", encoding="utf-8") as out:
    json.dump(results, out)
'''


def klepto_tests_dir() -> Path | None:
    """The installed klepto's ``tests`` folder, found without importing klepto; None if absent."""
    spec = importlib.util.find_spec("klepto")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "tests"
    return folder if folder.is_dir() else None


def rewrite_source(source: str) -> str:
    """Rename every ``klepto`` name token to ``klepto_core``; strings and comments stay as is."""
    spots = [
        tok.start
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.NAME and tok.string == "klepto"
    ]
    lines = source.splitlines(keepends=True)
    for row, col in reversed(spots):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + "klepto_core" + line[col + len("klepto") :]
    return "".join(lines)


def missing_core_modules(source: str) -> list[str]:
    """klepto_core modules the rewritten source imports that do not exist in the repo yet."""
    wanted: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            wanted.add(node.module)
        elif isinstance(node, ast.Import):
            wanted.update(alias.name for alias in node.names)
    missing = []
    for module in sorted(m for m in wanted if m.split(".")[0] == "klepto_core"):
        path = REPO.joinpath(*module.split("."))
        if not (path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()):
            missing.append(module)
    return missing


def run_file(name: str, workdir: Path, prelude: str = "") -> list[tuple[str, str, str]]:
    """Run one ported klepto test file; return (function, 'passed'/'failed', traceback) rows."""
    folder = klepto_tests_dir()
    if folder is None:
        pytest.skip("klepto is not installed: nothing to port")
    source_file = folder / name
    if not source_file.is_file():
        pytest.fail(f"klepto has no test file {name!r} in {folder}")
    source = prelude + rewrite_source(source_file.read_text(encoding="utf-8"))
    missing = missing_core_modules(source)
    if missing:
        pytest.skip(f"klepto_core modules not written yet: {', '.join(missing)}")

    port_dir = workdir / "_port"
    port_dir.mkdir()
    port = port_dir / name
    port.write_text(source, encoding="utf-8")
    driver = port_dir / "_driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    results = port_dir / "_results.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, str(driver), str(port), str(results)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=270,  # below the suite's per-test timeout, so a hang reports as a failure
    )
    if not results.is_file():
        pytest.fail(
            f"{name}: the subprocess died (exit {proc.returncode})\n{proc.stdout}\n{proc.stderr}"
        )
    rows: list[Any] = json.loads(results.read_text(encoding="utf-8"))
    return [tuple(row) for row in rows]


@pytest.fixture
def run_klepto_file(tmp_path: Path) -> Callable[..., list[tuple[str, str, str]]]:
    """Run a klepto test file (by basename) in a subprocess rooted at a fresh temp dir."""

    def run(name: str, prelude: str = "") -> list[tuple[str, str, str]]:
        return run_file(name, tmp_path, prelude)

    return run


@pytest.fixture
def rewrite_klepto_source() -> Callable[[str], str]:
    """The source rewriter, for testing it."""
    return rewrite_source
