"""Storage faults as named errors: an OSError from writing becomes an ArchiveStorageError.

Callers wrap their write paths in :func:`storage_faults`, so EACCES, EROFS, ENOSPC
and EFBIG reach the user as ArchiveReadOnlyError, ArchiveFullError and
ArchiveFileTooLargeError carrying the real errno and path.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

from klepto_core.errors import (
    ArchiveFileTooLargeError,
    ArchiveFullError,
    ArchiveReadOnlyError,
    ArchiveStorageError,
)

_NAMED: dict[int, type[ArchiveStorageError]] = {
    errno.EACCES: ArchiveReadOnlyError,
    errno.EPERM: ArchiveReadOnlyError,
    errno.EROFS: ArchiveReadOnlyError,
    errno.ENOSPC: ArchiveFullError,
    errno.EDQUOT: ArchiveFullError,
    errno.EFBIG: ArchiveFileTooLargeError,
}


def named_fault(exc: OSError, path: str | None = None, label: str = "") -> OSError:
    """The named error for ``exc`` (itself when already named or not a storage fault)."""
    if isinstance(exc, ArchiveStorageError):
        return exc
    cls = _NAMED.get(exc.errno or 0)
    if cls is None:
        return exc
    filename = exc.filename if exc.filename is not None else path
    return cls(exc.errno or 0, exc.strerror or "", filename, label)


def read_only(path: str | None, label: str = "") -> ArchiveReadOnlyError:
    """The error for a write to an archive opened with ``mode="r"``."""
    return ArchiveReadOnlyError(
        errno.EROFS, "archive opened read-only (mode='r'); open it with mode='w' to write",
        path, label,
    )


@contextlib.contextmanager
def storage_faults(path: str | None = None, label: str = "") -> Iterator[None]:
    """Re-raise an OSError in the block as its named storage error (cause kept)."""
    try:
        yield
    except OSError as exc:
        named = named_fault(exc, path, label)
        if named is exc:
            raise
        raise named from exc
