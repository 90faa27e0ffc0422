"""The raw keymap (klepto's ``keymap``): formatting, options, chaining, and parity with klepto."""

from __future__ import annotations

from typing import Any

import pytest

from klepto_core import keymaps
from klepto_core.base.keymap import Keymap
from klepto_core.keymaps import NOSENTINEL, SENTINEL, keymap
from klepto_core.testing import KeymapConformance

INT = int


class TestRawKeymapConformance(KeymapConformance):
    keymap_name = "keymap"
    lossy = False
    identity = True
    accepts_unhashable = False  # the key holds the arguments themselves
    klepto_name = "keymap"


def test_resolves_through_the_registry_to_the_plugin_class() -> None:
    from klepto_keymap_keymap import RawKeymap

    assert keymap is RawKeymap
    assert issubclass(RawKeymap, Keymap)


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


def test_stub_decoder_of_a_raw_keymap_is_the_identity() -> None:
    km = keymap()
    key = km([1, 2, 3])
    assert keymaps._stub_decoder(km)(key)[0] == [1, 2, 3]
    assert keymaps._stub_decoder(None)(key) is key
