"""The dill serializer plugin: klepto_core's serializer suite, then what is dill's own."""

from __future__ import annotations

import pickle
import subprocess
import sys

from klepto_core.base.serializer import get_serializer
from klepto_core.testing import SerializerConformance


class TestDillSerializerConformance(SerializerConformance):
    serializer_name = "dill"
    roundtrips_any = True
    functions = True
    protocol_headers = {2: b"\x80\x02", 4: b"\x80\x04"}
    load_error = pickle.UnpicklingError
    lazy_modules = ("dill",)


def test_dill_is_the_default_serializer() -> None:
    assert get_serializer().name == "dill"


def test_output_is_readable_by_dill_itself() -> None:
    import dill

    assert dill.loads(get_serializer("dill").dumps({"a": (1, 2)})) == {"a": (1, 2)}


def test_objects_of_main_are_stored_by_value() -> None:
    code = """
import sys
from klepto_core.base.serializer import get_serializer
class Local:
    x = 5
sys.stdout.buffer.write(get_serializer('dill').dumps(Local()))
"""
    data = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert get_serializer("dill").loads(data).x == 5  # this process has no such class
