"""Large buffers of stored values kept beside a record log: content-addressed blob files.

A value holding big buffers (numpy arrays, pandas columns, ``bytes``...) is
pickled with protocol 5 and its buffers of :data:`MIN_SIZE` bytes or more are
kept out of band: each is written, as its raw bytes, to ``<dir>/<xx>/<digest>``
(XXH3-128 of its bytes) and the record stores only the pickle stream and the
buffers' digests and lengths (:func:`payload`). So a stored array is written
once with no pickle copy, equal buffers are stored once, reading one is a single
read into memory the array then uses, and with ``mmap_mode="r"`` it is not read
at all: the array is a read-only memory map of its blob (``"c"``: copy-on-write).

Blobs are written under a unique temp name and renamed into place before the
record that names them is appended, and a sweep removes only blobs no record
names, under the log's lock; so a crash leaves at worst an unnamed blob, never a
record without its blob. A blob read into memory is checked against its digest
(a damaged one is a CorruptEntryError); a memory-mapped one only by its size.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from collections.abc import Iterable
from typing import Any

from klepto_core.errors import CorruptEntryError, InvalidArgumentError
from klepto_core.keys.content import _hasher, is_bulk
from klepto_core.storage.recordlog import fsync_dir, temp_name

__all__ = ["MAGIC", "MIN_SIZE", "BlobStore", "Buffered", "is_buffered", "payload"]

#: the first bytes of a record value whose buffers are blobs (no pickle, JSON or zlib
#: frame starts so: ``K`` ``C`` then a NUL is not a valid pickle)
MAGIC = b"KC\x00OOB1"
#: buffers smaller than this stay inside the pickle stream
MIN_SIZE = 1 << 16
MMAP_MODES = (None, "r", "c")

_COUNT = struct.Struct(">I")
_ENTRY = struct.Struct(">16sQ")


class Buffered(bytes):
    """A record value naming blobs, with the buffers still to write (``buffers``)."""

    buffers: list[tuple[str, Any]]


def payload(stream: bytes, buffers: list[Any]) -> Buffered:
    """The record value for a pickle ``stream`` whose out-of-band ``buffers`` become blobs."""
    named: list[tuple[str, Any]] = []
    head = [MAGIC, _COUNT.pack(len(buffers))]
    for buffer in buffers:
        raw = buffer.raw() if hasattr(buffer, "raw") else memoryview(buffer).cast("B")
        h = _hasher()
        h.update(raw)
        digest = h.digest()
        head.append(_ENTRY.pack(digest, raw.nbytes))
        named.append((digest.hex(), raw))
    value = Buffered(b"".join(head) + stream)
    value.buffers = named
    return value


def is_buffered(data: bytes) -> bool:
    """Whether a record value names blobs."""
    return data[: len(MAGIC)] == MAGIC


def parse(data: bytes) -> tuple[list[tuple[str, int]], bytes]:
    """(the (digest, length) of each blob, the pickle stream) of a record value."""
    (count,) = _COUNT.unpack_from(data, len(MAGIC))
    pos = len(MAGIC) + _COUNT.size
    entries = []
    for _ in range(count):
        digest, length = _ENTRY.unpack_from(data, pos)
        entries.append((digest.hex(), length))
        pos += _ENTRY.size
    return entries, data[pos:]


def check_mmap_mode(mode: Any) -> str | None:
    """``mode`` if it is a memory-map mode a blob can be opened with, else InvalidArgumentError."""
    if mode not in MMAP_MODES:
        raise InvalidArgumentError(
            f"mmap_mode must be None, 'r' (read-only) or 'c' (copy-on-write), got {mode!r}; "
            "blobs are shared by every entry holding the same bytes, so they are never written"
        )
    return mode  # type: ignore[no-any-return]


class BlobStore:
    """The blob files in ``directory`` (created on the first write)."""

    def __init__(self, directory: str, durable: bool = False) -> None:
        self.directory = os.path.abspath(directory)
        self.durable = durable

    def path(self, digest: str) -> str:
        """Where the blob of ``digest`` lives."""
        return os.path.join(self.directory, digest[:2], digest)

    def write(self, buffers: Iterable[tuple[str, Any]]) -> None:
        """Make sure each (digest, bytes) is stored (a blob already there is not rewritten)."""
        for digest, raw in buffers:
            target = self.path(digest)
            try:
                if os.stat(target).st_size == raw.nbytes:
                    continue
            except FileNotFoundError:
                pass
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = temp_name(target)
            try:
                with open(tmp, "wb") as handle:
                    handle.write(raw)
                    if self.durable:
                        handle.flush()
                        os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            if self.durable:
                fsync_dir(os.path.dirname(target))

    def read(self, label: str, key: Any, digest: str, length: int, mmap_mode: str | None) -> Any:
        """The bytes of a blob: a writable bytearray read and checked, or a memory map."""
        path = self.path(digest)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below; the map outlives it
        except FileNotFoundError:
            raise CorruptEntryError(label, key, f"its blob {digest} is missing") from None
        with handle:
            size = os.fstat(handle.fileno()).st_size
            if size != length:
                raise CorruptEntryError(
                    label, key, f"its blob {digest} holds {size} bytes, not {length}"
                )
            if length == 0:
                return bytearray()
            if mmap_mode is not None:
                access = mmap.ACCESS_READ if mmap_mode == "r" else mmap.ACCESS_COPY
                return mmap.mmap(handle.fileno(), 0, access=access)
            data = bytearray(length)
            view = memoryview(data)
            done = 0
            while done < length:
                got = handle.readinto(view[done:])
                if not got:
                    break
                done += got
        h = _hasher()
        h.update(data)
        if done != length or h.hexdigest() != digest:
            raise CorruptEntryError(label, key, f"its blob {digest} does not match its digest")
        return data

    def sweep(self, live: Iterable[str]) -> None:
        """Remove every blob whose digest is not in ``live`` (caller holds the log's lock)."""
        keep = set(live)
        with contextlib.suppress(FileNotFoundError), os.scandir(self.directory) as groups:
            for group in groups:
                if not group.is_dir():
                    continue
                with os.scandir(group.path) as blobs:
                    for blob in blobs:
                        if blob.name not in keep:
                            with contextlib.suppress(OSError):
                                os.unlink(blob.path)
                with contextlib.suppress(OSError):
                    os.rmdir(group.path)  # only if now empty

    def size(self) -> int:
        """Bytes held in blob files."""
        total = 0
        for root, _dirs, files in os.walk(self.directory):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.stat(os.path.join(root, name)).st_size
        return total


def referenced(values: Iterable[bytes]) -> set[str]:
    """The digests the record values ``values`` name."""
    live: set[str] = set()
    for data in values:
        if is_buffered(data):
            live.update(digest for digest, _length in parse(data)[0])
    return live


def may_hold_buffers(value: Any) -> bool:
    """Whether ``value`` is worth pickling with out-of-band buffers: a numpy array, a pandas
    object or big bytes, alone or among the first items of a tuple, list or dict."""
    def big(obj: Any) -> bool:
        kind = type(obj)
        if kind is bytes or kind is bytearray:
            return len(obj) >= MIN_SIZE
        return is_bulk(obj)

    if big(value):
        return True
    kind = type(value)
    if kind is tuple or kind is list:
        return any(big(item) for item in value[:64])
    if kind is dict:
        return any(big(item) for _n, item in zip(range(64), value.values()))
    return False


def encode(serializer: Any, value: Any) -> Buffered | None:
    """``value`` as a record value naming blobs, or None (no big buffer; store it as usual)."""
    if not may_hold_buffers(value):
        return None
    split = serializer.dumps_buffers(value, MIN_SIZE)
    if split is None:
        return None
    stream, buffers = split
    return payload(stream, buffers)


def decode(
    serializer: Any,
    data: bytes,
    store: BlobStore,
    label: str,
    key: Any,
    mmap_mode: str | None,
) -> Any:
    """The value a :func:`payload` record value stands for, its buffers read from ``store``."""
    entries, stream = parse(data)
    buffers = [store.read(label, key, digest, length, mmap_mode) for digest, length in entries]
    return serializer.loads_buffers(stream, buffers)
