"""The ``hdf`` archive: every entry in one HDF5 file, in klepto's layout."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Hashable, Iterable, Iterator
from typing import Any

from klepto_archive_hdf._h5 import h5py
from klepto_core.errors import CorruptEntryError, SerializationError, UnhashableKeyError
from klepto_core.plugin import Archive, Serializer, get_serializer


class _KleptoDefault:
    """klepto's protocol default: 0 with ``meta=True``, else None (the serializer's own)."""

    def __repr__(self) -> str:
        return "<0 if meta else None>"


_DEFAULT: Any = _KleptoDefault()
SUFFIXES = (".hdf5", ".hdf", ".h5")
URL_SCHEMES = ("hdf", "hdf5", "h5")


def settings(
    serialized: bool, protocol: Any, meta: bool, serializer: Any
) -> tuple[Any, Serializer | None, bool]:
    """(protocol, serializer, json_keys) for klepto's options, shared with ``hdfdir``.

    klepto's protocol defaults to 0 with ``meta`` (None otherwise); a str
    protocol (or the json serializer) names entries by JSON text.
    """
    if protocol is _DEFAULT:
        protocol = 0 if meta else None
    chosen = get_serializer(serializer, protocol) if serialized else None
    json_keys = isinstance(protocol, str) or (chosen is not None and chosen.name == "json")
    return protocol, chosen, json_keys


def extra_state(serializer: Any, durable: bool) -> dict[str, Any]:
    """Options beyond klepto's, recorded in ``state`` only when not the default."""
    state: dict[str, Any] = {}
    if serializer is not None:
        state["serializer"] = serializer if isinstance(serializer, str) else serializer.name
    if durable:
        state["durable"] = True
    return state


def _strip_scheme(name: str) -> str:
    """The path in an ``hdf:``/``hdf5:``/``h5:`` URL (``open_archive`` passes aliases whole)."""
    for scheme in URL_SCHEMES:
        if name.startswith(scheme + ":"):
            rest = name[len(scheme) + 1 :]
            return rest[2:] if rest.startswith("//") else rest
    return name


