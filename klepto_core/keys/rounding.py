"""Decorators that round float arguments before a call, so nearby inputs share a cache key.

``simple_round`` rounds top-level floats, ``shallow_round`` also floats one level
inside lists, tuples, sets and dicts, ``deep_round`` recurses. Unlike klepto,
strings, iterators, generators and numpy arrays are never mangled or consumed.
"""

from __future__ import annotations

import copy
import functools
import sys
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["deep_round", "shallow_round", "simple_round"]

Rounder = Callable[..., tuple[tuple[Any, ...], dict[str, Any]]]
ArgsRounder = Callable[[tuple[Any, ...], dict[str, Any]], tuple[tuple[Any, ...], dict[str, Any]]]

_SEQUENCES = (list, tuple, set, frozenset, deque)


def _rebuild(container: Any, items: list[Any]) -> Any:
    """Rebuild ``container`` from ``items`` with its own type; keep the original if that fails."""
    kind = type(container)
    if kind in (list, tuple, set, frozenset):
        return kind(items)
    try:
        if isinstance(container, tuple) and hasattr(container, "_fields"):  # namedtuple
            return kind(*items)
        if isinstance(container, deque):
            return kind(items, container.maxlen)
        return kind(items)
    except Exception:
        return container


def _round_float(value: Any, tol: int) -> Any:
    return round(value, tol) if isinstance(value, float) else value


def _shallow(value: Any, tol: int) -> Any:
    """Round ``value`` if it is a float, or the floats directly inside a list/tuple/set/dict."""
    if isinstance(value, float):
        return round(value, tol)
    if isinstance(value, dict):
        if type(value) is dict:
            return {k: _round_float(v, tol) for k, v in value.items()}
        try:
            rounded = copy.copy(value)  # keeps OrderedDict/defaultdict/Counter and their extras
            for k, v in value.items():
                if isinstance(v, float):
                    rounded[k] = round(v, tol)
        except Exception:
            return value
        return rounded
    if isinstance(value, (list, tuple, set, frozenset)):
        return _rebuild(value, [_round_float(v, tol) for v in value])
    return value


def _numpy_round(value: Any, tol: int) -> Any:
    """``np.round`` for float arrays; any other array (int, object, complex...) unchanged."""
    if value.dtype.kind == "f":
        return sys.modules["numpy"].round(value, tol)
    return value


def _is_ndarray(value: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.ndarray)


def _deep(value: Any, tol: int) -> Any:
    """Round every float reachable through lists, tuples, sets, deques, dicts and float arrays."""
    if isinstance(value, float):
        return round(value, tol)
    if isinstance(value, (str, bytes, bytearray, BaseException)):
        return value
    if isinstance(value, dict):  # like klepto, any dict comes back as a plain dict
        return {k: _deep(v, tol) for k, v in value.items()}
    if isinstance(value, _SEQUENCES):
        return _rebuild(value, [_deep(v, tol) for v in value])
    if _is_ndarray(value):
        return _numpy_round(value, tol)
    return value


def simple_round_factory(tol: int | None) -> Rounder:
    """Build ``f(*args, **kwds) -> (args, kwds)`` rounding only top-level float values."""

    def simple_round(*args: Any, **kwds: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (
            tuple([_round_float(a, tol) for a in args]),  # type: ignore[arg-type]
            {k: _round_float(v, tol) for k, v in kwds.items()},  # type: ignore[arg-type]
        )

    simple_round.tol = tol  # type: ignore[attr-defined]
    return simple_round


def shallow_round_factory(tol: int | None) -> Rounder:
    """Build ``f(*args, **kwds) -> (args, kwds)`` rounding floats at most one container deep."""

    def shallow_round(*args: Any, **kwds: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (
            tuple([_shallow(a, tol) for a in args]),  # type: ignore[arg-type]
            {k: _shallow(v, tol) for k, v in kwds.items()},  # type: ignore[arg-type]
        )

    shallow_round.tol = tol  # type: ignore[attr-defined]
    return shallow_round


def deep_round_factory(tol: int | None) -> Rounder:
    """Build ``f(*args, **kwds) -> (args, kwds)`` rounding floats at any depth."""

    def deep_round(*args: Any, **kwds: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (
            tuple([_deep(a, tol) for a in args]),  # type: ignore[arg-type]
            {k: _deep(v, tol) for k, v in kwds.items()},  # type: ignore[arg-type]
        )

    deep_round.tol = tol  # type: ignore[attr-defined]
    return deep_round


class _RoundingDecorator:
    """Shared behaviour of the three decorator classes: wrap ``f`` to round its inputs."""

    _factory: Callable[[int | None], Rounder]

    def __init__(self, tol: int | None = 0) -> None:
        self.__round__ = type(self)._factory(tol)

    def __call__(self, f: Callable[..., Any]) -> Callable[..., Any]:
        rounder = self.__round__

        def func(*args: Any, **kwds: Any) -> Any:
            if rounder.tol is None:  # type: ignore[attr-defined]
                return f(*args, **kwds)
            args, kwds = rounder(*args, **kwds)
            return f(*args, **kwds)

        func.__wrapped__ = f  # type: ignore[attr-defined]
        return func

    def __get__(self, obj: Any, objtype: type | None = None) -> Callable[..., Any]:
        return functools.partial(self.__call__, obj)

    def __reduce__(self) -> tuple[type, tuple[int | None]]:
        return (type(self), (self.__round__.tol,))  # type: ignore[attr-defined]


class simple_round(_RoundingDecorator):
    """Decorator rounding float arguments to ``tol`` digits; containers are left as they are."""

    _factory = staticmethod(simple_round_factory)


class shallow_round(_RoundingDecorator):
    """Decorator rounding float arguments and the floats directly inside list/tuple/set/dict."""

    _factory = staticmethod(shallow_round_factory)


class deep_round(_RoundingDecorator):
    """Decorator rounding every float inside the arguments, however deeply nested."""

    _factory = staticmethod(deep_round_factory)


def make_rounder(tol: int | None, deep: bool) -> ArgsRounder | None:
    """Return a fast ``(args, kwds) -> (args, kwds)`` rounder for cache keys, or None if no ``tol``.

    Shallow (``deep=False``) rounds top-level floats like :class:`simple_round`;
    deep rounds like :class:`deep_round`. Ints and bools are never rounded.
    """
    if tol is None:
        return None
    step = _deep if deep else _round_float

    def rounder(
        args: tuple[Any, ...], kwds: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if args:
            args = tuple([step(a, tol) for a in args])
        if kwds:
            kwds = {k: step(v, tol) for k, v in kwds.items()}
        return args, kwds

    return rounder
