"""Tests of klepto_core.crypto: hash, string, pickle and the name lists they accept."""

from __future__ import annotations

import hashlib
import json
import pickle as stdlib_pickle
from typing import Any

import dill
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klepto_core import crypto
from klepto_core.crypto import algorithms, encodings, hash, pickle, serializers, string
from klepto_core.tools import _b

X = [1, 2, 3, "4", "'5'", min]
X_TEXT = "[1, 2, 3, '4', \"'5'\", <built-in function min>]"


def test_pinned_outputs_of_klepto_tests():
    assert string("1") == "1"
    assert string("1", encoding="repr") == "'1'"
    assert hash(X, "sha1") == "3bdd73e79be4277dcb874d193b8dd08a46bc6885"
    assert pickle(X) == string(X, "repr") == X_TEXT
    assert string(X) == X_TEXT
    assert string(X, encoding="utf_8") == _b(X_TEXT)


def test_name_lists_are_attached_to_their_functions():
    assert hash.algorithms is algorithms
    assert string.encodings is encodings
    assert pickle.serializers is serializers


def test_algorithms():
    names = algorithms()
    assert names[0] is None
    assert set(names[1:]) == set(hashlib.algorithms_available)
    assert {"md5", "sha1", "sha256"} <= set(names)


def test_hash():
    assert hash((1, "a")) == builtins_hash((1, "a"))
    assert hash([1, 2], "md5") == hashlib.md5(b"[1, 2]").hexdigest()
    with pytest.raises(ValueError, match="unsupported hash type nope"):
        hash(1, "nope")
    with pytest.raises(TypeError):
        hash([1])  # unhashable without an algorithm


def builtins_hash(obj: Any) -> int:
    import builtins

    return builtins.hash(obj)


def test_encodings():
    names = encodings()
    assert names[0] is None and names[-2:] == ("str", "repr")
    assert "utf_8" in names and "ascii" in names and "latin_1" in names
    assert "utf-8" not in names and "hex_codec" not in names and "tactis" not in names
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    ("obj", "encoding", "strict", "expected"),
    [
        ("é", "str", True, "é"),
        ("é", "repr", True, "'é'"),
        ("é", "ascii", True, "'\\xe9'"),
        ("é", "utf_8", True, b"'\xc3\xa9'"),
        ("é", "utf-8", True, b"'\xc3\xa9'"),  # not listed, but a codec: encoded all the same
        ("é", "utf-8", False, b"'\xc3\xa9'"),
        ("é", "latin_1", None, b"'\xe9'"),
        ("é", "ascii", False, "'\\xe9'"),
        ([1], "utf_8", True, b"[1]"),
        ("x", "idna", True, b"'x'"),
    ],
)
def test_string(obj, encoding, strict, expected):
    assert string(obj, encoding, strict) == expected


def test_string_error_handlers_follow_strict():
    assert string("é", "cp1252", strict=True) == b"'\xe9'"
    with pytest.raises(UnicodeEncodeError):
        string("\u0394", "latin_1", strict=True)
    assert string("\u0394", "latin_1", strict=None) == b"''"
    assert string("\u0394", "latin_1", strict=False) == b"'?'"


def test_string_unknown_encoding_raises_lookup_error():
    with pytest.raises(LookupError):
        string("x", "nonexistent")
    with pytest.raises(LookupError):
        string("x", "rot_13")  # a codec, but not one that encodes text


@pytest.mark.parametrize("name", ["print", "bytes", "list", "len", "__import__('os')"])
@pytest.mark.parametrize("strict", [False, None])
def test_string_never_evaluates_the_encoding_name(name, strict, capsys):
    # Divergence (edge 18): klepto ran eval(f"{name}(obj)"): 'print' printed, 'bytes' returned
    # bytes(obj), 'list' a list. Only 'str', 'repr' and 'ascii' name builtins here.
    with pytest.raises(LookupError):
        string(1, name, strict=strict)
    assert capsys.readouterr().out == ""


def test_serializers():
    names = serializers()
    assert names[:4] == (None, "pickle", "json", "dill")
    assert set(names[4:]) <= {"cloudpickle", "jsonpickle"}


