"""The ``hdfdir`` archive: the dir archive's entries, each value in a one-entry HDF5 file.

An entry is the dir archive's sub-directory (same names, same atomic writes:
each file is written beside its target and moved in with ``os.replace``)
holding ``output.hdf5`` and, when the directory name is not the key itself,
``input.hdf5``. Each file is an HDF5 file with a single entry keyed ``None``
in the ``hdf`` archive's layout (dataset ``'N.'``, or a root attribute with
``meta=True``), exactly what klepto's ``hdfdir_archive`` wrote, so klepto's
directories read here, and klepto reads ours where it finds them by name
(a ``str`` key of letters, digits, ``_`` and spaces; other keys live under
a digest, see :mod:`klepto_archive_dir._entries`). The key in ``input.hdf5`` is
always serialized (klepto stored it raw when ``serialized=False``; both read).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Hashable, Iterator
from typing import Any, ClassVar

from klepto_archive_dir import DirArchive, _Payload, entry_name, readable
from klepto_archive_hdf._archive import _DEFAULT, extra_state, settings
from klepto_archive_hdf._h5 import h5py

from klepto_core.errors import SerializationError
from klepto_core.plugin import Archive

OUTPUT = "output.hdf5"
INPUT = "input.hdf5"


class HDFDirArchive(DirArchive):
    """klepto's ``hdfdir_archive``: sub-directories of ``dirname`` (default ``memo``) of HDF5 files.

    klepto's options (``serialized``, ``permissions``, ``protocol``, ``meta``)
    plus ``serializer`` and ``durable``, as for the ``hdf`` archive.
    """

    __kind_name__: ClassVar[str] = "hdfdir_archive"
    layouts: ClassVar[tuple[str, ...]] = ("klepto",)  # HDF5 files per key, no record log

    def __init__(
        self,
        dirname: Any = None,
        serialized: bool = True,
        permissions: int | None = None,
        protocol: Any = _DEFAULT,
        meta: bool = False,
        *,
        serializer: Any = None,
        durable: bool = False,
        mode: str = "w",
    ) -> None:
        """Open (creating if needed; ``mode="r"``: never) the directory; klepto's defaults
        (protocol 0 with meta)."""
        h5py()
        from klepto_archive_hdf._layout import Layout

        protocol, chosen, json_keys = settings(serialized, protocol, meta, serializer)
        super().__init__(
            dirname, True, 0, permissions, None, 100, protocol, False,
            serializer=chosen if chosen is not None else serializer, durable=durable,
            mode=mode,
        )  # fmt: skip
        if not serialized:
            self._serializer = None
        self.__state__ = {
            "id": self._root,
            "serialized": serialized,
            "permissions": permissions,
            "protocol": protocol,
            "meta": meta,
            **extra_state(serializer, durable),
        }
        self._options = {
            "serialized": serialized,
            "permissions": permissions,
            "protocol": protocol,
            "meta": meta,
        }
        self._serializer_arg = serializer
        self._out, self._in = OUTPUT, INPUT
        self._layout = Layout(meta=meta, json_keys=json_keys, serialized=serialized)
        self._key_layout = Layout(meta=meta, json_keys=json_keys, serialized=True)
        self._raw_layout = Layout(meta=meta, json_keys=json_keys, serialized=False)

    # -- one-entry HDF5 files ---------------------------------------------------------------

    def _image(self, key: Hashable, layout: Any, payload: Any) -> bytes:
        """The bytes of an HDF5 file whose only entry, keyed None, holds ``payload``."""
        buffer = io.BytesIO()
        try:
            with h5py().File(buffer, "w") as handle:
                layout.store(handle, layout.name(None), payload)
        except SerializationError as exc:
            raise SerializationError(
                f"{self._label()}: cannot store key {key!r}: {exc}; nothing was written"
            ) from exc
        return buffer.getvalue()

    @contextlib.contextmanager
    def _opened(self, data: bytes) -> Iterator[Any]:
        h5 = h5py()
        handle = h5.File(h5.h5f.open_file_image(data))
        try:
            yield handle
        finally:
            handle.close()

    def _single(self, data: bytes, layout: Any) -> Any:
        """The payload of an HDF5 file image's entry keyed None (else of its only entry)."""
        from klepto_archive_hdf._layout import Layout

        with self._opened(data) as handle:
            path = layout.find(handle, layout.name(None))
            if path is not None:
                return layout.load(handle, path)
            for other in (layout, Layout(not layout.meta, layout.json_keys, layout.serialized)):
                found = other.entries(handle)
                if len(found) == 1:
                    return other.load(handle, found[0][0])
        raise ValueError("the file holds no single entry keyed None")

    # -- the dir archive's format hooks -----------------------------------------------------

    def _encode(self, key: Hashable, value: Any) -> Any:
        payload = Archive._encode(self, key, value)
        return _Payload(OUTPUT, self._image(key, self._layout, payload))

    def _key_bytes(self, key: Hashable) -> bytes:
        if self._key_layout.json_keys:
            try:
                payload = json.dumps(key).encode("utf-8")
            except (TypeError, ValueError) as exc:
                raise SerializationError(
                    f"{self._label()}: cannot store key {key!r} as JSON: {exc}; nothing was written"
                ) from exc
        else:
            payload = self._dill_key(key)
        return self._image(key, self._key_layout, payload)

    def _dill_key(self, key: Hashable) -> bytes:
        import dill  # type: ignore[import-untyped]

        protocol = self.__state__["protocol"]
        try:
            return bytes(dill.dumps(key, protocol=protocol if isinstance(protocol, int) else None))
        except Exception as exc:
            raise SerializationError(
                f"{self._label()}: cannot store key {key!r}: {type(exc).__name__}: {exc}; "
                "nothing was written"
            ) from exc

    def _load(self, payload: _Payload) -> Any:
        if payload.filename != OUTPUT:
            return super()._load(payload)
        stored = self._single(payload.data, self._layout)
        if self._serializer is None:
            return stored
        return self._serializer.loads(stored)

    def _stored_key(self, directory: str) -> tuple[bool, Any]:
        try:
            with open(os.path.join(directory, INPUT), "rb") as handle:
                data = handle.read()
        except (FileNotFoundError, NotADirectoryError):
            return super()._stored_key(directory)
        return True, self._key_of(self._single(data, self._raw_layout))

    def _key_of(self, raw: Any) -> Any:
        """The key in an ``input.hdf5``: serialized bytes, or the raw value klepto stored."""
        import numpy
        from klepto_archive_hdf._layout import _as_bytes, _tuples

        serialized = isinstance(raw, numpy.void) or (
            isinstance(raw, numpy.ndarray) and raw.dtype.kind == "V"
        )
        if serialized or self.__state__["serialized"]:
            data = _as_bytes(raw)
            if self._key_layout.json_keys:
                return _tuples(json.loads(data))
            import dill  # type: ignore[import-untyped]

            return dill.loads(data)
        if isinstance(raw, bytes):  # klepto's unserialized str key came back as bytes
            return raw.decode("utf-8")
        if isinstance(raw, numpy.generic):
            return raw.item()
        if isinstance(raw, numpy.ndarray):
            return _tuples(raw.tolist())
        return raw

    def _has_output(self, directory: str) -> bool:  # type: ignore[override]
        return os.path.isfile(os.path.join(directory, OUTPUT)) or DirArchive._has_output(directory)

    # The dir archive skips its "klepto's entry of another key?" check when an entry has none
    # of *its* input files; input.hdf5 is not one of them, so the check is made here.

    def _foreign(self, directory: str, key: Hashable, names: set[str] | None = None) -> bool:
        return super()._foreign(directory, key, None)

    def _write(self, key: Hashable, payload: Any) -> None:
        if readable(key) and getattr(self, "_compat", True):
            path = os.path.join(self._root, entry_name(key))
            if os.path.isfile(os.path.join(path, INPUT)) and self._foreign(path, key):
                self._move_klepto_entry(path)
        super()._write(key, payload)
