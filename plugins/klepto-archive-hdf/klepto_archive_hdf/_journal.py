"""A rollback journal that makes a batch of in-place edits to one file atomic.

HDF5 edits a file in place and flushes its metadata at scattered offsets, so a
process killed mid-flush leaves a file HDF5 can no longer open. h5py can do its
I/O through a Python file object instead (its ``fileobj`` driver);
:class:`JournaledFile` is that object. Writes collect in memory pages; on
:meth:`JournaledFile.commit` the original bytes of every page about to change go
to ``<file>-journal`` first, then the pages go to the file, then the journal is
deleted (the commit point). Whoever later finds a journal (its writer died) calls
:func:`recover`, which puts the original bytes back, so the file always holds
either the old or the new contents. The cost is proportional to the pages a
batch touches, not to the size of the file.

Without ``durable`` nothing is fsync-ed: that survives a killed process (the
kernel keeps the write order in its page cache) but not a power cut.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterable
from typing import Any

PAGE = 4096
_MAGIC = b"KCHDFJ01"
_HEADER = struct.Struct("<8sQI")  # magic, size of the file before the batch, crc32 of both
_RECORD = struct.Struct("<QI")  # page number, length of the saved bytes (crc32 follows them)
_CRC = struct.Struct("<I")
#: dirty bytes held in memory before they are journaled and written early
SPILL_BYTES = 32 * 1024 * 1024


def journal_path(path: str) -> str:
    """Where the rollback journal of ``path`` lives (beside it, as SQLite does)."""
    return path + "-journal"


def _fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def recover(path: str, durable: bool = True) -> bool:
    """Roll ``path`` back from a journal a dead writer left; True if there was one.

    The caller must hold the exclusive lock. A journal whose header is torn was
    never followed by a write to the file, so it is only removed; records are
    applied up to the first torn one (its page was not overwritten yet).
    """
    journal = journal_path(path)
    try:
        with open(journal, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return False
    header = data[: _HEADER.size]
    if len(header) == _HEADER.size:
        magic, size, crc = _HEADER.unpack(header)
        if magic == _MAGIC and crc == zlib.crc32(header[:16]):
            _restore(path, size, _records(data, _HEADER.size), durable)
    os.unlink(journal)
    if durable:
        _fsync_dir(path)
    return True


def _records(data: bytes, offset: int) -> Iterable[tuple[int, bytes]]:
    while offset + _RECORD.size <= len(data):
        page, length = _RECORD.unpack_from(data, offset)
        start = offset + _RECORD.size
        end = start + length + _CRC.size
        if length > PAGE or end > len(data):
            return
        body = data[start : start + length]
        (crc,) = _CRC.unpack_from(data, start + length)
        if crc != zlib.crc32(data[offset : start + length]):
            return
        yield page, body
        offset = end


def _restore(path: str, size: int, records: Iterable[tuple[int, bytes]], durable: bool) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        for page, body in records:
            os.pwrite(fd, body, page * PAGE)
        os.ftruncate(fd, size)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


class JournaledFile(io.RawIOBase):
    """The file object h5py writes through: edits stay in memory until :meth:`commit`.

    The caller holds the exclusive lock from construction to commit/abort, and
    calls :func:`recover` before constructing one if a journal exists.
    """

    def __init__(self, path: str, durable: bool = False, spill: int = SPILL_BYTES) -> None:
        super().__init__()
        self._path = path
        self._journal = journal_path(path)
        self._durable = durable
        self._spill = spill
        self._fd = os.open(path, os.O_RDWR)
        size = os.fstat(self._fd).st_size
        self._original = size  # what a rollback restores
        self._disk = size  # bytes on disk now
        self._valid = size  # disk bytes from here on are not content (read as zeros)
        self._size = size  # logical size
        self._pages: dict[int, bytearray] = {}
        self._saved: set[int] = set()  # pages whose original bytes are journaled
        self._jfd: int | None = None
        self._pos = 0

    # -- the file object protocol h5py's fileobj driver uses ---------------------------

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        """``size`` bytes from the current position; past the end reads zeros, like sec2."""
        if size is None or size < 0:
            size = max(0, self._size - self._pos)
        buffer = bytearray(size)
        self._fill(self._pos, memoryview(buffer))
        self._pos += size
        return bytes(buffer)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self._size - self._pos))
        self._fill(self._pos, view[:count])
        self._pos += count
        return count

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        pos, count, done = self._pos, len(view), 0
        pages = self._pages
        while done < count:
            page, offset = divmod(pos + done, PAGE)
            chunk = min(PAGE - offset, count - done)
            buf = pages.get(page)
            if buf is None:
                buf = bytearray(PAGE) if chunk == PAGE else self._load(page)
                pages[page] = buf
            buf[offset : offset + chunk] = view[done : done + chunk]
            done += chunk
        self._pos = pos + count
        if self._pos > self._size:
            self._size = self._pos
        if len(pages) * PAGE > self._spill:
            self._apply()
        return count

    def truncate(self, size: int | None = None) -> int:
        size = self._pos if size is None else size
        if size < self._size:
            first_gone = -(-size // PAGE)
            for page in [p for p in self._pages if p >= first_gone]:
                del self._pages[page]
            page, offset = divmod(size, PAGE)
            if offset and page in self._pages:
                self._pages[page][offset:] = bytes(PAGE - offset)
            self._valid = min(self._valid, size)
        self._size = size
        return size

    def flush(self) -> None:
        """Nothing to do: pages reach the file in :meth:`commit`."""

    # -- transaction ---------------------------------------------------------------------

    def commit(self) -> None:
        """Make every write so far permanent, atomically; the object is closed afterwards."""
        try:
            changed = self._apply()
            if self._jfd is not None:
                if self._durable and changed:
                    os.fsync(self._fd)
                os.close(self._jfd)
                self._jfd = None
                os.unlink(self._journal)  # the commit point
                if self._durable:
                    _fsync_dir(self._path)
        finally:
            self.close()

    def abort(self) -> None:
        """Forget every write; pages already spilled to the file are rolled back."""
        self._pages.clear()
        try:
            if self._jfd is not None:
                os.close(self._jfd)
                self._jfd = None
                recover(self._path, self._durable)
        finally:
            self.close()

    def close(self) -> None:
        if self._jfd is not None:  # closed without commit: leave the journal for recover()
            os.close(self._jfd)
            self._jfd = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        super().close()

    # -- internals -----------------------------------------------------------------------

    def _fill(self, at: int, view: memoryview) -> None:
        """Copy the logical bytes at ``at`` into ``view`` (dirty pages win over the disk)."""
        pages = self._pages
        done, count = 0, len(view)
        while done < count:
            page, offset = divmod(at + done, PAGE)
            buf = pages.get(page)
            if buf is not None:
                chunk = min(PAGE - offset, count - done)
                view[done : done + chunk] = buf[offset : offset + chunk]
            else:  # a run of clean pages is one read
                stop = min(count, (page + 1) * PAGE - at)
                while stop < count and (at + stop) // PAGE not in pages:
                    stop = min(count, stop + PAGE)
                chunk = stop - done
                self._read_disk(at + done, view[done:stop])
            done += chunk

    def _read_disk(self, at: int, view: memoryview) -> None:
        limit = max(0, min(len(view), self._valid - at))
        got = 0
        while got < limit:
            count = os.preadv(self._fd, [view[got:limit]], at + got)
            if count <= 0:
                break
            got += count
        if got < len(view):
            view[got:] = bytes(len(view) - got)

    def _load(self, page: int) -> bytearray:
        buf = bytearray(PAGE)
        self._read_disk(page * PAGE, memoryview(buf))
        return buf

    def _apply(self) -> bool:
        """Journal the original bytes of every page about to change, then change the file."""
        unchanged = not self._pages and self._size == self._disk and self._valid == self._disk
        if unchanged:
            return False
        touched = {p for p in self._pages if p * PAGE < self._original}
        if self._valid < self._original:
            touched.update(range(self._valid // PAGE, -(-self._original // PAGE)))
        self._save(sorted(touched - self._saved))
        fd = self._fd
        if self._valid < self._disk:
            os.ftruncate(fd, self._valid)
        for page in sorted(self._pages):
            length = min(PAGE, self._size - page * PAGE)
            if length > 0:
                os.pwrite(fd, memoryview(self._pages[page])[:length], page * PAGE)
        if os.fstat(fd).st_size != self._size:
            os.ftruncate(fd, self._size)
        self._pages.clear()
        self._disk = self._valid = self._size
        return True

    def _save(self, pages: list[int]) -> None:
        if self._jfd is None:
            self._jfd = os.open(self._journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            head = struct.pack("<8sQ", _MAGIC, self._original)
            _write_all(self._jfd, head + _CRC.pack(zlib.crc32(head)))
            if self._durable:
                _fsync_dir(self._path)
        out = bytearray()
        for page in pages:
            body = os.pread(self._fd, PAGE, page * PAGE)
            record = _RECORD.pack(page, len(body)) + body
            out += record + _CRC.pack(zlib.crc32(record))
        _write_all(self._jfd, bytes(out))
        if self._durable:
            os.fsync(self._jfd)
        self._saved.update(pages)
