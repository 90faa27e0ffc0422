"""A throwaway venv with klepto_core and its default plugins installed from wheels (not editable).

Cold-start measurements must see what a user's ``pip install klepto-core``
gives: compiled modules in site-packages, no source tree on ``sys.path``. The
wheels are built from a copy of the sources (no ``build/`` left behind), the
venv has no pip of its own (this interpreter's pip installs into it), and the
third-party dependencies are copied from this environment's installed
distributions, so nothing is downloaded.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the plugin distributions ``pip install klepto-core`` brings (its non-extra dependencies)
DEFAULT_PLUGINS = (
    "klepto-policy-lru", "klepto-policy-lfu", "klepto-policy-mru", "klepto-policy-rr",
    "klepto-policy-inf", "klepto-policy-no", "klepto-keymap-keymap", "klepto-keymap-hashmap",
    "klepto-keymap-stringmap", "klepto-keymap-picklemap", "klepto-serializer-pickle",
    "klepto-serializer-dill", "klepto-serializer-json", "klepto-archive-dict",
    "klepto-archive-null", "klepto-archive-file", "klepto-archive-dir",
)
#: klepto_core's own third-party dependencies
DEPENDENCIES = ("pluggy", "dill")
_SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                               ".mypy_cache", ".ruff_cache", ".hypothesis", "tests")


def _copy_sources(dest: Path) -> list[Path]:
    """Copy the core and the default plugins' sources under ``dest``; their project dirs."""
    core = dest / "core"
    core.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, core / name)
    shutil.copytree(ROOT / "klepto_core", core / "klepto_core", ignore=_SKIP)
    projects = [core]
    for plugin in DEFAULT_PLUGINS:
        target = dest / plugin
        shutil.copytree(ROOT / "plugins" / plugin, target, ignore=_SKIP)
        projects.append(target)
    return projects


def site_packages(python: Path) -> Path:
    """The venv's site-packages directory."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                               check=True).stdout.strip())


def copy_distribution(name: str, site: Path) -> None:
    """Copy an installed distribution's files (with their compiled modules) into ``site``."""
    dist = importlib.metadata.distribution(name)
    base = Path(str(dist.locate_file("")))
    for file in dist.files or ():
        source = base / file
        if not source.is_file() or ".." in file.parts:
            continue  # scripts installed outside site-packages
        target = site / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)  # keeps mtimes, so the copied .pyc files stay valid


def build(dest: Path, extra: tuple[str, ...] = ()) -> Path:
    """Build wheels and a venv under ``dest``; return its python. ``extra``: more dists to copy."""
    projects = _copy_sources(dest / "src")
    wheels = dest / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels),
                    *map(str, projects)], check=True, capture_output=True, env=_untraced())
    venv = dest / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index",
                    *map(str, sorted(wheels.glob("*.whl")))], check=True, capture_output=True,
                   env=_untraced())
    site = site_packages(python)
    for name in (*DEPENDENCIES, *extra):
        copy_distribution(name, site)
    return python


def _untraced() -> dict[str, str]:
    """This environment without coverage's subprocess hook: building wheels from the copied
    sources is tooling, and traced it would report the copies as unexecuted files."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}


def clean_env() -> dict[str, str]:
    """This process's environment without anything that would put sources on ``sys.path``."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
