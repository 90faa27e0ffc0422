"""klepto's public archive classes (``dir_archive``, ...): a plugin's backend behind memory.

:func:`archive_factory` turns an :class:`~klepto_core.base.archive.Archive`
subclass into the class users call: ``dir_archive(name, dict=None, cached=True,
**options)`` builds the backend and, unless ``cached=False``, puts a
:class:`~klepto_core.memo.memory.Memory` in front of it.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Hashable, Mapping
from typing import Any

from klepto_core.base.archive import Archive
from klepto_core.errors import InvalidArgumentError, KleptoCoreError
from klepto_core.memo.memory import Memory
from klepto_core.storage.frames import _from_frame


class ArchiveFactoryType(type):
    """Metaclass of klepto's public archive names: both a factory and an isinstance target.

    ``dir_archive(...)`` builds a backend and (unless ``cached=False``) wraps it in
    a :class:`klepto_core.memo.memory.Memory`; ``isinstance(x, dir_archive)`` is True
    for the backend and for a cache wrapper whose archive is one (klepto: False).
    """

    __backend__: type[Archive]

    def __instancecheck__(cls, obj: Any) -> bool:
        backend = cls.__dict__.get("__backend__")
        if backend is None:
            return type.__instancecheck__(cls, obj)
        if isinstance(obj, Memory):
            obj = obj.__archive__ if obj.__archive__ is not None else obj.__swap__
            if obj is None:  # a cache over no archive: the null archive's wrapper
                return bool(backend.is_null)
        return isinstance(obj, backend)

    def __subclasscheck__(cls, sub: type) -> bool:
        backend = cls.__dict__.get("__backend__")
        if backend is not None and isinstance(sub, type) and issubclass(sub, backend):
            return True
        return type.__subclasscheck__(cls, sub)


def _new_archive(
    cls: ArchiveFactoryType,
    name: Any = None,
    dict: Mapping[Hashable, Any] | None = None,
    cached: bool = True,
    **kwds: Any,
) -> Any:
    backend = _construct(cls.__backend__, name, kwds)
    if not cached:
        backend.update(dict or {})  # always: a backend may count this as a save, as klepto did
        return backend
    wrapper = Memory(archive=backend)
    if dict:
        wrapper.update(dict)
    return wrapper


@functools.cache
def _accepted_options(backend: type[Archive]) -> tuple[str, ...] | None:
    """The keyword options ``backend`` takes besides its name; None if it takes any."""
    params = list(inspect.signature(backend.__init__).parameters.values())[2:]  # self, name
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params if p.kind is not p.VAR_POSITIONAL)


def _construct(backend: type[Archive], name: Any, options: dict[str, Any]) -> Archive:
    """``backend(name, **options)``, with unknown options and wrong types as clear errors."""
    accepted = _accepted_options(backend)
    unknown = sorted(set(options) - {"mode"} - set(accepted)) if accepted is not None else []
    kind = backend.__kind_name__
    if unknown:
        raise InvalidArgumentError(
            f"{kind} has no option {', '.join(map(repr, unknown))}; "
            f"its options are: {', '.join(accepted or ()) or 'none'}"
        )
    if backend.path_named and name is not None and not isinstance(name, str | os.PathLike):
        raise InvalidArgumentError(
            f"{kind} is named by a path (a str or os.PathLike), got {type(name).__name__} {name!r}"
        )
    mode = _mode_option(kind, options)
    if mode is not None and backend.opens_read_only:
        options["mode"] = mode
    try:
        archive = backend(name, **options)
    except KleptoCoreError:
        raise
    except TypeError as exc:  # a wrong value type deep in the backend: say where it came from
        raise InvalidArgumentError(f"{kind}({name!r}, ...): {exc}") from exc
    if mode == "r":
        archive.read_only = True
    return archive


#: the values of the ``mode`` archive option: read only, or read and write (the default)
MODES = ("r", "w")


def _mode_option(kind: str, options: dict[str, Any]) -> str | None:
    """Take ``mode`` out of ``options`` (every archive accepts it); refuse a value not in MODES.

    A backend that opens differently when read-only takes ``mode`` itself; the
    others are only marked read-only, so their writes raise ArchiveReadOnlyError.
    """
    mode = options.pop("mode", None)
    if mode is not None and mode not in MODES:
        raise InvalidArgumentError(f"{kind}: mode must be 'r' or 'w', got {mode!r}")
    return mode  # type: ignore[no-any-return]


def _from_frame_classmethod(cls: Any, dataframe: Any, /) -> Any:
    try:
        dataframe = dataframe.copy()
        dataframe.columns.name = cls.__name__
    except AttributeError:
        pass
    return _from_frame(dataframe)


def archive_factory(backend: type[Archive], doc: str | None = None) -> ArchiveFactoryType:
    """klepto's public archive class for ``backend``: ``X(name, dict=None, cached=True, **kwds)``.

    The result is what a plugin's PluginSpec.factory should be. It is named after
    ``backend.__kind_name__`` and lives (for pickling and repr) in ``klepto_core.archives``.
    """
    kind_name = backend.__kind_name__
    namespace: dict[str, Any] = {
        "__backend__": backend,
        "__new__": _new_archive,
        "from_frame": classmethod(_from_frame_classmethod),
        "__doc__": doc or backend.__doc__,
        "__module__": "klepto_core.archives",
        "__qualname__": kind_name,
    }
    factory = ArchiveFactoryType(kind_name, (), namespace)
    backend.__type__ = factory
    return factory
