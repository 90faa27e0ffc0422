"""The conformance suite a serializer plugin's tests subclass: ``SerializerConformance``."""

from __future__ import annotations

import dataclasses
import math
import pickle
import subprocess
import sys
from collections.abc import Hashable
from typing import Any, ClassVar

import pytest

from klepto_core.base.serializer import Serializer, get_serializer
from klepto_core.errors import SerializationError
from klepto_core.registry import REGISTRY
from klepto_core.testing.archive import ANY_KEYS, ANY_VALUES, JSON_VALUES


@dataclasses.dataclass(frozen=True)
class _Point:
    """An instance of a class importable by name: any pickle-capable serializer stores it."""

    x: int


#: JSON's types beyond ``testing.archive.JSON_VALUES``: even a text format gives these back
_MORE_JSON_VALUES: list[Any] = [2**70, 1.5, "text é", [1, [2, "x"]], {"a": [1, 2], "b": None}]
#: picklable values beyond ``testing.archive.ANY_VALUES``
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
      round-trip ``testing.archive.ANY_VALUES`` and other picklable values
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
        values = [*JSON_VALUES, *_MORE_JSON_VALUES, *self.extra_values]
        if self.stores_any():
            values += [*ANY_VALUES, *_MORE_PICKLABLE_VALUES]
        return values

    def keys(self) -> list[Hashable]:
        """Keys that must come back from ``loads_key(dumps_key(key))`` equal and hashable."""
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

    def test_bulk_loads_match_one_at_a_time(self) -> None:
        # archives decode a whole load() with loads_many/loads_keys: same objects, same order
        ser = self.serializer()
        values = self.values()
        loaded = ser.loads_many([ser.dumps(value) for value in values])
        assert len(loaded) == len(values)
        for got, value in zip(loaded, values):
            assert _same(got, value), value
        keys = self.keys()
        assert ser.loads_keys([ser.dumps_key(k) for k in keys]) == keys
        assert ser.loads_many([]) == [] and ser.loads_keys([]) == []
        for bad in self.corrupt_payloads():
            with pytest.raises(self.load_error):
                ser.loads_many([ser.dumps(1), bad])

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
