"""klepto's HDF5 layout: how a key names an entry and how a value sits in the file.

An entry is a root dataset (or, with ``meta=True``, a root attribute) whose name
is the key pickled by dill with protocol 0 (or, for klepto's json protocol, the
key as JSON text). A serialized value is a 1-element array holding
``numpy.void(<serialized bytes>)`` (a bare ``numpy.void`` as an attribute); an
unserialized value is stored as h5py converts it (a ``str`` comes back as
``bytes`` from a dataset: klepto's behaviour, kept).

Two fixes over klepto, both readable by it: a protocol-0 pickle writes
non-ASCII text as raw latin-1 bytes, which is not a valid HDF5 (UTF-8) name
(klepto failed on keys like ``'é'``), so such characters are written as the
``\\uXXXX`` escapes the same pickle opcode also accepts; and a name with ``/``
is stored at that nested path (as klepto did, so klepto finds it) unless the
path would be ambiguous (``//``, ``/./``, a trailing ``/``), in which case ``/``
is replaced by U+2215, a character no escaped name contains. (klepto stored
such keys at the collapsed path, e.g. ``'http://x'`` where ``'http:/x'``
lives; they read back as the collapsed key.)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Hashable
from typing import Any

import numpy

from klepto_core.errors import SerializationError

_SLASH = "\u2215"
_NUL = "\u2400"
#: what :meth:`Layout.key` returns for a name that is not a key (``None`` is a valid key)
FOREIGN: Any = object()


class UnreadablePayloadError(Exception):
    """The stored object of a name exists but cannot be read (damaged file structure)."""


def _tuples(obj: Any) -> Any:
    """JSON arrays back to tuples, so a key stored as JSON is hashable again."""
    if isinstance(obj, list):
        return tuple(_tuples(item) for item in obj)
    return obj


@functools.lru_cache(maxsize=65536)
def _key_of(name: str, json_keys: bool) -> Any:
    text = name.replace(_SLASH, "/").replace(_NUL, "\x00")
    if json_keys:
        return _tuples(json.loads(text))
    import dill  # type: ignore[import-untyped]

    return dill.loads(text.encode("utf-8", "surrogateescape"))


_ESCAPED = frozenset("\\\0\n\r\x1a")


def _escape_text(text: str) -> bytes:
    """``text`` as a protocol-0 UNICODE argument in pure ASCII (``\\uXXXX`` for the rest)."""
    out = []
    for char in text:
        code = ord(char)
        if code >= 0x80 or char in _ESCAPED:
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out).encode("ascii")


def ascii_pickle(data: bytes) -> bytes:
    """A protocol-0 pickle with every UNICODE opcode's text in ASCII escapes (same object)."""
    if data.isascii():
        return data
    import pickletools

    out = bytearray()
    done = 0
    for opcode, arg, pos in pickletools.genops(data):
        if opcode.name == "UNICODE" and pos is not None:
            end = data.index(b"\n", pos + 1)
            out += data[done : pos + 1] + _escape_text(str(arg))
            done = end
    out += data[done:]
    return bytes(out)


