"""The string keymap (klepto's ``stringmap``): str/repr keys, encodings, and parity with klepto."""

from __future__ import annotations

import ast
import pickle
from typing import Any

import pytest

from klepto_core import keymaps
from klepto_core.base.keymap import Keymap
from klepto_core.keymaps import SENTINEL, stringmap
from klepto_core.testing import KeymapConformance

INT = int
ARGS, KWDS = (1, 2), {"a": 3, "b": 4}


class TestStringKeymapConformance(KeymapConformance):
    keymap_name = "stringmap"
    lossy = False
    identity = False
    klepto_name = "stringmap"
    klepto_selector_values = (None, "str", "repr", "ascii", "utf_8", "utf-8", "latin_1")


def test_resolves_through_the_registry_to_the_plugin_class() -> None:
    from klepto_keymap_stringmap import StringKeymap

    assert stringmap is StringKeymap
    assert issubclass(StringKeymap, Keymap)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "(1, 2, 'c', 3)"),
        ({"flat": False}, "((1, 2), {'c': 3})"),
        ({"encoding": "utf_8"}, b"(1, 2, 'c', 3)"),
        ({"encoding": "repr"}, "(1, 2, 'c', 3)"),
        ({"sentinel": SENTINEL}, "(1, 2, <SENTINEL>, 'c', 3)"),
    ],
)
def test_direct_calls_match_klepto(options: dict[str, Any], expected: Any) -> None:
    assert stringmap(**options)(1, 2, c=3) == expected


def test_klepto_test_stringmap_cases() -> None:
    assert stringmap()(*ARGS, **KWDS) == "(1, 2, 'a', 3, 'b', 4)"
    assert ast.literal_eval(stringmap(flat=False)(*ARGS, **KWDS)) == (ARGS, KWDS)
    typed = (1, 2, "a", 3, "b", 4, INT, INT, INT, INT)
    assert stringmap(typed=True)(*ARGS, **KWDS) == str(typed)
    key = stringmap(typed=True, flat=False)(*ARGS, **KWDS)
    assert ast.literal_eval(key.replace(str((INT, INT)), "''")) == (ARGS, KWDS, "", "")


def test_klepto_test_crypto_stringmap_values() -> None:
    x = [1, 2, 3, "4", "'5'", min]
    assert stringmap()(x) == "([1, 2, 3, '4', \"'5'\", <built-in function min>],)"
    assert stringmap(encoding="utf_8")(x) == b"([1, 2, 3, '4', \"'5'\", <built-in function min>],)"


def test_no_arguments_and_the_fast_path() -> None:
    assert stringmap()() == "()"
    assert stringmap()("a") == "a"
    assert stringmap(encoding="repr")("a") == "'a'"
    # klepto's behaviour, kept: str() of a lone str argument equals that of the int
    assert stringmap()(1) == stringmap()("1")


def test_options_go_to_crypto_string() -> None:
    assert stringmap(encoding="ascii")("é") == "'\\xe9'"
    assert stringmap(encoding="latin_1", strict=False)("€") == b"'?'"
    with pytest.raises(UnicodeEncodeError):
        stringmap(encoding="latin_1")("€")
    with pytest.raises(LookupError):
        stringmap(encoding="nonexistent")("x")


def test_divergence_encoding_names_are_never_run_as_code() -> None:
    # klepto evaluated "<encoding>(obj)", so encoding='print' printed the key and
    # returned None; here a name that is not a codec is a LookupError.
    with pytest.raises(LookupError):
        stringmap(encoding="print", strict=False)(1)


def test_repr_and_selector() -> None:
    km = stringmap(typed=True, flat=False, encoding="utf_8")
    assert repr(km) == "stringmap(typed=True, flat=False, encoding='utf_8')"
    assert (km.__stub__, km.__type__) == ("encoding", "utf_8")
    assert repr(stringmap()) == "stringmap()"


def test_chained_with_a_raw_keymap() -> None:
    assert (stringmap() + keymaps.keymap())(1, 2, c=3) == "((1, 2, 'c', 3),)"


def test_stringmaps_pickle_with_their_options() -> None:
    km = stringmap(encoding="utf_8", sentinel=SENTINEL)
    assert pickle.loads(pickle.dumps(km))(1, c=2) == km(1, c=2)


@pytest.mark.parametrize("encoding", [None, "repr", "utf_8", "utf_16"])
def test_stub_decoder_reads_string_keys_back_without_eval(encoding: str | None) -> None:
    km = stringmap(encoding=encoding)
    key = km([1, 2, 3], x=("a", 1.5))
    assert keymaps._stub_decoder(km)(key) == ([1, 2, 3], "x", ("a", 1.5))
    if encoding is not None:
        assert keymaps._stub_decoder(encoding)(key) == ([1, 2, 3], "x", ("a", 1.5))


def test_stub_decoder_refuses_code() -> None:
    decode = keymaps._stub_decoder(stringmap())
    with pytest.raises(ValueError):
        decode("__import__('os').getcwd()")
