"""The entry-point scanner finds what importlib.metadata finds, without importing it."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from klepto_core.registry.entrypoints import scan
from klepto_core.registry.specs import GROUPS


def test_scanner_agrees_with_importlib_metadata() -> None:
    ours = {(r.group, r.name, r.value, r.distribution) for r in scan(GROUPS)}
    theirs = {
        (ep.group, ep.name, ep.value, ep.dist.metadata["Name"])
        for group in GROUPS
        for ep in entry_points(group=group)
    }
    assert ours == theirs
    assert ours  # the built-in plugins are installed


def test_first_distribution_on_the_path_wins(tmp_path) -> None:
    for root, target in ((tmp_path / "a", "first_mod"), (tmp_path / "b", "second_mod")):
        info = root / "klepto_policy_twin-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: klepto-policy-twin\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[klepto_core.policies]\ntwin = {target}\n")
    records = scan(GROUPS, [str(tmp_path / "a"), str(tmp_path / "b")])
    assert [(r.name, r.value, r.distribution, r.version) for r in records] == [
        ("twin", "first_mod", "klepto-policy-twin", "1.0")
    ]


def test_resolving_a_plugin_never_imports_importlib_metadata() -> None:
    code = (
        "import sys, klepto_core; klepto_core.lru_cache()(lambda x: x)(1); "
        "print('importlib.metadata' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
