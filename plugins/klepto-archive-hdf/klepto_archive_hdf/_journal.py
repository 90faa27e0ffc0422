"""A rollback journal that makes a batch of in-place edits to one file atomic.

HDF5 edits a file in place and flushes its metadata at scattered offsets, so a
process killed mid-flush leaves a file HDF5 can no longer open. h5py can do its
I/O through a Python file object instead (its ``fileobj`` driver);
:class:`JournaledFile` is that object. Writes collect in memory pages; on
:meth:`JournaledFile.commit` the original bytes of every byte range about to
change go to ``<file>-journal`` first, then the ranges go to the file, then the
journal is deleted (the commit point). Whoever later finds a journal (its writer
died) calls :func:`recover`, which puts the original bytes back, so the file
always holds either the old or the new contents. The cost is proportional to
the bytes a batch changes, not to the size of the file.

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
_MAGIC = b"KCHDFJ02"
_MAGIC_PAGES = b"KCHDFJ01"  # the first format: records named a page number, not an offset
_HEADER = struct.Struct("<8sQI")  # magic, size of the file before the batch, crc32 of both
_RECORD = struct.Struct("<QI")  # offset, length of the saved bytes (crc32 follows them)
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
    never followed by a write to the file, so it is only removed; records up
    to the first torn one (its bytes were not overwritten yet) are applied
    last to first, so where two saved the same bytes the earlier, original, wins.
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
        if magic in (_MAGIC, _MAGIC_PAGES) and crc == zlib.crc32(header[:16]):
            unit = PAGE if magic == _MAGIC_PAGES else 1
            records = [(at * unit, body) for at, body in _records(data, _HEADER.size)]
            _restore(path, size, reversed(records), durable)
    os.unlink(journal)
    if durable:
        _fsync_dir(path)
    return True


def _records(data: bytes, offset: int) -> Iterable[tuple[int, bytes]]:
    while offset + _RECORD.size <= len(data):
        at, length = _RECORD.unpack_from(data, offset)
        start = offset + _RECORD.size
        end = start + length + _CRC.size
        if end > len(data):
            return
        body = data[start : start + length]
        (crc,) = _CRC.unpack_from(data, start + length)
        if crc != zlib.crc32(data[offset : start + length]):
            return
        yield at, body
        offset = end


def _restore(path: str, size: int, records: Iterable[tuple[int, bytes]], durable: bool) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        for at, body in records:
            os.pwrite(fd, body, at)
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
        self._dirty: dict[int, list[int]] = {}  # page -> [start, end) of its changed bytes
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
        view = memoryview(buffer)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        pos = self._pos
        count = max(0, min(len(view), self._size - pos))
        page, offset = divmod(pos, PAGE)
        if offset + count <= PAGE and pos + count <= self._valid:  # within one page (the usual)
            buf = self._pages.get(page)
            if buf is not None:
                view[:count] = buf[offset : offset + count]
            elif os.preadv(self._fd, [view[:count]], pos) != count:
                self._read_disk(pos, view[:count])
        else:
            self._fill(pos, view[:count])
        self._pos = pos + count
        return count

    def write(self, data: Any) -> int:
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        pos, count, done = self._pos, len(view), 0
        pages, dirty = self._pages, self._dirty
        page, offset = divmod(pos, PAGE)
        if count > 0 and offset + count < PAGE and pos + count <= self._size:  # the usual case
            buf = pages.get(page)
            if buf is None:
                buf = pages[page] = self._load(page)
            buf[offset : offset + count] = view
            _mark(dirty, page, offset, offset + count)
            self._pos = pos + count
            if len(pages) * PAGE > self._spill:
                self._apply()
            return count
        while done < count:
            page, offset = divmod(pos + done, PAGE)
            chunk = min(PAGE - offset, count - done)
            buf = pages.get(page)
            if buf is None:
                buf = bytearray(PAGE) if chunk == PAGE else self._load(page)
                pages[page] = buf
            buf[offset : offset + chunk] = view[done : done + chunk]
            _mark(dirty, page, offset, offset + chunk)
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
                self._dirty.pop(page, None)
            page, offset = divmod(size, PAGE)
            if offset and page in self._pages:
                self._pages[page][offset:] = bytes(PAGE - offset)
            self._valid = min(self._valid, size)
        self._size = size
        return size

    def flush(self) -> None:
        """Nothing to do: pages reach the file in :meth:`commit`."""

    # -- transaction ---------------------------------------------------------------------

    def begin(self) -> None:
        """Start a new batch on an object kept open by :meth:`commit` (``keep_open=True``).

        The caller holds the exclusive lock again; the file may have changed meanwhile.
        """
        size = os.fstat(self._fd).st_size
        self._original = self._disk = self._valid = self._size = size
        self._pages.clear()
        self._dirty.clear()
        self._pos = 0

    def stat(self) -> os.stat_result:
        """``os.fstat`` of the file (the one opened, even if its path was replaced since)."""
        return os.fstat(self._fd)

    def commit(self, keep_open: bool = False) -> None:
        """Make every write so far permanent, atomically.

        The object is closed afterwards unless ``keep_open``, which lets the
        next batch :meth:`begin` on it (h5py keeps its handle over it open).
        """
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
        except BaseException:
            self.close()
            raise
        if keep_open:
            self._original = self._size
        else:
            self.close()

    def rollback(self) -> None:
        """Forget every write, rolling back pages already spilled; the object stays open.

        Nothing written afterwards reaches the file (for closing a discarded handle).
        """
        self._pages.clear()
        self._dirty.clear()
        self._spill = 1 << 62
        self._valid = self._disk = self._size = self._original
        if self._jfd is not None:
            os.close(self._jfd)
            self._jfd = None
            recover(self._path, self._durable)

    def abort(self) -> None:
        """Forget every write; pages already spilled to the file are rolled back."""
        try:
            self.rollback()
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
        """Journal the original bytes of every range about to change, then change the file."""
        unchanged = not self._pages and self._size == self._disk and self._valid == self._disk
        if unchanged:
            return False
        size, disk = self._size, self._disk
        ranges = []  # (offset, length) of bytes of the original file about to change
        if self._valid < min(self._original, disk):  # about to be cut off
            ranges.append((self._valid, min(self._original, disk) - self._valid))
        dirty = sorted(self._dirty.items())
        for page, (start, end) in dirty:
            at = page * PAGE + start
            stop = min(page * PAGE + end, self._original, self._valid)
            if stop > at:
                ranges.append((at, stop - at))
        self._journal_ranges(ranges)
        fd = self._fd
        if self._valid < disk:
            os.ftruncate(fd, self._valid)
        reach = self._valid  # the file's size as the writes leave it
        for page, (start, end) in dirty:
            end = min(end, size - page * PAGE)
            if end > start:
                os.pwrite(fd, memoryview(self._pages[page])[start:end], page * PAGE + start)
                reach = max(reach, page * PAGE + end)
        if reach != size:
            os.ftruncate(fd, size)
        self._pages.clear()
        self._dirty.clear()
        self._disk = self._valid = size
        return True

    def _save(self, pages: list[int]) -> None:
        """Journal the current bytes of whole ``pages`` (of the original file)."""
        self._journal_ranges(
            [(page * PAGE, min(PAGE, self._original - page * PAGE)) for page in pages]
        )

    def _journal_ranges(self, ranges: list[tuple[int, int]]) -> None:
        parts: list[bytes] = []
        created = self._jfd is None
        if self._jfd is None:
            self._jfd = os.open(self._journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            head = struct.pack("<8sQ", _MAGIC, self._original)
            parts.append(head + _CRC.pack(zlib.crc32(head)))
        for at, length in ranges:
            if length <= 0:
                continue
            body = os.pread(self._fd, length, at)
            record = _RECORD.pack(at, len(body))
            parts += (record, body, _CRC.pack(zlib.crc32(body, zlib.crc32(record))))
        jfd = self._jfd
        if parts:
            _write_all(jfd, b"".join(parts))
        if self._durable:
            os.fsync(jfd)
            if created:
                _fsync_dir(self._path)


def _mark(dirty: dict[int, list[int]], page: int, start: int, end: int) -> None:
    """Widen ``page``'s dirty byte span to cover ``start:end``."""
    span = dirty.get(page)
    if span is None:
        dirty[page] = [start, end]
        return
    if start < span[0]:
        span[0] = start
    if end > span[1]:
        span[1] = end
