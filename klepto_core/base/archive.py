"""The archive base type: klepto's whole mapping API over a few storage primitives.

A backend (dir, file, sql, hdf, ...) subclasses :class:`Archive` and implements
``_read``, ``_write``, ``_delete``, ``_keys``, ``_clear`` and ``_reopen_args``
(plus, optionally, ``_write_many``, ``_count``, ``_has``, ``_items``, ``_drop``).
Values pass through ``_encode`` (the serializer, by default) *before* any
primitive runs, so a value that cannot be stored raises SerializationError with
nothing written; stored bytes that cannot be decoded raise CorruptEntryError.
The dict storage an Archive inherits stays empty: the backend is the storage.
"""

from __future__ import annotations

import os
import threading
from collections.abc import (
    Hashable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from klepto_core.base.serializer import Serializer, get_serializer
from klepto_core.errors import CorruptEntryError, SerializationError
from klepto_core.storage import blobs
from klepto_core.storage.faults import read_only
from klepto_core.storage.locking import default_lock

_MISSING: Any = object()


class Archive(dict):  # type: ignore[type-arg]
    """A dict-like view of stored data; subclasses implement the storage primitives.

    Class attributes: ``__kind_name__`` is klepto's public name (``'dir_archive'``),
    ``__type__`` the public factory class (set by :func:`archive_factory`),
    ``persistent`` says the data outlives the object (pickling re-opens the
    location instead of carrying the contents), ``show_name`` whether ``repr``
    shows the name, ``is_null`` marks an archive that never stores anything,
    ``path_named`` says the name is the local file or directory the archive lives in,
    ``opens_read_only`` that the constructor takes ``mode="r"`` (open, create nothing).
    """

    __kind_name__: ClassVar[str] = "archive"
    __type__: ClassVar[Any] = None
    persistent: ClassVar[bool] = False
    show_name: ClassVar[bool] = True
    is_null: ClassVar[bool] = False
    path_named: ClassVar[bool] = False
    #: the backend takes ``mode="r"`` itself, to open without creating anything
    opens_read_only: ClassVar[bool] = False
    #: True when opened with ``mode="r"``: every write raises ArchiveReadOnlyError
    read_only: bool = False

    def __new__(cls, *args: Any, **kwds: Any) -> Archive:
        if cls is Archive:
            raise NotImplementedError("cannot instantiate archive base class")
        return super().__new__(cls)

    def __init__(
        self,
        name: str | None = None,
        state: dict[str, Any] | None = None,
        serializer: Serializer | None = None,
    ) -> None:
        """Record ``name``, klepto's ``state`` and ``serializer`` (None: store objects as is)."""
        super().__init__()
        self._name = name
        self.__state__: dict[str, Any] = dict(state or {})
        self._serializer = serializer
        self._lock = threading.RLock()

    # -- storage primitives (backends implement these) ---------------------------------

    def _read(self, key: Hashable) -> Any:
        """The stored payload of ``key``; KeyError if absent, CorruptEntryError if unreadable."""
        raise NotImplementedError

    def _write(self, key: Hashable, payload: Any) -> None:
        """Store ``payload`` (already encoded) under ``key``, atomically."""
        raise NotImplementedError

    def _write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        """Store several encoded entries; batched backends override this with one transaction."""
        for key, payload in items:
            self._write(key, payload)

    def _delete(self, key: Hashable) -> None:
        """Remove ``key``; KeyError if absent."""
        raise NotImplementedError

    def _keys(self) -> Iterable[Hashable]:
        """The stored keys (a snapshot is fine)."""
        raise NotImplementedError

    def _count(self) -> int:
        """The number of stored entries."""
        return sum(1 for _ in self._keys())

    def _has(self, key: Hashable) -> bool:
        """Whether ``key`` is stored (a corrupt entry is still stored)."""
        try:
            self._read(key)
        except CorruptEntryError:
            return True
        except KeyError:
            return False
        return True

    def _items(self) -> Iterator[tuple[Hashable, Any]]:
        """Every (key, payload); keys deleted meanwhile are skipped. Batched backends override."""
        for key in list(self._keys()):
            try:
                yield key, self._read(key)
            except CorruptEntryError:
                raise
            except KeyError:
                continue

    def _clear(self) -> None:
        """Remove every entry this archive owns, and nothing else."""
        raise NotImplementedError

    def _drop(self, **kwds: Any) -> None:
        """Remove the archive's external artifacts (klepto's ``__drop__``); default: clear."""
        self._clear()

    def _state(self) -> dict[str, Any]:
        """klepto's settings dict (``state``); default: the one given to ``__init__``."""
        return self.__state__

    def _reopen_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Constructor (args, kwds) that open this same archive again (pickling, ``copy``)."""
        return (self._name,), {}

    # -- encoding (override for backends that store objects, not bytes) ----------------

    def _encode(self, key: Hashable, value: Any) -> Any:
        """The payload stored for ``value``; SerializationError (naming archive and key) if none."""
        serializer = self._serializer
        if serializer is None:
            return value
        try:
            return serializer.dumps(value)
        except SerializationError as exc:
            raise SerializationError(
                f"{self._label()}: cannot store key {key!r}: {exc}; nothing was written"
            ) from exc

    def _decode(self, key: Hashable, payload: Any) -> Any:
        """The value stored as ``payload``; CorruptEntryError (naming archive and key) if bad."""
        serializer = self._serializer
        if serializer is None:
            return payload
        try:
            return serializer.loads(payload)
        except Exception as exc:
            raise CorruptEntryError(
                self._label(), key, f"{serializer.name} cannot load it: {type(exc).__name__}: {exc}"
            ) from exc

    def _encode_buffered(self, key: Hashable, value: Any) -> Any:
        """``value`` with its large buffers kept out of band (:mod:`klepto_core.storage.blobs`),
        or None when it has none or the serializer cannot; an archive storing blobs calls it."""
        if self._serializer is None:
            return None
        try:
            return blobs.encode(self._serializer, value)
        except SerializationError as exc:
            raise SerializationError(
                f"{self._label()}: cannot store key {key!r}: {exc}; nothing was written"
            ) from exc

    def _encode_key(self, key: Hashable) -> bytes:
        """``key`` as bytes for backends that store keys (by the archive's serializer)."""
        serializer = self._serializer or get_serializer()
        try:
            return serializer.dumps_key(key)
        except SerializationError as exc:
            raise SerializationError(
                f"{self._label()}: cannot store key {key!r}: {exc}; nothing was written"
            ) from exc

    def _label(self) -> str:
        where = self.__state__.get("id", self._name)
        return f"{self.__kind_name__}({where!r})"

    def _writable(self) -> None:
        """Refuse a write to an archive opened read-only (``mode="r"``)."""
        if self.read_only:
            raise read_only(None if self._name is None else str(self._name), self._label())

    # -- the mapping API ----------------------------------------------------------------

    def __getitem__(self, key: Hashable) -> Any:
        return self._decode(key, self._read(key))

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self._writable()
        self._write(key, self._encode(key, value))

    # -- awaitable access, for archives with a native asyncio client --------------------

    #: True when the plugin implements :meth:`_aread` and :meth:`_awrite` on a native
    #: asyncio client: an ``async def`` function's misses await them instead of a thread
    native_async: ClassVar[bool] = False

    async def _aread(self, key: Hashable) -> Any:
        """The stored payload of ``key`` (KeyError when absent), awaited; see ``native_async``."""
        raise NotImplementedError(f"{type(self).__name__} has no native asyncio client")

    async def _awrite(self, key: Hashable, payload: Any) -> None:
        """Store ``payload`` under ``key``, awaited; see ``native_async``."""
        raise NotImplementedError(f"{type(self).__name__} has no native asyncio client")

    async def aclose(self) -> None:
        """Close the running loop's native asyncio connections (nothing to do without them)."""

    async def aget(self, key: Hashable) -> Any:
        """``self[key]`` through the native asyncio client (KeyError when absent)."""
        return self._decode(key, await self._aread(key))

    async def aset(self, key: Hashable, value: Any) -> None:
        """``self[key] = value`` through the native asyncio client."""
        await self._awrite(key, self._encode(key, value))

    def __delitem__(self, key: Hashable) -> None:
        self._writable()
        self._delete(key)

    def __contains__(self, key: object) -> bool:
        return self._has(key)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Hashable]:
        return iter(list(self._keys()))

    def __len__(self) -> int:
        return self._count()

    def __bool__(self) -> bool:
        return self._count() > 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when absent (a corrupt entry still raises)."""
        try:
            return self[key]
        except CorruptEntryError:
            raise
        except KeyError:
            return default

    def pop(self, key: Hashable, *default: Any) -> Any:
        """Remove ``key`` and return its value; ``default`` (if given) when absent."""
        if len(default) > 1:
            raise TypeError(f"pop expected at most 2 arguments, got {1 + len(default)}")
        self._writable()
        with self._lock:
            try:
                value = self[key]
                self._delete(key)
            except CorruptEntryError:
                raise
            except KeyError:
                if default:
                    return default[0]
                raise
        return value

    def popitem(self) -> tuple[Hashable, Any]:
        """Remove and return some (key, value); KeyError when empty."""
        with self._lock:
            for key in self._keys():
                try:
                    return key, self.pop(key)
                except CorruptEntryError:
                    raise
                except KeyError:
                    continue
        raise KeyError("popitem(): dictionary is empty")

    def popkeys(self, keys: Any, *default: Any) -> Any:
        """Pop several keys into a list; all or nothing when one is missing and no default."""
        if not isinstance(keys, Iterable):
            return self.pop(keys, *default)
        keys = list(keys)
        if not default:
            for key in keys:
                if key not in self:
                    raise KeyError(key)
        return [self.pop(key, *default) for key in keys]

    def setdefault(self, key: Hashable, default: Any = None) -> Any:
        """The value of ``key``; if absent, store ``default`` and return it."""
        with self._lock:
            value = self.get(key, _MISSING)
            if value is _MISSING:
                self[key] = default
                return default
            return value

    def update(self, *args: Any, **kwds: Any) -> None:
        """Store every entry of a mapping, an archive, pairs, or keywords; all encoded first."""
        if len(args) > 1:
            raise TypeError(f"update expected at most 1 argument, got {len(args)}")
        pairs: list[tuple[Hashable, Any]] = []
        if args:
            pairs.extend(_pairs(args[0]))
        pairs.extend(kwds.items())
        if not pairs:
            return
        self._writable()
        encoded = [(key, self._encode(key, value)) for key, value in pairs]
        self._write_many(encoded)

    def clear(self) -> None:
        """Remove every entry this archive owns (never foreign data at the same location)."""
        self._writable()
        self._clear()

    def copy(self, name: str | None = None) -> Archive:  # type: ignore[override]
        """An archive at ``name`` with the same contents (no name: a persistent one reopens)."""
        args, kwds = self._reopen_args()
        if name is not None:
            args = (name, *args[1:])
        other = type(self)(*args, **kwds)
        if name is not None or not self.persistent:
            other.update(self.__asdict__())
        return other

    def fromkeys(self, *args: Any) -> dict[Hashable, Any]:  # type: ignore[override]
        """A plain dict with these keys (klepto returns a dict, not an archive)."""
        return dict.fromkeys(*args)

    def keys(self) -> KeysView[Hashable]:  # type: ignore[override]
        return KeysView(self)

    def items(self) -> ItemsView[Hashable, Any]:  # type: ignore[override]
        return ItemsView(self)

    def values(self) -> ValuesView[Any]:  # type: ignore[override]
        return ValuesView(self)

    def __asdict__(self) -> dict[Hashable, Any]:
        """The whole contents as a plain dict."""
        return {key: self._decode(key, payload) for key, payload in self._items()}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Archive):
            return self.__asdict__() == other.__asdict__()
        if isinstance(other, Mapping):
            return self.__asdict__() == dict(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]

    def verify(self) -> list[CorruptEntryError]:
        """Read every entry; return the errors of the corrupt ones (the CLI's ``verify``)."""
        errors = []
        for key in list(self._keys()):
            try:
                self[key]
            except CorruptEntryError as exc:
                errors.append(exc)
            except KeyError:
                continue
        return errors

    # -- klepto's archive attributes ----------------------------------------------------

    @property
    def name(self) -> str | None:
        """The archive's name (klepto: a basename, a URL, or what was given)."""
        return self._name

    @name.setter
    def name(self, value: Any) -> None:
        raise ValueError("cannot set new archive")

    @property
    def state(self) -> dict[str, Any]:
        """A copy of the archive's settings (klepto's ``__state__``)."""
        return dict(self._state())

    @state.setter
    def state(self, value: Any) -> None:
        raise ValueError("cannot set new archive")

    @property
    def archive(self) -> Archive:
        """The archive itself (a cache wrapper has a different one)."""
        return self

    @archive.setter
    def archive(self, value: Any) -> None:
        raise ValueError("cannot set new archive")

    @property
    def serializer(self) -> Serializer | None:
        """The serializer values are stored with (None: stored as objects)."""
        return self._serializer

    def __drop__(self, **kwds: Any) -> None:
        """Remove the archive's external artifacts (the directory, file, table ...)."""
        self._writable()
        self._drop(**kwds)

    def archived(self, *on: Any) -> bool:
        """Always False: an archive has no archive of its own to toggle."""
        if on:
            raise ValueError("cannot toggle archive")
        return False

    def drop(self) -> None:
        raise ValueError("cannot set new archive")

    def open(self, archive: Any) -> None:
        raise ValueError("cannot set new archive")

    def load(self, *keys: Hashable) -> None:
        """No-op: an archive used directly has nothing behind it to load from."""

    def dump(self, *keys: Hashable) -> None:
        """No-op: an archive used directly writes on every set."""

    def sync(self, clear: bool = False) -> None:
        """No-op: an archive used directly is always in sync."""

    def close(self) -> None:
        """Release handles (connections, files); the archive may still reopen them lazily."""

    @classmethod
    def local_paths(cls, name: Any) -> list[str]:
        """The local files or directories an archive opened with ``name`` stores into.

        The first is the archive itself (the CLI refuses to read one that is
        absent); the rest are companions counted in its size. By default that is
        the name itself for a ``path_named`` archive, and none ([]) for others
        (remote, in memory); a backend whose names vary (SQL URLs) overrides this.
        """
        if not cls.path_named or not isinstance(name, (str, os.PathLike)):
            return []
        text = os.fspath(name)
        return [os.path.abspath(text)] if text else []

    #: a local file the default :meth:`lock` byte-range locks so processes on this machine
    #: exclude each other (a dir/file/SQLite archive sets it); None: threads of this process only
    lock_path: str | None = None

    def lock(self, key: Hashable, timeout: float | None = None) -> AbstractContextManager[Any]:
        """A lock on ``key`` for ``single_flight`` caching: one caller computes, the rest wait.

        ``timeout`` bounds the wait (None: as long as the holder lives) and raises
        LockTimeoutError. Backends with a server (Redis, PostgreSQL) override this.
        """
        return default_lock(self, key, timeout)

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"{str(self._name)!r}, " if self.show_name and self._name is not None else ""
        return f"{self.__kind_name__}({where}{self.__asdict__()!r}, cached=False)"

    def __reduce__(self) -> tuple[Any, ...]:
        args, kwds = self._reopen_args()
        if self.persistent:
            return (_reopen, (type(self), args, kwds))
        return (_rebuild, (type(self), args, kwds, self.__asdict__()))

    def __copy__(self) -> Archive:
        return self.copy()


def _reopen(cls: type[Archive], args: tuple[Any, ...], kwds: dict[str, Any]) -> Archive:
    return cls(*args, **kwds)


def _rebuild(
    cls: type[Archive], args: tuple[Any, ...], kwds: dict[str, Any], contents: dict[Hashable, Any]
) -> Archive:
    archive = cls(*args, **kwds)
    archive.update(contents)
    return archive


def _pairs(source: Any) -> Iterable[tuple[Hashable, Any]]:
    """(key, value) pairs of a mapping, an archive (via ``__asdict__``) or an iterable of pairs."""
    if hasattr(source, "__asdict__"):
        return list(source.__asdict__().items())
    if isinstance(source, Mapping):
        return [(key, source[key]) for key in source]
    if hasattr(source, "keys"):
        return [(key, source[key]) for key in source.keys()]  # noqa: SIM118 - not iterable
    return [tuple(pair) for pair in source]  # type: ignore[misc]
