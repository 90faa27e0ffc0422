"""Conformance tests every policy and serializer plugin should pass, importable by third parties.

Mix :class:`PolicyConformance` into a pytest test class and name the policy::

    from klepto_core.testing import PolicyConformance

    class TestMyPolicy(PolicyConformance):
        policy_name = "mine"

The checks run the policy both directly (the ``admitted``/``on_hit``/``victims``
protocol the decorator relies on) and through a klepto-style decorator.
:class:`SerializerConformance` does the same for a serializer (set
``serializer_name``) and :class:`KeymapConformance` for a keymap (set
``keymap_name``); the archive suite, ``ArchiveConformance``, lives in
:mod:`klepto_core.testing_archive` and is reachable from here too.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import pickle
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar

import pytest

from klepto_core import defaults
from klepto_core.compat_cache import decorator_class
from klepto_core.errors import SerializationError
from klepto_core.keymap import NOSENTINEL, SENTINEL, Keymap
from klepto_core.policy import Policy
from klepto_core.registry import REGISTRY
from klepto_core.serializer import Serializer, get_serializer

__all__ = ["KeymapConformance", "PolicyConformance", "SerializerConformance", "call_key"]


def call_key(*args: Any, **kwds: Any) -> Hashable:
    """A plain keymap for the suite: the arguments themselves, keywords sorted by name."""
    return (args, tuple(sorted(kwds.items())))


def _value(x: int) -> int:
    return 7 * x + 1


def _key(x: int) -> Hashable:
    """The key :func:`call_key` gives a call ``f(x)`` of a one-parameter function."""
    return call_key(x=x)


def _recording() -> tuple[Callable[[int], int], list[int]]:
    """A one-parameter function and the list of the arguments it was computed for."""
    computed: list[int] = []

    def func(x: int) -> int:
        computed.append(x)
        return _value(x)

    return func, computed


def _arg(key: Any) -> Any:
    """The argument ``x`` back from a key made by :func:`call_key`."""
    args, kwds = key
    return args[0] if args else kwds[0][1]


class PolicyConformance:
    """Behaviour every policy must show; subclasses set ``policy_name``.

    ``maxsizes`` are the cache sizes tried; ``seeds`` fix the random call
    sequences, so a failure is reproducible.
    """

    policy_name: ClassVar[str] = ""
    maxsizes: ClassVar[tuple[int, ...]] = (1, 2, 3, 5, 8)
    seeds: ClassVar[tuple[int, ...]] = (0, 1, 2, 3)
    calls_per_sequence: ClassVar[int] = 200

    # -- helpers -------------------------------------------------------------------

    def policy_type(self) -> type[Policy]:
        """The policy class the plugin registers under ``policy_name``."""
        if not self.policy_name:
            raise TypeError(f"{type(self).__name__} must set policy_name")
        factory: type[Policy] = REGISTRY.resolve("policy", self.policy_name).factory
        return factory

    def bound(self, maxsize: int) -> int | None:
        """The maxsize a policy really runs with when asked for ``maxsize``."""
        forced = getattr(self.policy_type(), "forced", {})
        if "maxsize" in forced:
            value: int | None = forced["maxsize"]
            return value
        return maxsize

    def new_policy(self, maxsize: int) -> Policy:
        return self.policy_type()(self.bound(maxsize))

    def decorate(
        self, func: Callable[..., Any], maxsize: int, cache: Any = None, purge: bool = False
    ) -> Any:
        """``func`` under the policy's klepto-style decorator, keyed by :func:`call_key`."""
        decorator = decorator_class(self.policy_name)(
            maxsize=maxsize, cache=cache, keymap=call_key, purge=purge
        )
        return decorator(func)

    def sequences(self, maxsize: int) -> Iterable[list[int]]:
        """Random call sequences over a key range a little larger than the cache."""
        for seed in self.seeds:
            rng = random.Random(seed)
            span = max(2, 2 * maxsize + 1)
            yield [rng.randrange(span) for _ in range(self.calls_per_sequence)]

    def drive(self, policy: Policy, memory: dict[Hashable, Any], key: Hashable) -> list[Hashable]:
        """Run one call through the policy protocol as the decorator does; return the victims."""
        if key in memory:
            if policy.on_hit is not None:
                try:
                    policy.on_hit(key)
                except KeyError:
                    policy.admitted(key)
            return []
        memory[key] = _value(0)
        policy.admitted(key)
        bound = policy.maxsize
        if bound is None or len(memory) <= bound:
            return []
        snapshot = dict(memory)
        victims = list(policy.victims(memory, key))
        assert memory == snapshot, "victims() must not change memory: the decorator evicts"
        for victim in victims:
            del memory[victim]
        return victims

    # -- the policy protocol -------------------------------------------------------

    def test_victims_are_in_memory_unique_and_enough(self) -> None:
        for maxsize in self.maxsizes:
            for sequence in self.sequences(maxsize):
                policy = self.new_policy(maxsize)
                memory: dict[Hashable, Any] = {}
                for key in sequence:
                    before = set(memory)
                    victims = self.drive(policy, memory, key)
                    assert len(set(victims)) == len(victims), f"duplicate victims {victims}"
                    assert set(victims) <= before | {key}, f"victims {victims} not in memory"
                    bound = policy.maxsize
                    if bound is not None:
                        assert len(memory) <= max(bound, 0), (maxsize, len(memory))

    def test_on_hit_for_an_unknown_key_raises_only_keyerror(self) -> None:
        policy = self.new_policy(max(self.maxsizes))
        if policy.on_hit is None:
            pytest.skip("the policy keeps no bookkeeping on hits")
        try:
            policy.on_hit(("never", "admitted"))
        except KeyError:
            pass
        policy.admitted(("never", "admitted"))  # the decorator's fallback must then work

    def test_untracked_entries_are_evicted_first(self) -> None:
        for maxsize in self.maxsizes:
            policy = self.new_policy(maxsize)
            bound = policy.maxsize
            if bound is None:
                pytest.skip("an unbounded policy never evicts")
            prefill = [("pre", i) for i in range(bound + 3)]
            memory: dict[Hashable, Any] = dict.fromkeys(prefill, 0)
            new = ("new", 0)
            memory[new] = 1
            policy.admitted(new)
            victims = policy.victims(memory, new)
            assert len(memory) - len(victims) <= max(bound, 0)
            untracked_victims = [v for v in victims if v != new]
            # the untracked keys go first, oldest first
            assert untracked_victims == prefill[: len(untracked_victims)], victims
            if bound >= 1:
                assert new not in victims, "a tracked key left while untracked ones remain"

    def test_prefilled_cache_shrinks_to_maxsize(self) -> None:
        for maxsize in self.maxsizes:
            bound = self.bound(maxsize)
            prefill = {_key(-1 - i): "old" for i in range((bound or 0) + 3)}
            f = self.decorate(_value, maxsize, cache=dict(prefill))
            assert f(1) == _value(1)
            memory = f.__cache__()
            if bound is None:
                assert len(memory) == len(prefill) + 1
            else:
                assert len(memory) <= max(bound, 0)
                if bound >= 1:
                    assert _key(1) in memory

    def test_clear_resets_bookkeeping(self) -> None:
        for maxsize in self.maxsizes:
            policy = self.new_policy(maxsize)
            bound = policy.maxsize
            if bound is None:
                pytest.skip("an unbounded policy never evicts")
            memory: dict[Hashable, Any] = {}
            for key in range(bound):
                self.drive(policy, memory, key)
            policy.clear()
            # everything in memory is now unknown to the policy: evicted oldest first
            memory[("new", 0)] = 0
            policy.admitted(("new", 0))
            if len(memory) > bound:
                victims = policy.victims(memory, ("new", 0))
                old = [k for k in memory if k != ("new", 0)]
                assert [v for v in victims if v != ("new", 0)] == old[: len(victims)]

    # -- through the decorator -----------------------------------------------------

    def test_values_counters_and_size(self) -> None:
        for maxsize in self.maxsizes:
            bound = self.bound(maxsize)
            for sequence in self.sequences(maxsize):
                func, computed = _recording()
                f = self.decorate(func, maxsize)
                for n, x in enumerate(sequence, 1):
                    assert f(x) == _value(x)
                    info = f.info()
                    assert info.hit + info.miss + info.load == n
                    assert info.miss == len(computed)
                    assert info.size == len(f.__cache__())
                    if bound is None:
                        assert info.size == len(set(sequence[:n]))
                    else:
                        assert info.size <= max(bound, 0)
                    for key, value in f.__cache__().items():
                        assert value == _value(_arg(key))

    def test_hits_are_served_from_memory(self) -> None:
        maxsize = max(self.maxsizes)
        bound = self.bound(maxsize)
        func, computed = _recording()
        f = self.decorate(func, maxsize)
        f(1)
        in_memory = _key(1) in f.__cache__()
        assert f(1) == _value(1)
        if bound == 0:
            assert not in_memory and computed == [1, 1]
        else:
            assert in_memory and computed == [1]
            assert f.info().hit == 1

    def test_clear_empties_memory_and_counters(self) -> None:
        for maxsize in self.maxsizes:
            f = self.decorate(_value, maxsize)
            for x in range(2 * maxsize + 2):
                f(x)
                f(x // 2)
            f.clear()
            assert len(f.__cache__()) == 0
            assert tuple(f.info())[:3] == (0, 0, 0)
            for x in range(2 * maxsize + 2):
                assert f(x) == _value(x)
            bound = self.bound(maxsize)
            if bound is not None:
                assert len(f.__cache__()) <= max(bound, 0)

    def test_threads_hammering_a_small_cache(self) -> None:
        maxsize = 4
        bound = self.bound(maxsize)
        f = self.decorate(lambda x: x * x, maxsize)
        errors: list[BaseException] = []
        calls_per_thread = 2000
        start = threading.Barrier(8)

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            try:
                start.wait()
                for _ in range(calls_per_thread):
                    x = rng.randrange(12)
                    result = f(x)
                    if result != x * x:
                        raise AssertionError(f"f({x}) returned {result}")
            except BaseException as exc:  # reported to the main thread below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads often, so unguarded updates interleave
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            sys.setswitchinterval(interval)
        assert not errors, errors[0]
        info = f.info()
        assert info.hit + info.miss + info.load == 8 * calls_per_thread
        if bound is not None:
            assert len(f.__cache__()) <= max(bound, 0)
        for key, value in f.__cache__().items():
            assert value == _arg(key) ** 2


# -- serializers ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Point:
    """An instance of a class importable by name: any pickle-capable serializer stores it."""

    x: int


#: JSON's types beyond ``testing_archive.JSON_VALUES``: even a text format gives these back
_MORE_JSON_VALUES: list[Any] = [2**70, 1.5, "text é", [1, [2, "x"]], {"a": [1, 2], "b": None}]
#: picklable values beyond ``testing_archive.ANY_VALUES``
_MORE_PICKLABLE_VALUES: list[Any] = [
    (1, "a"),
    {1, 2},
    frozenset({3}),
    b"\x00\xff",
    {(1, 2): "tuple key"},
    _Point(3),
]
#: keys every serializer stores through ``dumps_key``: a cache's namespaced tuples of scalars
_TUPLE_KEYS: list[Hashable] = [
    ("ns", (1, "a"), 2.0),
    (),
    (("f", 1), (("y", -2),), ("nested", ("deeper", None, True))),
    "plain",
    7,
]


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type (NaN equals NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and bool(a == b)


class SerializerConformance:
    """What every serializer promises; subclasses set ``serializer_name``.

    Options, for what differs between formats:

    - ``roundtrips_any``: what the plugin must declare; True also makes the suite
      round-trip ``testing_archive.ANY_VALUES`` and other picklable values
      (None: the plugin's own declaration is taken as given).
    - ``extra_values``: more values that must come back equal, of the same type.
    - ``float_specials``: ``inf`` and ``nan`` round-trip.
    - ``functions``: lambdas and closures round-trip (pickled by value).
    - ``protocol_headers``: ``protocol`` -> the bytes ``dumps(1)`` starts with under it.
    - ``load_error``: what ``loads`` raises for bytes the format cannot read (the
      format's own error, which an archive reports as a CorruptEntryError).
    - ``lazy_modules``: modules that importing the plugin module must not import.

    Override :meth:`unserializable` for the values the serializer refuses.
    """

    serializer_name: ClassVar[str] = ""
    roundtrips_any: ClassVar[bool | None] = None
    extra_values: ClassVar[tuple[Any, ...]] = ()
    float_specials: ClassVar[bool] = True
    functions: ClassVar[bool] = False
    protocol_headers: ClassVar[dict[Any, bytes]] = {}
    load_error: ClassVar[type[BaseException] | tuple[type[BaseException], ...]] = Exception
    lazy_modules: ClassVar[tuple[str, ...]] = ()

    # -- helpers -------------------------------------------------------------------

    def serializer_type(self) -> type[Serializer]:
        """The serializer class the plugin registers under ``serializer_name``."""
        if not self.serializer_name:
            raise TypeError(f"{type(self).__name__} must set serializer_name")
        factory: type[Serializer] = REGISTRY.resolve("serializer", self.serializer_name).factory
        return factory

    def serializer(self, protocol: Any = None) -> Serializer:
        """The serializer as archives get it: by name, with klepto's ``protocol``."""
        self.serializer_type()
        return get_serializer(self.serializer_name, protocol=protocol)

    def stores_any(self) -> bool:
        if self.roundtrips_any is not None:
            return self.roundtrips_any
        return self.serializer_type().roundtrips_any

    def values(self) -> list[Any]:
        """Values that must come back equal and of the same type."""
        from klepto_core.testing_archive import ANY_VALUES, JSON_VALUES

        values = [*JSON_VALUES, *_MORE_JSON_VALUES, *self.extra_values]
        if self.stores_any():
            values += [*ANY_VALUES, *_MORE_PICKLABLE_VALUES]
        return values

    def keys(self) -> list[Hashable]:
        """Keys that must come back from ``loads_key(dumps_key(key))`` equal and hashable."""
        from klepto_core.testing_archive import ANY_KEYS

        return [*_TUPLE_KEYS, *ANY_KEYS] if self.stores_any() else list(_TUPLE_KEYS)

    def unserializable(self) -> list[Any]:
        """Values ``dumps`` must refuse; a generator by default (its state cannot be stored)."""
        return [(x for x in [1])]

    def corrupt_payloads(self) -> list[bytes]:
        """Bytes ``loads`` must refuse: text no format writes, a stored value cut in half."""
        whole = self.serializer().dumps({"key": list(range(100))})
        return [b"not a serialized value", whole[: len(whole) // 2]]

    # -- the contract ---------------------------------------------------------------

    def test_resolves_by_name_as_a_serializer(self) -> None:
        ser = self.serializer()
        assert isinstance(ser, Serializer)
        assert ser.name == self.serializer_name
        if self.roundtrips_any is not None:
            assert ser.roundtrips_any is self.roundtrips_any

    def test_values_round_trip_through_bytes(self) -> None:
        ser = self.serializer()
        for value in self.values():
            data = ser.dumps(value)
            assert isinstance(data, bytes), (value, type(data))
            assert _same(ser.loads(data), value), value

    def test_float_specials_round_trip(self) -> None:
        if not self.float_specials:
            pytest.skip("the format has no inf or nan")
        ser = self.serializer()
        assert ser.loads(ser.dumps(float("inf"))) == float("inf")
        assert ser.loads(ser.dumps(float("-inf"))) == float("-inf")
        assert math.isnan(ser.loads(ser.dumps(float("nan"))))

    def test_functions_round_trip(self) -> None:
        if not self.functions:
            pytest.skip("the serializer does not store functions by value")
        k = 5

        def add(x: int) -> int:
            return x + k

        ser = self.serializer()
        assert ser.loads(ser.dumps(lambda x: x * 3))(2) == 6
        assert ser.loads(ser.dumps(add))(1) == 6

    def test_protocol_option(self) -> None:
        for protocol in (None, *self.protocol_headers):
            ser = self.serializer(protocol)
            assert ser.protocol == protocol
            for value in self.values():
                assert _same(ser.loads(ser.dumps(value)), value), (protocol, value)
            header = self.protocol_headers.get(protocol)
            if header is not None:
                assert ser.dumps(1).startswith(header), (protocol, ser.dumps(1)[:4])

    def test_unserializable_value_raises_serialization_error_naming_its_type(self) -> None:
        values = self.unserializable()
        if not values:
            pytest.skip("the serializer refuses no value up front")
        for value in values:
            with pytest.raises(SerializationError) as info:
                self.serializer().dumps(value)
            assert self.serializer_name in str(info.value)
            assert type(value).__name__ in str(info.value)

    def test_too_deep_a_value_raises_serialization_error(self) -> None:
        deep: list[Any] = []
        for _ in range(100_000):
            deep = [deep]
        with pytest.raises(SerializationError, match=self.serializer_name):
            self.serializer().dumps(deep)

    def test_corrupt_payload_raises_the_format_error(self) -> None:
        ser = self.serializer()
        for payload in self.corrupt_payloads():
            with pytest.raises(self.load_error):
                ser.loads(payload)

    def test_keys_round_trip_through_dumps_key(self) -> None:
        ser = self.serializer()
        for key in self.keys():
            data = ser.dumps_key(key)
            assert isinstance(data, bytes), (key, type(data))
            back = ser.loads_key(data)
            assert _same(back, key), (key, back)
            assert hash(back) == hash(key)

    def test_the_serializer_object_pickles(self) -> None:
        for protocol in (None, *self.protocol_headers):
            ser = self.serializer(protocol)
            clone = pickle.loads(pickle.dumps(ser))
            assert type(clone) is type(ser) and clone == ser and hash(clone) == hash(ser)
            assert clone.protocol == protocol
            assert clone.loads(ser.dumps([1, "two"])) == [1, "two"]

    def test_equal_by_kind_and_protocol(self) -> None:
        assert self.serializer() == self.serializer()
        assert hash(self.serializer()) == hash(self.serializer())
        for protocol in self.protocol_headers:
            assert self.serializer(protocol) == self.serializer(protocol)
            assert self.serializer(protocol) != self.serializer()

    def test_plugin_import_is_lazy(self) -> None:
        if not self.lazy_modules:
            pytest.skip("no heavy module to keep out of the plugin's import")
        module = self.serializer_type().__module__
        code = (
            f"import sys, {module}; "
            f"print([m for m in {list(self.lazy_modules)!r} if m in sys.modules])"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]", out.stdout


# -- keymaps -------------------------------------------------------------------------------

Call = tuple[tuple[Any, ...], dict[str, Any]]

#: calls of hashable arguments that differ under every keymap option (no int/str pairs
#: such as 1 and "1", which klepto's ``str`` encoding gives one key)
_CALLS: list[Call] = [
    ((), {}),
    ((1,), {}),
    ((2,), {}),
    ((1, 2), {}),
    ((2, 1), {}),
    ((1,), {"b": 2}),
    ((1,), {"c": 2}),
    ((1,), {"b": 3}),
    ((), {"a": 1, "b": 2}),
    (("a",), {}),
    (("b", "a"), {}),
    ((1.5,), {}),
    ((None,), {}),
    ((b"x",), {}),
    (((1, 2),), {}),
    (((1, (2, "t")),), {"k": "v"}),
]
#: calls with arguments that have no hash
_UNHASHABLE_CALLS: list[Call] = [
    (([1, 2],), {}),
    (([1, 3],), {}),
    (({"a": 1},), {}),
    ((1,), {"b": [2]}),
]

#: the script a fresh interpreter runs: pickled (keymap class, options, calls) in,
#: hex of the pickled keys out
_KEYS_ELSEWHERE = """
import pickle, sys
factory, option_sets, calls = pickle.loads(sys.stdin.buffer.read())
keys = [[factory(**options)(*args, **kwds) for args, kwds in calls] for options in option_sets]
sys.stdout.write(pickle.dumps(keys).hex())
"""


def _counter() -> Callable[[Any], int]:
    """A function of one argument returning how many times it ran."""
    calls: list[int] = []

    def f(x: Any) -> int:
        calls.append(1)
        return len(calls)

    return f


class _Opaque:
    """An argument with the default repr (``<... object at 0x...>``): equal ones differ in text."""

    def __init__(self, n: int) -> None:
        self.n = n


def _outcome(make: Callable[[], Any]) -> tuple[str, Any]:
    """``("ok", value)`` or ``("error", exception type)``: two keymaps compared either way."""
    try:
        return ("ok", make())
    except Exception as exc:
        return ("error", type(exc))


def _as_ours(obj: Any, klepto_keymaps: Any) -> Any:
    """klepto's key with its SENTINEL object replaced by ours (the only object that differs)."""
    if obj is klepto_keymaps.SENTINEL:
        return SENTINEL
    if type(obj) is tuple:
        return tuple(_as_ours(o, klepto_keymaps) for o in obj)
    return obj


class KeymapConformance:
    """What every keymap promises; subclasses set ``keymap_name``.

    Options, for what differs between keymaps:

    - ``keymap_options``: options every keymap the suite makes gets (e.g. an ``algorithm``).
    - ``lossy`` / ``identity``: what the keymap must declare (None: taken as given).
      A lossy keymap's keys may collide; the suite then checks ``memo_key``, the
      formatted key a cache stores.
    - ``accepts_unhashable``: keys are hashable even for lists and dicts among the
      arguments and under ``flat=False`` (False for keymaps that keep or hash the raw key).
    - ``stable``: a fresh interpreter with another hash seed gives the same keys.
    - ``klepto_name``: the ``klepto.keymaps`` class with the same keys (None: no
      differential check); ``klepto_selector_values`` are the values of the keymap's
      selector option (``__stub__``) compared. Override :meth:`compare_with_klepto`
      where a documented divergence makes the keys differ.
    """

    keymap_name: ClassVar[str] = ""
    keymap_options: ClassVar[dict[str, Any]] = {}
    lossy: ClassVar[bool | None] = None
    identity: ClassVar[bool | None] = None
    accepts_unhashable: ClassVar[bool] = True
    stable: ClassVar[bool] = True
    klepto_name: ClassVar[str | None] = None
    klepto_selector_values: ClassVar[tuple[Any, ...]] = (None,)
    klepto_examples: ClassVar[int] = 50

    # -- helpers -------------------------------------------------------------------

    def keymap_type(self) -> type[Keymap]:
        """The keymap class the plugin registers under ``keymap_name``."""
        if not self.keymap_name:
            raise TypeError(f"{type(self).__name__} must set keymap_name")
        factory: type[Keymap] = REGISTRY.resolve("keymap", self.keymap_name).factory
        return factory

    def keymap(self, **options: Any) -> Keymap:
        """A new keymap with ``keymap_options`` and these options."""
        return self.keymap_type()(**{**self.keymap_options, **options})

    def option_sets(self) -> list[dict[str, Any]]:
        """Every combination of ``typed``, ``flat`` and ``sentinel`` the keymap supports."""
        flats = (True, False) if self.accepts_unhashable else (True,)
        return [
            {"typed": typed, "flat": flat, "sentinel": sentinel}
            for typed in (False, True)
            for flat in flats
            for sentinel in (NOSENTINEL, SENTINEL)
        ]

    def calls(self) -> list[Call]:
        """Calls that differ from one another; with unhashable ones where keys allow them."""
        return _CALLS + (_UNHASHABLE_CALLS if self.accepts_unhashable else [])

    def klepto_options(self) -> list[dict[str, Any]]:
        """The option sets of the differential check against klepto's counterpart."""
        stub = self.keymap_type().__stub__
        return [
            {
                "typed": typed,
                "flat": flat,
                "sentinel": sentinel,
                **({stub: selector} if stub else {}),
            }
            for selector in self.klepto_selector_values
            for typed in (False, True)
            for flat in (True, False)
            for sentinel in (NOSENTINEL, SENTINEL)
        ]

    def compare_with_klepto(
        self, options: dict[str, Any], call: Call, ours: tuple[str, Any], theirs: tuple[str, Any]
    ) -> None:
        """Assert our outcome of ``call`` is klepto's: the same key (type, repr) or error type.

        ``ours`` and ``theirs`` are ``("ok", key)`` or ``("error", exception type)``.
        """
        kk = pytest.importorskip("klepto.keymaps")
        assert ours[0] == theirs[0], (ours, theirs)
        if ours[0] == "ok":
            expected = _as_ours(theirs[1], kk)
            assert ours[1] == expected
            assert type(ours[1]) is type(expected)
            assert repr(ours[1]) == repr(expected)
        else:
            assert ours[1] is theirs[1]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrize the differential check by option set (pytest calls this hook)."""
        if "klepto_options" in metafunc.fixturenames:
            sets = self.klepto_options() if self.klepto_name else [None]
            metafunc.parametrize("klepto_options", sets, ids=repr)

    # -- the contract ---------------------------------------------------------------

    def test_resolves_by_name_as_a_keymap(self) -> None:
        from klepto_core import keymaps

        factory = self.keymap_type()
        assert issubclass(factory, Keymap)
        assert factory.name == self.keymap_name
        assert self.keymap_name in keymaps.__all__
        assert getattr(keymaps, self.keymap_name) is factory
        if self.lossy is not None:
            assert self.keymap().lossy is self.lossy
        if self.identity is not None:
            assert self.keymap().identity is self.identity

    def test_options_are_kept(self) -> None:
        for options in self.option_sets():
            km = self.keymap(**options)
            assert (km.typed, km.flat, km.sentinel) == (
                options["typed"],
                options["flat"],
                options["sentinel"],
            )
        assert self.keymap().sentinel is NOSENTINEL

    def test_equal_calls_give_equal_keys(self) -> None:
        for options in self.option_sets():
            for args, kwds in self.calls():
                first = self.keymap(**options)(*args, **kwds)
                again_args, again_kwds = copy.deepcopy((args, kwds))
                second = self.keymap(**options)(*again_args, **again_kwds)
                assert first == second, (options, args, kwds)
                assert hash(first) == hash(second)
                memo = self.keymap(**options).memo_key(*args, **kwds)
                assert memo == self.keymap(**options).memo_key(*again_args, **again_kwds)

    def test_different_calls_give_different_keys(self) -> None:
        for options in self.option_sets():
            km = self.keymap(**options)
            memos = [km.memo_key(*args, **kwds) for args, kwds in self.calls()]
            keys = [km(*args, **kwds) for args, kwds in self.calls()]
            for i, memo in enumerate(memos):
                others = memos[:i] + memos[i + 1 :]
                assert memo not in others, (options, self.calls()[i])
                if not km.lossy:
                    # an exact key is what the cache stores; it must not collide either
                    assert memo == keys[i]

    def test_keys_are_hashable_and_find_their_entry(self) -> None:
        for options in self.option_sets():
            memory: dict[Hashable, int] = {}
            for n, (args, kwds) in enumerate(self.calls()):
                hash(self.keymap(**options)(*args, **kwds))
                memory[self.keymap(**options).memo_key(*args, **kwds)] = n
            for n, (args, kwds) in enumerate(self.calls()):
                assert memory[self.keymap(**options).memo_key(*args, **kwds)] == n

    def test_the_key_is_the_encoded_formatted_call(self) -> None:
        for options in self.option_sets():
            km = self.keymap(**options)
            for args, kwds in self.calls():
                formatted = km.format(args, kwds)
                assert km(*args, **kwds) == km.encode_key(formatted)
                expected = formatted if km.lossy else km.encode_key(formatted)
                assert km.memo_key(*args, **kwds) == expected

    def test_typed_tells_argument_types_apart(self) -> None:
        for flat in (True, False):
            km = self.keymap(typed=True, flat=flat)
            assert km.memo_key(1) != km.memo_key(1.0)
            assert km.memo_key(1) != km.memo_key(True)
            assert km.memo_key(x=1) != km.memo_key(x=1.0)
            assert km.memo_key(1, 2) == self.keymap(typed=True, flat=flat).memo_key(1, 2)

    def test_flat_false_or_a_sentinel_tells_positions_from_keywords(self) -> None:
        for options in ({"flat": False}, {"sentinel": SENTINEL}):
            km = self.keymap(**options)
            assert km.memo_key(1, "c", 2) != km.memo_key(1, c=2), options
        # klepto's default flat key joins the two parts: the same tuple for both calls
        km = self.keymap()
        assert km.format((1, "c", 2), {}) == km.format((1,), {"c": 2})

    def test_keymap_pickles_with_its_options(self) -> None:
        for options in self.option_sets():
            km = self.keymap(**options)
            for dumps in (pickle.dumps, copy.copy, copy.deepcopy):
                clone = pickle.loads(dumps(km)) if dumps is pickle.dumps else dumps(km)
                assert type(clone) is type(km) and repr(clone) == repr(km)
                assert (clone.typed, clone.flat) == (km.typed, km.flat)
                assert clone.sentinel is km.sentinel
                for args, kwds in self.calls():
                    assert clone(*args, **kwds) == km(*args, **kwds), (options, args, kwds)

    def test_same_keys_in_a_fresh_interpreter(self) -> None:
        if not self.stable:
            pytest.skip("the keymap's keys depend on the process (e.g. the hash seed)")
        option_sets = [{**self.keymap_options, **options} for options in self.option_sets()]
        calls = self.calls()
        here = [[self.keymap(**options)(*a, **k) for a, k in calls] for options in option_sets]
        payload = pickle.dumps((self.keymap_type(), option_sets, calls))
        for seed in ("1", "2"):
            env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=os.pathsep.join(sys.path))
            done = subprocess.run(
                [sys.executable, "-c", _KEYS_ELSEWHERE],
                input=payload,
                env=env,
                capture_output=True,
                check=True,
                timeout=120,
            )
            assert pickle.loads(bytes.fromhex(done.stdout.decode())) == here, seed

    def test_no_call_gets_another_calls_result_under_a_decorator(self) -> None:
        """Arguments whose repr is lossy (a numpy array's summary, an address) or that have
        no hash never share a key with a different argument: issue 10's reproduction."""
        np = pytest.importorskip("numpy")
        a = np.arange(2000.0)
        b = a.copy()
        b[1000] = -1
        arguments = [a, b, _Opaque(1), _Opaque(2), [1, 2], [1, 3]]
        for options in self.option_sets():
            decorate = decorator_class(defaults.UNBOUNDED_POLICY)(keymap=self.keymap(**options))
            g = decorate(_counter())
            results = [g(x) for x in arguments]
            assert results == list(range(1, len(arguments) + 1)), (options, results)
            assert g(a.copy()) == 1, options  # equal content: a hit
            # a hashable object is keyed by its own ==: by content (a hit) or by identity (a miss)
            assert g(_Opaque(2)) in (4, len(arguments) + 1), options

    def test_keys_equal_kleptos(self, klepto_options: dict[str, Any] | None) -> None:
        if klepto_options is None:
            pytest.skip("no klepto keymap to compare with")
        kk = pytest.importorskip("klepto.keymaps")
        pytest.importorskip("hypothesis")
        from hypothesis import given, settings
        from hypothesis import strategies as st

        scalars = st.one_of(st.integers(), st.text(max_size=6), st.floats(allow_nan=False))
        values = st.recursive(
            scalars, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6
        )
        names = st.from_regex(r"[a-z][a-z0-9_]{0,4}", fullmatch=True).filter(lambda n: n != "self")
        options = {**self.keymap_options, **klepto_options}
        with_sentinel = options["sentinel"] is SENTINEL
        theirs_options = dict(options, sentinel=kk.SENTINEL if with_sentinel else kk.NOSENTINEL)
        theirs_class = getattr(kk, str(self.klepto_name))

        @settings(max_examples=self.klepto_examples, deadline=None)
        @given(
            args=st.lists(values, max_size=4).map(tuple),
            kwds=st.dictionaries(names, values, max_size=3),
        )
        def check(args: tuple[Any, ...], kwds: dict[str, Any]) -> None:
            ours = _outcome(lambda: self.keymap(**options)(*args, **kwds))
            theirs = _outcome(lambda: theirs_class(**theirs_options)(*args, **kwds))
            self.compare_with_klepto(options, (args, kwds), ours, theirs)

        check()


def __getattr__(name: str) -> Any:
    # the archive suite lives in its own module; reachable from here for third parties
    if name == "ArchiveConformance":
        from klepto_core.testing_archive import ArchiveConformance

        return ArchiveConformance
    raise AttributeError(f"module 'klepto_core.testing' has no attribute {name!r}")
