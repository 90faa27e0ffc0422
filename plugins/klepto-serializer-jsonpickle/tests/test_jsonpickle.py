"""The jsonpickle serializer plugin: klepto_core's serializer suite, JSON with type tags."""

from __future__ import annotations

import json

from klepto_core.base.serializer import get_serializer
from klepto_core.testing import SerializerConformance


class TestJsonpickleSerializerConformance(SerializerConformance):
    serializer_name = "jsonpickle"
    roundtrips_any = False
    # type tags keep what plain JSON loses: tuples, sets, non-str dict keys
    extra_values = ((1, "a"), {1, 2}, {1: "one", (2, 3): "pair"})
    load_error = ValueError  # json.JSONDecodeError
    lazy_modules = ("jsonpickle",)

    def unserializable(self) -> list[object]:
        return []  # jsonpickle writes a tag for anything (even where it cannot read it back)


def test_output_is_json_text() -> None:
    json.loads(get_serializer("jsonpickle").dumps({"a": (1, 2)}))
