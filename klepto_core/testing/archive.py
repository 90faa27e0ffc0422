"""A conformance suite every archive plugin's tests reuse (pytest).

Subclass :class:`ArchiveConformance` in a test module, implement
``make_archive(tmp_path)`` (an *uncached* archive at a fresh location) and, for
persistent kinds, ``corrupt(archive, key)`` (damage the stored bytes of one
entry) and ``add_foreign(archive)`` (put data the archive does not own at its
location and return a function that tells whether it is still there)::

    class TestDirArchive(ArchiveConformance):
        def make_archive(self, tmp_path):
            return dir_archive(str(tmp_path / "memo"), cached=False)

Class attributes switch off what a backend cannot do: ``persistent`` (reopen,
pickling and multi-process tests), ``any_keys`` (tuple, bytes, int keys come
back with their type), ``concurrent_processes``.

:func:`check_cache_reloads_from_archive` runs klepto's cache-over-archive test
(a decorated function, then a second one reloading its results) for one archive
configuration and keymap; :func:`keymap_variants` lists the keymaps to try.
"""

from __future__ import annotations

import math
import multiprocessing
import pickle
import random
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from klepto_core.base.archive import Archive
from klepto_core.base.keymap import NOSENTINEL
from klepto_core.errors import CorruptEntryError, SerializationError

#: keys of several types; backends with ``any_keys = False`` use ``STR_KEYS``
ANY_KEYS: list[Hashable] = [
    "plain",
    "with-dash",
    "with_underscore",
    "dir/slash",
    "dot.ted",
    "",
    "ünïcødé ✓",
    7,
    "7",
    -3,
    2.5,
    (1, "a"),
    (1, ("nested", 2.0)),
    b"raw\x00bytes",
    None,
    frozenset({1, 2}),
]
STR_KEYS: list[Hashable] = [
    "plain",
    "with-dash",
    "with_underscore",
    "dir/slash",
    "dot.ted",
    "ünïcødé ✓",
    "7",
    "x" * 200,
]

#: values every serializer that ``roundtrips_any`` must give back equal
ANY_VALUES: list[Any] = [
    None,
    True,
    0,
    -(2**70),
    3.25,
    float("inf"),
    "",
    "text ✓",
    b"\x00\xff" * 10,
    [1, [2, [3]]],
    (1, "two", 3.0),
    {"a": {"b": [1, 2]}, 3: (4,)},
    {1, 2, 3},
    frozenset({"x"}),
    3 + 4j,
    list(range(1000)),
]
#: values any archive must store (JSON's types)
JSON_VALUES: list[Any] = [None, True, 0, -7, 3.25, "", "text ✓", [1, [2]], {"a": {"b": [1, None]}}]


def keymap_variants(*factories: Callable[..., Any]) -> list[Any]:
    """The keymaps klepto's cache tests cycle through, for ``check_cache_reloads_from_archive``.

    ``None`` (the decorator's own keymap), then each factory under every
    ``typed``/``flat`` choice, with ``sentinel=NOSENTINEL``.
    """
    variants: list[Any] = [None]
    for factory in factories:
        for typed, flat in ((False, True), (False, False), (True, True), (True, False)):
            variants.append(factory(typed=typed, flat=flat, sentinel=NOSENTINEL))
    return variants


def _linear(x: Any, y: Any) -> Any:
    return 3 * x + y


def _random_calls(
    cache: Any, decorator: Callable[..., Any], keymap: Any, calls: int, seed: int
) -> Any:
    """``calls`` seeded calls of ``f(x, y)`` over ints and equal floats; each result checked."""
    rng = random.Random(seed)
    f = decorator(maxsize=50, cache=cache, keymap=keymap)(_linear)
    domain: list[Any] = list(range(10))
    domain += [float(i) for i in domain]
    for _ in range(calls):
        x, y = rng.choice(domain), rng.choice(domain)
        assert f(x, y) == 3 * x + y
    f.dump()
    return f.info()


