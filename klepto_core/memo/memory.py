"""The memory in front of an archive: klepto's ``cache`` class, here called :class:`Memory`.

A :class:`Memory` is a dict (the entries in memory) plus an attached archive.
Mapping operations touch memory only; :meth:`Memory.load` and :meth:`Memory.dump`
move entries between memory and the archive. Archive classes return one of these
unless asked for ``cached=False``; ``klepto_core.archives.cache`` is this class.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from klepto_core.errors import InvalidArgumentError


class _NoArchive(dict):  # type: ignore[type-arg]
    """Stands in for an archive when archiving is off: always empty, ignores writes."""

    is_null = True
    name = None

    def __setitem__(self, key: Hashable, value: Any) -> None:
        pass

    def update(self, *args: Any, **kwds: Any) -> None:
        pass

    def setdefault(self, key: Hashable, default: Any = None) -> Any:
        return default

    def __asdict__(self) -> dict[Hashable, Any]:
        return {}

    @property
    def state(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return "null_archive(cached=False)"


def is_archive(obj: object) -> bool:
    """True for an archive backend (not a plain dict, not a cache wrapper)."""
    return hasattr(obj, "__asdict__") and not isinstance(obj, Memory)


def is_null(archive: object) -> bool:
    """True for an archive that stores nothing (archiving is effectively off)."""
    return archive is None or bool(getattr(archive, "is_null", False))


class Memory(dict):  # type: ignore[type-arg]
    """Memory (this dict) in front of an archive; ``load``/``dump`` move entries between them."""

    def __init__(self, *args: Any, archive: object = None, **kwds: Any) -> None:
        super().__init__(*args, **kwds)
        self.__swap__: object = None
        self.__archive__: object = None
        self.archive = archive

    # -- the attached archive ----------------------------------------------------------

    @property
    def archive(self) -> Any:
        """The archive behind memory (an always-empty one when archiving is off)."""
        return self.__archive__ if self.__archive__ is not None else _NoArchive()

    @archive.setter
    def archive(self, archive: object) -> None:
        if isinstance(archive, Memory):
            archive = archive.archive
        self.__swap__ = None
        # a null archive is kept (its type shows in __type__ and repr) but means "not archived"
        self.__archive__ = archive if is_archive(archive) else None

    def archived(self, *on: bool) -> bool | None:
        """Whether an archive is attached; ``archived(False)`` detaches, ``(True)`` restores."""
        if not on:
            return not is_null(self.__archive__)
        if len(on) > 1:
            raise TypeError(f"archived expected at most 1 argument, got {len(on)}")
        if on[0]:
            if self.__swap__ is not None:
                self.__archive__, self.__swap__ = self.__swap__, None
            elif is_null(self.__archive__):
                raise ValueError("no valid archive has been set")
        elif not is_null(self.__archive__):
            self.__swap__, self.__archive__ = self.__archive__, None
        return None

    def drop(self) -> None:
        """Detach the archive for good (the stored data stays where it is)."""
        self.archived(True)
        self.__archive__ = None

    def open(self, archive: object) -> None:
        """Attach ``archive`` in place of the current one."""
        try:
            self.archived(True)
        except ValueError:
            pass
        self.archive = archive

    # -- moving entries ------------------------------------------------------------

    def load(self, *keys: Hashable) -> None:
        """Copy ``keys`` (all entries when none are given) from the archive into memory."""
        archive = self.__archive__
        if is_null(archive):
            return
        if not keys:
            self.update(archive.__asdict__())  # type: ignore[attr-defined]
            return
        for key in keys:
            try:
                self[key] = archive[key]  # type: ignore[index]
            except KeyError as exc:
                if getattr(exc, "archive", None) is not None:
                    raise  # a corrupt entry is reported, not mistaken for a miss
                continue

    def dump(self, *keys: Hashable) -> None:
        """Write ``keys`` (all of memory when none are given) to the archive."""
        archive = self.__archive__
        if is_null(archive):
            return
        if not keys:
            archive.update(self)  # type: ignore[attr-defined]
            return
        batch = {key: dict.__getitem__(self, key) for key in keys if key in self}
        if batch:
            archive.update(batch)  # type: ignore[attr-defined]

    def sync(self, clear: bool = False) -> None:
        """Make memory and archive agree: their union (memory wins), or memory only (``clear``)."""
        if is_null(self.__archive__):
            return
        if clear:
            self.__archive__.clear()  # type: ignore[attr-defined]
            self.dump()
        else:
            self.dump()
            self.load()

    def popkeys(self, keys: Any, *default: Any) -> Any:
        """Pop several keys at once; all or nothing when a key is missing and no default."""
        if not isinstance(keys, Iterable):
            return self.pop(keys, *default)
        keys = list(keys)
        if not default:
            missing = [k for k in keys if k not in self]
            if missing:
                raise KeyError(missing[0])
        return [self.pop(k, *default) for k in keys]

    def to_frame(self) -> Any:
        """Memory and archive contents as a pandas DataFrame (klepto's layout; needs pandas)."""
        # frames (the registry's serializer lookup) load only when a frame is asked for
        from klepto_core.storage.frames import _to_frame

        return _to_frame(self)

    @property
    def __type__(self) -> type:
        archive = self.__archive__
        return getattr(archive, "__type__", type(archive)) if archive is not None else _NoArchive

    def __repr__(self) -> str:
        archive = self.archive
        kind = getattr(archive, "__kind_name__", None) or "null_archive"
        name = getattr(archive, "name", None)
        where = f"{name!r}, " if name is not None else ""
        return f"{kind}({where}{dict.__repr__(self)}, cached=True)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_cache, (dict(self), self.__archive__))


def _rebuild_cache(contents: Mapping[Hashable, Any], archive: object) -> Memory:
    return Memory(contents, archive=archive)


#: klepto's names for it
cache = archive_dict = Memory


def as_memory(obj: object) -> Any:
    """What a decorator's ``cache=`` becomes: a fresh cache, a copy of a dict, or obj itself."""
    if obj is None:
        return Memory()
    if type(obj) is dict:
        return Memory(obj)
    if isinstance(obj, Mapping) and hasattr(obj, "__setitem__"):
        return obj
    raise InvalidArgumentError(
        f"cache= expects a mapping (a dict, an archive or a cache), got {type(obj).__name__}"
    )
