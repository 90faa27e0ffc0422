"""Tests of klepto_core.tools: isiterable, CacheInfo, IS_PYPY and _b."""

from __future__ import annotations

import pickle
import platform

import pytest

from klepto_core import tools
from klepto_core.tools import IS_PYPY, CacheInfo, _b, isiterable


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], True),
        ("abc", True),
        (b"", True),
        ({}, True),
        (range(2), True),
        ((i for i in ()), True),
        (1, False),
        (1.5, False),
        (None, False),
        (min, False),
    ],
)
def test_isiterable(value, expected):
    assert isiterable(value) is expected


def test_isiterable_does_not_consume():
    gen = iter([1, 2])
    assert isiterable(gen)
    assert list(gen) == [1, 2]


def test_cacheinfo_is_a_namedtuple_with_singular_fields():
    info = CacheInfo(1, 2, 0, 3, 2)
    assert info._fields == ("hit", "miss", "load", "maxsize", "size")
    assert repr(info) == "CacheInfo(hit=1, miss=2, load=0, maxsize=3, size=2)"
    assert info == (1, 2, 0, 3, 2)
    assert pickle.loads(pickle.dumps(info)) == info


def test_is_pypy():
    assert IS_PYPY is (platform.python_implementation() == "PyPy")


def test_b_encodes_latin_1():
    assert _b("abc\xe9") == b"abc\xe9"
    with pytest.raises(UnicodeEncodeError):
        _b("\u0394")


def test_public_names():
    assert tools.__all__ == ["isiterable"]


def test_cacheinfo_matches_klepto():
    ktools = pytest.importorskip("klepto.tools")
    assert CacheInfo._fields == ktools.CacheInfo._fields
    assert repr(CacheInfo(1, 2, 3, None, 4)) == repr(ktools.CacheInfo(1, 2, 3, None, 4))
    assert IS_PYPY == ktools.IS_PYPY
