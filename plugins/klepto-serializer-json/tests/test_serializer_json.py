"""The json serializer plugin, found by name through the registry."""

from __future__ import annotations

import math

import pytest

from klepto_core.errors import SerializationError
from klepto_core.serializer import Serializer, get_serializer

VALUES = [None, True, 0, -7, 2**70, 1.5, "", "text é", [1, [2, "x"]], {"a": [1, 2], "b": None}]


def test_resolves_by_name_as_a_serializer() -> None:
    ser = get_serializer("json")
    assert isinstance(ser, Serializer)
    assert ser.name == "json"
    assert ser.roundtrips_any is False


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_json_like_values_round_trip(value: object) -> None:
    ser = get_serializer("json")
    data = ser.dumps(value)
    assert isinstance(data, bytes)
    assert ser.loads(data) == value


def test_float_specials_round_trip() -> None:
    ser = get_serializer("json")
    assert ser.loads(ser.dumps(float("inf"))) == float("inf")
    assert math.isnan(ser.loads(ser.dumps(float("nan"))))


@pytest.mark.parametrize(
    "value",
    [(1, 2), {1: "int key"}, {"a": (1,)}, b"bytes", {1, 2}, object(), 3 + 4j, [1, {2: 3}]],
    ids=repr,
)
def test_values_json_would_change_are_refused(value: object) -> None:
    with pytest.raises(SerializationError, match="json"):
        get_serializer("json").dumps(value)


def test_json_is_chosen_for_a_string_protocol_as_klepto_did() -> None:
    assert get_serializer(None, protocol="json").name == "json"


def test_output_is_plain_utf8_json() -> None:
    assert get_serializer("json").dumps({"é": [1, None]}) == '{"é": [1, null]}'.encode()
