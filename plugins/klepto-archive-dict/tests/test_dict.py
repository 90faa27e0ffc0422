"""dict_archive: the conformance suite plus klepto's in-memory specifics."""

from __future__ import annotations

import pickle
from pathlib import Path

from klepto_core.archives import cache, dict_archive
from klepto_core.base.archive import Archive
from klepto_core.testing.archive import ArchiveConformance


class TestDictArchiveConformance(ArchiveConformance):
    persistent = False

    def make_archive(self, tmp_path: Path) -> Archive:
        return dict_archive(str(tmp_path), cached=False)  # type: ignore[no-any-return]


def test_cached_factory_seeds_memory_not_the_archive() -> None:
    d = dict_archive("foo", {"a": 1})
    assert type(d) is cache
    assert dict(d) == {"a": 1}
    assert d.archive.__asdict__() == {}
    d.dump()
    assert d.archive.__asdict__() == {"a": 1}


def test_uncached_factory_seeds_the_archive() -> None:
    d = dict_archive("foo", {"a": 1}, cached=False)
    assert d.__asdict__() == {"a": 1}
    assert d.name == "foo" and d.state == {"id": "foo"}


def test_isinstance_holds_for_both_forms() -> None:
    assert isinstance(dict_archive(), dict_archive)
    assert isinstance(dict_archive(cached=False), dict_archive)
    assert not isinstance({}, dict_archive)


def test_reprs_match_klepto() -> None:
    assert repr(dict_archive(cached=False)) == "dict_archive({}, cached=False)"
    assert repr(dict_archive("foo", {"k": 1}, cached=False)) == "dict_archive({'k': 1}, cached=False)"
    assert repr(dict_archive("foo", {"k": 1})) == "dict_archive('foo', {'k': 1}, cached=True)"


def test_values_are_stored_as_objects_not_copies() -> None:
    d = dict_archive(cached=False)
    value = [1]
    d["a"] = value
    assert d["a"] is value


def test_pickling_carries_the_contents() -> None:
    d = dict_archive("foo", {"a": 1, "f": len}, cached=False)
    clone = pickle.loads(pickle.dumps(d))
    assert clone.__asdict__() == {"a": 1, "f": len} and clone.name == "foo"


def test_extra_options_are_ignored_like_klepto() -> None:
    assert dict_archive("x", cached=False, protocol=3, serialized=False).__asdict__() == {}


def test_unnamed_archive_has_no_name() -> None:
    d = dict_archive(cached=False)
    assert d.name is None and d.state == {"id": None}


def test_dict_operators_see_the_contents_as_on_klepto_dict_archive() -> None:
    # the entries live in the dict storage itself, so dict's own operators read them
    d = dict_archive(cached=False)
    d.update({"a": 1, "b": 2})
    assert d | {"c": 3} == {"a": 1, "b": 2, "c": 3}
    assert list(reversed(d)) == ["b", "a"]
    assert dict(d) == {"a": 1, "b": 2} and sorted(d.keys()) == ["a", "b"]
    assert d.pop("a") == 1 and d.pop("a", None) is None and d.get("b") == 2
    d |= {"z": 0}
    assert d.__asdict__() == {"b": 2, "z": 0} and len(d) == 2 and bool(d)
    d.clear()
    assert not d and d.__asdict__() == {}
