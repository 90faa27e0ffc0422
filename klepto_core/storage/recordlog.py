"""An append-only log of checksummed records in one file, indexed in memory: a building block.

An archive that keeps many small entries in one local file uses :class:`RecordLog`
for the hard parts: O(1) writes (one locked ``write`` of one record), O(1) reads
(a dict lookup and one ``pread``), other processes' appends picked up from the
file's tail (one ``stat`` per operation), crash safety, and compaction. The
file's format (header, records, scanning, damage) is :mod:`klepto_core.storage.records`;
its names are importable from here too.

A torn tail (a record cut short by a process killed mid-append) is ignored by
readers and dropped by the next writer, which rewrites the file. Writers take
an exclusive ``flock`` on the file and catch up with its tail before appending,
so concurrent processes lose nothing. When more than half of a file bigger than
:data:`COMPACT_MIN_BYTES` is superseded records, the live records are written
to a temp file that replaces the log with ``os.replace``; other handles notice
the new inode and re-read it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import zlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from operator import itemgetter
from typing import Any

from klepto_core.errors import CorruptEntryError, FormatError, UnhashableKeyError
from klepto_core.storage.faults import named_fault, storage_faults
from klepto_core.storage.records import (
    DELETE,
    FRAME,
    MAGIC,
    REC_HEAD,
    RECORD,
    SET,
    Apply,
    Damaged,
    Entry,
    ScanResult,
    checked,
    header,
    read_header,
    record,
    scan,
    scan_records,
)

__all__ = [
    "COMPACT_MIN_BYTES",
    "DELETE",
    "FRAME",
    "LOG",
    "MAGIC",
    "OTHER",
    "RECORD",
    "REC_HEAD",
    "SET",
    "Apply",
    "Damaged",
    "Entry",
    "Known",
    "RecordLog",
    "ScanResult",
    "checked",
    "fsync_dir",
    "header",
    "read_header",
    "record",
    "scan",
    "temp_name",
    "unique_suffix",
]

#: what the file at a log's path holds: a log; or something else (another format)
LOG, OTHER = "log", "other"

#: compact when the file is bigger than this and more than half of it is dead records
COMPACT_MIN_BYTES = 1 << 20

#: bytes a lazy open reads to find the header (a file no bigger is read whole)
_HEAD_PROBE = 4096

#: (key, key length, record length) of each record appended; key length -1 for a delete
Known = Sequence[tuple[Hashable, int, int]]


# -- one log file ------------------------------------------------------------------------------

_counter = 0
_counter_lock = threading.Lock()


def unique_suffix() -> str:
    """A name part no other thread or live process uses (pid + counter: the global RNG is
    not touched), for temp files and other names that must not collide."""
    global _counter
    with _counter_lock:
        _counter += 1
        n = _counter
    return f"{os.getpid()}-{n}"


def temp_name(path: str) -> str:
    """A unique temp path beside ``path`` (``.<name>.tmp-<unique_suffix()>``)."""
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.tmp-{unique_suffix()}")


def fsync_dir(directory: str) -> None:
    """Make a rename or a new name in ``directory`` durable."""
    fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Exclusive:
    """:meth:`RecordLog.exclusive`'s context."""

    __slots__ = ("create", "held", "log")

    def __init__(self, log: RecordLog, create: bool) -> None:
        self.log = log
        self.create = create
        self.held = False

    def __enter__(self) -> bool:
        log = self.log
        log.lock.acquire()
        try:
            self.held = log._acquire(self.create)
        except BaseException:
            log.lock.release()
            raise
        return self.held

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.held:
                self.log._release()
        finally:
            self.log.lock.release()