def check_cache_reloads_from_archive(
    open_archive: Callable[..., Any],
    decorator: Callable[..., Any],
    keymap: Any = None,
    *,
    calls: int = 100,
    seed: int = 1234,
) -> None:
    """klepto's cache-over-archive test, for any persistent archive and keymap.

    ``open_archive(**options)`` opens the same storage each time (it is called
    once with ``cached=False``, to count what reached it); ``decorator`` is a
    klepto-style decorator such as ``klepto_core.safe.lru_cache``. A function
    decorated over it makes ``calls`` seeded calls (every result checked) and
    dumps: every computed entry must reach the storage. The same calls through a
    fresh cache over the same storage then compute nothing: the first run's
    misses are the second's loads. A keymap whose keys are unhashable caches,
    and stores, nothing (as in klepto).
    """
    first = _random_calls(open_archive(), decorator, keymap, calls, seed)
    assert first.hit + first.miss + first.load == calls
    stored = len(open_archive(cached=False))
    again = _random_calls(open_archive(), decorator, keymap, calls, seed)
    assert again.hit + again.miss + again.load == calls
    if first.size:
        assert stored == first.miss  # every computed entry reached the storage
        assert (again.miss, again.load, again.hit) == (0, first.miss, first.hit)
    else:
        assert stored == 0 and again == first


def _writer(blob: bytes, worker: int, count: int) -> None:
    archive = pickle.loads(blob)
    for i in range(count):
        archive[f"w{worker}-k{i}"] = [worker, i]
    archive.close()