class Layout:
    """Names and payloads of one archive's entries in klepto's HDF5 format.

    ``meta`` stores entries as root attributes, ``json_keys`` names them by JSON
    text (klepto's ``protocol='json'``), ``serialized`` says payloads are bytes.
    """

    def __init__(self, meta: bool, json_keys: bool, serialized: bool) -> None:
        self.meta = meta
        self.json_keys = json_keys
        self.serialized = serialized

    # -- names -------------------------------------------------------------------------

    def name(self, key: Hashable) -> str:
        """The entry name of ``key``; SerializationError if it cannot be pickled (or JSON-ed)."""
        try:
            if self.json_keys:
                return json.dumps(key)
            import dill  # type: ignore[import-untyped]

            return ascii_pickle(dill.dumps(key, protocol=0)).decode("utf-8", "surrogateescape")
        except Exception as exc:
            raise SerializationError(
                f"cannot name key {key!r} in an HDF5 archive: {type(exc).__name__}: {exc}"
            ) from exc

    def key(self, name: str) -> Any:
        """The key a stored name stands for, or FOREIGN when the name is not a key."""
        try:
            key = _key_of(name, self.json_keys)
            hash(key)
        except Exception:
            return FOREIGN
        return key

    def path(self, name: str) -> str:
        """Where a dataset of that name lives (attribute names are used as they are)."""
        if self.meta or ("/" not in name and "\x00" not in name):
            return name
        parts = name.split("/")
        if "\x00" in name or any(part in ("", ".", "..") for part in parts):
            return name.replace("/", _SLASH).replace("\x00", _NUL)
        return name

    # -- entries -----------------------------------------------------------------------

    def entries(self, root: Any) -> list[tuple[str, Hashable]]:
        """Every (path, key) stored under ``root``; objects whose names are not keys are skipped."""
        out: list[tuple[str, Hashable]] = []
        if self.meta:
            for name in root.attrs:
                key = self.key(name)
                if key is not FOREIGN:
                    out.append((name, key))
            return out
        self._walk(root, "", out)
        return out

    def _walk(self, group: Any, prefix: str, out: list[tuple[str, Hashable]]) -> None:
        import h5py  # type: ignore[import-untyped]

        for raw in group.id:
            name = raw.decode("utf-8", "surrogateescape")
            path = prefix + name
            key = self.key(path)
            if key is not FOREIGN:
                out.append((path, key))
            elif group.get(name, getclass=True) is h5py.Group:
                self._walk(group[name], path + "/", out)

    def find(self, root: Any, name: str) -> str | None:
        """The path holding ``name`` under ``root``, or None when it is not stored."""
        if self.meta:
            return name if name in root.attrs else None
        path = self.path(name)
        return path if _exists(root, path) else None

    def load(self, root: Any, path: str) -> Any:
        """The payload at a ``path`` :meth:`find` returned (bytes when serialized).

        UnreadablePayloadError when the object is there but cannot be read.
        """
        try:
            raw = root.attrs[path] if self.meta else self._read_dataset(root, path)
            return _as_bytes(raw) if self.serialized else raw
        except Exception as exc:
            raise UnreadablePayloadError(f"{type(exc).__name__}: {exc}") from exc

    def _read_dataset(self, root: Any, path: str) -> Any:
        from h5py import h5d, h5s, h5t  # type: ignore[import-untyped]

        dsid = h5d.open(root.id, path.encode("utf-8", "surrogateescape"))
        if self.serialized and dsid.get_type().get_class() == h5t.OPAQUE:
            array = numpy.empty(dsid.shape, dsid.dtype)
            dsid.read(h5s.ALL, h5s.ALL, array)
            return array.reshape(-1)[0] if array.size == 1 else array
        import h5py  # type: ignore[import-untyped]

        return h5py.Dataset(dsid)[()]

    def store(self, root: Any, name: str, payload: Any) -> None:
        """Write ``payload`` under ``name``, replacing what was there.

        SerializationError if HDF5 cannot hold it (an unserialized value h5py
        cannot convert, an attribute too large for an old-format file).
        """
        value = _stored_form(payload, self.meta) if self.serialized else payload
        try:
            if self.meta:
                root.attrs[name] = value
                return
            self._store_dataset(root, self.path(name), value)
        except SerializationError:
            raise
        except (TypeError, ValueError) as exc:
            raise SerializationError(
                f"HDF5 cannot store a {type(payload).__name__} value unserialized: {exc}; "
                "use serialized=True"
            ) from exc
        except OSError as exc:
            if self.meta:  # an old-format file keeps attributes in a 64 KiB object header
                raise SerializationError(
                    f"HDF5 cannot store this value as an attribute (meta=True): {exc}; "
                    "files made by klepto limit attributes to 64 KiB, use meta=False"
                ) from exc
            raise

    def _store_dataset(self, root: Any, path: str, value: Any) -> None:
        existing = root.get(path) if _exists(root, path) else None
        if existing is not None:
            if (
                isinstance(value, numpy.ndarray)
                and getattr(existing, "dtype", None) == value.dtype
                and existing.shape == value.shape
            ):
                existing[...] = value  # same size: overwrite in place, the file does not grow
                return
            self._delete_dataset(root, path)
        if (
            isinstance(value, numpy.ndarray)
            and value.dtype.kind == "V"
            and value.dtype.names is None
            and path.isascii()
        ):
            _create_opaque(root, path.encode("ascii"), value)
        else:
            root[path] = value

    def delete(self, root: Any, path: str) -> None:
        """Remove the entry at ``path`` (and groups it leaves empty)."""
        if self.meta:
            del root.attrs[path]
        else:
            self._delete_dataset(root, path)

    def _delete_dataset(self, root: Any, path: str) -> None:
        del root[path]
        parent = path.rpartition("/")[0]
        while parent:
            group = root.get(parent)
            if group is None or len(group):
                break
            del root[parent]
            parent = parent.rpartition("/")[0]


@functools.lru_cache(maxsize=1)
def _plists() -> tuple[Any, Any]:
    """(dataset, link) creation property lists as h5py's ``group[name] = array`` uses them."""
    from h5py import h5p, h5t  # type: ignore[import-untyped]

    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_obj_track_times(False)
    lcpl = h5p.create(h5p.LINK_CREATE)
    lcpl.set_create_intermediate_group(True)
    lcpl.set_char_encoding(h5t.CSET_ASCII)
    return dcpl, lcpl


def _create_opaque(root: Any, name: bytes, value: Any) -> None:
    """``root[name] = value`` for an array of opaque bytes, through h5py's low-level API.

    The file gets the very dataset h5py's high-level assignment makes (same
    type, layout and properties), without its per-call argument handling,
    which is a large part of a small write's cost.
    """
    from h5py import h5d, h5o, h5s, h5t  # type: ignore[import-untyped]

    dcpl, lcpl = _plists()
    tid = h5t.py_create(value.dtype, logical=1)
    dsid = h5d.create(root.id, None, tid, h5s.create_simple(value.shape), dcpl=dcpl)
    dsid.write(h5s.ALL, h5s.ALL, numpy.ascontiguousarray(value))
    h5o.link(dsid, root.id, name, lcpl=lcpl)


def _exists(root: Any, path: str) -> bool:
    if "/" in path:
        try:
            return path in root
        except Exception:
            return False
    return bool(root.id.links.exists(path.encode("utf-8", "surrogateescape")))


def _stored_form(payload: bytes, meta: bool) -> Any:
    """Opaque bytes as klepto stored them: a bare ``numpy.void`` attribute, or a 1-element array."""
    if not payload:  # HDF5 has no zero-size opaque type
        return b"" if meta else [b""]
    if meta:
        return numpy.void(payload)
    return numpy.array([numpy.void(payload)])


def _as_bytes(raw: Any) -> bytes:
    """The serialized bytes of a stored value, whatever form klepto or we gave it."""
    if isinstance(raw, numpy.ndarray) and raw.size == 1:
        raw = raw.reshape(-1)[0]
    if isinstance(raw, numpy.void):
        return raw.tobytes()
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8")
    raise TypeError(f"stored value is a {type(raw).__name__}, not serialized bytes")