class RecordLog:
    """The log file at ``path``: its index of live keys, reads, locked appends, compaction.

    ``decode_key`` turns a record's key bytes back into the key, ``encode_key``
    a key into them (raising SerializationError for a key it cannot store);
    ``label`` names the owner in errors (``"my_archive('/data/memo')"``).
    ``meta`` gives the header of a new or compacted file, ``on_header`` sees the
    header of each file read (to adopt its serializer, or refuse it with
    FormatError), and ``on_other`` the bytes of a file that is not a log (another
    format the owner reads itself; without it such a file is a FormatError).
    ``initial`` gives the content of a file created by the first write (default:
    a header). ``lock`` is the owner's thread lock, if it has one. ``durable``
    fsyncs each append and each replacement. ``decode_keys``, if given, decodes
    a list of keys at once (what ``decode_key`` does to each, only cheaper).

    The file is opened lazily and may not exist: reads then find nothing and the
    first append creates it (atomically, under a unique temp name, then linked in).

    Writing: :meth:`set` and :meth:`delete` change one key (one locked append
    each). To write several keys at once, or to do more under the same lock,
    build the records with :meth:`set_records` / :meth:`delete_record` and pass
    them to :meth:`append`, or to :meth:`append_locked` inside :meth:`exclusive`
    (where :meth:`discard_locked` removes a key if it has a record).
    """

    def __init__(
        self,
        path: str,
        decode_key: Callable[[bytes], Hashable],
        *,
        encode_key: Callable[[Hashable], bytes],
        label: str,
        meta: Callable[[], dict[str, Any]] = dict,
        on_header: Callable[[dict[str, Any]], None] | None = None,
        on_other: Callable[[bytes], None] | None = None,
        initial: Callable[[], bytes] | None = None,
        lock: Any = None,
        durable: bool = False,
        decode_keys: Callable[[Sequence[bytes]], Sequence[Hashable]] | None = None,
    ) -> None:
        self.path = os.path.abspath(path)
        self.label = label
        self.durable = durable
        self.lock: Any = lock if lock is not None else threading.RLock()
        self._decode_key = decode_key
        self._decode_keys = decode_keys
        self._encode_key = encode_key
        self._meta = meta
        self._on_header = on_header
        self._on_other = on_other
        self._initial = initial
        self.fd: int | None = None
        self._pid = os.getpid()
        self._generation = 0
        self._reset()

    # -- state ----------------------------------------------------------------------------

    def _reset(self) -> None:
        #: None (no file, or an empty one), LOG, or OTHER
        self.kind: str | None = None
        #: the header metadata of the file last read
        self.meta: dict[str, Any] = {}
        #: each live key's latest record (Damaged when it fails its checksum)
        self.index: dict[Hashable, Entry | Damaged] = {}
        #: damaged records whose key could not be read, described
        self.unreadable: list[str] = []
        #: whether the file ends in a record cut short
        self.torn = False
        self._stamp: tuple[int, int, int, int] = (0, 0, 0, 0)  # dev, inode, size, mtime
        self._live = 0
        self._header_size = 0
        self._scanned = 0

    def close(self) -> None:
        """Close the file (it is reopened by the next operation)."""
        with self.lock:
            self._close_fd()
            self._reset()

    def _close_fd(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            with contextlib.suppress(OSError):
                os.close(fd)

    def __del__(self) -> None:
        try:  # no module globals: at interpreter exit they may already be gone
            self._close_fd()
        except BaseException:
            pass

    def header(self) -> bytes:
        """The header a new or rewritten file starts with."""
        return header(self._meta())

    def reload(self, lazy: bool = False) -> None:
        """Re-read the file from scratch (first use, replaced by compaction, another format).

        ``lazy`` reads a log's header only (its metadata is checked, as ever): the
        records are read by the next operation, as if another process had just
        appended them, so a ``load()`` right after opening reads the file once.
        """
        self._reload(lazy)

    def _reload(self, lazy: bool = False) -> bytes:
        """:meth:`reload`; returns the bytes it read and indexed."""
        with self.lock:
            self._close_fd()
            self._reset()
            self._pid = os.getpid()
            self._generation += 1
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
            except PermissionError:
                fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError):
                return b""
            return self._adopt(fd, lazy)

    def _adopt(self, fd: int, lazy: bool = False) -> bytes:
        """Make the open file ``fd`` current and index it (thread lock held, reset); its bytes."""
        self.fd = fd
        try:
            st = os.fstat(fd)
            if lazy and st.st_size > _HEAD_PROBE and self._adopt_header(fd, st):
                return b""
            data = os.pread(fd, st.st_size, 0)
            self._stamp = (st.st_dev, st.st_ino, len(data), st.st_mtime_ns)
            self._load(data)
            return data
        except BaseException:
            self._close_fd()  # the next operation reads the file again
            self._reset()
            raise

    def _adopt_header(self, fd: int, st: os.stat_result) -> bool:
        """Read a log's header only, leaving its records for the next catch-up; False if none."""
        head = os.pread(fd, _HEAD_PROBE, 0)
        found = read_header(head) if head.startswith(MAGIC) else None
        if found is None:
            return False  # not a log, or a header longer than the probe: read whole
        self.meta, size = found
        self.kind = LOG
        self._header_size = self._scanned = size
        self._stamp = (st.st_dev, st.st_ino, size, 0)  # the records look appended since
        if self._on_header is not None:
            self._on_header(self.meta)
        return True

    def _load(self, data: bytes) -> None:
        if data.startswith(MAGIC):
            found = read_header(data)
            if found is None:
                raise FormatError(f"{self.label}: the log header of {self.path!r} is damaged")
            self.meta, size = found
            self.kind = LOG
            self._header_size = self._scanned = size
            if self._on_header is not None:
                self._on_header(self.meta)
            self._consume(data[size:], size)
        elif MAGIC.startswith(data):  # empty, or a header cut short
            self._scanned = len(data)
            self.torn = bool(data)
        else:
            self.kind = OTHER
            self._scanned = len(data)
            if self._on_other is None:
                raise FormatError(f"{self.label}: {self.path!r} is not a record log")
            self._on_other(data)

    def _consume(self, data: bytes, base: int) -> None:
        found, result = scan_records(data, base, self._decode_key, self._decode_keys)
        self._scanned = result.end
        self.torn = result.torn
        self.unreadable.extend(result.unreadable)
        index = self.index
        if not index:
            # a whole file read (the usual case): one update when no key repeats or is deleted
            index.update(found)  # type: ignore[arg-type]  # deletes (None) are undone below
            if len(index) == len(found) and None not in index.values():
                self._live = sum(map(itemgetter(1), index.values()))  # each record's length
                return
            index.clear()
        apply = self._apply
        for key, entry in found:
            apply(key, entry)

    def _apply(self, key: Hashable, entry: Entry | Damaged | None) -> None:
        old = self.index.pop(key, None)
        if old is not None:
            self._live -= old.length
        if entry is not None:
            self.index[key] = entry
            self._live += entry.length

    def refresh(self, st: os.stat_result | None = None) -> None:
        """Catch up with what other processes wrote since we last looked (one ``stat``)."""
        self._catch_up(st)

    def _catch_up(self, st: os.stat_result | None = None) -> tuple[int, bytes]:
        """:meth:`refresh`; returns (file offset, bytes) of what it read and indexed."""
        if self.fd is None or self._pid != os.getpid():
            return 0, self._reload()
        if st is None:
            try:
                st = os.stat(self.path)
            except (FileNotFoundError, NotADirectoryError):
                self.close()
                return 0, b""
        dev, ino, size, mtime = self._stamp
        if st.st_size == size and st.st_ino == ino and st.st_dev == dev and self.kind == LOG:
            return 0, b""  # the usual case: nothing new
        if st.st_ino != ino or st.st_dev != dev:
            return 0, self._reload()  # replaced: compacted, converted, or in another format
        if self.kind == LOG:
            if st.st_size > size:
                tail = os.pread(self.fd, st.st_size - self._scanned, self._scanned)
                base = self._scanned
                self._consume(tail, base)
                self._stamp = (dev, ino, base + len(tail), 0)
                return base, tail
            if st.st_size < size:
                return 0, self._reload()
        elif st.st_size != size or st.st_mtime_ns != mtime:
            return 0, self._reload()
        return 0, b""

    # -- locking ----------------------------------------------------------------------------

    def _acquire(self, create: bool) -> bool:
        """flock the current file, caught up with it (thread lock held); False if there is none."""
        while True:
            fd = self.fd
            if fd is None or self._pid != os.getpid():
                self.refresh()
                if self.fd is None:
                    if not create:
                        return False
                    self.create()
                continue
            generation = self._generation
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                st: os.stat_result | None = os.stat(self.path)
            except (FileNotFoundError, NotADirectoryError):
                st = None
            dev, ino, _size, _mtime = self._stamp
            if st is not None and st.st_ino == ino and st.st_dev == dev:
                self.refresh(st)
                if self._generation == generation:
                    return True
                continue  # re-read (the file shrank): the lock went with the old descriptor
            fcntl.flock(fd, fcntl.LOCK_UN)
            self.reload()  # replaced (or removed) while we waited for the lock

    def _release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def exclusive(self, create: bool = True) -> _Exclusive:
        """A context holding the thread lock and an flock on the file, caught up with it.

        Entering it gives whether there is a file (``create=False`` leaves a missing
        one missing). A class, not a generator: it is on every write's path.
        """
        return _Exclusive(self, create)

    # -- reading ----------------------------------------------------------------------------

    def get(self, key: Hashable, refresh: bool = True) -> bytes:
        """The value stored for ``key``; KeyError if none, CorruptEntryError if damaged.

        ``refresh=False`` skips catching up (the caller just did, holding ``lock``).
        """
        with self.lock:
            if refresh:
                self.refresh()
            entry = self.index[key]
            if isinstance(entry, Damaged):
                raise CorruptEntryError(self.label, key, entry.reason)
            fd = self.fd
            assert fd is not None  # the index is emptied whenever the file is closed
            data = os.pread(fd, entry.length, entry.offset)
        # _checked, inlined: this is every read's path
        if len(data) == entry.length:
            _marker, size, crc = FRAME.unpack_from(data, 0)
            if size == entry.length - FRAME.size and zlib.crc32(data[FRAME.size :]) == crc:
                return data[entry.value_offset - entry.offset :]
        return checked(self.label, key, data, entry)

    def contains(self, key: Hashable) -> bool:
        """Whether ``key`` has a live record (a damaged one counts)."""
        with self.lock:
            self.refresh()
            return key in self.index

    def keys(self) -> list[Hashable]:
        """The live keys, oldest write first."""
        with self.lock:
            self.refresh()
            return list(self.index)

    def count(self) -> int:
        """The number of live keys."""
        with self.lock:
            self.refresh()
            return len(self.index)

    def items(self) -> list[tuple[Hashable, bytes]]:
        """Every (key, value), read in one go; CorruptEntryError at the first damaged one.

        Records the catch-up before it just read and checked (all of them, the
        first time after opening) are taken from those bytes: the file is read once.
        """
        with self.lock:
            base, fresh = self._catch_up()
            index = self.index
            if not index:
                return []
            if not fresh:
                base = self._scanned
            elif base <= self._header_size and Damaged not in map(type, index.values()):
                # every record was just read and checked: slice the values out of those bytes
                return [
                    (key, fresh[e.value_offset - base : e.value_offset - base + e.value_length])  # type: ignore[union-attr]
                    for key, e in index.items()
                ]
            return self._items_from(fresh, base)

    def _items_from(self, fresh: bytes, base: int) -> list[tuple[Hashable, bytes]]:
        """:meth:`items` when some records lie before ``base``, where ``fresh`` starts."""
        fd = self.fd
        assert fd is not None
        older: memoryview | None = None
        out: list[tuple[Hashable, bytes]] = []
        for key, entry in self.index.items():
            if isinstance(entry, Damaged):
                raise CorruptEntryError(self.label, key, entry.reason)
            if entry.offset >= base:  # read and checked by the catch-up just now
                start = entry.value_offset - base
                out.append((key, fresh[start : start + entry.value_length]))
                continue
            if older is None:
                older = memoryview(os.pread(fd, base, 0))
            raw = older[entry.offset : entry.offset + entry.length]
            out.append((key, checked(self.label, key, raw, entry)))
        return out

    # -- writing ----------------------------------------------------------------------------

    def set_records(self, items: Iterable[tuple[Hashable, bytes]]) -> tuple[bytes, Known]:
        """The records storing each ``(key, value)`` of ``items``, and what they hold (``known``).

        For :meth:`append` or :meth:`append_locked`. A key the index (a dict) cannot
        hold is an UnhashableKeyError, and one ``encode_key`` refuses its error,
        before anything is written.
        """
        parts: list[bytes] = []
        known: list[tuple[Hashable, int, int]] = []
        for key, value in items:
            try:
                hash(key)
            except TypeError as exc:
                raise UnhashableKeyError(f"{self.label}: cannot store key: {exc}") from exc
            key_bytes = self._encode_key(key)
            rec = record(SET, key_bytes, value)
            parts.append(rec)
            known.append((key, len(key_bytes), len(rec)))
        return (parts[0] if len(parts) == 1 else b"".join(parts)), known

    def delete_record(self, key: Hashable) -> tuple[bytes, Known]:
        """The record removing ``key``, and what it holds (``known``), as :meth:`set_records`."""
        rec = record(DELETE, self._encode_key(key))
        return rec, ((key, -1, len(rec)),)

    def set(self, key: Hashable, value: bytes) -> None:
        """Store ``value`` for ``key`` (one locked append)."""
        self.append(*self.set_records(((key, value),)))

    def delete(self, key: Hashable) -> None:
        """Remove ``key`` (one locked append); KeyError if it has no record."""
        with self.exclusive(create=False):
            if not self.discard_locked(key):
                raise KeyError(key)

    def discard_locked(self, key: Hashable) -> bool:
        """Remove ``key`` if it has a record (caller holds :meth:`exclusive`); whether it had.

        The key is encoded only when it has a record.
        """
        try:
            if key not in self.index:
                return False
        except TypeError:  # unhashable: never in the index
            return False
        self.append_locked(*self.delete_record(key))
        return True

    def append(
        self, records: bytes, known: Known, check: Callable[[], object] | None = None
    ) -> None:
        """Append ``records`` (described by ``known``) atomically, creating the file if needed.

        ``check`` runs under the lock, caught up with the file, before anything is
        written: it raises to write nothing (say, when the header read meanwhile
        names another serializer than the records were encoded with).
        """
        with self.exclusive():
            if check is not None:
                check()
            self.append_locked(records, known)

    def append_locked(self, records: bytes, known: Known) -> None:
        """:meth:`append` for a caller holding :meth:`exclusive`; KeyError for a missing delete.

        A file without records yet is rewritten with a header; one ending in a torn
        record is rewritten without it (the index never pointed into it).
        """
        index = self.index
        for key, klen, _length in known:
            if klen < 0 and key not in index:
                raise KeyError(key)
        if self.kind != LOG:
            if self.kind == OTHER:
                raise FormatError(f"{self.label}: {self.path!r} is not a record log")
            self.replace(self.header() + records)
            return
        if self.torn:
            self.replace(self.compacted(records))
            return
        fd = self.fd
        assert fd is not None
        dev, ino, start, _mtime = self._stamp  # we hold the lock, caught up: the file's size
        view = memoryview(records)
        try:
            while view:
                view = view[os.write(fd, view) :]
            if self.durable:
                os.fsync(fd)
        except BaseException as exc:
            # we hold the lock: nobody appended after us; a failing cleanup never hides exc
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            if isinstance(exc, OSError):
                raise self._fault(exc, fd) from exc
            raise
        offset = start
        apply = self._apply
        for key, klen, length in known:
            if klen < 0:
                apply(key, None)
            else:
                value_at = offset + REC_HEAD + klen
                apply(key, Entry(offset, length, value_at, offset + length - value_at))
            offset += length
        self._scanned = offset
        self._stamp = (dev, ino, offset, 0)
        dead = offset - self._header_size - self._live
        if offset > COMPACT_MIN_BYTES and dead * 2 > offset:
            self.replace(self.compacted())

    def compacted(self, extra: bytes = b"") -> bytes:
        """The live records (damaged ones first, so they stay attributed) plus ``extra``."""
        parts = [self.header()]
        if self.fd is not None and self.kind == LOG:
            data = os.pread(self.fd, self._scanned, 0)
            entries = list(self.index.values())
            damaged = [e for e in entries if type(e) is Damaged]
            good = [e for e in entries if type(e) is Entry]
            parts.extend(data[e.offset : e.offset + e.length] for e in damaged)
            parts.extend(data[e.offset : e.offset + e.length] for e in good)
        parts.append(extra)
        return b"".join(parts)

    def compact(self) -> None:
        """Rewrite the file with its live records only, and the current header."""
        with self.exclusive(create=False) as held:
            if held and self.kind == LOG:
                self.replace(self.compacted())

    def clear(self) -> None:
        """Replace the file by an empty log (if there is a file)."""
        with self.exclusive(create=False) as held:
            if held:
                self.replace(self.header())

    # -- whole files ------------------------------------------------------------------------

    def _fault(self, exc: OSError, fd: int | None = None) -> OSError:
        """The named storage error for ``exc`` (EBADF on a file we could only open for reading
        is the permission we lacked)."""
        if exc.errno == errno.EBADF and fd is not None:
            with contextlib.suppress(OSError):
                if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
                    exc = PermissionError(errno.EACCES, os.strerror(errno.EACCES), self.path)
        return named_fault(exc, self.path, self.label)

    def _write_temp(self, content: bytes) -> str:
        directory = os.path.dirname(self.path)
        with storage_faults(self.path, self.label):
            os.makedirs(directory, exist_ok=True)
        tmp = temp_name(self.path)
        try:
            with open(tmp, "wb") as handle:
                handle.write(content)
                if self.durable:
                    handle.flush()
                    os.fsync(handle.fileno())
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise named_fault(exc, tmp, self.label) from exc
            raise
        return tmp

    def create(self, content: bytes | None = None) -> bool:
        """Create the file with ``content`` (default: ``initial``) unless it exists; True if made.

        Written under a temp name and linked in, so no reader sees it half-written.
        """
        with self.lock:
            if content is None:
                content = self._initial() if self._initial is not None else self.header()
            tmp = self._write_temp(content)
            try:
                os.link(tmp, self.path)
                made = True
            except FileExistsError:
                made = False
            finally:
                os.unlink(tmp)
            if made and self.durable:
                fsync_dir(os.path.dirname(self.path))
            self.reload()
            return made

    def replace(self, content: bytes) -> None:
        """Swap in new file contents atomically (caller holds :meth:`exclusive`; still does).

        The new file is locked before it takes the old one's place, so the lock
        passes from the old file to the new one with no moment between them in
        which another writer could slip in.
        """
        tmp = self._write_temp(content)
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # no one else knows this file yet: granted at once
            os.replace(tmp, self.path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if self.durable:
            fsync_dir(os.path.dirname(self.path))
        with self.lock:
            # closing the old file frees its lock: its waiters find the new file and queue on it
            self._close_fd()
            self._reset()
            self._pid = os.getpid()
            self._generation += 1
            self._adopt(fd)

    def remove(self) -> None:
        """Delete the file."""
        with self.lock:
            self._close_fd()
            self._reset()
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
