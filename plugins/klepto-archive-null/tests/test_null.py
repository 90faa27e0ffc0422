"""null_archive: always empty, whatever is written."""

from __future__ import annotations

import pickle

import pytest

from klepto_core.archives import cache, null_archive
from klepto_core.memo.memory import is_null


def test_writes_are_dropped() -> None:
    n = null_archive(cached=False)
    n["a"] = 1
    n.update({"b": 2}, c=3)
    assert len(n) == 0 and list(n) == [] and "a" not in n
    assert n.__asdict__() == {}
    with pytest.raises(KeyError):
        n["a"]


def test_setdefault_returns_the_default_without_storing() -> None:
    n = null_archive(cached=False)
    assert n.setdefault("a", 3) == 3
    assert "a" not in n


def test_is_null_switches_archiving_off() -> None:
    n = null_archive(cached=False)
    assert is_null(n)
    wrapper = null_archive("x", {"a": 1})
    assert type(wrapper) is cache and dict(wrapper) == {"a": 1}
    assert wrapper.archived() is False
    wrapper.dump()
    assert wrapper.archive.__asdict__() == {}


def test_reprs_match_klepto() -> None:
    assert repr(null_archive(cached=False)) == "null_archive(cached=False)"
    assert repr(null_archive()) == "null_archive({}, cached=True)"


def test_isinstance_and_pickling() -> None:
    n = null_archive("n", cached=False)
    assert isinstance(n, null_archive) and isinstance(null_archive(), null_archive)
    clone = pickle.loads(pickle.dumps(n))
    assert clone.name == "n" and clone.__asdict__() == {}
