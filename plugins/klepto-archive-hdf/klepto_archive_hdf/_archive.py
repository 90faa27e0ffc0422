"""The ``hdf`` archive: every entry in one HDF5 file, in klepto's layout."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Hashable, Iterable, Iterator
from typing import Any

from klepto_archive_hdf._h5 import h5py
from klepto_core.errors import (
    ArchiveURLError,
    CorruptEntryError,
    SerializationError,
    UnhashableKeyError,
)
from klepto_core.plugin import Archive, Serializer, get_serializer
from klepto_core.storage import blobs


class _KleptoDefault:
    """klepto's protocol default: 0 with ``meta=True``, else None (the serializer's own)."""

    def __repr__(self) -> str:
        return "<0 if meta else None>"


_DEFAULT: Any = _KleptoDefault()
SUFFIXES = (".hdf5", ".hdf", ".h5")
URL_SCHEMES = ("hdf", "hdf5", "h5")
#: the group holding large buffers of values as raw uint8 datasets named by digest (the
#: name is no pickled key: listing skips it); see klepto_core.storage.blobs
BLOBS = "klepto_core.blobs"


class _Decoded:
    """A value already loaded (its buffers were read while the file was open)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


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
    Large buffers of serialized values (numpy arrays, pandas columns) are kept out
    of band as raw datasets in the ``klepto_core.blobs`` group, not pickled copies;
    ``mmap_mode="r"`` (or ``"c"``) maps them from the file instead of reading them.
    Such values are not readable by klepto 0.2.8 (the file's other entries are).
    """

    __kind_name__ = "hdf_archive"
    persistent = True
    path_named = True
    opens_read_only = True

    def __init__(
        self,
        filename: str | os.PathLike[str] | None = None,
        serialized: bool = True,
        protocol: Any = _DEFAULT,
        meta: bool = False,
        *,
        serializer: Any = None,
        durable: bool = False,
        mmap_mode: str | None = None,
        mode: str = "w",
    ) -> None:
        """Open (creating if needed; ``mode="r"``: never) ``filename``; klepto's defaults and
        name derivation apply."""
        mmap_mode = blobs.check_mmap_mode(mmap_mode)
        h5py()
        from klepto_archive_hdf._layout import Layout
        from klepto_archive_hdf._store import HDFFile

        filename = "memo.hdf5" if filename is None else _strip_scheme(os.fspath(filename))
        if not filename.endswith(SUFFIXES):
            filename += ".hdf5"
        protocol, chosen, json_keys = settings(serialized, protocol, meta, serializer)
        state = {"id": filename, "serialized": serialized, "protocol": protocol, "meta": meta}
        state.update(extra_state(serializer, durable))
        if mmap_mode is not None:
            state["mmap_mode"] = mmap_mode
        super().__init__(os.path.basename(filename), state, chosen)
        self._mmap_mode = mmap_mode
        self._layout = Layout(meta=meta, json_keys=json_keys, serialized=serialized)
        self._file = HDFFile(os.path.abspath(filename), durable, read_only=mode == "r")
        self.read_only = mode == "r"
        if not self.read_only:
            self._file.ensure()
        elif not os.path.exists(self._file.path):
            raise ArchiveURLError(f"{self._label()}: no archive at {self._file.path!r}")
        else:
            self._file.check()
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

    # -- out-of-band buffers --------------------------------------------------------------

    def _encode(self, key: Hashable, value: Any) -> Any:
        if not self._layout.meta:
            buffered = self._encode_buffered(key, value)
            if buffered is not None:
                return buffered
        return super()._encode(key, value)

    def _decode(self, key: Hashable, payload: Any) -> Any:
        if isinstance(payload, _Decoded):
            return payload.value
        return super()._decode(key, payload)

    def _loaded(self, handle: Any, key: Hashable, payload: Any) -> Any:
        """``payload``, or the value it stands for when its buffers are blobs (read now)."""
        if not (self._layout.serialized and isinstance(payload, bytes)):
            return payload
        if not blobs.is_buffered(payload):
            return payload
        entries, stream = blobs.parse(payload)
        buffers = [self._blob(handle, key, digest, length) for digest, length in entries]
        try:
            return _Decoded(self._serializer.loads_buffers(stream, buffers))  # type: ignore[union-attr]
        except Exception as exc:
            raise self._corrupt(key, f"{type(exc).__name__}: {exc}") from exc

    def _blob(self, handle: Any, key: Hashable, digest: str, length: int) -> Any:
        import numpy

        dataset = handle.get(f"{BLOBS}/{digest}")
        if dataset is None or dataset.shape != (length,):
            raise self._corrupt(key, f"its blob {digest} is missing")
        mode: Any = self._mmap_mode
        offset = dataset.id.get_offset() if mode is not None and length else None
        if offset is not None:
            return numpy.memmap(
                self._file.path, dtype=numpy.uint8, mode=mode, offset=offset, shape=(length,)
            )
        data = bytearray(length)
        if length:
            dataset.read_direct(numpy.frombuffer(data, dtype=numpy.uint8))
        from klepto_core.keys.content import _hasher

        h = _hasher()
        h.update(data)
        if h.hexdigest() != digest:
            raise self._corrupt(key, f"its blob {digest} does not match its digest")
        return data

    @staticmethod
    def _write_blobs(handle: Any, items: list[tuple[str, Any]]) -> None:
        import numpy

        buffers = [b for _name, p in items if type(p) is blobs.Buffered for b in p.buffers]
        if not buffers:
            return
        group = handle.require_group(BLOBS)
        for digest, raw in buffers:
            existing = group.get(digest)
            if existing is not None and existing.shape == (raw.nbytes,):
                continue  # equal bytes are stored once
            if existing is not None:
                del group[digest]
            group.create_dataset(digest, data=numpy.frombuffer(raw, dtype=numpy.uint8))

    def _sweep(self, handle: Any) -> None:
        """Remove the blobs no entry names (inside a write batch)."""
        group = handle.get(BLOBS)
        if group is None:
            return
        live = set()
        for path, _key in self._layout.entries(handle):
            try:
                payload = self._layout.load(handle, path)
            except Exception:
                continue
            if isinstance(payload, bytes):
                live |= blobs.referenced([payload])
        for digest in list(group):
            if digest not in live:
                del group[digest]
        if not len(group):
            del handle[BLOBS]

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
                return self._loaded(handle, key, self._layout.load(handle, path))
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
            self._write_blobs(handle, named)  # before the entries that name them
            for name, payload in named:
                if type(payload) is blobs.Buffered:
                    payload = bytes(payload)  # numpy.void() reads a bytes subclass otherwise
                self._layout.store(handle, name, payload)

    def _delete(self, key: Hashable) -> None:
        name = self._entry_name(key)
        if name is None:
            raise KeyError(key)
        with self._file.writing() as handle:
            path = self._layout.find(handle, name)
            if path is None:
                raise KeyError(key)
            payload = self._layout.load(handle, path) if self._layout.serialized else None
            self._layout.delete(handle, path)
            if isinstance(payload, bytes) and blobs.is_buffered(payload):
                self._sweep(handle)

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
                    out.append((key, self._loaded(handle, key, self._layout.load(handle, path))))
                except UnreadablePayloadError as exc:
                    raise self._corrupt(key, exc) from exc
        return iter(out)

    def _clear(self) -> None:
        """Remove every entry; a file holding nothing else is rewritten empty (compacting it)."""
        with self._file.exclusive():
            with self._file.writing() as handle:
                if BLOBS in handle:
                    del handle[BLOBS]
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
