"""Python source for plain values (klepto's serialized=False), read back exactly."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klepto_core.errors import SerializationError
from klepto_core.storage.pysource import from_source, to_source

scalars = st.none() | st.booleans() | st.integers() | st.text() | st.binary() | st.floats(allow_nan=False)
plain = st.recursive(
    scalars,
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(scalars, inner),
    max_leaves=20,
)


@given(plain)
def test_plain_values_read_back_equal(value: object) -> None:
    assert from_source(to_source(value)) == value


@pytest.mark.parametrize(
    "value",
    [("x", 5, "y", 5.0, int, float), {frozenset({1}): {2}}, set(), frozenset(), (1,), min, 3 + 4j],
    ids=repr,
)
def test_builtin_types_sets_and_specials(value: object) -> None:
    back = from_source(to_source(value))
    assert back == value and type(back) is type(value)


def test_float_specials() -> None:
    assert from_source(to_source(float("inf"))) == float("inf")
    assert math.isnan(from_source(to_source(float("nan"))))


@pytest.mark.parametrize("value", [lambda x: x, object(), [1, object()], {"k": range(3)}], ids=repr)
def test_values_without_source_are_refused(value: object) -> None:
    with pytest.raises(SerializationError, match="serialized=True"):
        to_source(value)
