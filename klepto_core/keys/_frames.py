"""pandas objects by content, for :mod:`klepto_core.keys.content` (which passes pandas in).

A Series is its name, index, dtype and values; a DataFrame its columns, index
and each column's dtype and values; an Index its type, names, dtype and values
(a RangeIndex by start, stop and step, a MultiIndex level by level). Values
backed by numpy are hashed in place; a categorical by its categories, codes and
ordering; other extension arrays by their values as numpy gives them and their
missing-value mask.
"""

from __future__ import annotations

from typing import Any

from klepto_core.keys import content


def feed(obj: Any, h: Any, pd: Any, np: Any) -> None:
    """Write a Series, DataFrame or Index into the hasher ``h``."""
    content._text(h, b"P", content._qualname(type(obj)))
    if isinstance(obj, pd.DataFrame):
        feed(obj.columns, h, pd, np)
        feed(obj.index, h, pd, np)
        h.update(content._u64(obj.shape[1]))
        for i in range(obj.shape[1]):
            _feed_values(obj.iloc[:, i].array, h, pd, np)
        return
    if isinstance(obj, pd.Series):
        content._feed(obj.name, h)
        feed(obj.index, h, pd, np)
        _feed_values(obj.array, h, pd, np)
        return
    content._feed(list(obj.names), h)
    if isinstance(obj, pd.MultiIndex):
        h.update(content._u64(obj.nlevels))
        for level in range(obj.nlevels):
            feed(obj.get_level_values(level), h, pd, np)
        return
    if isinstance(obj, pd.RangeIndex):
        content._feed((obj.start, obj.stop, obj.step), h)
        return
    _feed_values(obj.array, h, pd, np)


def _feed_values(values: Any, h: Any, pd: Any, np: Any) -> None:
    dtype = values.dtype
    content._text(h, b"v", repr(dtype).encode("utf-8", "surrogatepass"))
    if isinstance(dtype, np.dtype):
        content._feed_array(values.to_numpy(), h, np)
        return
    if isinstance(values, pd.Categorical):
        feed(values.categories, h, pd, np)
        content._feed(bool(values.ordered), h)
        content._feed_array(values.codes, h, np)
        return
    content._feed_array(np.asarray(values.isna()), h, np)
    content._feed_array(np.asarray(values, dtype=object), h, np)
