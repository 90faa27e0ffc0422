"""The plugin registry: discovery by entry point, lazy loading, clear errors for bad names."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import klepto_core
from klepto_core.errors import DuplicatePluginError, PluginLoadError, UnknownPluginError
from klepto_core.registry import Registry
from klepto_core.registry.specs import PluginSpec


def _fake_distribution(root: Path, dist: str, group: str, entries: dict[str, str], modules: dict[str, str]) -> None:
    """Write a minimal installed distribution (dist-info + modules) under ``root``."""
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    lines = [f"[{group}]"] + [f"{name} = {target}" for name, target in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


GOOD_POLICY = """
from klepto_core.registry.hookspecs import hookimpl
from klepto_core.base.policy import Policy
from klepto_core.registry.specs import PluginSpec

class KeepAll(Policy):
    pass

@hookimpl
def klepto_core_policy():
    return PluginSpec(name="keepall", factory=KeepAll, description="keeps everything")
"""


def test_installed_plugin_is_found_by_name_and_loaded_once(site: Path) -> None:
    _fake_distribution(site, "klepto-policy-keepall", "klepto_core.policies", {"keepall": "kc_keepall"}, {"kc_keepall": GOOD_POLICY})
    registry = Registry()
    assert "keepall" in registry.names("policy")
    spec = registry.resolve("policy", "keepall")
    assert spec.description == "keeps everything"
    assert registry.resolve("policy", "keepall") is spec
    row = next(r for r in registry.infos() if r.name == "keepall")
    assert (row.kind, row.distribution, row.version) == ("policy", "klepto-policy-keepall", "1.2.3")


def test_unknown_name_lists_installed_names_and_a_close_match() -> None:
    with pytest.raises(UnknownPluginError) as err:
        klepto_core.registry.REGISTRY.resolve("policy", "lur")
    message = str(err.value)
    assert "unknown policy 'lur'" in message
    assert "lru" in message and "did you mean 'lru'" in message
    assert "klepto-policy-lur" in message  # which distribution would provide it
    assert isinstance(err.value, LookupError)


def test_unknown_kind_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown plugin kind"):
        klepto_core.registry.REGISTRY.names("widget")


def test_broken_plugin_is_reported_and_does_not_break_the_others(site: Path) -> None:
    _fake_distribution(
        site,
        "klepto-policy-broken",
        "klepto_core.policies",
        {"broken": "kc_broken"},
        {"kc_broken": "raise RuntimeError('boom at import')\n"},
    )
    _fake_distribution(site, "klepto-policy-keepall", "klepto_core.policies", {"keepall": "kc_keepall2"}, {"kc_keepall2": GOOD_POLICY})
    registry = Registry()
    with pytest.raises(PluginLoadError) as err:
        registry.resolve("policy", "broken")
    assert "klepto-policy-broken" in str(err.value) and "boom at import" in str(err.value)
    assert isinstance(err.value.__cause__, RuntimeError)
    assert registry.resolve("policy", "keepall").name == "keepall"
    rows = {r.name: r for r in registry.infos()}
    assert rows["broken"].error and "boom at import" in rows["broken"].error
    assert rows["keepall"].error is None


def test_entry_point_whose_spec_has_another_name_is_a_load_error(site: Path) -> None:
    _fake_distribution(site, "klepto-policy-liar", "klepto_core.policies", {"liar": "kc_liar"}, {"kc_liar": GOOD_POLICY})
    with pytest.raises(PluginLoadError, match="provides 'keepall', not 'liar'"):
        Registry().resolve("policy", "liar")


def test_plugin_without_the_hook_is_a_load_error(site: Path) -> None:
    _fake_distribution(site, "klepto-policy-empty", "klepto_core.policies", {"empty": "kc_empty"}, {"kc_empty": "x = 1\n"})
    with pytest.raises(PluginLoadError, match="does not implement the hook klepto_core_policy"):
        Registry().resolve("policy", "empty")


def test_same_name_from_two_distributions_is_rejected_naming_both(site: Path) -> None:
    _fake_distribution(site, "klepto-policy-one", "klepto_core.policies", {"twin": "kc_one"}, {"kc_one": GOOD_POLICY})
    _fake_distribution(site, "klepto-policy-two", "klepto_core.policies", {"twin": "kc_two"}, {"kc_two": GOOD_POLICY})
    with pytest.raises(DuplicatePluginError) as err:
        Registry().names("policy")
    assert "klepto-policy-one" in str(err.value) and "klepto-policy-two" in str(err.value)


def test_runtime_registration_is_usable_by_name() -> None:
    from klepto_core.base.policy import Policy

    registry = Registry()
    registry.register("policy", PluginSpec("nothing", Policy, "does nothing"))
    assert registry.resolve("policy", "nothing").factory is Policy
    with pytest.raises(DuplicatePluginError):
        registry.register("policy", PluginSpec("lru", Policy), distribution="someone-else")


def test_plugins_lists_every_installed_plugin_with_its_distribution() -> None:
    rows = klepto_core.plugins()
    lru = next(r for r in rows if r.kind == "policy" and r.name == "lru")
    assert lru.distribution == "klepto-policy-lru"
    assert lru.version and lru.description
    assert {r.kind for r in rows} <= {"policy", "keymap", "serializer", "archive"}


def test_import_loads_no_plugin_and_no_heavy_backend() -> None:
    code = (
        "import sys, klepto_core; "
        "heavy = [m for m in ('pluggy', 'importlib.metadata', 'h5py', 'sqlalchemy', 'pandas', 'redis', "
        "'klepto_policy_lru', 'dill') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_builtin_policy_and_keymap_resolve_without_loading_pluggy() -> None:
    code = (
        "import sys, klepto_core; f = klepto_core.lru_cache()(lambda x: x); f(1); "
        "print([m for m in sys.modules if m == 'pluggy' or m.startswith('pluggy.')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_misspelled_hook_is_a_load_error_naming_it(site: Path) -> None:
    source = GOOD_POLICY + "\n@hookimpl\ndef klepto_core_polcy():\n    return None\n"
    _fake_distribution(site, "klepto-policy-typo", "klepto_core.policies", {"keepall": "kc_typo"}, {"kc_typo": source})
    with pytest.raises(PluginLoadError, match="unknown hook 'klepto_core_polcy'"):
        Registry().resolve("policy", "keepall")


def test_hook_taking_arguments_is_a_load_error(site: Path) -> None:
    source = GOOD_POLICY.replace("def klepto_core_policy():", "def klepto_core_policy(config):")
    _fake_distribution(site, "klepto-policy-args", "klepto_core.policies", {"keepall": "kc_args"}, {"kc_args": source})
    with pytest.raises(PluginLoadError, match="config"):
        Registry().resolve("policy", "keepall")


def test_plugin_marked_with_pluggys_own_marker_and_with_two_implementations_loads(site: Path) -> None:
    source = """
import pluggy
from klepto_core.base.policy import Policy
from klepto_core.registry.specs import PluginSpec

hookimpl = pluggy.HookimplMarker("klepto_core")

@hookimpl
def klepto_core_policy():
    return PluginSpec(name="first", factory=Policy)

@hookimpl(specname="klepto_core_policy")
def second():
    return [PluginSpec(name="second", factory=Policy, description="the other one")]
"""
    _fake_distribution(site, "klepto-policy-pair", "klepto_core.policies", {"first": "kc_pair", "second": "kc_pair"}, {"kc_pair": source})
    registry = Registry()
    assert registry.resolve("policy", "first").name == "first"
    assert registry.resolve("policy", "second").description == "the other one"
