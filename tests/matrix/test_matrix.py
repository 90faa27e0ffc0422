"""Properties of every policy x keymap x serializer x archive combination the registry offers.

A configuration is drawn from the installed plugins (tests/matrix/strategies.py);
a failure names it (policy, keymap, serializer, archive) in the assertion and
in hypothesis' notes.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, event, given, note, settings
from hypothesis import strategies as st

from klepto_core.errors import SerializationError
from klepto_core.registry import REGISTRY
from tests.matrix.strategies import (
    Config,
    Location,
    Target,
    available_targets,
    call_args,
    calls,
    configs,
    decorate,
    effective_maxsize,
    memo_keys,
    memory_is_archive,
    place,
    target_function,
)

ROOT = Path(__file__).resolve().parents[2]
#: the in-process properties are cheap and the combinations many: at least 60 examples each
WIDE = settings(max_examples=max(settings().max_examples, 60))


@pytest.fixture(scope="module")
def targets() -> list[Target]:
    return available_targets()


@pytest.fixture
def places(tmp_path: Path) -> Iterator[Callable[[Target], Location]]:
    """Make fresh locations under tmp_path (or on a server); all removed at the end."""
    made: list[Location] = []

    def make(target: Target) -> Location:
        location = place(target, tmp_path)
        made.append(location)
        return location

    yield make
    for location in made:
        location.cleanup()


def draw(data: Any, targets: list[Target], persistent_only: bool = False) -> tuple[Config, list]:
    config = data.draw(configs(targets, persistent_only), label="config")
    sequence = data.draw(calls(config.typed), label="calls")
    note(config.label)
    event(f"archive={config.target.label}")
    event(f"policy={config.policy}")
    return config, sequence


def refuses_keys(config: Config) -> bool:
    """A typed key holds classes, which a JSON-only serializer refuses (SerializationError)."""
    serializer = REGISTRY.resolve("serializer", config.serializer).factory
    return config.typed and not serializer.roundtrips_any and config.target.persistent


def run(config: Config, func: Callable[..., Any], sequence: list) -> bool:
    """Call ``func`` along ``sequence``, checking results and the memory bound after each call.

    False when the archive refused a key, as it must for :func:`refuses_keys` configurations.
    """
    bound = effective_maxsize(func)
    unbounded_memory = memory_is_archive(config) and bound == 0  # the archive is memory, kept
    for call in sequence:
        args, kwds = call_args(call)
        expected = target_function(*args, **kwds)
        try:
            got = func(*args, **kwds)
        except SerializationError:
            if not refuses_keys(config):
                raise
            event("typed keys refused by a JSON serializer")
            return False
        assert got == expected, f"{config.label}: f{args}{kwds} gave {got!r}, not {expected!r}"
        if bound is not None and not unbounded_memory:
            size = len(func.__cache__())  # type: ignore[attr-defined]
            assert size <= bound, f"{config.label}: {size} entries in memory, maxsize {bound}"
    return True


def persist(config: Config, func: Callable[..., Any]) -> bool:
    """Write what memory holds to the archive (klepto style keeps it in memory until dumped).

    False when the archive refused a key, as it must for :func:`refuses_keys` configurations.
    """
    if config.style == "klepto" and config.cached:
        try:
            func.dump()  # type: ignore[attr-defined]
        except SerializationError:
            if not refuses_keys(config):
                raise
            event("typed keys refused by a JSON serializer")
            return False
    return True


# -- in one interpreter --------------------------------------------------------------------


@WIDE
@given(data=st.data())
def test_results_bound_and_counts(data: Any, targets: list[Target], places: Any) -> None:
    config, sequence = draw(data, targets)
    func, store = decorate(config, places(config.target))
    try:
        if not run(config, func, sequence):
            return
        info = func.info()  # type: ignore[attr-defined]
        assert info.hit + info.miss + info.load == len(sequence), f"{config.label}: {info}"
    finally:
        store.close()


@WIDE
@given(data=st.data())
def test_stored_results_survive_a_reload(data: Any, targets: list[Target], places: Any) -> None:
    config, sequence = draw(data, targets, persistent_only=True)
    location = places(config.target)
    func, store = decorate(config, location)
    try:
        if not run(config, func, sequence) or not persist(config, func):
            return
        stored = store.__asdict__()
    finally:
        store.close()
    again, store = decorate(config, location)
    try:
        found = store.__asdict__()
        assert found == stored, f"{config.label}: reopened archive holds {found}, not {stored}"
        if memory_is_archive(config):  # evicted entries left the archive: check what stayed
            for call in sequence:
                args, kwds = call_args(call)
                try:
                    value = again.lookup(*args, **kwds)  # type: ignore[attr-defined]
                except KeyError:
                    continue
                assert value == target_function(*args, **kwds), config.label
            return
        run(config, again, sequence)
        info = again.info()  # type: ignore[attr-defined]
        assert info.miss == 0, f"{config.label}: recomputed {info.miss} stored results ({info})"
    finally:
        store.close()


@given(data=st.data())
def test_keymaps_are_deterministic(data: Any) -> None:
    name = data.draw(st.sampled_from(REGISTRY.names("keymap")), label="keymap")
    typed = data.draw(st.booleans(), label="typed")
    sequence = data.draw(calls(typed), label="calls")
    keymap = REGISTRY.resolve("keymap", name).factory(typed=typed)
    again = REGISTRY.resolve("keymap", name).factory(typed=typed)
    for call in sequence:
        args, kwds = call_args(call)
        first = keymap(*args, **kwds)
        copies = pickle.loads(pickle.dumps((args, kwds)))
        second = again(*copies[0], **copies[1])
        assert first == second and hash(first) == hash(second), f"keymap={name} typed={typed}"
        memo = keymap.memo_key(*args, **kwds)
        assert memo == again.memo_key(*copies[0], **copies[1]), f"keymap={name} typed={typed}"


# -- in a new interpreter --------------------------------------------------------------------

_CHILD = """
import json, pickle, sys
from tests.matrix.strategies import (
    Config, Location, call_args, decorate, memo_keys, target_function,
)
config = Config.from_json(sys.argv[1])
name, options, sequence = json.loads(sys.argv[2])
func, store = decorate(config, Location(config.target, name, options))
rows = []
for call in sequence:
    args, kwds = call_args(call)
    before = func.info().miss
    rows.append([func(*args, **kwds) == target_function(*args, **kwds), func.info().miss - before])
