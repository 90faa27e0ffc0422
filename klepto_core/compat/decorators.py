"""klepto's decorator classes (``lru_cache``, ``lfu_cache``, ...) built from policy plugins.

``klepto_core.<name>_cache`` exists for every installed policy ``<name>``; the
class is made on first access by :func:`decorator_class`, so a third-party
policy gets its klepto-style decorator for free.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

from klepto_core.memo.memory import as_memory
from klepto_core.memo.options import UNSET, Options, resolve_options
from klepto_core.memo.wrappers import memoize
from klepto_core.registry import REGISTRY, defaults


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
        maxsize = kwds.get("maxsize", args[0] if args else UNSET)
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
        maxsize: Any = UNSET,
        cache: Any = None,
        keymap: Any = None,
        ignore: Any = None,
        tol: int | None = None,
        deep: bool = False,
        purge: Any = UNSET,
        *,
        single_flight: bool = False,
        observers: Any = None,
        typed: bool = False,
        on_store_error: str = "warn",
    ) -> None:
        if getattr(self, "__state__", None) is not None:
            return  # already initialised by __new__'s redirection
        options = resolve_options(
            policy=REGISTRY.resolve("policy", self.policy_name).factory,
            maxsize=maxsize, purge=purge, keymap=keymap, typed=typed, ignore=ignore,
            tol=tol, deep=deep, safe=self.safe, single_flight=single_flight, observers=observers,
            on_store_error=on_store_error,
        )
        self.__state__ = {
            "maxsize": options.maxsize,
            "cache": as_memory(cache),
            "keymap": options.keymap,
            "ignore": options.ignore,
            "tol": options.tol,
            "deep": options.deep,
            "purge": options.purge,
        }
        self._options = options
        #: the options beyond klepto's, only those not at their default (kept out of __state__)
        self._extras: dict[str, Any] = {}
        if options.single_flight:
            self._extras["single_flight"] = True
        if options.observers is not None:  # kept as given: a pickled decorator finds the
            self._extras["observers"] = options.observers  # process's observer plugin

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        s = self.__state__
        options: Options = self._options._replace(
            maxsize=s["maxsize"], purge=s["purge"], keymap=s["keymap"],
            ignore=s["ignore"], tol=s["tol"], deep=s["deep"],
        )
        return memoize(func, options, cache=s["cache"])

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
