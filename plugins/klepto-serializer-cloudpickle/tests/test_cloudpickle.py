"""The cloudpickle serializer plugin: klepto_core's serializer suite, functions by value."""

from __future__ import annotations

import pickle

from klepto_core.base.serializer import get_serializer
from klepto_core.testing import SerializerConformance


class TestCloudpickleSerializerConformance(SerializerConformance):
    serializer_name = "cloudpickle"
    roundtrips_any = True
    functions = True
    protocol_headers = {2: b"\x80\x02", 4: b"\x80\x04"}
    load_error = pickle.UnpicklingError
    lazy_modules = ("cloudpickle",)


def test_output_is_readable_by_plain_pickle() -> None:
    assert pickle.loads(get_serializer("cloudpickle").dumps({"a": (1, 2)})) == {"a": (1, 2)}
