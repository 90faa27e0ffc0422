"""Exceptions raised by klepto_core and its plugins.

Every error a user can provoke with bad input derives from KleptoCoreError, so a
single ``except KleptoCoreError`` catches all of them; each also derives from the
builtin exception a caller of the klepto API would already expect (KeyError,
TypeError, ValueError, ...), so code written for klepto keeps working.
"""

from __future__ import annotations

from collections.abc import Iterable


class KleptoCoreError(Exception):
    """Base class of every error raised by klepto_core."""


class UnknownPluginError(KleptoCoreError, LookupError):
    """A plugin name that no installed distribution provides."""

    def __init__(
        self,
        kind: str,
        name: object,
        installed: Iterable[str],
        suggestion: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.installed = sorted(installed)
        self.suggestion = suggestion
        self.hint = hint
        listed = ", ".join(self.installed) or "none"
        plural = "policies" if kind == "policy" else f"{kind}s"
        message = f"unknown {kind} {name!r}; installed {plural}: {listed}"
        if suggestion:
            message += f"; did you mean {suggestion!r}?"
        if hint:
            message += f"; {hint}"
        super().__init__(message)

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0])


class PluginLoadError(KleptoCoreError, ImportError):
    """An installed plugin whose module failed to import or to register."""

    def __init__(self, kind: str, name: str, distribution: str, error: BaseException) -> None:
        self.kind = kind
        self.name = name
        self.distribution = distribution
        self.error = error
        super().__init__(
            f"{kind} plugin {name!r} from distribution {distribution!r} failed to load: "
            f"{type(error).__name__}: {error}"
        )


class DuplicatePluginError(KleptoCoreError):
    """Two distributions register the same name for the same kind of plugin."""


class ArchiveError(KleptoCoreError):
    """Base class for errors of an archive (storage) backend."""


class ArchiveUnavailableError(ArchiveError, ConnectionError):
    """An archive location that cannot be opened: bad URL, unreachable server, no permission."""


class CorruptEntryError(ArchiveError, KeyError):
    """An entry whose stored bytes cannot be read back; the rest of the archive is intact."""

    def __init__(self, archive: str, key: object, reason: str) -> None:
        self.archive = archive
        self.key = key
        self.reason = reason
        super().__init__(f"corrupt entry {key!r} in archive {archive}: {reason}")

    def __str__(self) -> str:
        return str(self.args[0])


class SerializationError(KleptoCoreError, TypeError):
    """A value or key that the chosen serializer cannot serialize; nothing was written."""


class FormatError(ArchiveError, ValueError):
    """A file or table whose format klepto_core does not recognise."""


class InvalidArgumentError(KleptoCoreError, TypeError):
    """An argument of the wrong type or value for a klepto_core constructor or decorator."""


class InvalidMaxsizeError(InvalidArgumentError, ValueError):
    """A cache ``maxsize`` that is neither None nor an integer."""


class UnhashableKeyError(KleptoCoreError, TypeError):
    """A call whose arguments cannot be turned into a cache key by the chosen keymap."""


class ObserverError(KleptoCoreError, RuntimeError):
    """An observer failed in a way the cache could mistake for its own error (a KeyError)."""


class LockTimeoutError(ArchiveError, TimeoutError):
    """A per-key archive lock (``Archive.lock``) not obtained within its timeout."""


class ArchiveURLError(ArchiveUnavailableError, ValueError):
    """An archive URL or location that is malformed or names nothing (as opposed to unreachable)."""


class KleptoCoreWarning(UserWarning):
    """Base class of the warnings klepto_core issues."""


class IgnoredNameWarning(KleptoCoreWarning):
    """``ignore=`` names a parameter the decorated function does not have, so it ignores nothing."""


class AmbiguousSchemeError(InvalidArgumentError):
    """An archive URL whose scheme several installed archive plugins handle."""

    def __init__(self, scheme: str, names: Iterable[str]) -> None:
        self.scheme = scheme
        self.names = sorted(names)
        super().__init__(
            f"URL scheme {scheme!r} is handled by the archives {', '.join(self.names)}; "
            "pass kind=<name> to choose one"
        )


class UnknownPluginKindError(InvalidArgumentError, ValueError):
    """A plugin kind that is none of policy, keymap, serializer, archive, observer."""


class ArchiveStorageError(ArchiveError, OSError):
    """A storage fault while writing an archive; ``errno`` and ``filename`` are the real cause.

    Subclasses name the common faults; each is also an OSError, so code catching the
    builtin error keeps working.
    """

    def __init__(self, errno_: int, strerror: str, filename: str | None, label: str = "") -> None:
        OSError.__init__(self, errno_, strerror, filename)
        self.label = label

    def __str__(self) -> str:
        where = f"{self.label}: " if self.label else ""
        return f"{where}{OSError.__str__(self)}"


class ArchiveReadOnlyError(ArchiveStorageError):
    """A write to an archive that is read-only: opened with ``mode="r"``, or on storage
    the process may not write (EACCES, EPERM, EROFS)."""


class ArchiveFullError(ArchiveStorageError):
    """A write that found no space left on the archive's device (ENOSPC, EDQUOT)."""


class ArchiveFileTooLargeError(ArchiveStorageError):
    """A write past the file size limit of the process or file system (EFBIG)."""


class ArchiveStoreWarning(KleptoCoreWarning):
    """A cache could not store a result in its archive; the result was still returned."""
