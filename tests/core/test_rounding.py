"""Tests of klepto_core.rounding: the three rounding decorators, their factories, make_rounder."""

from __future__ import annotations

import collections
import pickle
from functools import partial
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from klepto_core.keys.rounding import (
    deep_round,
    deep_round_factory,
    make_rounder,
    shallow_round,
    shallow_round_factory,
    simple_round,
    simple_round_factory,
)


def echo(*args: Any, **kwds: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwds


MIXED_ARGS = (1.26, [1.26, (2.34, [3.45])], {"k": 1.26}, "s", 7)
MIXED_KWDS = {"x": 1.26, "y": (1.26,)}


def test_simple_round_rounds_top_level_floats_only():
    assert simple_round(tol=1)(echo)(*MIXED_ARGS, **MIXED_KWDS) == (
        (1.3, [1.26, (2.34, [3.45])], {"k": 1.26}, "s", 7),
        {"x": 1.3, "y": (1.26,)},
    )


def test_shallow_round_rounds_one_level_deep():
    assert shallow_round(tol=1)(echo)(*MIXED_ARGS, **MIXED_KWDS) == (
        (1.3, [1.3, (2.34, [3.45])], {"k": 1.3}, "s", 7),
        {"x": 1.3, "y": (1.3,)},
    )


def test_deep_round_rounds_at_any_depth():
    assert deep_round(tol=1)(echo)(*MIXED_ARGS, **MIXED_KWDS) == (
        (1.3, [1.3, (2.3, [3.5])], {"k": 1.3}, "s", 7),
        {"x": 1.3, "y": (1.3,)},
    )


@pytest.mark.parametrize(
    ("decorator", "flat", "nested"),
    [
        (simple_round, [2.54, "x", 5.47, "y"], [2.54, "x", 5.47, [8.99, "y"]]),
        (shallow_round, [2.5, "x", 5.5, "y"], [2.5, "x", 5.5, [8.99, "y"]]),
        (deep_round, [2.5, "x", 5.5, "y"], [2.5, "x", 5.5, [9.0, "y"]]),
    ],
)
def test_documented_add_examples(decorator, flat, nested):
    @decorator(tol=1)
    def add(x, y):
        return x + y

    assert add(2.54, 5.47) == 8.0
    assert add([2.54, "x"], [5.47, "y"]) == flat
    assert add([2.54, "x"], [5.47, [8.99, "y"]]) == nested


@pytest.mark.parametrize("decorator", [simple_round, shallow_round, deep_round])
def test_decorator_object_protocol(decorator):
    rounding = decorator(tol=2)
    wrapped = rounding(echo)
    assert wrapped.__wrapped__ is echo
    assert wrapped.__name__ == "func"  # klepto applies no update_wrapper
    assert rounding.__round__.tol == 2
    assert pickle.loads(pickle.dumps(rounding)).__round__.tol == 2
    assert decorator(tol=None)(echo)(1.2345) == ((1.2345,), {})
    assert decorator()(echo)(2.5) == ((2.0,), {})  # tol defaults to 0; banker's rounding

    class Holder:
        attribute = decorator(1)

    bound = Holder().attribute
    assert isinstance(bound, partial)


def test_negative_tolerance():
    assert simple_round(tol=-2)(echo)(1234.5) == ((1200.0,), {})


@pytest.mark.parametrize(
    "factory", [simple_round_factory, shallow_round_factory, deep_round_factory]
)
@given(st.lists(st.one_of(st.integers(), st.booleans())))
def test_ints_and_bools_are_never_rounded(factory, values):
    args, kwds = factory(0)(*values, v=values)
    assert [type(a) for a in args] == [type(v) for v in values]
    assert args == tuple(values)


# -- fixes of klepto's sharp edges (deliberate divergences) -----------------------------


def test_shallow_round_leaves_strings_and_bytes_alone():
    # Divergence (edge 16): klepto turned 's' into "['s']".
    assert shallow_round(tol=1)(echo)("s", b"ab", text="t") == (("s", b"ab"), {"text": "t"})


def test_shallow_round_does_not_consume_iterators():
    # Divergence (edge 16): klepto rebuilt (and so exhausted) any iterable argument.
    gen = (x for x in [1.26])
    it = iter([2.34])
    args, _ = shallow_round(tol=1)(echo)(gen, it)
    assert args[0] is gen and list(gen) == [1.26]
    assert args[1] is it and list(it) == [2.34]


def test_shallow_round_rounds_dict_values_one_level():
    # Divergence: klepto left dict arguments untouched (or mangled dicts keyed by pairs).
    args, _ = shallow_round(tol=1)(echo)(
        {"k": 1.26, "n": [1.26]}, {("a", 1.26): 0}, collections.OrderedDict(a=1.26)
    )
    assert args[0] == {"k": 1.3, "n": [1.26]}
    assert args[1] == {("a", 1.26): 0}
    assert type(args[2]) is collections.OrderedDict and args[2] == {"a": 1.3}


def test_deep_round_handles_numpy_arrays():
    # Divergence (edge 17): klepto raised TypeError on ndarrays.
    args, _ = deep_round(tol=1)(echo)(np.array([1.26, 2.34]), np.arange(3), [np.array([0.55])])
    np.testing.assert_array_equal(args[0], np.array([1.3, 2.3]))
    assert args[1].dtype.kind == "i"
    np.testing.assert_array_equal(args[1], np.arange(3))
    np.testing.assert_array_equal(args[2][0], np.array([0.6]))


def test_deep_round_handles_non_string_dict_keys():
    # Divergence (edge 17): klepto raised TypeError('keywords must be strings').
    args, kwds = deep_round(tol=1)(echo)({1: 1.26, (2, 3): [2.34]}, d={None: 0.55})
    assert args == ({1: 1.3, (2, 3): [2.3]},)
    assert kwds == {"d": {None: 0.6}}


def test_deep_round_leaves_generators_and_iterators_untouched():
    # Divergence (edge 17): klepto raised TypeError on generators (and consumed iterators).
    gen = (x for x in [1.26])
    it = iter([1.26])
    args, _ = deep_round(tol=1)(echo)(gen, it)
    assert args[0] is gen and args[1] is it
    assert list(gen) == [1.26] and list(it) == [1.26]


def test_deep_round_rebuilds_namedtuples_and_deques():
    # Divergence: klepto raised TypeError on namedtuples (type(nt)(list) needs fields).
    Point = collections.namedtuple("Point", "x y")
    args, _ = deep_round(tol=0)(echo)(Point(1.4, [2.6]), collections.deque([0.4], maxlen=3))
    assert args[0] == Point(1.0, [3.0]) and type(args[0]) is Point
    assert args[1] == collections.deque([0.0]) and args[1].maxlen == 3


def test_deep_round_passes_strings_bytes_and_exceptions_through():
    error = ValueError(1.26)
    args, _ = deep_round(tol=1)(echo)("1.26", b"x", bytearray(b"y"), error)
    assert args == ("1.26", b"x", bytearray(b"y"), error)


# -- make_rounder ------------------------------------------------------------------------


def test_make_rounder_is_none_without_tolerance():
    assert make_rounder(None, False) is None
    assert make_rounder(None, True) is None


nested = st.recursive(
    st.one_of(st.floats(allow_nan=False), st.integers(), st.booleans(), st.text(max_size=3)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=2), inner, max_size=3),
    ),
    max_leaves=10,
)


