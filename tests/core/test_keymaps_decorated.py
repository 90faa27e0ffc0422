"""Keymap plugins used through the decorator: ``f.key``, hits, and no wrong results on collisions."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import klepto_core
from klepto_core.errors import UnhashableKeyError
from klepto_core.keymaps import SENTINEL, hashmap, keymap, picklemap, stringmap
from klepto_core.keys.stable import stable_digest

FLAT = ("a", 1, "b", 2, "c", 3)
INT = int


def make(km: Any = None) -> Any:
    def f(a: int, b: int, c: int = 0) -> int:
        calls.append((a, b, c))
        return a + b + c

    calls: list[tuple[int, int, int]] = []
    decorated = klepto_core.lru_cache()(f) if km is None else klepto_core.lru_cache(keymap=km)(f)
    decorated.calls = calls
    return decorated


@pytest.mark.parametrize(
    ("km", "expected"),
    [
        (keymap(), FLAT),
        (keymap(typed=True), (*FLAT, INT, INT, INT)),
        (keymap(sentinel=SENTINEL), (SENTINEL, *FLAT)),
        (hashmap(algorithm="md5"), "d98bf42214c6f7ccb86357a3bbbf1214"),
        (stringmap(), "('a', 1, 'b', 2, 'c', 3)"),
        (picklemap(), "('a', 1, 'b', 2, 'c', 3)"),
        (
            picklemap(serializer="dill"),
            b"\x80\x04\x95\x16\x00\x00\x00\x00\x00\x00\x00(\x8c\x01a\x94K\x01\x8c\x01b\x94K\x02"
            b"\x8c\x01c\x94K\x03t\x94.",
        ),
        (hashmap(algorithm="stable"), stable_digest(FLAT)),
    ],
    ids=repr,
)
def test_keys_of_a_call_match_kleptos_table(km: Any, expected: Any) -> None:
    f = make(km)
    assert f.key(1, 2, c=3) == expected
    assert f(1, 2, c=3) == 6
    assert f(a=1, b=2, c=3) == 6  # bound arguments: the same key
    assert f(1, 2, 3) == 6
    assert f.calls == [(1, 2, 3)]
    assert f.info().hit == 2 and f.info().miss == 1
    assert f.lookup(1, 2, c=3) == 6


def test_the_default_key_is_the_builtin_hash_of_the_flat_key() -> None:
    f = make()
    key = f.key(1, 2, c=3)
    assert isinstance(key, int)
    assert key == hash(FLAT) and int(key) == hash(FLAT)
    assert key.raw == FLAT
    assert f(1, 2, c=3) == 6 and f(1, 2, c=3) == 6
    assert f.info().hit == 1
    assert f.__cache__()[key] == 6  # the key finds the entry the cache stored


def test_divergence_unsorted_kwds_of_non_flat_keys() -> None:
    # klepto built (args, kwds) keys with kwds in signature-binding order:
    # "((), {'c': 3, 'a': 1, 'b': 2})"; the binder sorts them (klepto edge 5),
    # so the key does not depend on how the call was spelled.
    f = make(stringmap(flat=False))
    assert f.key(1, 2, c=3) == "((), {'a': 1, 'b': 2, 'c': 3})"
    assert f.key(c=3, b=2, a=1) == f.key(1, 2, c=3)


def test_a_raw_non_flat_key_is_unhashable_but_the_cache_keys_it_by_content() -> None:
    f = make(keymap(flat=False))
    assert f.key(1, 2, c=3) == ((), {"a": 1, "b": 2, "c": 3})  # klepto's key, as it was
    assert f(1, 2, c=3) == f(1, 2, c=3) == 6
    assert f(1, 2, c=4) == 7
    assert f.info().hit == 1 and f.info().miss == 2
    with pytest.raises(UnhashableKeyError):
        f(1, 2, c=[(n for n in range(3))])


@pytest.mark.parametrize("km", [None, keymap()], ids=repr)
def test_varargs_only_functions_key_a_single_value_by_itself(km: Any) -> None:
    def g(*args: Any) -> Any:
        return args

    decorated = klepto_core.lru_cache()(g) if km is None else klepto_core.lru_cache(keymap=km)(g)
    assert decorated.key(5) == 5


def test_equal_builtin_hashes_never_share_a_result() -> None:
    # klepto edge 2: hash(-1) == hash(-2), and klepto returned f(-1)'s value for f(-2)
    @klepto_core.lru_cache()
    def times_ten(x: int) -> int:
        return x * 10

    assert times_ten(-1) == -10
    assert times_ten(-2) == -20
    assert times_ten(-2) == -20
    info = times_ten.info()
    assert (info.hit, info.miss) == (1, 2)
    assert int(times_ten.key(-1)) == int(times_ten.key(-2))
    assert times_ten.key(-1) != times_ten.key(-2)
    memory = times_ten.__cache__()
    assert memory[times_ten.key(-1)] == -10
    assert memory[times_ten.key(-2)] == -20


def test_typed_keys_separate_equal_values_of_other_types() -> None:
    @klepto_core.lru_cache(keymap=hashmap(typed=True))
    def kind(x: Any) -> str:
        return type(x).__name__

    assert kind(1) == "int" and kind(1.0) == "float" and kind(True) == "bool"
    assert kind.info().miss == 3


def test_a_chained_keymap_keys_calls_like_kleptos_chain() -> None:
    h = hashmap(algorithm="md5")
    p = picklemap(serializer="dill")
    f = make(p + h)
    assert f.key(1, 2, c=3) == h(p(FLAT))
    assert f(1, 2, c=3) == f(1, 2, c=3) == 6
    assert f.info().hit == 1


def test_a_hashmap_of_a_chain_uses_hash_keys_without_collisions() -> None:
    @klepto_core.lru_cache(keymap=hashmap() + keymap())
    def times_ten(x: int) -> int:
        return x * 10

    assert (times_ten(-1), times_ten(-2)) == (-10, -20)


STABLE_KEYS = """
import klepto_core
from klepto_core.keymaps import hashmap

