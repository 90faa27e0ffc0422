"""The archive base type, the factory machinery, the archives facade and URL routing."""

from __future__ import annotations

import pickle
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest

import klepto_core.archives as archives
from klepto_core.errors import (
    ArchiveUnavailableError,
    CorruptEntryError,
    InvalidArgumentError,
    SerializationError,
    UnknownPluginError,
)
from klepto_core.memo.memory import cache
from klepto_core.plugin import Archive, PluginSpec, archive_factory, get_serializer
from klepto_core.registry.urls import archive, open_archive
from klepto_core.testing.archive import ArchiveConformance


class BytesArchive(Archive):
    """The smallest byte-storing backend: what a third-party plugin writes."""

    __kind_name__: ClassVar[str] = "bytes_archive"

    def __init__(self, name: Any = None, serializer: Any = "pickle") -> None:
        super().__init__(name, {"id": name}, get_serializer(serializer))
        self.store: dict[Hashable, bytes] = {}
        self.writes = 0

    def _read(self, key: Hashable) -> Any:
        return self.store[key]

    def _write(self, key: Hashable, payload: Any) -> None:
        self.writes += 1
        self.store[key] = payload

    def _delete(self, key: Hashable) -> None:
        del self.store[key]

    def _keys(self) -> Iterable[Hashable]:
        return list(self.store)

    def _clear(self) -> None:
        self.store.clear()

    def _reopen_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self._name,), {"serializer": self._serializer.name}  # type: ignore[union-attr]


bytes_archive = archive_factory(BytesArchive)


class TestBytesArchiveConformance(ArchiveConformance):
    persistent = False

    def make_archive(self, tmp_path: Path) -> Archive:
        return BytesArchive("b")

    def corrupt(self, archive: Archive, key: Hashable) -> None:
        archive.store[key] = b"\x80\x04not a pickle"  # type: ignore[attr-defined]


def test_the_base_class_cannot_be_instantiated() -> None:
    with pytest.raises(NotImplementedError, match="cannot instantiate archive base class"):
        Archive()


def test_storage_is_the_backend_not_the_dict() -> None:
    ar = BytesArchive("b")
    ar["a"] = 1
    assert dict.__len__(ar) == 0  # the inherited dict storage stays empty
    assert isinstance(ar.store["a"], bytes)
    assert dict(ar) == {"a": 1} and {**ar} == {"a": 1}


def test_values_are_serialized_before_storage_is_touched() -> None:
    ar = BytesArchive("b")
    ar["a"] = 1
    with pytest.raises(SerializationError, match=r"bytes_archive\('b'\).*'c'"):
        ar.update({"b": 2, "c": lambda x: x})  # stdlib pickle refuses lambdas
    assert ar.writes == 1 and ar.__asdict__() == {"a": 1}


def test_corrupt_entries_raise_and_are_not_misses() -> None:
    ar = BytesArchive("b")
    ar.update(a=1, b=2)
    ar.store["a"] = b"junk"
    with pytest.raises(CorruptEntryError) as info:
        ar["a"]
    assert info.value.key == "a" and "bytes_archive('b')" in str(info.value)
    for attempt in (lambda: ar.get("a", 0), lambda: ar.pop("a", 0), ar.__asdict__):
        with pytest.raises(CorruptEntryError):
            attempt()
    assert "a" in ar and ar["b"] == 2
    # a cache's load reports it instead of counting it as a miss
    wrapper = cache(archive=ar)
    with pytest.raises(CorruptEntryError):
        wrapper.load("a")


def test_equality_compares_contents_with_any_mapping() -> None:  # klepto sharp edge 31
    ar = BytesArchive("b")
    ar["a"] = 1
    assert ar == {"a": 1} and ar != {} and {"a": 1} == ar
    other = BytesArchive("c")
    assert ar != other
    other["a"] = 1
    assert ar == other
    assert (ar == 5) is False


def test_repr_has_klepto_shape_with_a_comma() -> None:  # klepto sharp edge 32
    ar = BytesArchive("x?table=t")
    ar["k"] = 1
    assert repr(ar) == "bytes_archive('x?table=t', {'k': 1}, cached=False)"
    assert repr(BytesArchive()) == "bytes_archive({}, cached=False)"


def test_update_accepts_archives_caches_pairs_and_keywords() -> None:
    ar, src = BytesArchive("a"), BytesArchive("s")
    src["from archive"] = 1
    ar.update(src)
    ar.update(cache({"from cache": 2}))
    ar.update([("pair", 3)], kw=4)
    assert ar.__asdict__() == {"from archive": 1, "from cache": 2, "pair": 3, "kw": 4}
    with pytest.raises(TypeError):
        ar.update({}, {})


def test_non_persistent_pickling_carries_contents_and_copy_is_independent() -> None:
    ar = BytesArchive("b")
    ar["a"] = [1]
    clone = pickle.loads(pickle.dumps(ar))
    assert clone.__asdict__() == {"a": [1]} and clone.name == "b"
    twin = ar.copy()
    twin["z"] = 0
    assert "z" not in ar


