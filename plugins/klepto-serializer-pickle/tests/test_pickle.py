"""The pickle serializer plugin: klepto_core's serializer suite, then what is pickle's own."""

from __future__ import annotations

import pickle

import pytest

from klepto_core.base.serializer import get_serializer
from klepto_core.errors import SerializationError
from klepto_core.testing import SerializerConformance


class TestPickleSerializerConformance(SerializerConformance):
    serializer_name = "pickle"
    roundtrips_any = True
    protocol_headers = {2: b"\x80\x02", 4: b"\x80\x04"}
    load_error = pickle.UnpicklingError


def test_lambda_is_refused_with_serialization_error() -> None:
    with pytest.raises(SerializationError, match="pickle"):
        get_serializer("pickle").dumps(lambda x: x)


def test_default_protocol_is_pickles_default() -> None:
    assert get_serializer("pickle").dumps(1)[:2] == bytes([0x80, pickle.DEFAULT_PROTOCOL])
