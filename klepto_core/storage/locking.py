"""Per-key locks behind ``Archive.lock``: one caller computes a missing entry, the rest wait.

A :class:`KeyLock` is a context manager made of two parts. The first is a
per-key lock shared by every thread of this process that names the same
archive location and key (re-entrant, so a thread holding a key may take it
again). The second, optional part excludes other processes: the default is an
fcntl byte-range lock on the archive's local ``lock_path`` file (one byte at an
offset derived from the key's stable digest, so one file serves every key); a
backend with a server (Redis, PostgreSQL) supplies its own. The cross-process
part is taken only by the outermost holder in this process.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Protocol

from klepto_core.errors import ArchiveUnavailableError, LockTimeoutError

__all__ = [
    "CrossProcessLock",
    "FileRangeLock",
    "KeyLock",
    "PollingLock",
    "default_lock",
    "lock_id",
    "lock_scope",
    "poll",
]


class CrossProcessLock(Protocol):
    """The part of a :class:`KeyLock` that excludes other processes (one use: acquire, release)."""

    def acquire(self, timeout: float | None) -> bool:
        """Take the lock within ``timeout`` seconds (None: wait as long as it takes)."""

    def release(self) -> None:
        """Give the lock back."""


class _Entry:
    """The in-process state of one (scope, key): its lock, users and holder depth."""

    __slots__ = ("depth", "lock", "outer", "users")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users = 0
        self.depth = 0
        self.outer: CrossProcessLock | None = None


class _Registry:
    """Entries by name, kept only while someone holds or waits for them."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.entries: dict[Hashable, _Entry] = {}

    def enter(self, name: Hashable) -> _Entry:
        with self.guard:
            entry = self.entries.get(name)
            if entry is None:
                entry = self.entries[name] = _Entry()
            entry.users += 1
            return entry

    def leave(self, name: Hashable, entry: _Entry) -> None:
        with self.guard:
            entry.users -= 1
            if entry.users == 0 and self.entries.get(name) is entry:
                del self.entries[name]


_REGISTRY = _Registry()


def _reset_after_fork() -> None:
    # a lock held by a parent's thread at fork would never be released in the child
    global _REGISTRY, _FDS_GUARD
    _REGISTRY = _Registry()
    _FDS_GUARD = threading.Lock()


class KeyLock:
    """A lock on one key of one archive location: threads here, plus an optional outer part.

    ``scope`` names the location (archives opened twice on one location share
    it), ``outer`` builds the cross-process part, ``timeout`` bounds the whole
    wait (None: wait as long as the holder lives); on timeout
    :class:`~klepto_core.errors.LockTimeoutError` is raised and nothing is held.
    """

    __slots__ = ("_entry", "_name", "_outer", "_registry", "_timeout")

    def __init__(
        self,
        scope: Hashable,
        key: Hashable,
        timeout: float | None = None,
        outer: Callable[[], CrossProcessLock] | None = None,
    ) -> None:
        self._name = (scope, key)
        self._timeout = timeout
        self._outer = outer
        self._entry: _Entry | None = None
        self._registry = _REGISTRY

    def __enter__(self) -> KeyLock:
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        registry = self._registry = _REGISTRY
        entry = registry.enter(self._name)
        if not entry.lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            registry.leave(self._name, entry)
            raise self._timed_out()
        entry.depth += 1
        if entry.depth == 1 and self._outer is not None:
            try:
                outer = self._outer()
                left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                acquired = outer.acquire(left)
            except BaseException:
                self._undo(registry, entry)
                raise
            if not acquired:
                self._undo(registry, entry)
                raise self._timed_out()
            entry.outer = outer
        self._entry = entry
        return self

    def __exit__(self, *exc: object) -> None:
        entry = self._entry
        if entry is None:
            raise RuntimeError("KeyLock released without being held")
        entry.depth -= 1
        try:
            if entry.depth == 0 and entry.outer is not None:
                outer, entry.outer = entry.outer, None
                outer.release()
        finally:
            entry.lock.release()
            self._registry.leave(self._name, entry)

    def _undo(self, registry: _Registry, entry: _Entry) -> None:
        entry.depth -= 1
        entry.lock.release()
        registry.leave(self._name, entry)

    def _timed_out(self) -> LockTimeoutError:
        scope, key = self._name
        return LockTimeoutError(f"no lock on key {key!r} of {scope!r} within {self._timeout} s")