def test_factory_wraps_in_a_cache_unless_uncached() -> None:
    wrapped = bytes_archive("b", {"seed": 1})
    assert type(wrapped) is cache
    assert dict(wrapped) == {"seed": 1} and wrapped.archive.__asdict__() == {}
    bare = bytes_archive("b", {"seed": 1}, False)  # klepto's positional form
    assert type(bare) is BytesArchive and bare.__asdict__() == {"seed": 1}
    assert repr(wrapped) == "bytes_archive('b', {'seed': 1}, cached=True)"
    assert wrapped.__type__ is bytes_archive


def test_isinstance_holds_for_cached_and_uncached_forms() -> None:  # klepto sharp edge 33
    assert isinstance(bytes_archive("b"), bytes_archive)
    assert isinstance(bytes_archive("b", cached=False), bytes_archive)
    assert isinstance(bytes_archive("b", cached=False), archives.archive)
    assert not isinstance({}, bytes_archive)
    assert issubclass(BytesArchive, bytes_archive)
    wrapped = bytes_archive("b")
    wrapped.archived(False)  # the stashed archive still decides
    assert isinstance(wrapped, bytes_archive)
    assert bytes_archive.__name__ == "bytes_archive"


def test_facade_resolves_every_installed_archive_lazily() -> None:
    names = archives.__all__
    for expected in ("cache", "archive", "dict_archive", "null_archive", "dir_archive", "file_archive"):
        assert expected in names
    assert archives.dict_archive.__backend__.__kind_name__ == "dict_archive"
    assert "dir_archive" in dir(archives)
    with pytest.raises(AttributeError, match="nosuch_archive"):
        archives.nosuch_archive  # noqa: B018


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, (None, None)),
        ("memo", (None, "memo")),
        ("table=abc", (None, "abc")),
        ("?table=abc", (None, "abc")),
        ("sqlite:///x.db", ("sqlite:///x.db", None)),
        ("sqlite:///x.db?table=t", ("sqlite:///x.db", "t")),
        ("foo.db", (None, "foo.db")),
        ("postgresql://u@h/db?table=t", ("postgresql://u@h/db", "t")),
    ],
)
def test_sqlname_splits_like_klepto(name: str | None, expected: tuple) -> None:
    assert archives._sqlname(name) == expected


def test_frames_round_trip_and_never_eval(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    d = archives.dict_archive("foo", {"a": 1})
    d.archive["z"] = 26
    frame = archives._to_frame(d)
    assert list(frame.columns) == ["foo", "__archive__"]
    assert frame.columns.name == "dict_archive" and frame.index.name == "{'id': 'foo'}"
    back = archives.dict_archive.from_frame(frame)
    assert dict(back) == {"a": 1.0} and back.archive.__asdict__() == {"z": 26.0}
    marker = tmp_path / "pwned"
    evil = pd.DataFrame({"x": [1]}, index=["k"])
    evil.index.name = f"__import__('pathlib').Path({str(marker)!r}).touch() or {{}}"
    archives._from_frame(evil)  # klepto eval-ed the index name (sharp edge 19)
    assert not marker.exists()


def test_archive_and_open_archive_by_name_and_url(tmp_path: Path) -> None:
    d = archive("dir", str(tmp_path / "d"))
    d["k"] = 1
    assert type(d).__name__ == "DirArchive"
    assert open_archive(f"dir:{tmp_path / 'd'}")["k"] == 1
    assert open_archive(f"dir://{tmp_path / 'd'}")["k"] == 1
    f = open_archive(f"file:{tmp_path / 'f.pkl'}")
    f["x"] = 2
    assert archive("file", str(tmp_path / "f.pkl"))["x"] == 2
    assert type(open_archive(f"file:{tmp_path / 'f.pkl'}", cached=True)) is cache
    assert archive("dict").__asdict__() == {}


def test_bad_urls_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ArchiveUnavailableError, match="needs a scheme"):
        open_archive(str(tmp_path / "plain"))
    with pytest.raises(UnknownPluginError, match="'nosuch'.*dir"):
        open_archive("nosuch://x")
    with pytest.raises(UnknownPluginError, match="did you mean 'dir'"):
        open_archive("dri:./x")
    with pytest.raises(UnknownPluginError):
        archive("nosuch")
    with pytest.raises(ArchiveUnavailableError, match="cannot open"):
        open_archive("dir:/proc/no/such/place")


def test_a_scheme_claimed_twice_asks_for_kind() -> None:
    from klepto_core.registry import REGISTRY

    for name in ("twin_a", "twin_b"):
        REGISTRY.register("archive", PluginSpec(name, bytes_archive, url_schemes=("twin",)))
    try:
        with pytest.raises(InvalidArgumentError, match="kind="):
            open_archive("twin://x")
        ar = open_archive("twin://x", kind="twin_a")
        assert ar.name == "twin://x"
    finally:
        REGISTRY.unregister("archive", "twin_a")
        REGISTRY.unregister("archive", "twin_b")