store.close()
print(json.dumps({"rows": rows, "keys": pickle.dumps(memo_keys(config, sequence)).hex()}))
"""


@settings(max_examples=max(2, settings().max_examples // 5))
@given(data=st.data())
def test_stored_results_survive_a_new_interpreter(
    data: Any, targets: list[Target], places: Any
) -> None:
    config, sequence = draw(data, targets, persistent_only=True)
    assume(not refuses_keys(config))  # the in-process tests cover the refusal
    if memory_is_archive(config):  # the archive is memory: evictions delete stored results
        config = Config(**{**config.__dict__, "cached": True})
    # tuples become JSON lists; the child's call_args takes either
    sequence = [list(call) for call in sequence]
    location = places(config.target)
    func, store = decorate(config, location)
    try:
        run(config, func, sequence)
        persist(config, func)
    finally:
        store.close()
    payload = json.dumps([location.name, location.options, sequence])
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, config.to_json(), payload],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == 0, f"{config.label}: child failed:\n{child.stderr[-3000:]}"
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert all(same for same, _ in report["rows"]), f"{config.label}: wrong results in the child"
    recomputed = sum(missed for _, missed in report["rows"])
    assert recomputed == 0, f"{config.label}: the child recomputed {recomputed} stored results"
    theirs = pickle.loads(bytes.fromhex(report["keys"]))
    assert theirs == memo_keys(config, sequence), f"{config.label}: keys differ across processes"
