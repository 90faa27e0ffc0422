"""The plain keymap and recording function the conformance suites call through."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


def call_key(*args: Any, **kwds: Any) -> Hashable:
    """A plain keymap for the suite: the arguments themselves, keywords sorted by name."""
    return (args, tuple(sorted(kwds.items())))


def _value(x: int) -> int:
    return 7 * x + 1


def _key(x: int) -> Hashable:
    """The key :func:`call_key` gives a call ``f(x)`` of a one-parameter function."""
    return call_key(x=x)


def _recording() -> tuple[Callable[[int], int], list[int]]:
    """A one-parameter function and the list of the arguments it was computed for."""
    computed: list[int] = []

    def func(x: int) -> int:
        computed.append(x)
        return _value(x)

    return func, computed


def _arg(key: Any) -> Any:
    """The argument ``x`` back from a key made by :func:`call_key`."""
    args, kwds = key
    return args[0] if args else kwds[0][1]


