"""A wheel-installed klepto_core decorates and calls with ``@lru_cache()`` importing nothing heavy.

Editable installs and source checkouts hide what a user's cold start costs, so
this builds the wheels, installs them into a throwaway venv and reads
``python -X importtime`` of ``import klepto_core`` + decorate + first call.
``-X importtime`` logs only ``import`` statements (not ``importlib.import_module``,
which is how plugins are loaded), so ``sys.modules`` at the end is checked too.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import wheel_venv

#: modules a plain ``@lru_cache()`` has no use for: backends, serializers, plugin machinery
HEAVY = (
    "sqlalchemy", "h5py", "numpy", "pandas", "redis", "dill", "cloudpickle", "jsonpickle",
    "importlib.metadata", "pluggy", "asyncio", "hashlib", "klepto_core.keys.content",
    "klepto_core.storage.locking",
)
STATEMENT = (
    "import klepto_core\n"
    "@klepto_core.lru_cache()\n"
    "def f(x):\n"
    "    return x + 1\n"
    "assert f(1) == 2 and f(1) == 2 and f.info().hit == 1, f.info()\n"
    "import sys\n"
    "print(klepto_core.__file__)\n"
    "print(' '.join(sys.modules))\n"
)


def _imported(importtime: str) -> set[str]:
    """Every module named in ``-X importtime`` output."""
    names = set()
    for line in importtime.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return wheel_venv.build(tmp_path_factory.mktemp("cold"))


@pytest.mark.slow
def test_wheel_installed_lru_cache_imports_nothing_heavy(python: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [str(python), "-X", "importtime", "-c", STATEMENT], cwd=tmp_path,
        env=wheel_venv.clean_env(), capture_output=True, text=True, check=True,
    )
    where, loaded = out.stdout.splitlines()
    assert where.startswith(str(python.parent.parent))  # the wheel, not a checkout
    modules = set(loaded.split())
    assert {"klepto_policy_lru", "klepto_keymap_hashmap"} <= modules
    assert _heavy(_imported(out.stderr)) == []
    assert _heavy(modules) == []


@pytest.mark.slow
def test_the_heavy_check_sees_a_heavy_import(python: Path, tmp_path: Path) -> None:
    code = "import dill, pluggy\n" + STATEMENT
    out = subprocess.run(
        [str(python), "-X", "importtime", "-c", code], cwd=tmp_path,
        env=wheel_venv.clean_env(), capture_output=True, text=True, check=True,
    )
    assert {"dill", "pluggy"} <= set(_heavy(_imported(out.stderr)))
    assert {"dill", "pluggy"} <= set(_heavy(set(out.stdout.splitlines()[1].split())))


@pytest.mark.slow
def test_every_default_plugin_loads_in_the_wheel_venv(
    python: Path, tmp_path: Path
) -> None:
    code = (
        "import klepto_core, sys\n"
        "names = {r.name for r in klepto_core.plugins()}\n"
        "assert {'lru', 'lfu', 'hashmap', 'dill', 'dir'} <= names, names\n"
        "assert not any(r.error for r in klepto_core.plugins())\n"
    )
    subprocess.run([str(python), "-c", code], cwd=tmp_path, env=wheel_venv.clean_env(),
                   check=True)
