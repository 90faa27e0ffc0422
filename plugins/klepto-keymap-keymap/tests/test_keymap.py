"""The raw keymap (klepto's ``keymap``): formatting, options, chaining, and parity with klepto."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klepto_core import keymaps
from klepto_core.keymap import Keymap
from klepto_core.keymaps import NOSENTINEL, SENTINEL, keymap

INT = int


def test_resolves_through_the_registry_to_the_plugin_class() -> None:
    from klepto_keymap_keymap import RawKeymap

    assert keymap is RawKeymap
    assert issubclass(RawKeymap, Keymap)
    assert RawKeymap.identity is True
    assert RawKeymap.lossy is False
    assert "keymap" in keymaps.__all__


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, (1, 2, "c", 3)),
        ({"flat": False}, ((1, 2), {"c": 3})),
        ({"typed": True}, (1, 2, "c", 3, INT, INT, INT)),
        ({"typed": True, "flat": False}, ((1, 2), {"c": 3}, (INT, INT), (INT,))),
        ({"sentinel": SENTINEL}, (1, 2, SENTINEL, "c", 3)),
        (
            {"typed": True, "sentinel": SENTINEL},
            (1, 2, SENTINEL, "c", 3, SENTINEL, INT, INT, SENTINEL, INT),
        ),
    ],
)
def test_direct_calls_match_klepto(options: dict[str, Any], expected: Any) -> None:
    assert keymap(**options)(1, 2, c=3) == expected


def test_klepto_test_keymap_cases() -> None:
    args, kwds = (1, 2), {"a": 3, "b": 4}
    assert keymap()(*args, **kwds) == (1, 2, "a", 3, "b", 4)
    assert keymap(flat=False)(*args, **kwds) == (args, kwds)
    assert keymap(typed=True)(*args, **kwds) == (1, 2, "a", 3, "b", 4, INT, INT, INT, INT)
    assert keymap(typed=True, flat=False)(*args, **kwds) == (args, kwds, (INT, INT), (INT, INT))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1), ("a", "a"), (b"x", b"x"), (None, None), (frozenset(), frozenset())]
    + [(1.5, (1.5,)), (True, (True,)), ((1,), ((1,),))],
    ids=repr,
)
def test_single_fast_type_values_collapse_to_themselves(value: Any, expected: Any) -> None:
    key = keymap()(value)
    assert key == expected
    assert type(key) is type(expected)


def test_no_arguments_give_the_empty_tuple_and_kwds_are_sorted_by_name() -> None:
    assert keymap()() == ()
    assert keymap()(z=1, a=2) == ("a", 2, "z", 1)
    assert keymap().dumps(1, a=2) == (1, "a", 2)


def test_a_keyword_named_self_is_accepted() -> None:
    assert keymap()(self=1) == ("self", 1)


def test_options_attributes_and_repr() -> None:
    km = keymap(typed=True, flat=False, sentinel=SENTINEL)
    assert (km.typed, km.flat, km.sentinel) == (True, False, SENTINEL)
    assert keymap().sentinel is NOSENTINEL
    assert not hasattr(keymap(), "__type__")
    assert keymap().__stub__ == ""
    assert repr(keymap()) == "keymap()"
    assert repr(km) == "keymap(typed=True, flat=False, sentinel=<SENTINEL>)"
    assert keymap() != keymap()  # equality is identity, as in klepto


def test_inner_and_outer_cannot_be_assigned_and_keys_cannot_be_decoded() -> None:
    km = keymap()
    assert km.inner is None and km.outer is None
    with pytest.raises(NotImplementedError, match="Combine keymaps with '\\+'"):
        km.inner = keymap()
    with pytest.raises(NotImplementedError):
        km.decode((1,))
    with pytest.raises(NotImplementedError):
        km.loads((1,))


def test_adding_a_non_keymap_is_a_type_error_with_kleptos_message() -> None:
    with pytest.raises(TypeError, match="can't concatenate 'keymap' and 'int' objects"):
        keymap() + 1


def test_chain_formats_with_the_outer_keymap_then_applies_the_inner_one() -> None:
    chained = keymap(typed=True) + keymap()
    assert repr(chained) == "keymap()*"
    assert chained(1, c=3) == ((1, "c", 3), tuple)  # klepto: the same
    assert chained.encode(1, c=3) == chained(1, c=3)  # klepto's encode applies the chain too
    assert chained.inner(1) == keymap(typed=True)(1)


def test_keymaps_pickle_with_their_options() -> None:
    km = keymap(typed=True, sentinel=SENTINEL)
    clone = pickle.loads(pickle.dumps(km))
    assert clone(1, c=3) == km(1, c=3)
    assert clone.sentinel is SENTINEL


def test_stub_decoder_of_a_raw_keymap_is_the_identity() -> None:
    km = keymap()
    key = km([1, 2, 3])
    assert keymaps._stub_decoder(km)(key)[0] == [1, 2, 3]
    assert keymaps._stub_decoder(None)(key) is key


# -- differential: same keys as klepto for random calls ------------------------------

scalars = st.one_of(st.integers(), st.text(max_size=6), st.floats(allow_nan=False))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6)
names = st.from_regex(r"[a-z][a-z0-9_]{0,4}", fullmatch=True).filter(lambda n: n != "self")
call_args = st.lists(values, max_size=4).map(tuple)
call_kwds = st.dictionaries(names, values, max_size=3)

OPTIONS = [
    {"typed": typed, "flat": flat, "sentinel": sentinel}
    for typed in (False, True)
    for flat in (True, False)
    for sentinel in (NOSENTINEL, SENTINEL)
]


def _as_ours(obj: Any, klepto_keymaps: Any) -> Any:
    """klepto's key with its SENTINEL object replaced by ours (the only object that differs)."""
    if obj is klepto_keymaps.SENTINEL:
        return SENTINEL
    if type(obj) is tuple:
        return tuple(_as_ours(o, klepto_keymaps) for o in obj)
    return obj


@pytest.mark.parametrize("options", OPTIONS, ids=repr)
@given(args=call_args, kwds=call_kwds)
@settings(max_examples=50, deadline=None)
def test_keys_equal_kleptos(
    options: dict[str, Any], args: tuple[Any, ...], kwds: dict[str, Any]
) -> None:
    kk = pytest.importorskip("klepto.keymaps")
    theirs_options = dict(
        options, sentinel=kk.SENTINEL if options["sentinel"] is SENTINEL else kk.NOSENTINEL
    )
    ours = keymap(**options)(*args, **kwds)
    theirs = _as_ours(kk.keymap(**theirs_options)(*args, **kwds), kk)
    assert ours == theirs
    assert type(ours) is type(theirs)
    assert repr(ours) == repr(theirs)
