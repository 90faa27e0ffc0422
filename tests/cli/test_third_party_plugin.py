"""A third party's plugins, end to end: scaffolded, installed into a fresh venv, used by name.

``klepto-core new-plugin`` writes one distribution of each kind in a temp dir;
they are pip-installed (not editable, no index) into a new venv that sees the
core through a ``.pth`` file naming this environment's site-packages; each
skeleton's own tests pass there, and a new interpreter uses the plugins by name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from klepto_core.registry import REGISTRY

pytestmark = pytest.mark.slow

PLUGINS = {
    "archive": "tpmemo",
    "policy": "tpfifo",
    "keymap": "tprepr",
    "serializer": "tppickle",
    "observer": "tptally",
}
DISTS = {kind: f"klepto-{kind}-{name}" for kind, name in PLUGINS.items()}

USE_BY_NAME = textwrap.dedent(
    """
    import json
    import klepto_core

    computed = []

    @klepto_core.cached(policy="tpfifo", maxsize=2, archive="tpmemo", keymap="tprepr")
    def square(x):
        computed.append(x)
        return x * x

    for x in (1, 2, 1, 3, 2, 1):  # fifo keeps 2 and 3; 1 comes back from the archive
        square(x)
    archive = square.__cache__().archive
    info = square.info()

    @klepto_core.tpfifo_cache(maxsize=1)
    def double(x):
        return 2 * x

    for x in (1, 1, 2, 1):  # maxsize 1: the hit, then 2 pushes 1 out
        double(x)
    serializer = klepto_core.base.serializer.get_serializer("tppickle")
    from klepto_observer_tptally import counts  # installed: it saw every call above
    seen = counts()
    print(json.dumps({
        "plugins": {f"{r.kind}:{r.name}": r.distribution for r in klepto_core.plugins()},
        "computed": computed,
        "load": info.load,
        "archive_type": type(archive).__kind_name__,
        "archived": sorted(archive.values()),
        "double": list(double.info())[:3],
        "decorator": klepto_core.tpfifo_cache.__name__,
        "roundtrip": serializer.loads(serializer.dumps({"a": (1, 2)})),
        "observed": {name: dict(c) for name, c in seen.items()},
        "info": list(info)[:3],
    }))
    """
)


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """A fresh venv holding the four scaffolded plugin distributions; (python, skeletons, env)."""
    root = tmp_path_factory.mktemp("third_party")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    skeletons = root / "src"
    for kind, name in PLUGINS.items():
        run([sys.executable, "-m", "klepto_core", "new-plugin", kind, name, "--dir", str(skeletons)],
            root, env)

    run([sys.executable, "-m", "venv", str(root / "venv")], root, env)
    python = root / "venv" / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  root, env).stdout.strip()
    # the core, its dependencies and pytest come from this environment, as a site dir
    here = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "_klepto_core_dev.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    run([str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
         "--no-build-isolation", *(str(skeletons / dist) for dist in DISTS.values())], root, env)
    return python, skeletons, env


def test_the_plugins_are_not_installed_here() -> None:
    for kind, name in PLUGINS.items():
        assert name not in REGISTRY.names(kind)  # the venv below is the only place they exist


@pytest.mark.parametrize("kind", list(PLUGINS))
def test_each_skeleton_passes_its_own_tests(venv, kind) -> None:
    python, skeletons, env = venv
    proc = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
               skeletons / DISTS[kind], env)
    assert " passed" in proc.stdout and "failed" not in proc.stdout
    if kind in ("archive", "policy"):  # the conformance suites ran
        suite = f"Test{PLUGINS[kind].capitalize()}{kind.capitalize()}Conformance"
        assert suite in run(
            [str(python), "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
            skeletons / DISTS[kind], env,
        ).stdout


def test_a_new_interpreter_uses_the_plugins_by_name(venv, tmp_path) -> None:
    python, _, env = venv
    out = json.loads(run([str(python), "-c", USE_BY_NAME], tmp_path, env).stdout)
    for kind, name in PLUGINS.items():
        assert out["plugins"][f"{kind}:{name}"] == DISTS[kind]
    assert out["archive_type"] == "tpmemo_archive"
    assert out["computed"] == [1, 2, 3]
    assert out["load"] == 1
    assert out["archived"] == [1, 4, 9]
    assert out["decorator"] == "tpfifo_cache"
    assert out["double"] == [1, 3, 0]  # hits, misses, loads
    assert out["roundtrip"] == {"a": [1, 2]}
    square = out["observed"]["square"]  # the installed observer saw what info() counts
    assert [square.get(e, 0) for e in ("hit", "miss", "load")] == out["info"]
    assert out["observed"]["double"] == {"hit": 1, "miss": 3, "evict": 2}


def test_the_command_lists_them_from_the_venv(venv, tmp_path) -> None:
    python, _, env = venv
    rows = json.loads(run([str(python), "-m", "klepto_core", "plugins", "--json"], tmp_path,
                          env).stdout)
    listed = {(r["kind"], r["name"]): r for r in rows}
    for kind, name in PLUGINS.items():
        assert listed[(kind, name)]["distribution"] == DISTS[kind]
        assert listed[(kind, name)]["version"] == "0.1.0" and listed[(kind, name)]["error"] is None
