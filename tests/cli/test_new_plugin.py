"""``klepto-core new-plugin``: the skeleton it writes, its refusals, and that the skeleton works.

Installing the skeletons into a fresh venv is test_third_party_plugin.py (slow);
here each skeleton's own tests run against a run-time registration of its hook.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from klepto_core.registry import REGISTRY

GROUPS = {
    "policy": "klepto_core.policies",
    "keymap": "klepto_core.keymaps",
    "serializer": "klepto_core.serializers",
    "archive": "klepto_core.archives",
    "observer": "klepto_core.observers",
}

REGISTER_AT_RUN_TIME = """
import importlib

from klepto_core.registry import REGISTRY

module = importlib.import_module("{package}")
REGISTRY.register("{kind}", module.klepto_core_{kind}(), distribution="{dist}")
"""


@pytest.mark.parametrize("kind", list(GROUPS))
def test_writes_a_distribution_with_its_entry_point(cli, tmp_path, kind) -> None:
    result = cli("new-plugin", kind, "my_thing", "--dir", "out", "--json")
    assert result.code == 0, result.err
    report = result.json()
    dist, package = f"klepto-{kind}-my-thing", f"klepto_{kind}_my_thing"
    root = tmp_path / "out" / dist
    assert report["distribution"] == dist and Path(report["path"]) == Path("out") / dist
    assert sorted(Path(f).relative_to(Path("out") / dist).as_posix() for f in report["files"]) == [
        "README.md",
        f"{package}/__init__.py",
        "pyproject.toml",
        "tests/test_my_thing.py",
    ]
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert meta["project"]["name"] == dist
    assert meta["project"]["entry-points"][GROUPS[kind]] == {"my_thing": package}
    assert meta["tool"]["setuptools"]["packages"] == [package]
    source = (root / package / "__init__.py").read_text()
    compile(source, "__init__.py", "exec")
    assert f"def klepto_core_{kind}()" in source and "@hookimpl" in source


@pytest.mark.parametrize("kind", list(GROUPS))
def test_the_skeleton_is_lint_clean(cli, tmp_path, kind) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    assert cli("new-plugin", kind, "a_rather_long_plugin_name_30ch").code == 0
    root = next(tmp_path.glob(f"klepto-{kind}-*"))
    proc = subprocess.run(
        [ruff, "check", "--isolated", "--line-length", "100", "--target-version", "py310",
         "--select", "E,F,W,I,B,UP,N,SIM,RUF", "."],
        cwd=root, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("kind", list(GROUPS))
def test_the_skeleton_passes_its_own_tests(cli, tmp_path, kind) -> None:
    assert cli("new-plugin", kind, "skel").code == 0
    dist, package = f"klepto-{kind}-skel", f"klepto_{kind}_skel"
    root = tmp_path / dist
    conftest = REGISTER_AT_RUN_TIME.format(package=package, kind=kind, dist=dist)
    (root / "tests" / "conftest.py").write_text(conftest)
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout


def test_refuses_to_overwrite_an_existing_directory(cli, tmp_path) -> None:
    (tmp_path / "klepto-policy-taken").mkdir()
    (tmp_path / "klepto-policy-taken" / "mine.txt").write_text("keep me")
    result = cli("new-plugin", "policy", "taken")
    assert result.code == 2 and "already exists" in result.err
    assert [p.name for p in (tmp_path / "klepto-policy-taken").iterdir()] == ["mine.txt"]


@pytest.mark.parametrize("name", ["Bad-Name", "1abc", "class", "with space", "x" * 31])
def test_rejects_names_that_cannot_be_identifiers(cli, tmp_path, name) -> None:
    result = cli("new-plugin", "archive", name)
    assert result.code == 2
    assert result.err.startswith("klepto-core: error: plugin name")
    assert list(tmp_path.iterdir()) == []


def test_rejects_an_unknown_kind(cli, tmp_path) -> None:
    result = cli("new-plugin", "widget", "x")
    assert result.code == 2 and "invalid choice" in result.err
    assert list(tmp_path.iterdir()) == []


def test_warns_when_the_name_is_already_installed(cli) -> None:
    installed = REGISTRY.names("policy")[0]
    result = cli("new-plugin", "policy", installed)
    assert result.code == 0
    assert f"already provides the policy {installed!r}" in result.err
