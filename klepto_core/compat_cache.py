"""klepto's decorator classes (``lru_cache``, ``lfu_cache``, ...) built from policy plugins.

``klepto_core.<name>_cache`` exists for every installed policy ``<name>``; the
class is made on first access by :func:`decorator_class`, so a third-party
policy gets its klepto-style decorator for free.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

from klepto_core import defaults
from klepto_core.cachemap import as_cache
from klepto_core.errors import InvalidMaxsizeError
from klepto_core.keymap import Keymap
from klepto_core.policy import Policy
from klepto_core.registry import REGISTRY

_UNSET: Any = object()


def check_maxsize(maxsize: object) -> int | None:
    """``maxsize`` as an int or None; anything else is an InvalidMaxsizeError."""
    if maxsize is None:
        return None
    if isinstance(maxsize, bool) or not isinstance(maxsize, int):
        raise InvalidMaxsizeError(f"maxsize must be an int or None, got {maxsize!r}")
    return maxsize


def resolve_keymap(keymap: object, safe: bool) -> Any:
    """A keymap from None (the default), a registered name, a keymap class or a keymap object."""
    if keymap is None:
        name = defaults.SAFE_KEYMAP if safe else defaults.KEYMAP
        factory = REGISTRY.resolve("keymap", name).factory
        return factory(flat=not safe)
    if isinstance(keymap, str):
        return REGISTRY.resolve("keymap", keymap).factory()
    if isinstance(keymap, type) and issubclass(keymap, Keymap):
        return keymap()
    if not callable(keymap):
        raise TypeError(f"keymap must be a keymap, a keymap name or a callable, got {keymap!r}")
    return keymap


class CacheDecorator:
    """A klepto-style decorator: ``lru_cache(maxsize, cache, keymap, ignore, tol, deep, purge)``.

    Beyond klepto, two keyword-only options mean what they mean to ``cached()``:
    ``single_flight=True`` makes concurrent misses of one key (threads, or
    processes sharing the archive) compute it once while the others wait and
    load the result; ``observers`` picks who hears the cache's events (None:
    every installed observer plugin).
    """

    policy_name: ClassVar[str] = ""
    safe: ClassVar[bool] = False
    __state__: dict[str, Any]

    def __new__(cls, *args: Any, **kwds: Any) -> Any:
        maxsize = kwds.get("maxsize", args[0] if args else _UNSET)
        target = cls
        if cls.policy_name not in (defaults.DISABLED_POLICY, defaults.UNBOUNDED_POLICY):
            if maxsize == 0 and not isinstance(maxsize, bool):
                target = decorator_class(defaults.DISABLED_POLICY, cls.safe)
            elif maxsize is None:
                target = decorator_class(defaults.UNBOUNDED_POLICY, cls.safe)
        obj = object.__new__(target)
        if target is not cls:
            target.__init__(obj, *args, **kwds)  # Python skips __init__ for another class
        return obj

    def __init__(
        self,
        maxsize: Any = _UNSET,
        cache: Any = None,
        keymap: Any = None,
        ignore: Any = None,
        tol: int | None = None,
        deep: bool = False,
        purge: Any = _UNSET,
        *,
        single_flight: bool = False,
        observers: Any = None,
    ) -> None:
        if getattr(self, "__state__", None) is not None:
            return  # already initialised by __new__'s redirection
        policy_type: type[Policy] = REGISTRY.resolve("policy", self.policy_name).factory
        forced = getattr(policy_type, "forced", {})
        if maxsize is _UNSET:
            maxsize = policy_type.default_maxsize
        if purge is _UNSET:
            purge = policy_type.default_purge
        maxsize = forced.get("maxsize", check_maxsize(maxsize))
        purge = bool(forced.get("purge", purge))
        if tol is not None and (isinstance(tol, bool) or not isinstance(tol, int)):
            raise InvalidMaxsizeError(f"tol must be an int or None, got {tol!r}")
        self.__state__ = {
            "maxsize": maxsize,
            "cache": as_cache(cache),
            "keymap": resolve_keymap(keymap, self.safe),
            "ignore": ignore,
            "tol": tol,
            "deep": bool(deep),
            "purge": purge,
        }
        self._policy_type = policy_type
        #: the options beyond klepto's, only those not at their default (kept out of __state__)
        self._extras: dict[str, Any] = {}
        if single_flight:
            self._extras["single_flight"] = True
        if observers is not None:
            from klepto_core.observer import Observer, resolve_observers

            if not isinstance(observers, str | Observer):
                observers = list(observers)  # a generator is read once, here
            resolve_observers(observers)  # bad names fail here; kept as given, so a pickled
            self._extras["observers"] = observers  # decorator finds the process's plugin

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        from klepto_core.decorator import memoize

        state = self.__state__
        policy = self._policy_type(state["maxsize"])
        return memoize(
            func, policy=policy, safe=self.safe, **self._extras, **state
        )

    def __reduce__(self) -> tuple[Any, ...]:
        s = self.__state__
        args = (s["maxsize"], s["cache"], s["keymap"], s["ignore"], s["tol"], s["deep"], s["purge"])
        if self._extras:
            return (functools.partial(type(self), **self._extras), args)
        return (type(self), args)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return functools.partial(self.__call__, obj)

    def __repr__(self) -> str:
        s = self.__state__
        extra = "".join(f", {name}={value!r}" for name, value in self._extras.items())
        return f"{type(self).__name__}(maxsize={s['maxsize']!r}, purge={s['purge']!r}{extra})"


@functools.cache
def decorator_class(policy_name: str, safe: bool = False) -> type[CacheDecorator]:
    """The klepto-style decorator class for ``policy_name`` (``lru`` -> ``lru_cache``)."""
    REGISTRY.resolve("policy", policy_name)  # unknown names fail here, with the installed list
    name = f"{policy_name}_cache"
    module = "klepto_core.safe" if safe else "klepto_core"
    doc = (
        f"Memoize with the {policy_name!r} eviction policy"
        + (" (safe: calls that cannot be keyed are computed, not cached)." if safe else ".")
    )
    cls = type(name, (CacheDecorator,), {"policy_name": policy_name, "safe": safe, "__doc__": doc})
    cls.__module__ = module
    cls.__qualname__ = name
    return cls


def policy_decorator_names() -> list[str]:
    """``<name>_cache`` for every installed policy."""
    return [f"{name}_cache" for name in REGISTRY.names("policy")]
