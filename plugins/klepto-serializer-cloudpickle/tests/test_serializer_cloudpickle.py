"""The cloudpickle serializer plugin, found by name through the registry."""

from __future__ import annotations

import math

import pytest

from klepto_core.errors import SerializationError
from klepto_core.serializer import Serializer, get_serializer

VALUES = [None, True, 0, -7, 2**70, 1.5, "", "text é", [1, [2, "x"]], {"a": [1, 2], "b": None}]


def test_resolves_by_name_as_a_serializer() -> None:
    ser = get_serializer("cloudpickle")
    assert isinstance(ser, Serializer)
    assert ser.name == "cloudpickle"
    assert ser.roundtrips_any is True


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_json_like_values_round_trip(value: object) -> None:
    ser = get_serializer("cloudpickle")
    data = ser.dumps(value)
    assert isinstance(data, bytes)
    assert ser.loads(data) == value


def test_float_specials_round_trip() -> None:
    ser = get_serializer("cloudpickle")
    assert ser.loads(ser.dumps(float("inf"))) == float("inf")
    assert math.isnan(ser.loads(ser.dumps(float("nan"))))


class Point:
    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other.x == self.x


@pytest.mark.parametrize(
    "value",
    [(1, "a"), {1, 2}, frozenset({3}), b"\x00\xff", 3 + 4j, {(1, 2): "tuple key"}, Point(3)],
    ids=repr,
)
def test_python_objects_round_trip(value: object) -> None:
    ser = get_serializer("cloudpickle")
    assert ser.loads(ser.dumps(value)) == value


def test_protocol_is_honoured() -> None:
    assert get_serializer("cloudpickle", protocol=2).dumps(1)[:2] == b"\x80\x02"
    assert get_serializer("cloudpickle", protocol=4).dumps(1)[:2] == b"\x80\x04"


def test_lambdas_round_trip() -> None:
    ser = get_serializer("cloudpickle")
    f = ser.loads(ser.dumps(lambda x: x * 3))
    assert f(2) == 6


def test_closures_round_trip() -> None:
    k = 5

    def add(x: int) -> int:
        return x + k

    ser = get_serializer("cloudpickle")
    assert ser.loads(ser.dumps(add))(1) == 6


def test_unserializable_value_raises_serialization_error() -> None:
    with pytest.raises(SerializationError, match="cloudpickle"):
        get_serializer("cloudpickle").dumps(x for x in [1])


def test_plugin_import_does_not_import_cloudpickle() -> None:
    import subprocess
    import sys

    code = "import klepto_serializer_cloudpickle, sys; print('cloudpickle' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