def test_pickle_with_named_serializers():
    assert pickle({"a": 1}) == "{'a': 1}"
    assert pickle({"a": 1}, "json") == '{"a": 1}'
    assert pickle({"a": 1}, "json", separators=(",", ":")) == '{"a":1}'
    assert pickle(X[:5], "pickle") == stdlib_pickle.dumps(X[:5])
    assert pickle(X[:5], "dill") == dill.dumps(X[:5])
    assert pickle({"a": 1}, json) == '{"a": 1}'  # a module object is used as is


def test_pickle_errors():
    with pytest.raises(NameError, match="name 'no_such_serializer' is not defined"):
        pickle(1, "no_such_serializer")
    with pytest.raises(TypeError, match="'3' is not a module"):
        pickle(1, 3)  # type: ignore[arg-type]


def test_pickle_honours_accepted_options():
    assert pickle(1, "pickle", protocol=0) == stdlib_pickle.dumps(1, protocol=0)


def test_pickle_drops_only_rejected_options():
    # Divergence (edge 21): klepto dropped *all* options when any one was rejected.
    assert pickle(1, "pickle", protocol=0, indent=2) == stdlib_pickle.dumps(1, protocol=0)
    assert pickle({"b": 1, "a": 2}, "json", protocol=0, sort_keys=True) == '{"a": 2, "b": 1}'


def test_pickle_retries_with_defaults_when_an_option_value_is_refused():
    assert pickle(1, "pickle", protocol="high") == stdlib_pickle.dumps(1)


# -- differential tests against klepto ------------------------------------------------------


@pytest.fixture(scope="module")
def kcrypto() -> Any:
    pytest.importorskip("klepto")
    import klepto.crypto as kcrypto

    return kcrypto


def _outcome(fn: Any, *args: Any, **kwds: Any) -> Any:
    try:
        return fn(*args, **kwds)
    except Exception as exc:
        return type(exc)


def test_name_lists_match_klepto(kcrypto):
    assert set(encodings()) == set(kcrypto.encodings())
    assert set(algorithms()) == set(kcrypto.algorithms())
    assert serializers() == kcrypto.serializers()


objects = st.one_of(
    st.text(max_size=5),
    st.integers(),
    st.lists(st.one_of(st.integers(), st.text(max_size=3)), max_size=3),
    st.binary(max_size=4),
)


@settings(deadline=None, max_examples=50)  # klepto rescans the codec package on every call
@given(obj=objects, strict=st.sampled_from([True, False, None]))
def test_string_matches_klepto_for_listed_encodings(kcrypto, obj, strict):
    for name in (None, "str", "repr", "ascii", "utf_8", "latin_1", "cp1252", "idna", "utf_16"):
        assert _outcome(string, obj, name, strict) == _outcome(kcrypto.string, obj, name, strict)


@settings(deadline=None, max_examples=10)
@given(obj=objects)
def test_string_matches_klepto_for_any_encoding_when_strict(kcrypto, obj):
    for name in [n for n in encodings() if n is not None] + ["utf-8", "UTF8", "nope", "print"]:
        assert _outcome(string, obj, name) == _outcome(kcrypto.string, obj, name)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jsonpickle's own notice
@settings(deadline=None)
@given(obj=st.one_of(objects, st.tuples(st.integers(), st.text(max_size=3))))
def test_hash_and_pickle_match_klepto(kcrypto, obj):
    for algorithm in algorithms():
        if algorithm and algorithm.startswith("shake"):
            continue  # variable-length digests need a length; both raise TypeError
        assert _outcome(hash, obj, algorithm) == _outcome(kcrypto.hash, obj, algorithm)
    for serializer in serializers():
        assert _outcome(pickle, obj, serializer) == _outcome(kcrypto.pickle, obj, serializer)


def test_pickle_matches_klepto_when_all_options_are_accepted(kcrypto):
    assert pickle([1], "pickle", protocol=2) == kcrypto.pickle([1], "pickle", protocol=2)
    assert pickle({"a": 1}, "json", indent=1) == kcrypto.pickle({"a": 1}, "json", indent=1)
    assert pickle([1], "dill", protocol=3) == kcrypto.pickle([1], "dill", protocol=3)


def test_module_has_no_eval():
    source = open(crypto.__file__, encoding="utf-8").read()
    assert "eval(" not in source and "exec(" not in source
