"""A single-file archive (klepto's ``file_archive``) that appends instead of rewriting.

New files are an append-only log of checksummed records (see ``_log``): a set
or delete costs one locked ``write`` of one record, a read one ``pread``
through an in-memory index rebuilt on open and caught up from the file's
tail whenever another process has appended. When more than half the file is
superseded records it is compacted into a temp file and swapped in with
``os.replace``. A process killed mid-append leaves a torn last record, which
readers ignore and the next writer compacts away.

klepto's own formats are still read (``format`` says which): a dill pickle of a
dict, JSON, or ``memo = {...}`` Python source. The first write to a pickle or
JSON file converts it, atomically, to the log (klepto can no longer read it
then); ``memo = {...}`` files (``serialized=False``) stay Python source and are
rewritten whole on each change, since their point is being readable.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import shutil
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, ClassVar

from klepto_archive_file import _legacy, _log
from klepto_archive_file._legacy import JSON, LOG, PICKLE, PYTHON
from klepto_core.archive_base import Archive, archive_factory
from klepto_core.errors import CorruptEntryError, FormatError, UnhashableKeyError
from klepto_core.hookspecs import hookimpl
from klepto_core.serializer import Serializer, get_serializer
from klepto_core.types import PluginSpec

#: compact when the file is bigger than this and more than half of it is dead records
COMPACT_MIN_BYTES = 1 << 20

_PY_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd")
_counter = 0
_counter_lock = threading.Lock()


def _temp_name(path: str) -> str:
    """A unique temp path beside ``path`` (pid + counter: the global RNG is not touched)."""
    global _counter
    with _counter_lock:
        _counter += 1
        n = _counter
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.tmp-{os.getpid()}-{n}")


def _klepto_save_tick() -> None:
    """Draw once from the global RNG, as each save of klepto's file_archive did.

    klepto named its temp file after ``random.random()``; code seeded with
    ``random.seed`` (klepto's own test_cache_info) depends on that draw.
    """
    random.random()


class _Loaded:
    """A value already decoded (from a klepto-format file), passed through ``_decode``."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class FileArchive(Archive):
    """One file holding every entry; O(1) per read and per write, safe across processes.

    ``filename`` defaults to ``memo.pkl`` (``memo.json`` for a str ``protocol``,
    ``memo.py`` when not ``serialized``); the file is created at construction.
    ``durable=True`` fsyncs each write (and the directory on compaction).
    """

    __kind_name__: ClassVar[str] = "file_archive"
    persistent: ClassVar[bool] = True

    def __init__(
        self,
        filename: Any = None,
        serialized: bool = True,
        protocol: Any = None,
        *,
        serializer: Any = None,
        durable: bool = False,
    ) -> None:
        if filename is None:
            if serialized:
                filename = "memo.json" if isinstance(protocol, str) else "memo.pkl"
            else:
                filename = "memo.py"
        else:
            filename = os.fspath(filename)
            if not serialized and not filename.endswith(_PY_SUFFIXES):
                filename += ".py"
        state: dict[str, Any] = {"id": filename, "serialized": serialized, "protocol": protocol}
        if serializer is not None:
            state["serializer"] = getattr(serializer, "name", serializer)
        if durable:
            state["durable"] = True
        literal = _legacy.LiteralSerializer()
        explicit = serialized or serializer is not None
        chosen: Serializer = get_serializer(serializer, protocol) if explicit else literal
        super().__init__(os.path.basename(filename), state, chosen)
        self._filename = filename
        self._path = os.path.abspath(filename)
        # single-flight locks of other processes meet on this file
        self.lock_path = self._path + ".keylock"
        self._serializer_arg = serializer
        self._explicit = serializer is not None or isinstance(protocol, str)
        self._protocol = protocol
        self._serialized = serialized
        self._durable = durable
        self._literal = literal
        self._fd: int | None = None
        self._pid = os.getpid()
        self._reset()
        self._ensure_exists()

    # -- file state ---------------------------------------------------------------------

    def _reset(self) -> None:
        self._fmt: str | None = None
        self._stamp: tuple[int, int, int, int] | None = None  # dev, inode, size, mtime
        self._index: dict[Hashable, _log.Entry | _log.Damaged] = {}
        self._live = 0
        self._header_size = 0
        self._scanned = 0
        self._torn = False
        self._unreadable: list[str] = []
        self._memo: dict[Hashable, Any] = {}

    def _close_file(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        """Close the file handle (it is reopened on the next operation)."""
        with self._lock:
            self._close_file()
            self._reset()

    def _reload(self) -> None:
        """Re-read the file from scratch (first use, replaced by compaction or by klepto)."""
        self._close_file()
        self._reset()
        self._pid = os.getpid()
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except PermissionError:
            fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        self._fd = fd
        st = os.fstat(fd)
        data = os.pread(fd, st.st_size, 0)
        self._stamp = (st.st_dev, st.st_ino, len(data), st.st_mtime_ns)
        fmt = _legacy.detect(data)
        self._fmt = fmt
        if fmt is None:
            self._scanned = len(data)
            self._torn = bool(data)
        elif fmt == LOG:
            self._open_log(data)
        else:
            self._memo = _legacy.read_whole(self._path, data, fmt)
            self._adopt_serializer(_legacy_serializer(fmt))
            self._scanned = len(data)

    def _open_log(self, data: bytes) -> None:
        found = _log.read_header(data)
        if found is None:
            raise FormatError(f"file_archive {self._path!r}: the log header is damaged")
        meta, size = found
        self._header_size = size
        self._adopt_serializer(meta.get("serializer"))
        self._scanned = size
        self._consume(data[size:], size)

    def _adopt_serializer(self, name: str | None) -> None:
        """Use the serializer the file was written with; refuse a conflicting explicit one."""
        if name is None or name == self._serializer.name:  # type: ignore[union-attr]
            return
        if self._explicit:
            raise FormatError(
                f"file_archive {self._path!r} was written with the {name!r} serializer, "
                f"not {self._serializer.name!r}; open it without serializer=/protocol="  # type: ignore[union-attr]
            )
        if name == self._literal.name:
            self._serializer = self._literal
        else:
            self._serializer = get_serializer(name, self._protocol)

    def _consume(self, data: bytes, base: int) -> None:
        result = _log.scan(data, base, self._apply, self._decode_key)
        self._scanned = result.end
        self._torn = result.torn
        self._unreadable.extend(result.unreadable)

    def _apply(self, key: Hashable, entry: _log.Entry | _log.Damaged | None) -> None:
        old = self._index.pop(key, None)
        if old is not None:
            self._live -= old.length
        if entry is not None:
            self._index[key] = entry
            self._live += entry.length

    def _decode_key(self, data: bytes) -> Hashable:
        return self._serializer.loads_key(data)  # type: ignore[union-attr,no-any-return]

    def _refresh(self, st: os.stat_result | None = None) -> None:
        """Catch up with what other processes wrote since we last looked (one stat)."""
        if self._pid != os.getpid() or self._fd is None or self._stamp is None:
            self._reload()
            return
        if st is None:
            try:
                st = os.stat(self._path)
            except FileNotFoundError:
                self._close_file()
                self._reset()
                return
        old = self._stamp
        if (st.st_dev, st.st_ino) != old[:2]:
            self._reload()  # replaced: compacted, converted, or rewritten by klepto
        elif self._fmt == LOG:
            if st.st_size > old[2]:
                tail = os.pread(self._fd, st.st_size - self._scanned, self._scanned)
                self._consume(tail, self._scanned)
                self._stamp = (old[0], old[1], st.st_size, 0)
            elif st.st_size < old[2]:
                self._reload()
        elif (st.st_size, st.st_mtime_ns) != old[2:]:
            self._reload()

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the thread lock and an flock on the current file, caught up with its contents."""
        with self._lock:
            while True:
                if self._fd is None or self._pid != os.getpid():
                    self._refresh()
                    if self._fd is None:
                        self._create(b"")
                        continue
                fd = self._fd
                assert fd is not None and self._stamp is not None
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    st: os.stat_result | None = os.stat(self._path)
                except FileNotFoundError:
                    st = None
                if st is not None and (st.st_dev, st.st_ino) == self._stamp[:2]:
                    break
                fcntl.flock(fd, fcntl.LOCK_UN)
                self._reload()
            try:
                self._refresh(st)
                yield
            finally:
                if self._fd == fd:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    # -- creating and rewriting whole files -------------------------------------------------

    def _initial_bytes(self) -> bytes:
        if not self._serialized and self._serializer_arg is None:
            return _legacy.python_text({})
        return self._log_header()

    def _log_header(self) -> bytes:
        return _log.header({"format": 1, "serializer": self._serializer.name})  # type: ignore[union-attr]

    def _ensure_exists(self) -> None:
        with self._lock:
            if not os.path.exists(self._path):
                self._create(self._initial_bytes())
                _klepto_save_tick()
            self._reload()

    def _create(self, content: bytes) -> None:
        """Create the file (if still missing) atomically: write a temp file, then link it in."""
        content = content or self._initial_bytes()
        tmp = self._write_temp(content)
        try:
            os.link(tmp, self._path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        self._reload()

    def _write_temp(self, content: bytes) -> str:
        directory = os.path.dirname(self._path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        tmp = _temp_name(self._path)
        with open(tmp, "wb") as handle:
            handle.write(content)
            if self._durable:
                handle.flush()
                os.fsync(handle.fileno())
        return tmp

    def _replace(self, content: bytes) -> None:
        """Swap in new file contents atomically (caller holds the exclusive lock)."""
        tmp = self._write_temp(content)
        try:
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if self._durable:
            _fsync_dir(os.path.dirname(self._path))
        self._reload()

    def _compacted(self, extra: bytes = b"") -> bytes:
        """The live records (damaged ones first, so they stay attributed) plus ``extra``."""
        fd = self._fd
        assert fd is not None
        data = os.pread(fd, os.fstat(fd).st_size, 0)
        damaged = [e for e in self._index.values() if isinstance(e, _log.Damaged)]
        good = [e for e in self._index.values() if isinstance(e, _log.Entry)]
        parts = [self._log_header()]
        parts.extend(data[e.offset : e.offset + e.length] for e in damaged)
        parts.extend(data[e.offset : e.offset + e.length] for e in good)
        parts.append(extra)
        return b"".join(parts)

    def _converted(self, extra: bytes) -> bytes:
        """A klepto pickle/JSON file's contents as a log (SerializationError if one won't store)."""
        records = [self._log_header()]
        for key, value in self._memo.items():
            records.append(_log.record(_log.SET, self._encode_key(key), self._encode(key, value)))
        records.append(extra)
        return b"".join(records)

    # -- writing --------------------------------------------------------------------------

    def _commit(
        self,
        records: bytes,
        known: list[tuple[Hashable, int, int]],
        change: Callable[[dict[Hashable, Any]], None],
        encoded_with: Serializer | None,
    ) -> None:
        """Apply one change under the file lock, in whatever format the file has by then.

        ``records``/``known`` are the change as log records (``known`` holds (key, key
        length, record length) per record, key length -1 for a delete, so the index
        needs no re-read); ``change`` is the same change applied to a whole dict.
        """
        with self._exclusive():
            current = self._serializer
            if (
                encoded_with is not None
                and current is not None
                and encoded_with is not current
                and encoded_with.name != current.name
            ):
                raise FormatError(
                    f"file_archive {self._path!r} was replaced by one written with the "
                    f"{current.name!r} serializer while storing; nothing was written"
                )
            if self._fmt is None and encoded_with is self._literal:
                self._fmt, self._memo = PYTHON, {}
            if self._fmt == PYTHON:
                memo = dict(self._memo)
                change(memo)
                self._replace(_legacy.python_text(memo))
            elif self._fmt in (PICKLE, JSON):
                memo = dict(self._memo)
                change(memo)  # raises KeyError for a missing delete before anything is written
                self._replace(self._converted(records))
            elif self._fmt is None:
                self._replace(self._log_header() + records)
            else:
                for key, klen, _length in known:
                    if klen < 0 and key not in self._index:
                        raise KeyError(key)
                if self._torn:
                    self._replace(self._compacted(records))
                else:
                    self._append_locked(records, known)
        _klepto_save_tick()

    def _append_locked(self, records: bytes, known: list[tuple[Hashable, int, int]]) -> None:
        fd, stamp = self._fd, self._stamp
        assert fd is not None and stamp is not None
        start = stamp[2]  # we hold the lock and are caught up: this is the file's size
        view = memoryview(records)
        try:
            while view:
                view = view[os.write(fd, view) :]
            if self._durable:
                os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, start)  # we hold the lock: nobody appended after us
            raise
        offset = start
        for key, klen, length in known:
            if klen < 0:
                self._apply(key, None)
            else:
                value_at = offset + _log.REC_HEAD + klen
                self._apply(key, _log.Entry(offset, length, value_at, offset + length - value_at))
            offset += length
        self._scanned = offset
        self._stamp = (stamp[0], stamp[1], offset, 0)
        dead = offset - self._header_size - self._live
        if offset > COMPACT_MIN_BYTES and dead * 2 > offset:
            self._replace(self._compacted())

    # -- storage primitives -------------------------------------------------------------

    def _decode(self, key: Hashable, payload: Any) -> Any:
        if isinstance(payload, _Loaded):
            return payload.value
        return super()._decode(key, payload)

    def _read(self, key: Hashable) -> Any:
        with self._lock:
            self._refresh()
            if self._fmt not in (LOG, None):
                return _Loaded(self._memo[key])
            entry = self._index[key]
            if isinstance(entry, _log.Damaged):
                raise CorruptEntryError(self._label(), key, entry.reason)
            assert self._fd is not None
            return os.pread(self._fd, entry.value_length, entry.value_offset)

    def _write(self, key: Hashable, payload: Any) -> None:
        self._write_many([(key, payload)])

    def _key_bytes(self, key: Hashable) -> bytes:
        if self._serializer is self._literal:  # refuse keys a source file cannot hold
            return self._literal.dumps(key)
        return self._encode_key(key)

    def _write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        if not items:
            return
        for key, _payload in items:
            try:
                hash(key)  # the index is a dict: refuse what it cannot hold, before writing
            except TypeError as exc:
                raise UnhashableKeyError(f"file_archive: cannot store key: {exc}") from exc
        encoded_with = self._serializer
        parts: list[bytes] = []
        known: list[tuple[Hashable, int, int]] = []
        for key, payload in items:
            key_bytes = self._key_bytes(key)
            record = _log.record(_log.SET, key_bytes, payload)
            parts.append(record)
            known.append((key, len(key_bytes), len(record)))
        loads = self._literal.loads

        def change(memo: dict[Hashable, Any]) -> None:
            if encoded_with is not self._literal:
                memo.update((key, self._decode(key, payload)) for key, payload in items)
            else:
                memo.update((key, loads(payload)) for key, payload in items)

        self._commit(b"".join(parts), known, change, encoded_with)

    def update(self, *args: Any, **kwds: Any) -> None:
        """Store every entry given (see Archive.update); an empty update still counts as a save."""
        if not kwds and (not args or not args[0]):
            if len(args) > 1:
                raise TypeError(f"update expected at most 1 argument, got {len(args)}")
            _klepto_save_tick()  # klepto rewrote the file even when nothing changed
            return
        super().update(*args, **kwds)

    def _delete(self, key: Hashable) -> None:
        with self._lock:
            if not self._has(key):
                raise KeyError(key)
            record = _log.record(_log.DELETE, self._key_bytes(key))

            def change(memo: dict[Hashable, Any]) -> None:
                del memo[key]

            self._commit(record, [(key, -1, len(record))], change, None)

    def _keys(self) -> Iterable[Hashable]:
        with self._lock:
            self._refresh()
            return list(self._memo if self._fmt not in (LOG, None) else self._index)

    def _count(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._memo if self._fmt not in (LOG, None) else self._index)

    def _has(self, key: Hashable) -> bool:
        with self._lock:
            self._refresh()
            return key in (self._memo if self._fmt not in (LOG, None) else self._index)

    def _items(self) -> Iterator[tuple[Hashable, Any]]:
        with self._lock:
            self._refresh()
            if self._fmt not in (LOG, None):
                return iter([(k, _Loaded(v)) for k, v in self._memo.items()])
            if not self._index:
                return iter(())
            fd = self._fd
            assert fd is not None
            data = os.pread(fd, self._scanned, 0)
            out: list[tuple[Hashable, Any]] = []
            for key, entry in self._index.items():
                if isinstance(entry, _log.Damaged):
                    raise CorruptEntryError(self._label(), key, entry.reason)
                start = entry.value_offset
                out.append((key, data[start : start + entry.value_length]))
            return iter(out)

    def _clear(self) -> None:
        with self._exclusive():
            fresh = _legacy.python_text({}) if self._fmt == PYTHON else self._log_header()
            self._replace(fresh)
        _klepto_save_tick()

    def _drop(self, **kwds: Any) -> None:
        with self._lock:
            self._close_file()
            self._reset()
            with contextlib.suppress(FileNotFoundError):
                os.remove(self._path)

    def _reopen_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        kwds: dict[str, Any] = {"serialized": self._serialized, "protocol": self._protocol}
        if self._serializer_arg is not None:
            kwds["serializer"] = self._serializer_arg
        if self._durable:
            kwds["durable"] = True
        return (self._filename,), kwds

    def copy(self, name: str | None = None) -> FileArchive:  # type: ignore[override]
        """An archive on a copy of the file at ``name`` (no name: another handle on this file)."""
        args, kwds = self._reopen_args()
        if name is not None:
            with self._exclusive():
                shutil.copy2(self._path, name)
            args = (name,)
        return type(self)(*args, **kwds)

    # -- reporting ------------------------------------------------------------------------

    @property
    def format(self) -> str:
        """The file's format: ``'log'`` (ours), or klepto's ``'klepto-pickle'``,
        ``'klepto-json'``, ``'klepto-python'``."""
        with self._lock:
            self._refresh()
            return self._fmt or LOG

    def verify(self) -> list[CorruptEntryError]:
        """Corrupt entries, plus damaged records whose key could not be read (key ``None``)."""
        errors = super().verify()
        with self._lock:
            errors.extend(CorruptEntryError(self._label(), None, why) for why in self._unreadable)
        return errors

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._close_file()


def _legacy_serializer(fmt: str) -> str | None:
    return {JSON: "json", PYTHON: "python-literal"}.get(fmt)


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


file_archive = archive_factory(FileArchive)


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the ``file`` archive."""
    return PluginSpec(
        name="file",
        factory=file_archive,
        description="one file: an append-only, checksummed log (reads klepto's files too)",
        url_schemes=("file",),
    )