@klepto_core.lru_cache(keymap=hashmap(algorithm="stable", flat=False))
def f(a, b=("x", 2.5), **kw):
    return a

print(f.key("text", z={"s", "t", "u"}), f.key(b"b", b=frozenset({"p", "q"})))
"""


def test_stable_keys_of_a_decorated_function_survive_a_new_hash_seed() -> None:
    outputs = [
        subprocess.run(
            [sys.executable, "-c", textwrap.dedent(STABLE_KEYS)],
            env=dict(os.environ, PYTHONHASHSEED=seed),
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    assert len(outputs[0].split()) == 2


# -- differential: f.key equals klepto's for random calls ----------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)  # keys are compared as literals
scalars = st.one_of(st.integers(), st.text(max_size=6), finite)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6)
names = st.from_regex(r"[c-z][a-z0-9_]{0,4}", fullmatch=True)
call_args = st.lists(values, min_size=1, max_size=4).map(tuple)
call_kwds = st.dictionaries(names, values, max_size=3)

KEYMAPS = [
    ("keymap", {}),
    ("keymap", {"typed": True}),
    ("hashmap", {}),
    ("hashmap", {"algorithm": "md5"}),
    ("stringmap", {}),
    ("stringmap", {"flat": False}),
    ("picklemap", {}),
    ("picklemap", {"serializer": "dill"}),
]


def _keyed(a: Any, b: Any = 0, *args: Any, **kw: Any) -> Any:
    return a


@pytest.mark.parametrize(("name", "options"), KEYMAPS, ids=repr)
@given(args=call_args, kwds=call_kwds)
@settings(max_examples=50, deadline=None)
def test_decorated_keys_equal_kleptos(
    name: str, options: dict[str, Any], args: tuple[Any, ...], kwds: dict[str, Any]
) -> None:
    klepto = pytest.importorskip("klepto")
    import klepto.keymaps as kk

    import klepto_core.keymaps as ck

    ours = klepto_core.lru_cache(keymap=getattr(ck, name)(**options))(_keyed).key(*args, **kwds)
    theirs = klepto.lru_cache(keymap=getattr(kk, name)(**options))(_keyed).key(*args, **kwds)
    if options.get("flat") is False:
        # divergence (test_divergence_unsorted_kwds_of_non_flat_keys): same pairs, sorted order
        assert ast.literal_eval(ours) == ast.literal_eval(theirs)
    else:
        assert ours == theirs