@given(st.lists(nested, max_size=4).map(tuple), st.dictionaries(st.text(max_size=2), nested))
def test_make_rounder_matches_the_decorators(args, kwds):
    simple = make_rounder(1, False)
    deep = make_rounder(1, True)
    assert simple is not None and deep is not None
    assert simple(args, kwds) == simple_round_factory(1)(*args, **kwds)
    assert deep(args, kwds) == deep_round_factory(1)(*args, **kwds)


def test_make_rounder_does_not_mutate_inputs():
    args, kwds = ([1.26],), {"x": 1.26}
    rounder = make_rounder(1, True)
    assert rounder is not None
    assert rounder(args, kwds) == (([1.3],), {"x": 1.3})
    assert args == ([1.26],) and kwds == {"x": 1.26}


# -- differential tests against klepto ------------------------------------------------------


@pytest.fixture(scope="module")
def krounding() -> Any:
    pytest.importorskip("klepto")
    import klepto.rounding as krounding

    return krounding


def _typed(value: Any) -> Any:
    """Equality that also checks container types (a list must not become a tuple)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return (type(value).__name__, [_typed(v) for v in value])
    if isinstance(value, dict):
        return ("dict", [(k, _typed(v)) for k, v in value.items()])
    return (type(value).__name__, value)


klepto_safe = st.recursive(
    st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(), st.booleans()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text("abc", min_size=1, max_size=2), inner, max_size=3),
    ),
    max_leaves=10,
)


@given(
    args=st.lists(st.one_of(klepto_safe, st.text(max_size=3)), max_size=4),
    tol=st.integers(-2, 4),
)
def test_simple_and_deep_match_klepto(krounding, args, tol):
    for ours, theirs in [
        (simple_round, krounding.simple_round),
        (deep_round, krounding.deep_round),
    ]:
        expected = theirs(tol)(echo)(*args, kw=args)
        assert _typed(ours(tol)(echo)(*args, kw=args)) == _typed(expected)


@given(
    args=st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(),
            st.lists(st.one_of(st.floats(allow_nan=False), st.integers()), max_size=3),
            st.lists(klepto_safe, max_size=3).map(tuple),
        ),
        max_size=4,
    ),
    tol=st.integers(-2, 4),
)
def test_shallow_matches_klepto_on_lists_tuples_and_numbers(krounding, args, tol):
    theirs = krounding.shallow_round(tol)(echo)(*args, kw=args)
    mine = shallow_round(tol)(echo)(*args, kw=args)
    assert _typed(mine) == _typed(theirs)
