"""``cached()``: the memoizing decorator configured by plugin names.

Names are resolved through the registry once, when the decorator is built (by
:func:`klepto_core.memo.options.resolve_options`, as for klepto's decorator
classes); the wrapper is the same one klepto-style decorators produce.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klepto_core.errors import InvalidArgumentError
from klepto_core.keys.version import code_digest
from klepto_core.memo.memory import Memory, as_memory, is_archive
from klepto_core.memo.options import UNSET, check_version, resolve_options
from klepto_core.memo.wrappers import memoize
from klepto_core.registry import defaults
from klepto_core.registry.urls import archive as by_kind
from klepto_core.registry.urls import open_archive


def cached(
    policy: Any = defaults.POLICY,
    maxsize: Any = UNSET,
    keymap: Any = None,
    ignore: Any = None,
    tol: int | None = None,
    deep: bool = False,
    archive: Any = None,
    archive_options: dict[str, Any] | None = None,
    purge: Any = UNSET,
    safe: bool = False,
    namespace: Any = True,
    write_through: bool = True,
    single_flight: bool = False,
    observers: Any = None,
    typed: bool = False,
    version: str | None = None,
    depends_on: Any = (),
    on_store_error: str = "warn",
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
    ``typed=True`` keys ``f(1)`` and ``f(1.0)`` apart, as in functools.
    ``version="auto"`` keys results by a digest of the function's code (bytecode,
    constants, defaults; not comments or line numbers) and of the functions, classes
    or modules in ``depends_on``, so an edit to any of them is a miss; a string
    ``version`` names the version itself.
    An archive write that fails (full or read-only storage, server unreachable)
    warns once (ArchiveStoreWarning) and the result is still returned;
    ``on_store_error="raise"`` raises instead.
    """
    options = resolve_options(
        policy=policy, maxsize=maxsize, purge=purge, keymap=keymap, typed=typed,
        ignore=ignore, tol=tol, deep=deep, safe=bool(safe), single_flight=single_flight,
        observers=observers, on_store_error=on_store_error,
    )
    helpers = check_version(version, depends_on)
    archive_opts = {**(archive_options or {}), **more_archive_options}
    if archive is None and archive_opts:
        raise InvalidArgumentError(
            f"archive options {sorted(archive_opts)} given without an archive; "
            "they need archive=<name or URL>"
        )
    if namespace is not True and namespace is not False and not isinstance(namespace, str):
        raise InvalidArgumentError(f"namespace must be True, False or a str, got {namespace!r}")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        storage, persistent = _storage(archive, archive_opts)
        if namespace is True and persistent:
            space: str | None = f"{func.__module__}.{func.__qualname__}"
        elif isinstance(namespace, str):
            space = namespace
        else:
            space = None
        if version is not None:
            tag = code_digest(func, helpers) if version == "auto" else version
            space = f"{space or f'{func.__module__}.{func.__qualname__}'}@{tag}"
        return memoize(
            func,
            options,
            cache=storage,
            namespace=space,
            write_through=bool(write_through) and persistent,
        )

    return decorate


def _storage(archive: Any, archive_options: dict[str, Any]) -> tuple[Any, bool]:
    """The mapping a cache runs over and whether it is backed by a persistent archive."""
    if archive is None:
        return Memory(), False
    if isinstance(archive, str):

        options = dict(archive_options)
        options.setdefault("cached", True)
        if ":" in archive:
            return open_archive(archive, **options), True
        return by_kind(archive, options.pop("name", None), **options), True
    if archive_options:
        raise InvalidArgumentError("archive options are only used with an archive name or URL")
    if isinstance(archive, Memory) or is_archive(archive):
        return archive, True
    return as_memory(archive), False