class ArchiveConformance:
    """The behaviour every archive promises; subclass and implement ``make_archive``."""

    persistent: ClassVar[bool] = True
    any_keys: ClassVar[bool] = True
    concurrent_processes: ClassVar[int] = 4
    concurrent_keys: ClassVar[int] = 500

    # -- hooks ------------------------------------------------------------------------------

    def make_archive(self, tmp_path: Path) -> Archive:
        """A new, empty, uncached archive at a location under ``tmp_path``."""
        raise NotImplementedError

    def reopen(self, archive: Archive) -> Archive:
        """Another handle on the same stored data (default: through pickling)."""
        return pickle.loads(pickle.dumps(archive))  # type: ignore[no-any-return]

    def location(self, archive: Archive) -> Any:
        """What to pass as ``name`` to reach this archive's storage (default: its first arg)."""
        return archive._reopen_args()[0][0]

    def corrupt(self, archive: Archive, key: Hashable) -> None:
        """Damage the stored bytes of ``key`` (persistent backends implement this)."""
        pytest.skip(f"{type(self).__name__} has no corrupt() helper")

    def add_foreign(self, archive: Archive) -> Callable[[], bool]:
        """Put data the archive does not own at its location; return 'is it still there?'."""
        pytest.skip(f"{type(self).__name__} has no add_foreign() helper")

    # -- fixtures and helpers ---------------------------------------------------------------

    @pytest.fixture
    def archive(self, tmp_path: Path) -> Any:
        archive = self.make_archive(tmp_path)
        yield archive
        archive.close()

    def keys(self) -> list[Hashable]:
        return ANY_KEYS if self.any_keys else STR_KEYS

    @staticmethod
    def values_for(archive: Archive) -> list[Any]:
        serializer = archive.serializer
        if serializer is not None and not serializer.roundtrips_any:
            return JSON_VALUES
        return ANY_VALUES

    @staticmethod
    def same(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
            return math.isnan(b)
        return type(a) is type(b) and bool(a == b)

    # -- an empty archive -------------------------------------------------------------------

    def test_new_archive_is_empty(self, archive: Archive) -> None:
        assert len(archive) == 0
        assert list(archive) == []
        assert not archive
        assert "missing" not in archive
        assert archive.get("missing") is None
        assert archive.get("missing", 5) == 5
        assert archive.__asdict__() == {}
        with pytest.raises(KeyError):
            archive["missing"]
        with pytest.raises(KeyError):
            del archive["missing"]

    def test_is_an_archive_and_a_dict(self, archive: Archive) -> None:
        assert isinstance(archive, Archive)
        assert isinstance(archive, dict)
        assert archive.archive is archive
        public = type(archive).__type__
        assert public is not None and isinstance(archive, public)

    # -- the dict API ---------------------------------------------------------------------

    def test_set_get_contains_len_iter(self, archive: Archive) -> None:
        archive["a"] = 1
        archive["b"] = [2]
        assert archive["a"] == 1
        assert archive["b"] == [2]
        assert "a" in archive and "b" in archive and "c" not in archive
        assert len(archive) == 2
        assert sorted(archive) == ["a", "b"]
        assert bool(archive)

    def test_overwrite_keeps_one_entry(self, archive: Archive) -> None:
        archive["a"] = 1
        archive["a"] = 2
        assert archive["a"] == 2
        assert len(archive) == 1

    def test_delete(self, archive: Archive) -> None:
        archive.update(a=1, b=2)
        del archive["a"]
        assert "a" not in archive
        assert list(archive) == ["b"]
        with pytest.raises(KeyError):
            del archive["a"]

    def test_pop_popitem_popkeys(self, archive: Archive) -> None:
        archive.update({"a": 1, "b": 2, "c": 3, "d": 4})
        assert archive.pop("a") == 1
        assert archive.pop("a", "gone") == "gone"
        with pytest.raises(KeyError):
            archive.pop("a")
        key, value = archive.popitem()
        assert {key: value}.items() <= {"b": 2, "c": 3, "d": 4}.items()
        assert key not in archive
        rest = sorted(archive)
        assert archive.popkeys(rest) == [{"b": 2, "c": 3, "d": 4}[k] for k in rest]
        assert len(archive) == 0
        with pytest.raises(KeyError):
            archive.popitem()
        archive.update(x=1)
        with pytest.raises(KeyError):
            archive.popkeys(["x", "nope"])
        assert archive["x"] == 1  # all or nothing
        assert archive.popkeys(["x", "nope"], None) == [1, None]

    def test_setdefault(self, archive: Archive) -> None:
        assert archive.setdefault("a", 1) == 1
        assert archive.setdefault("a", 2) == 1
        assert archive["a"] == 1

    def test_update_from_mapping_pairs_keywords_and_archives(
        self, archive: Archive, tmp_path: Path
    ) -> None:
        archive.update({"a": 1})
        archive.update([("b", 2)])
        archive.update(c=3)
        (tmp_path / "other").mkdir()
        other = self.make_archive(tmp_path / "other")
        try:
            other.update(d=4)
            archive.update(other)
        finally:
            other.close()
        assert archive.__asdict__() == {"a": 1, "b": 2, "c": 3, "d": 4}

    def test_views_and_asdict(self, archive: Archive) -> None:
        archive.update(a=1, b=2)
        assert set(archive.keys()) == {"a", "b"}
        assert sorted(archive.values()) == [1, 2]
        assert set(archive.items()) == {("a", 1), ("b", 2)}
        assert "a" in archive.keys()  # noqa: SIM118 - the view's own __contains__
        assert len(archive.items()) == 2
        snapshot = archive.__asdict__()
        assert type(snapshot) is dict and snapshot == {"a": 1, "b": 2}

    def test_equality_compares_contents(self, archive: Archive) -> None:
        archive.update(a=1)
        assert archive == {"a": 1}
        assert archive != {}  # klepto compared the (empty) dict storage here
        assert (archive == {"a": 2}) is False
        assert archive != {"a": 2}

    def test_clear_empties_it(self, archive: Archive) -> None:
        archive.update(a=1, b=2)
        archive.clear()
        assert len(archive) == 0 and list(archive) == []
        archive["c"] = 3
        assert archive.__asdict__() == {"c": 3}

    def test_fromkeys_returns_a_plain_dict(self, archive: Archive) -> None:
        result = archive.fromkeys(["a", "b"], 0)
        assert type(result) is dict and result == {"a": 0, "b": 0}
        assert len(archive) == 0

    def test_copy_to_another_location(self, archive: Archive, tmp_path: Path) -> None:
        archive.update(a=1, b=[2])
        (tmp_path / "elsewhere").mkdir()
        other = self.make_archive(tmp_path / "elsewhere")
        target = self.location(other)
        other.close()
        clone = archive.copy(target)
        try:
            assert clone.__asdict__() == {"a": 1, "b": [2]}
            assert type(clone) is type(archive)
            clone["c"] = 3
            assert "c" not in archive
        finally:
            clone.close()

    def test_klepto_archive_interface(self, archive: Archive) -> None:
        assert archive.archived() is False
        with pytest.raises(ValueError):
            archive.archived(True)
        for attempt in (archive.drop, lambda: archive.open(archive)):
            with pytest.raises(ValueError):
                attempt()
        for attr in ("archive", "name", "state"):
            with pytest.raises(ValueError):
                setattr(archive, attr, None)
        archive["a"] = 1
        archive.load()
        archive.dump()
        archive.sync()
        assert archive.__asdict__() == {"a": 1}
        assert isinstance(archive.state, dict)
        state = archive.state
        state["injected"] = True
        assert "injected" not in archive.state

    def test_repr_looks_like_a_klepto_constructor(self, archive: Archive) -> None:
        archive["k"] = 1
        text = repr(archive)
        assert text.startswith(type(archive).__kind_name__ + "(")
        assert text.endswith(", cached=False)")
        assert "{'k': 1}" in text
        if archive.name is not None and type(archive).show_name:
            assert text.startswith(f"{type(archive).__kind_name__}({str(archive.name)!r}, {{")

    def test_keys_of_many_types_round_trip(self, archive: Archive) -> None:
        keys = self.keys()
        for i, key in enumerate(keys):
            archive[key] = i
        assert len(archive) == len(keys)
        for i, key in enumerate(keys):
            assert key in archive, key
            assert archive[key] == i, key
        stored = list(archive)
        assert len(stored) == len(keys)
        for key in keys:
            assert any(self.same(key, s) for s in stored), key

    def test_values_of_many_types_round_trip(self, archive: Archive) -> None:
        values = self.values_for(archive)
        for i, value in enumerate(values):
            archive[f"v{i}"] = value
        for i, value in enumerate(values):
            assert self.same(archive[f"v{i}"], value), value
        assert len(archive) == len(values)

    def test_unserializable_value_raises_and_changes_nothing(self, archive: Archive) -> None:
        if archive.serializer is None:
            pytest.skip("this archive stores objects as they are")
        archive["a"] = 1
        before = archive.__asdict__()
        bad = (x for x in [1])  # no serializer stores a generator
        with pytest.raises(SerializationError) as info:
            archive["a"] = bad
        assert "'a'" in str(info.value)
        with pytest.raises(SerializationError):
            archive["new"] = bad
        with pytest.raises(SerializationError):
            archive.update({"b": 2, "c": bad})
        assert archive.__asdict__() == before
        assert "new" not in archive and "b" not in archive

    # -- persistence ----------------------------------------------------------------------

    def test_reopen_finds_the_data(self, archive: Archive) -> None:
        if not self.persistent:
            pytest.skip("not a persistent archive")
        archive.update({"a": 1, "b": [2, 3]})
        again = self.reopen(archive)
        try:
            assert again.__asdict__() == {"a": 1, "b": [2, 3]}
            again["c"] = 3
            del again["a"]
            assert archive.__asdict__() == {"b": [2, 3], "c": 3}
        finally:
            again.close()

    def test_pickling(self, archive: Archive) -> None:
        archive.update(a=1)
        clone = pickle.loads(pickle.dumps(archive))
        try:
            assert type(clone) is type(archive)
            assert clone.__asdict__() == {"a": 1}
            assert clone.name == archive.name
            if self.persistent:
                clone["b"] = 2  # the same location
                assert archive["b"] == 2
        finally:
            clone.close()

    def test_clear_removes_only_its_own_data(self, archive: Archive) -> None:
        archive.update(a=1, b=2)
        still_there = self.add_foreign(archive)
        archive.clear()
        assert len(archive) == 0
        assert still_there()

    @pytest.mark.slow
    def test_concurrent_writers_lose_nothing(self, archive: Archive) -> None:
        if not self.persistent:
            pytest.skip("not a persistent archive")
        procs, count = self.concurrent_processes, self.concurrent_keys
        blob = pickle.dumps(archive)
        ctx = multiprocessing.get_context("spawn")
        workers = [ctx.Process(target=_writer, args=(blob, w, count)) for w in range(procs)]
        for p in workers:
            p.start()
        for p in workers:
            p.join(timeout=240)
            assert p.exitcode == 0
        assert len(archive) == procs * count
        contents = archive.__asdict__()
        for w in range(procs):
            for i in range(count):
                assert contents[f"w{w}-k{i}"] == [w, i]

    def test_corrupt_entry_raises_and_others_still_read(self, archive: Archive) -> None:
        archive.update({"bad": "x" * 100, "good1": 1, "good2": [2]})
        self.corrupt(archive, "bad")
        with pytest.raises(CorruptEntryError) as info:
            archive["bad"]
        assert info.value.key == "bad"
        assert info.value.archive
        assert isinstance(info.value, KeyError)
        assert "bad" in archive
        with pytest.raises(CorruptEntryError):
            archive.get("bad")
        assert archive["good1"] == 1
        assert archive["good2"] == [2]
        assert [e.key for e in archive.verify()] == ["bad"]
        archive["bad"] = "fixed"
        assert archive["bad"] == "fixed"
        assert archive.verify() == []
