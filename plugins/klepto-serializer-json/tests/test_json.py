"""The json serializer plugin: klepto_core's serializer suite, then what JSON refuses."""

from __future__ import annotations

import pytest

from klepto_core.base.serializer import get_serializer
from klepto_core.errors import SerializationError
from klepto_core.testing import SerializerConformance


class TestJsonSerializerConformance(SerializerConformance):
    serializer_name = "json"
    roundtrips_any = False
    load_error = ValueError  # json.JSONDecodeError


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


def test_keys_come_back_as_tuples_where_json_has_arrays() -> None:
    ser = get_serializer("json")
    assert ser.dumps_key(("ns", (1, "a"))) == b'["ns", [1, "a"]]'
    assert ser.loads_key(b'["ns", [1, "a"]]') == ("ns", (1, "a"))