class HDFArchive(Archive):
    """klepto's ``hdf_archive``: one HDF5 file, a dataset (or root attribute) per key.

    Files are interchangeable with klepto's (see :mod:`klepto_archive_hdf._layout`).
    Each write batch (``[]=``, ``update``, ``del``) is one journaled transaction
    under an exclusive file lock, so a crash leaves the old or the new contents
    and concurrent processes never corrupt the file. ``durable=True`` also fsyncs.
    """

    __kind_name__ = "hdf_archive"
    persistent = True
    path_named = True

    def __init__(
        self,
        filename: str | os.PathLike[str] | None = None,
        serialized: bool = True,
        protocol: Any = _DEFAULT,
        meta: bool = False,
        *,
        serializer: Any = None,
        durable: bool = False,
    ) -> None:
        """Open (creating if needed) ``filename``; klepto's defaults and name derivation apply."""
        h5py()
        from klepto_archive_hdf._layout import Layout
        from klepto_archive_hdf._store import HDFFile

        filename = "memo.hdf5" if filename is None else _strip_scheme(os.fspath(filename))
        if not filename.endswith(SUFFIXES):
            filename += ".hdf5"
        protocol, chosen, json_keys = settings(serialized, protocol, meta, serializer)
        state = {"id": filename, "serialized": serialized, "protocol": protocol, "meta": meta}
        state.update(extra_state(serializer, durable))
        super().__init__(os.path.basename(filename), state, chosen)
        self._layout = Layout(meta=meta, json_keys=json_keys, serialized=serialized)
        self._file = HDFFile(os.path.abspath(filename), durable)
        self._file.ensure()
        # single_flight's byte-range locks get their own file: closing any descriptor of a
        # file drops a process's POSIX locks on it, and the store opens <file>.lock per operation
        self.lock_path: str | None = self._file.path + ".keylock"

    def _reopen_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        state = dict(self.__state__)
        return (state.pop("id"),), state

    def _corrupt(self, key: Hashable, reason: object) -> CorruptEntryError:
        return CorruptEntryError(self._label(), key, f"HDF5 entry cannot be read: {reason}")

    def _entry_name(self, key: Hashable) -> str | None:
        try:
            return self._layout.name(key)
        except Exception:
            return None  # a key that cannot be named cannot be stored

    # -- primitives -------------------------------------------------------------------

    def _read(self, key: Hashable) -> Any:
        from klepto_archive_hdf._layout import UnreadablePayloadError

        name = self._entry_name(key)
        if name is None:
            raise KeyError(key)
        with self._file.reading() as handle:
            path = None if handle is None else self._layout.find(handle, name)
            if path is None:
                raise KeyError(key)
            try:
                return self._layout.load(handle, path)
            except UnreadablePayloadError as exc:
                raise self._corrupt(key, exc) from exc

    def _has(self, key: Hashable) -> bool:
        name = self._entry_name(key)
        if name is None:
            return False
        with self._file.reading() as handle:
            return handle is not None and self._layout.find(handle, name) is not None

    def _write(self, key: Hashable, payload: Any) -> None:
        self._write_many([(key, payload)])

    def _write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        for key, _payload in items:
            try:  # an unhashable key could be stored but never listed: refuse it as dict does
                hash(key)
            except TypeError as exc:
                raise UnhashableKeyError(f"{self._label()}: cannot store key: {exc}") from exc
        try:
            named = [(self._layout.name(key), payload) for key, payload in items]
        except SerializationError as exc:
            raise SerializationError(f"{self._label()}: {exc}; nothing was written") from exc
        with self._file.writing() as handle:
            for name, payload in named:
                self._layout.store(handle, name, payload)

    def _delete(self, key: Hashable) -> None:
        name = self._entry_name(key)
        if name is None:
            raise KeyError(key)
        with self._file.writing() as handle:
            path = self._layout.find(handle, name)
            if path is None:
                raise KeyError(key)
            self._layout.delete(handle, path)

    def _keys(self) -> Iterable[Hashable]:
        with self._file.reading() as handle:
            if handle is None:
                return []
            return [key for _path, key in self._layout.entries(handle)]

    def _count(self) -> int:
        with self._file.reading() as handle:
            return 0 if handle is None else len(self._layout.entries(handle))

    def _items(self) -> Iterator[tuple[Hashable, Any]]:
        from klepto_archive_hdf._layout import UnreadablePayloadError

        out = []
        with self._file.reading() as handle:
            if handle is None:
                return iter(())
            for path, key in self._layout.entries(handle):
                try:
                    out.append((key, self._layout.load(handle, path)))
                except UnreadablePayloadError as exc:
                    raise self._corrupt(key, exc) from exc
        return iter(out)

    def _clear(self) -> None:
        """Remove every entry; a file holding nothing else is rewritten empty (compacting it)."""
        with self._file.exclusive():
            with self._file.writing() as handle:
                entries = self._layout.entries(handle)
                foreign = _has_foreign(handle, self._layout, len(entries))
                if foreign:
                    for path, _key in entries:
                        self._layout.delete(handle, path)
            if not foreign:
                self._file.replace(lambda handle: None)

    def close(self) -> None:
        """Close the HDF5 handle kept open between writes (the next write reopens it)."""
        self._file.release()

    def _drop(self, **kwds: Any) -> None:
        self._file.remove()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._file.path + ".keylock")


def _has_foreign(handle: Any, layout: Any, entries: int) -> bool:
    """Whether the file holds anything besides this archive's entries."""
    if layout.meta:
        return len(handle) > 0 or len(handle.attrs) > entries
    if len(handle.attrs) > 0:
        return True
    group = h5py().Group
    objects: list[str] = []
    handle.visit(objects.append)
    groups = sum(1 for name in objects if handle.get(name, getclass=True) is group)
    return len(objects) - groups > entries
