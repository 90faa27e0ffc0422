"""The one place a cache's options are checked and resolved, for both front doors.

``cached()`` and klepto's decorator classes (``lru_cache(...)``) pass what the
caller gave to :func:`resolve_options`; a bad option raises the same
``klepto_core.errors`` exception with the same message whichever door it came
through. :func:`check_ignore` runs at decoration, when the function is known.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

from klepto_core.base.keymap import Keymap
from klepto_core.base.observer import Observer
from klepto_core.base.policy import Policy
from klepto_core.errors import IgnoredNameWarning, InvalidArgumentError, InvalidMaxsizeError
from klepto_core.memo.notify import resolve_observers
from klepto_core.registry import REGISTRY, defaults

#: an option the caller did not give (None is a meaningful maxsize)
UNSET: Any = object()


class Options(NamedTuple):
    """A cache's resolved options, as plain objects: what ``memoize`` is built from."""

    policy: type[Policy] | Policy  # a class is instantiated per decorated function
    maxsize: int | None
    purge: bool
    keymap: Any
    ignore: Any
    tol: int | None
    deep: bool
    safe: bool
    single_flight: bool
    observers: Any  # as given (names survive pickling), checked
    on_store_error: str = "warn"  # a failed archive write: "warn" and answer, or "raise"

    def new_policy(self) -> Policy:
        """The policy bookkeeping for one more decorated function."""
        if isinstance(self.policy, Policy):
            return self.policy
        return self.policy(self.maxsize)


def resolve_options(
    *,
    policy: Any = defaults.POLICY,
    maxsize: Any = UNSET,
    purge: Any = UNSET,
    keymap: Any = None,
    typed: Any = False,
    ignore: Any = None,
    tol: Any = None,
    deep: Any = False,
    safe: bool = False,
    single_flight: Any = False,
    observers: Any = None,
    on_store_error: Any = "warn",
) -> Options:
    """Check every option and resolve names to plugins; raise on the first bad one."""
    policy_obj, maxsize, purge = resolve_policy(policy, maxsize, purge)
    return Options(
        policy=policy_obj,
        maxsize=maxsize,
        purge=purge,
        keymap=resolve_keymap(keymap, safe, check_flag("typed", typed)),
        ignore=check_ignore_type(ignore),
        tol=check_tol(tol),
        deep=check_flag("deep", deep),
        safe=safe,
        single_flight=check_flag("single_flight", single_flight),
        observers=check_observers(observers),
        on_store_error=check_on_store_error(on_store_error),
    )


def check_on_store_error(value: object) -> str:
    """``on_store_error``: "warn" (a cache that cannot store still answers) or "raise"."""
    if value not in ("warn", "raise"):
        raise InvalidArgumentError(f"on_store_error must be 'warn' or 'raise', got {value!r}")
    return value  # type: ignore[return-value]


def resolve_policy(
    policy: Any, maxsize: Any, purge: Any
) -> tuple[type[Policy] | Policy, Any, bool]:
    """The policy (class, or the instance given), its maxsize and purge, defaults filled in."""
    if isinstance(policy, Policy):  # an instance brings its own maxsize
        return policy, policy.maxsize, False if purge is UNSET else bool(purge)
    factory: type[Policy]
    if isinstance(policy, str):
        factory = REGISTRY.resolve("policy", policy).factory
    elif isinstance(policy, type) and issubclass(policy, Policy):
        factory = policy
    else:
        raise InvalidArgumentError(
            f"policy must be a policy name, a Policy class or instance, got {policy!r}"
        )
    forced = getattr(factory, "forced", {})
    size = factory.default_maxsize if maxsize is UNSET else maxsize
    size = forced.get("maxsize", check_maxsize(size))
    if purge is UNSET:
        purge = getattr(factory, "default_purge", False)
    return factory, size, bool(forced.get("purge", purge))


def check_maxsize(maxsize: object) -> int | None:
    """``maxsize`` as a non-negative int or None; anything else is an InvalidMaxsizeError."""
    if maxsize is None:
        return None
    if isinstance(maxsize, bool) or not isinstance(maxsize, int):
        raise InvalidMaxsizeError(f"maxsize must be an int or None, got {maxsize!r}")
    if maxsize < 0:
        raise InvalidMaxsizeError(
            f"maxsize must be an int or None, not negative: got {maxsize!r} "
            "(0 keeps nothing in memory, None is unbounded)"
        )
    return maxsize


