"""The by-name API: ``cached(policy=..., archive=...)``, ``plugins()``, ``register_plugin()``.

Names are resolved through the plugin registry once, when the decorator is
built; the returned wrapper is the same closure the klepto-style decorators
produce, so both styles run the same hot path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klepto_core import defaults
from klepto_core.cachemap import as_cache, cache, is_archive
from klepto_core.compat_cache import check_maxsize, resolve_keymap
from klepto_core.errors import InvalidArgumentError
from klepto_core.policy import Policy
from klepto_core.registry import REGISTRY
from klepto_core.types import KINDS, PluginInfo, PluginSpec

_UNSET: Any = object()


def plugins(kind: str | None = None) -> list[PluginInfo]:
    """What is installed: kind, name, distribution, version and a one-line description."""
    rows = REGISTRY.infos()
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f"unknown plugin kind {kind!r}; kinds are {', '.join(KINDS)}")
        rows = [r for r in rows if r.kind == kind]
    return rows


def register_plugin(kind: str, spec: PluginSpec) -> None:
    """Make a plugin available by name in this process without packaging it."""
    REGISTRY.register(kind, spec)


def archive(kind: str, name: Any = None, **options: Any) -> Any:
    """Open an archive of a registered kind (``"dir"``, ``"sql"``, ...) by name."""
    from klepto_core.archiving import archive as _archive

    return _archive(kind, name, **options)


def open_archive(url: str, **options: Any) -> Any:
    """Open an archive from a URL: ``dir:./path``, ``sqlite:///x.db``, ``redis://host/0`` ..."""
    from klepto_core.archiving import open_archive as _open

    return _open(url, **options)


def _policy(policy: Any, maxsize: Any) -> tuple[Policy, Any, Any]:
    """A policy instance plus the maxsize and purge it implies, from a name, class or instance."""
    if isinstance(policy, Policy):
        return policy, policy.maxsize, _UNSET
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
    if maxsize is _UNSET:
        maxsize = factory.default_maxsize
    maxsize = forced.get("maxsize", check_maxsize(maxsize))
    purge = forced.get("purge", getattr(factory, "default_purge", False))
    return factory(maxsize), maxsize, purge


def _storage(archive: Any, archive_options: dict[str, Any]) -> tuple[Any, bool]:
    """The mapping a cache runs over and whether it is backed by a persistent archive."""
    if archive is None:
        if archive_options:
            raise InvalidArgumentError(
                f"archive options {sorted(archive_options)} given without an archive"
            )
        return cache(), False
    if isinstance(archive, str):
        from klepto_core.archiving import archive as by_kind
        from klepto_core.archiving import open_archive

        options = dict(archive_options)
        options.setdefault("cached", True)
        if ":" in archive:
            return open_archive(archive, **options), True
        return by_kind(archive, options.pop("name", None), **options), True
    if archive_options:
        raise InvalidArgumentError("archive options are only used with an archive name or URL")
    if isinstance(archive, cache) or is_archive(archive):
        return archive, True
    return as_cache(archive), False


def _check_version(version: Any, depends_on: Any) -> list[Any]:
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


def cached(
    policy: Any = defaults.POLICY,
    maxsize: Any = _UNSET,
    keymap: Any = None,
    ignore: Any = None,
    tol: int | None = None,
    deep: bool = False,
    archive: Any = None,
    archive_options: dict[str, Any] | None = None,
    purge: Any = _UNSET,
    safe: bool = False,
    namespace: Any = True,
    write_through: bool = True,
    single_flight: bool = False,
    observers: Any = None,
    version: str | None = None,
    depends_on: Any = (),
    **more_archive_options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A memoizing decorator configured by plugin names.

    ``@cached(policy="lfu", maxsize=500, keymap="hashmap", archive="dir", name="memo")``
    keys calls like klepto, keeps ``maxsize`` results in memory and, with an
    archive, falls through to it on a miss and writes each new result to it at
    once (``write_through``). Results in a shared archive are namespaced per
    function (``namespace=True``; a string picks the namespace, False shares
    keys like klepto does). ``single_flight=True`` takes the archive's lock on a
    missed key, so of many workers missing it at once one computes and the rest load it.
    ``observers`` (Observer objects or observer plugin names) receive the cache's
    events; None (the default) means every installed observer plugin, ``[]`` none.
    ``version="auto"`` keys results by a digest of the function's code (bytecode,
    constants, defaults; not comments or line numbers) and of the functions, classes
    or modules in ``depends_on``, so an edit to any of them is a miss; a string
    ``version`` names the version itself.
    """
    options = {**(archive_options or {}), **more_archive_options}
    policy_obj: Policy | None
    policy_obj, size, forced_purge = _policy(policy, maxsize)
    if purge is _UNSET:
        purge = False if forced_purge is _UNSET else forced_purge
    km = resolve_keymap(keymap, safe)
    if observers is not None:
        from klepto_core.observer import resolve_observers

        observers = resolve_observers(observers)  # unknown names fail here, not at decoration
    if tol is not None and (isinstance(tol, bool) or not isinstance(tol, int)):
        raise InvalidArgumentError(f"tol must be an int or None, got {tol!r}")
    helpers = _check_version(version, depends_on)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        from klepto_core.decorator import memoize

        # each decorated function gets its own bookkeeping (the first one reuses the instance
        # built above, which validated the options early)
        nonlocal policy_obj
        own_policy, policy_obj = policy_obj, None
        if own_policy is None:
            own_policy = _policy(policy, maxsize)[0]
        storage, persistent = _storage(archive, options)
        if namespace is True and persistent:
            space: str | None = f"{func.__module__}.{func.__qualname__}"
        elif isinstance(namespace, str):
            space = namespace
        else:
            space = None
        if version is not None:
            from klepto_core.keys.version import code_digest

            tag = code_digest(func, helpers) if version == "auto" else version
            space = f"{space or f'{func.__module__}.{func.__qualname__}'}@{tag}"
        return memoize(
            func,
            policy=own_policy,
            maxsize=size,
            cache=storage,
            keymap=km,
            ignore=ignore,
            tol=tol,
            deep=deep,
            purge=bool(purge),
            safe=safe,
            namespace=space,
            write_through=write_through and persistent,
            single_flight=single_flight,
            observers=observers,
        )

    return decorate