def poll(attempt: Callable[[], bool], timeout: float | None) -> bool:
    """Call ``attempt`` until it succeeds (True) or ``timeout`` seconds pass (False).

    Pauses grow from 0.5 ms to 5 ms: a waiter notices a release within a few ms
    while a few waiting processes cost a server only some hundred tries a second.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.0005
    while not attempt():
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        time.sleep(pause if left is None else min(pause, left))
        pause = min(pause * 2, 0.005)
    return True


class PollingLock:
    """A cross-process part made of a non-blocking ``attempt`` and a ``release``.

    ``abandon`` (optional) runs when the lock was not obtained, to free what the
    attempts opened (a database connection, say).
    """

    __slots__ = ("_abandon", "_attempt", "_release")

    def __init__(
        self,
        attempt: Callable[[], bool],
        release: Callable[[], None],
        abandon: Callable[[], None] | None = None,
    ) -> None:
        self._attempt, self._release, self._abandon = attempt, release, abandon

    def acquire(self, timeout: float | None) -> bool:
        try:
            acquired = poll(self._attempt, timeout)
        except BaseException:
            if self._abandon is not None:
                self._abandon()
            raise
        if not acquired and self._abandon is not None:
            self._abandon()
        return acquired

    def release(self) -> None:
        self._release()


def _digest(value: Hashable, size: int) -> bytes:
    """``size`` bytes of blake2b over ``value``'s stable encoding."""
    import hashlib

    # deferred: hashlib and pickle load on the first cross-process lock, not at import
    from klepto_core.keys.stable import stable_bytes

    return hashlib.blake2b(stable_bytes(value), digest_size=size).digest()


def lock_id(*parts: Hashable) -> int:
    """A signed 64-bit number naming ``parts`` in every process (for server-side locks)."""
    digest = _digest(parts, 8)
    return int.from_bytes(digest, "big", signed=True)


# -- the default cross-process part: fcntl byte-range locks on one file per archive ----------

_FDS: dict[str, int] = {}
_FDS_GUARD = threading.Lock()


def _lock_fd(path: str) -> int:
    # one descriptor per file for the life of the process: closing any descriptor of a
    # file drops every POSIX lock this process holds on it. A file deleted or replaced
    # since (the archive was dropped) gets a new descriptor; the old one stays open.
    with _FDS_GUARD:
        fd = _FDS.get(path)
        if fd is not None:
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except OSError:
                pass
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            raise ArchiveUnavailableError(f"cannot open lock file {path!r}: {exc}") from exc
        _FDS[path] = fd
        return fd


def key_offset(key: Hashable) -> int:
    """A byte offset for ``key`` in a lock file: 48 bits of its stable digest."""
    return int.from_bytes(_digest(key, 6), "big")


class FileRangeLock:
    """An exclusive fcntl lock on one byte of ``path``; released by the OS if the process dies.

    Two keys share a byte only if 48 bits of their digests collide, which just
    makes them wait for each other.
    """

    __slots__ = ("_fd", "_offset")

    def __init__(self, path: str, key: Hashable) -> None:
        self._fd = _lock_fd(os.path.abspath(path))
        self._offset = key_offset(key)

    def acquire(self, timeout: float | None) -> bool:
        fd, offset = self._fd, self._offset
        if timeout is None:
            fcntl.lockf(fd, fcntl.LOCK_EX, 1, offset, os.SEEK_SET)
            return True

        def attempt() -> bool:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
            except OSError:  # EACCES / EAGAIN: another process holds it
                return False
            return True

        return poll(attempt, timeout)

    def release(self) -> None:
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, self._offset, os.SEEK_SET)


def lock_scope(archive: Any) -> Hashable:
    """What names an archive's location for locking: its type plus lock file, id or name."""
    state = getattr(archive, "__state__", None) or {}
    where = getattr(archive, "lock_path", None) or state.get("id") or getattr(archive, "name", None)
    kind = f"{type(archive).__module__}.{type(archive).__qualname__}"
    return (kind, str(where) if where is not None else id(archive))


def default_lock(
    archive: Any, key: Hashable, timeout: float | None = None, path: Any = None
) -> KeyLock:
    """``Archive.lock``'s default: threads of this process, plus processes through a lock file.

    The file is ``path``, else ``archive.lock_path``; without either, threads only.
    """
    path = path or getattr(archive, "lock_path", None)
    outer: Callable[[], CrossProcessLock] | None = None
    if path:
        lock_file = os.fspath(path)

        def outer() -> CrossProcessLock:
            return FileRangeLock(lock_file, key)

    return KeyLock(lock_scope(archive), key, timeout, outer)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
