"""The jsonpickle serializer plugin, found by name through the registry."""

from __future__ import annotations

import math

import pytest

from klepto_core.serializer import Serializer, get_serializer

VALUES = [None, True, 0, -7, 2**70, 1.5, "", "text é", [1, [2, "x"]], {"a": [1, 2], "b": None}]


def test_resolves_by_name_as_a_serializer() -> None:
    ser = get_serializer("jsonpickle")
    assert isinstance(ser, Serializer)
    assert ser.name == "jsonpickle"
    assert ser.roundtrips_any is False


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_json_like_values_round_trip(value: object) -> None:
    ser = get_serializer("jsonpickle")
    data = ser.dumps(value)
    assert isinstance(data, bytes)
    assert ser.loads(data) == value


def test_float_specials_round_trip() -> None:
    ser = get_serializer("jsonpickle")
    assert ser.loads(ser.dumps(float("inf"))) == float("inf")
    assert math.isnan(ser.loads(ser.dumps(float("nan"))))


def test_tuples_sets_and_non_str_keys_round_trip() -> None:
    ser = get_serializer("jsonpickle")
    for value in [(1, "a"), {1, 2}, {1: "one", (2, 3): "pair"}]:
        assert ser.loads(ser.dumps(value)) == value


def test_output_is_json_text() -> None:
    import json

    json.loads(get_serializer("jsonpickle").dumps({"a": (1, 2)}))


def test_plugin_import_does_not_import_jsonpickle() -> None:
    import subprocess
    import sys

    code = "import klepto_serializer_jsonpickle, sys; print('jsonpickle' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
