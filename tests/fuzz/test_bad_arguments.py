"""Unhashable, unpicklable, huge and self-containing arguments and values, for every plugin.

Each keymap (with the encoder options it offers) keys a decorated call, and each
serializer stores a value through an archive: the result is correct, or a
klepto_core.errors exception explains the refusal. A raw RecursionError,
PicklingError, ValueError or TypeError never escapes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from klepto_core import cached
from klepto_core.base.serializer import get_serializer
from klepto_core.errors import KleptoCoreError, SerializationError, UnhashableKeyError
from klepto_core.registry import REGISTRY
from klepto_core.registry.urls import archive


def _recursive_list() -> list[Any]:
    item: list[Any] = []
    item.append(item)
    return item


def _recursive_dict() -> dict[str, Any]:
    item: dict[str, Any] = {}
    item["self"] = item
    return item


def _deep(depth: int = 100_000) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        node.append([])
        node = node[0]
    return root


BAD = {
    "list": lambda: [1, 2],
    "dict": lambda: {"a": 1},
    "lock": threading.Lock,
    "lambda": lambda: (lambda: 1),
    "local-class": lambda: type("Inner", (), {})(),
    "huge-bytes": lambda: b"x" * 10_000_000,
    "recursive-list": _recursive_list,
    "recursive-dict": _recursive_dict,
    "deep": _deep,
    "generator": lambda: (i for i in [1]),
}

#: encoder options of the built-in keymaps; a keymap not listed is tried with its defaults
KEYMAP_OPTIONS: dict[str, list[dict[str, Any]]] = {
    "hashmap": [{}, {"algorithm": "md5"}, {"algorithm": "stable"}],
    "picklemap": [{}, {"serializer": "pickle"}, {"serializer": "dill"}, {"serializer": "json"}],
    "stringmap": [{}, {"encoding": "repr"}, {"encoding": "utf-8"}],
}

KEYMAPS = [
    (name, options, typed)
    for name in REGISTRY.names("keymap")
    for options in KEYMAP_OPTIONS.get(name, [{}])
    for typed in (False, True)
]


def kind_of(x: Any) -> str:
    return type(x).__name__


@pytest.mark.parametrize(
    ("name", "options", "typed"), KEYMAPS, ids=[f"{n}-{o}-typed={t}" for n, o, t in KEYMAPS]
)
@pytest.mark.parametrize("bad", sorted(BAD))
def test_keymaps_key_bad_arguments_or_refuse_them_clearly(
    name: str, options: dict[str, Any], typed: bool, bad: str
) -> None:
    keymap = REGISTRY.resolve("keymap", name).factory(typed=typed, **options)
    func = cached("lru", maxsize=4, keymap=keymap)(kind_of)
    argument = BAD[bad]()
    try:
        first = func(argument)
    except UnhashableKeyError as exc:
        assert exc.__cause__ is not None, "the refusal keeps the keymap's reason"
        return
    assert first == kind_of(argument), f"keymap={name}{options} typed={typed} arg={bad}"
    assert func(argument) == first


@pytest.mark.parametrize("serializer", REGISTRY.names("serializer"))
@pytest.mark.parametrize("bad", sorted(BAD))
def test_serializers_store_bad_values_or_refuse_them_clearly(serializer: str, bad: str) -> None:
    chosen = get_serializer(serializer)
    value = BAD[bad]()
    try:
        data = chosen.dumps(value)
    except SerializationError:
        return
    back = chosen.loads(data)
    # a class pickled by value (dill, cloudpickle) comes back as an equal class, not the same
    assert type(back).__name__ == type(value).__name__ or not chosen.roundtrips_any, serializer


@pytest.mark.parametrize("serializer", REGISTRY.names("serializer"))
@pytest.mark.parametrize("bad", sorted(BAD))
def test_a_cached_function_returning_a_bad_value(serializer: str, bad: str, tmp_path: Path) -> None:
    """A result no serializer can store is refused with SerializationError, nothing written."""
    value = BAD[bad]()
    func = cached(
        "lru", maxsize=2, archive="dir", name=str(tmp_path / "memo"), serializer=serializer
    )(lambda: value)
    try:
        got = func()
    except SerializationError:
        store = archive("dir", str(tmp_path / "memo"))
        assert len(store) == 0, f"{serializer}: {bad} was refused but something was written"
        return
    assert got is value


@pytest.mark.parametrize("kind", ["dir", "file", "sql", "hdf"])
@pytest.mark.parametrize("bad", ["huge-bytes", "recursive-list", "dict"])
def test_archives_take_bad_keys_or_refuse_them_clearly(kind: str, bad: str, tmp_path: Path) -> None:
    name = f"sqlite:///{tmp_path / 'memo.db'}" if kind == "sql" else str(tmp_path / "memo")
    store = archive(kind, name)
    key = BAD[bad]()
    try:
        store[key] = 1
    except Exception as exc:
        assert isinstance(exc, KleptoCoreError), f"{kind}: a {bad} key raised {exc!r}"
        return
    finally:
        store.close()
    store = archive(kind, name)
    try:
        assert store[key] == 1 and key in store
    finally:
        store.close()
