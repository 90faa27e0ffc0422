"""Properties of content keys, for every keymap and ``safe``: a wrong shared key never happens.

Arrays and frames drawn by hypothesis' numpy and pandas strategies: equal ones built
separately (and in another memory order: the documented choice is that order does
not count) hit; ones that differ in one element, in dtype, in shape, or in a name
miss. Each example is checked through every decorator a user can cache ``f(a)`` with.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402
from hypothesis.extra import pandas as hpd  # noqa: E402

import klepto_core  # noqa: E402
from klepto_core import safe  # noqa: E402
from klepto_core.keymaps import hashmap, keymap, picklemap, stringmap  # noqa: E402

DECORATORS: dict[str, Any] = {
    "lru_cache()": lambda: klepto_core.lru_cache(),
    "safe.lru_cache()": lambda: safe.lru_cache(),
    "cached(keymap='stringmap')": lambda: klepto_core.cached(keymap="stringmap"),
    "cached(keymap='picklemap')": lambda: klepto_core.cached(keymap="picklemap"),
    "picklemap(serializer='pickle')": lambda: klepto_core.lru_cache(
        keymap=picklemap(serializer="pickle")
    ),
    "picklemap(serializer='dill')": lambda: klepto_core.lru_cache(
        keymap=picklemap(serializer="dill")
    ),
    "hashmap(algorithm='md5')": lambda: klepto_core.lru_cache(keymap=hashmap(algorithm="md5")),
    "hashmap(algorithm='stable')": lambda: klepto_core.lru_cache(
        keymap=hashmap(algorithm="stable")
    ),
    "hashmap(typed=True)": lambda: klepto_core.lru_cache(keymap=hashmap(typed=True)),
    "keymap()": lambda: klepto_core.lru_cache(keymap=keymap()),
    "stringmap(flat=False)": lambda: klepto_core.lru_cache(keymap=stringmap(flat=False)),
    "inf_cache()": lambda: klepto_core.inf_cache(),
}

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

dtypes = st.one_of(
    hnp.scalar_dtypes(),
    hnp.byte_string_dtypes(max_len=4),
    hnp.unicode_string_dtypes(max_len=4),
    hnp.array_dtypes(subtype_strategy=hnp.scalar_dtypes(), max_size=3),  # structured
)
arrays = dtypes.flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
)


def counting(name: str) -> Any:
    calls: list[int] = []

    def f(x: Any) -> int:
        calls.append(1)
        return len(calls)

    return DECORATORS[name]()(f)


def same_everywhere(first: Any, equal: list[Any], different: list[Any]) -> None:
    """Through every decorator: ``first`` misses, each ``equal`` one hits, each
    ``different`` one misses (gets its own result, never ``first``'s)."""
    for name in DECORATORS:
        f = counting(name)
        assert f(first) == 1, name
        for other in equal:
            assert f(other) == 1, (name, "an equal argument must hit")
        for n, other in enumerate(different, start=2):
            assert f(other) == n, (name, "a different argument must miss", other)


def rebuilt(a: Any) -> Any:
    """An equal array built separately: from its bytes, in a new buffer."""
    return np.frombuffer(bytearray(a.tobytes()), dtype=a.dtype).reshape(a.shape)


@SETTINGS
@given(a=arrays)
def test_equal_arrays_built_separately_and_in_another_memory_order_hit(a: Any) -> None:
    equal = [a.copy(), rebuilt(a), np.array(a, order="F")]
    if a.ndim >= 1 and a.shape[0] > 0:
        spread = np.zeros((2 * a.shape[0], *a.shape[1:]), dtype=a.dtype)
        spread[::2] = a
        equal.append(spread[::2])  # a strided view of equal values
    same_everywhere(a, equal, [])


@SETTINGS
@given(a=arrays.filter(lambda a: a.size > 0), data=st.data())
def test_arrays_differing_in_one_element_miss(a: Any, data: Any) -> None:
    index = data.draw(st.integers(0, a.size - 1))
    element = data.draw(hnp.from_dtype(a.dtype))
    b = a.copy()
    b.reshape(-1)[index] = element
    assume(b.tobytes() != a.tobytes())
    same_everywhere(a, [], [b])


@SETTINGS
@given(a=hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(max_dims=2, max_side=4)), data=st.data())
def test_arrays_differing_in_dtype_or_shape_miss(a: Any, data: Any) -> None:
    other = data.draw(hnp.scalar_dtypes().filter(lambda d: d != a.dtype))
    different = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            different.append(a.astype(other))
        except (TypeError, ValueError, OverflowError):
            pass
    different.append(a.reshape(-1) if a.ndim > 1 else a.reshape(1, -1))
    if a.ndim > 1:
        different.append(a[None])
    same_everywhere(a, [], different)


columns = [
    hpd.column("x", dtype=float),
    hpd.column("n", dtype=int),
    hpd.column("s", elements=st.text(max_size=3)),
]
frames = hpd.data_frames(columns=columns, index=hpd.range_indexes(min_size=1, max_size=6))


@pytest.mark.slow
@SETTINGS
@given(df=frames, data=st.data())
def test_frames_equal_hit_and_frames_differing_in_a_cell_dtype_or_name_miss(
    df: Any, data: Any
) -> None:
    equal = [df.copy(), pd.DataFrame({c: list(df[c]) for c in df.columns}, index=df.index)]
    row = data.draw(st.integers(0, len(df) - 1))
    changed = df.copy()
    old = changed.iat[row, 1]
    changed.iat[row, 1] = old + 1 if old < 2**62 else old - 1
    different = [
        changed,
        df.rename(columns={"x": "y"}),
        df.rename_axis("idx"),
        df.astype({"n": "float64"}),
        df[["n", "x", "s"]],
        df.set_axis(df.index + 1),
    ]
    same_everywhere(df, equal, different)


@pytest.mark.slow
@SETTINGS
@given(
    s=hpd.series(dtype=float, index=hpd.range_indexes(min_size=1, max_size=6)),
    name=st.text(max_size=3),
)
def test_series_differing_in_name_or_index_miss(s: Any, name: str) -> None:
    named = s.rename(name)
    different = [named.rename(name + "!"), named.set_axis(named.index * 2 + 1)]
    same_everywhere(named, [named.copy()], different)
