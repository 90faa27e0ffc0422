"""One HDF5 file shared by threads and processes: locked reads, journaled atomic writes.

Every access takes ``fcntl.flock`` on ``<file>.lock`` (shared to read, exclusive
to write) for the duration of one operation, so writers never interleave and a
reader never sees a half-committed batch. Writes go through
:class:`~klepto_archive_hdf._journal.JournaledFile`, whose h5py handle is kept
open between batches while no one else changed the file (``_Writer``); a journal found on entry
means a writer died mid-commit, and is rolled back before anything else.
Whole-file rewrites (creation, ``clear``) build a temp file and ``os.replace``
it. The lock file is opened afresh per operation, so a forked child never
shares its parent's lock.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import os
import secrets
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from klepto_archive_hdf._h5 import h5py
from klepto_archive_hdf._journal import JournaledFile, journal_path, recover
from klepto_core.errors import ArchiveUnavailableError, FormatError, KleptoCoreError

_held = threading.local()  # path -> [fd, exclusive, depth] of the locks this thread holds


def _forget_locks_after_fork() -> None:
    global _held
    _held = threading.local()  # a child shares the parent's descriptors, not its locks


os.register_at_fork(after_in_child=_forget_locks_after_fork)


#: the file format of new files: HDF5 1.8's (2008), whose indexed groups and attribute heaps
#: keep a write O(log n) where klepto's 1.6-format files rewrite every name on each insert;
#: klepto (any h5py) reads and writes these files, and still-older files keep their format
LIBVER = ("v108", "v108")


def lock_path(path: str) -> str:
    """The lock file guarding ``path``."""
    return path + ".lock"


@contextlib.contextmanager
def locked(path: str, exclusive: bool, create: bool = True) -> Iterator[None]:
    """Hold the shared (or exclusive) lock of ``path``; re-entrant within a thread.

    A journal left by a dead writer is rolled back first. A reader of a
    location where the lock file cannot be created (read-only), or where it is absent
    and ``create`` is False (an archive opened with ``mode="r"``), reads unlocked.
    """
    held: dict[str, list[Any]] = _held.__dict__.setdefault("locks", {})
    mine = held.get(path)
    if mine is not None:
        if exclusive and not mine[1]:
            raise RuntimeError(f"cannot upgrade a shared lock on {path} to an exclusive one")
        mine[2] += 1
        try:
            yield
        finally:
            mine[2] -= 1
        return
    fd = _open_lock(path, exclusive, create)
    try:
        if fd >= 0:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if os.path.exists(journal_path(path)):
            _roll_back(path, fd, exclusive)
        held[path] = [fd, exclusive, 1]
        try:
            yield
        finally:
            del held[path]
    finally:
        if fd >= 0:
            os.close(fd)  # closing the descriptor releases the flock


def _open_lock(path: str, exclusive: bool, create: bool = True) -> int:
    flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create or exclusive else 0)
    try:
        return os.open(lock_path(path), flags, 0o666)
    except OSError as exc:
        allowed = (errno.EACCES, errno.EROFS, errno.EPERM) + (() if create else (errno.ENOENT,))
        if exclusive or exc.errno not in allowed:
            raise
        return -1


def _roll_back(path: str, fd: int, exclusive: bool) -> None:
    if fd < 0:
        raise ArchiveUnavailableError(
            f"{path}: a writer was interrupted and left {journal_path(path)}; "
            "open the archive once with write access to roll the file back"
        )
    if not exclusive:
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        os.pwritev(fd, [_new_token()], 0)
        recover(path)
    finally:
        if not exclusive:
            fcntl.flock(fd, fcntl.LOCK_SH)


#: every writer puts a fresh random token in the lock file before it changes the file, so a
#: handle kept open since its own batch knows whether anyone wrote in between
_TOKEN_SIZE = 16


def _new_token() -> bytes:
    return secrets.token_bytes(_TOKEN_SIZE)


def _bump_token(path: str) -> None:
    """Mark the file as changed for every kept handle (the caller holds the exclusive lock)."""
    mine = _held.__dict__.get("locks", {}).get(path)
    if mine is not None and mine[0] >= 0:
        os.pwritev(mine[0], [_new_token()], 0)


class _Writer:
    """An h5py handle over a :class:`JournaledFile`, kept open between write batches.

    HDF5 caches the file's metadata, so reopening per batch (most of a small
    write's cost) is only needed when the file may have changed since this
    handle's last commit: another writer's token in the lock file, or a stat
    (inode, size, mtime, ctime) that differs, as writers not using the lock
    (klepto itself) leave it.
    """

    def __init__(self, journaled: JournaledFile, handle: Any) -> None:
        self.journaled = journaled
        self.handle = handle
        self.pid = os.getpid()
        self.busy = False
        self.signature: tuple[os.stat_result, bytes] | None = None
        _open_writers.add(self)

    def fits(self, stat: os.stat_result, token: bytes) -> bool:
        """Whether the file is exactly as this handle's last commit left it."""
        if self.signature is None or self.pid != os.getpid():
            return False
        then, mine = self.signature
        return (
            token == mine
            and len(token) == _TOKEN_SIZE
            and (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
            == (then.st_dev, then.st_ino, then.st_size, then.st_mtime_ns, then.st_ctime_ns)
        )

    def discard(self) -> None:
        """Close, writing nothing more to the file (changes since the last commit are lost)."""
        self.busy = False
        with contextlib.suppress(Exception):
            self.journaled.rollback()
        self.close()

    def close(self) -> None:
        """Close the handle; a committed (clean) handle has nothing left to write."""
        with contextlib.suppress(Exception):
            self.journaled.rollback()  # whatever h5py writes while closing stays in memory
        with contextlib.suppress(Exception):
            self.handle.close()
        self.journaled.close()
        _open_writers.discard(self)


_open_writers: weakref.WeakSet[_Writer] = weakref.WeakSet()


@atexit.register
def _close_open_writers() -> None:
    """Close kept handles while the interpreter is whole (h5py would close them later)."""
    for writer in list(_open_writers):
        with contextlib.suppress(Exception):
            writer.close()


def _raised_by_h5py(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc`` is h5py's (not this plugin's ``KeyError(key)``)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and f"h5py{os.sep}" in tb.tb_frame.f_code.co_filename


class HDFFile:
    """The HDF5 file at ``path`` (absolute) with klepto_core's locking and atomic writes."""

    def __init__(self, path: str, durable: bool = False, read_only: bool = False) -> None:
        self.path = path
        self.durable = durable
        self.read_only = read_only  # never create the lock file to read
        self._writer: _Writer | None = None

    def _format_error(self, exc: BaseException) -> FormatError:
        return FormatError(f"{self.path} is not a readable HDF5 file: {exc}")

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Hold the exclusive lock across several operations (they re-enter it)."""
        return locked(self.path, exclusive=True)

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        """The open file (read-only) under the shared lock, or None when it does not exist."""
        h5 = h5py()
        with locked(self.path, exclusive=False, create=not self.read_only):
            try:
                handle = h5.File(self.path, "r", locking=False)
            except FileNotFoundError:
                yield None
                return
            except OSError as exc:
                if not os.path.exists(self.path):
                    yield None
                    return
                raise self._format_error(exc) from exc
            try:
                yield handle
            except KleptoCoreError:
                raise
            except KeyError as exc:  # a missing key is the caller's; h5py's is damage
                if _raised_by_h5py(exc):
                    raise self._format_error(exc) from exc
                raise
            except Exception as exc:  # damaged metadata surfaces as any h5py/numpy/pickle error
                raise self._format_error(exc) from exc
            finally:
                handle.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator[Any]:
        """The open file under the exclusive lock; every change commits at once on exit.

        An exception inside the block discards every change (the file is untouched).
        """
        with locked(self.path, exclusive=True):
            lock_fd = _held.locks[self.path][0]
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                self._replace_locked(lambda handle: None)
                stat = os.stat(self.path)
            token = os.pread(lock_fd, _TOKEN_SIZE, 0)
            writer = self._writer
            if writer is None or not writer.fits(stat, token):
                self._forget_writer()
                writer = self._open_writer()
            elif writer.busy:  # a nested batch of this thread: a handle of its own
                writer = self._open_writer()
            # before the file changes, so other processes' kept handles know they are stale
            token = _new_token()
            os.pwritev(lock_fd, [token], 0)
            writer.busy = True
            journaled, handle = writer.journaled, writer.handle
            try:
                journaled.begin()
                yield handle
                handle.flush()
                journaled.commit(keep_open=True)
            except BaseException:
                if self._writer is writer:
                    self._writer = None
                writer.discard()
                raise
            writer.busy = False
            if self._writer is None:
                self._writer = writer
            if self._writer is writer:
                writer.signature = (journaled.stat(), token)
            else:  # a nested batch's handle is not kept
                writer.close()

    def _open_writer(self) -> _Writer:
        journaled = JournaledFile(self.path, self.durable)
        try:
            handle = h5py().File(journaled, "r+")
        except OSError as exc:
            journaled.abort()
            raise self._format_error(exc) from exc
        except BaseException:
            journaled.abort()
            raise
        return _Writer(journaled, handle)

    def _forget_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None and not writer.busy:
            writer.discard()

    def release(self) -> None:
        """Close the writing handle kept open between batches (the next write reopens it)."""
        self._forget_writer()

    def ensure(self) -> None:
        """Create an empty HDF5 file if none exists; FormatError if the path holds anything else."""
        if os.path.exists(self.path):
            self.check()
            return
        with locked(self.path, exclusive=True):
            if not os.path.exists(self.path):
                self._replace_locked(lambda handle: None)

    def check(self) -> None:
        """FormatError naming the file if it exists and is not HDF5."""
        h5 = h5py()
        with locked(self.path, exclusive=False, create=not self.read_only):
            try:
                ok = h5.is_hdf5(self.path)
            except FileNotFoundError:
                return
            except OSError as exc:
                raise self._format_error(exc) from exc
            if not ok:
                raise FormatError(f"{self.path} is not an HDF5 file (no HDF5 signature)")

    def replace(self, fill: Callable[[Any], None]) -> None:
        """Atomically replace the file by a new one that ``fill(handle)`` populates."""
        with locked(self.path, exclusive=True):
            self._replace_locked(fill)

    def _replace_locked(self, fill: Callable[[Any], None]) -> None:
        h5 = h5py()
        self._forget_writer()
        _bump_token(self.path)
        folder = os.path.dirname(self.path) or "."
        temp = os.path.join(folder, f".{os.path.basename(self.path)}.{secrets.token_hex(8)}.tmp")
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # umask applies
        try:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(temp, os.stat(self.path).st_mode & 0o7777)  # keep a replaced file's mode
            with h5.File(temp, "w", locking=False, libver=LIBVER) as handle:
                fill(handle)
            if self.durable:
                _fsync(temp)
            os.replace(temp, self.path)
            if self.durable:
                _fsync(folder)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def remove(self) -> None:
        """Delete the file, its journal and its lock file."""
        with locked(self.path, exclusive=True):
            self._forget_writer()
            _bump_token(self.path)
            for path in (self.path, journal_path(self.path)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path(self.path))


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