def check_tol(tol: object) -> int | None:
    """``tol`` (the digits floats are rounded to in keys) as an int or None."""
    if tol is not None and (isinstance(tol, bool) or not isinstance(tol, int)):
        raise InvalidArgumentError(f"tol must be an int or None, got {tol!r}")
    return tol


def check_flag(name: str, value: object) -> bool:
    """A yes/no option: a bool (or 0/1, None for no), never a string or other truthy object."""
    if value is None or isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    raise InvalidArgumentError(f"{name} must be True or False, got {value!r}")


def check_ignore_type(ignore: object) -> Any:
    """``ignore`` as klepto takes it: None, a name, an index, or a tuple/list of those."""
    items = ignore if isinstance(ignore, tuple | list) else (ignore,)
    for item in items:
        if item is not None and not isinstance(item, str) and (
            isinstance(item, bool) or not isinstance(item, int)
        ):
            raise InvalidArgumentError(
                f"ignore must hold parameter names or positions, got {item!r} in {ignore!r}"
            )
    return ignore


def resolve_keymap(keymap: object, safe: bool, typed: bool = False) -> Any:
    """A keymap from None (the default), a registered name, a keymap class or a keymap object."""
    if keymap is None:
        name = defaults.SAFE_KEYMAP if safe else defaults.KEYMAP
        options: dict[str, Any] = {"flat": not safe}
        if typed:
            options["typed"] = True
        return REGISTRY.resolve("keymap", name).factory(**options)
    if isinstance(keymap, str) or (isinstance(keymap, type) and issubclass(keymap, Keymap)):
        factory = REGISTRY.resolve("keymap", keymap).factory if isinstance(keymap, str) else keymap
        return factory(typed=True) if typed else factory()
    if not callable(keymap):
        raise InvalidArgumentError(
            "keymap must be a keymap name, a Keymap class or object, or a callable, "
            f"got {keymap!r}"
        )
    if typed:
        raise InvalidArgumentError(
            f"typed=True cannot change the keymap object {keymap!r}; "
            "build it typed instead, e.g. keymap=hashmap(typed=True)"
        )
    return keymap


def check_observers(observers: Any) -> Any:
    """``observers`` as given (a generator read once), after checking every name and object."""
    if observers is None:
        return None

    if not isinstance(observers, str | Observer):
        try:
            observers = list(observers)
        except TypeError:
            raise InvalidArgumentError(
                f"observers must be Observer objects or observer plugin names, got {observers!r}"
            ) from None
    resolve_observers(observers)  # bad names fail here, not at the first call
    return observers


def check_ignore(func: Callable[..., Any], ignore: Any) -> None:
    """Warn when ``ignore`` names a parameter ``func`` cannot receive (a typo ignores nothing)."""
    if ignore is None:
        return
    import inspect  # only an ignore= needs checking, and inspect is slow to import

    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return  # builtins without a signature: nothing to check against
    kinds = {p.kind for p in params}
    names = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    positional = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    any_name = inspect.Parameter.VAR_KEYWORD in kinds
    any_position = inspect.Parameter.VAR_POSITIONAL in kinds
    for item in ignore if isinstance(ignore, tuple | list) else (ignore,):
        if item in ("*", "**", "self", "cls"):
            continue
        if isinstance(item, str) and item not in names and not any_name:
            missing = f"no parameter named {item!r}"
        elif isinstance(item, int) and item >= positional and not any_position:
            missing = f"no positional parameter {item}"
        else:
            continue
        warnings.warn(
            f"ignore={ignore!r}: {getattr(func, '__qualname__', func)!s} has {missing}; "
            f"its parameters are {sorted(names)}",
            IgnoredNameWarning,
            stacklevel=4,
        )


def check_version(version: Any, depends_on: Any) -> list[Any]:
    """The helpers of ``depends_on`` as a list, once ``version`` is known to be valid."""
    if version is not None and not isinstance(version, str):
        raise InvalidArgumentError(
            f"version must be None, 'auto' or a version string, got {version!r}"
        )
    if callable(depends_on) or isinstance(depends_on, str) or hasattr(depends_on, "__dict__"):
        depends_on = [depends_on]  # a single helper
    helpers = list(depends_on)
    if helpers and version != "auto":
        raise InvalidArgumentError(
            "depends_on= needs version='auto': the helpers' code is part of the automatic version"
        )
    return helpers
