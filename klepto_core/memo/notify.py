"""Which observers a decorated function reports to, and the per-event callables it calls.

Settled once, at decoration: an installed observer plugin is made once per
process; an event no observer overrides is None, so the wrapper skips it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from klepto_core.base.observer import EVENTS, Observer
from klepto_core.errors import InvalidArgumentError
from klepto_core.registry import REGISTRY

_instances: dict[tuple[str, Any], Observer] = {}
_broken: dict[str, str] = {}  # installed plugins that failed, each warned about once
_instances_lock = threading.Lock()


def _instance(name: str) -> Observer:
    """The process's one observer made by the installed plugin ``name``."""
    spec = REGISTRY.resolve("observer", name)
    with _instances_lock:
        made = _instances.get((name, spec.factory))
        if made is None:
            made = spec.factory()
            if not isinstance(made, Observer):
                raise InvalidArgumentError(
                    f"observer plugin {name!r} made {made!r}, not a klepto_core.plugin.Observer"
                )
            _instances[(name, spec.factory)] = made
    return made


def installed_observers() -> list[Observer]:
    """One observer per installed observer plugin (each made once per process).

    A plugin that fails to load or to make its observer is left out with one
    warning, so a broken metrics plugin never stops a program from caching;
    naming it in ``observers=`` raises its error instead.
    """
    found = []
    for name in REGISTRY.names("observer"):
        if name in _broken:
            continue  # failed before: not retried on every decoration
        try:
            found.append(_instance(name))
        except Exception as exc:
            _warn_broken(name, exc)
    return found


def _warn_broken(name: str, exc: Exception) -> None:
    import warnings

    with _instances_lock:
        if name in _broken:
            return
        _broken[name] = str(exc)
    warnings.warn(
        f"observer plugin {name!r} is left out: {type(exc).__name__}: {exc}",
        RuntimeWarning,
        stacklevel=4,
    )


def resolve_observers(observers: Iterable[Any] | None) -> list[Observer]:
    """``observers`` as objects: None means every installed one; names pick installed plugins."""
    if observers is None:
        return installed_observers()
    if isinstance(observers, str | Observer):
        observers = [observers]
    out: list[Observer] = []
    for item in observers:
        if isinstance(item, str):
            out.append(_instance(item))
        elif isinstance(item, Observer):
            out.append(item)
        else:
            raise InvalidArgumentError(
                f"observers must be Observer objects or observer plugin names, got {item!r}"
            )
    return out


class Notifier:
    """A function's observers, grouped by event: each attribute is a callable or None.

    An event no observer overrides is None, so the decorator skips it with one
    test instead of calling no-op methods.
    """

    __slots__ = ("evict", "hit", "load", "miss")
    hit: Callable[[Hashable], None] | None
    miss: Callable[[Hashable], None] | None
    load: Callable[[Hashable], None] | None
    evict: Callable[[Hashable], None] | None

    def __init__(self, func: Callable[..., Any], observers: list[Observer]) -> None:
        for event in EVENTS:
            setattr(self, event, _fan_out(func, event, observers))


def _fan_out(
    func: Callable[..., Any], event: str, observers: list[Observer]
) -> Callable[[Hashable], None] | None:
    base = getattr(Observer, event)
    methods = [
        getattr(o, event) for o in observers if getattr(type(o), event, base) is not base
    ]
    if not methods:
        return None
    if len(methods) == 1:
        only = methods[0]
        return lambda key: only(func, key)

    def all_of(key: Hashable) -> None:
        for method in methods:
            method(func, key)

    return all_of


def notifier(func: Callable[..., Any], observers: Iterable[Any] | None) -> Notifier | None:
    """The events ``func`` reports, or None when no observer wants any (the usual case)."""
    found = resolve_observers(observers)
    if not found:
        return None
    made = Notifier(func, found)
    return made if any(getattr(made, event) is not None for event in EVENTS) else None
