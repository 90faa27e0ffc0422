"""A single-file archive (klepto's ``file_archive``) that appends instead of rewriting.

New files are an append-only log of checksummed records
(:mod:`klepto_core.storage.recordlog`): a set or delete costs one locked ``write`` of
one record, a read one ``pread`` through an in-memory index rebuilt on open
and caught up from the file's tail whenever another process has appended.
When more than half the file is superseded records it is compacted into a
temp file and swapped in with ``os.replace``. A process killed mid-append
leaves a torn last record, which readers ignore and the next writer drops.

klepto's own formats are still read (``format`` says which): a dill pickle of a
dict, JSON, or ``memo = {...}`` Python source. The first write to a pickle or
JSON file converts it, atomically, to the log (klepto can no longer read it
then); ``memo = {...}`` files (``serialized=False``) stay Python source and are
rewritten whole on each change, since their point is being readable.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, ClassVar

from klepto_archive_file import _legacy
from klepto_archive_file._legacy import JSON, LOG, PICKLE, PYTHON
from klepto_core.errors import ArchiveURLError, CorruptEntryError, FormatError
from klepto_core.plugin import (
    Archive,
    PluginSpec,
    Serializer,
    archive_factory,
    get_serializer,
    hookimpl,
)
from klepto_core.storage import blobs, recordlog
from klepto_core.storage.recordlog import RecordLog

_PY_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd")
#: the companion directory of a log's large buffers (see klepto_core.storage.blobs)
BLOBS_SUFFIX = ".blobs"


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
    Large buffers of values (numpy arrays, pandas columns) are kept out of band in
    ``<filename>.blobs/``, not copied into the log; ``mmap_mode="r"`` (or ``"c"``,
    copy-on-write) gives them back memory-mapped.
    ``mode="r"`` opens an existing file read-only: nothing is created, writes raise
    ArchiveReadOnlyError.
    """

    __kind_name__: ClassVar[str] = "file_archive"
    persistent: ClassVar[bool] = True
    path_named: ClassVar[bool] = True
    opens_read_only: ClassVar[bool] = True

    def __init__(
        self,
        filename: Any = None,
        serialized: bool = True,
        protocol: Any = None,
        *,
        serializer: Any = None,
        durable: bool = False,
        mmap_mode: str | None = None,
        mode: str = "w",
    ) -> None:
        mmap_mode = blobs.check_mmap_mode(mmap_mode)
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
        if mmap_mode is not None:
            state["mmap_mode"] = mmap_mode
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
        self._mmap_mode = mmap_mode
        self._blobs = blobs.BlobStore(self._path + BLOBS_SUFFIX, durable)
        self._literal = literal
        self._legacy_fmt: str | None = None  # klepto's format of the file, when not a log
        self._memo: dict[Hashable, Any] = {}  # its contents, read whole
        self._log = RecordLog(
            self._path,
            self._decode_key,
            encode_key=self._key_bytes,
            label=self._label(),
            meta=self._log_meta,
            on_header=lambda meta: self._adopt_serializer(meta.get("serializer")),
            on_other=self._read_legacy,
            initial=self._initial_bytes,
            lock=self._lock,
            durable=durable,
            decode_keys=self._decode_keys,
        )
        self.read_only = mode == "r"
        self._ensure_exists()

    # -- file state ---------------------------------------------------------------------

    @property
    def _fmt(self) -> str | None:
        kind = self._log.kind
        return LOG if kind == recordlog.LOG else self._legacy_fmt if kind else None

    def close(self) -> None:
        """Close the file handle (it is reopened on the next operation)."""
        self._log.close()

    def _read_legacy(self, data: bytes) -> None:
        """Read a klepto-format file whole (the log calls this for a file that is not a log)."""
        fmt = _legacy.detect(data)
        assert fmt is not None and fmt != LOG
        self._memo = _legacy.read_whole(self._path, data, fmt)
        self._legacy_fmt = fmt
        self._adopt_serializer(_legacy_serializer(fmt))

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

    def _decode_key(self, data: bytes) -> Hashable:
        return self._serializer.loads_key(data)  # type: ignore[union-attr,no-any-return]

    def _decode_keys(self, datas: Sequence[bytes]) -> list[Hashable]:
        return self._serializer.loads_keys(datas)  # type: ignore[union-attr]

    def _refresh(self) -> None:
        """Catch up with what other processes wrote since we last looked (one stat)."""
        self._log.refresh()

    def _contents(self) -> dict[Hashable, Any]:
        """The index of the log, or the dict of a klepto-format file (caught up)."""
        self._log.refresh()
        return self._memo if self._log.kind == recordlog.OTHER else self._log.index

    # -- creating and rewriting whole files -------------------------------------------------

    def _initial_bytes(self) -> bytes:
        if not self._serialized and self._serializer_arg is None:
            return _legacy.python_text({})
        return self._log.header()

    def _log_meta(self) -> dict[str, Any]:
        return {"format": 1, "serializer": self._serializer.name}  # type: ignore[union-attr]

    def _ensure_exists(self) -> None:
        with self._lock:
            if self.read_only and not os.path.exists(self._path):
                raise ArchiveURLError(f"{self._label()}: no archive at {self._path!r}")
            if os.path.exists(self._path):
                # the header now (a conflicting serializer is refused here), records on first use
                self._log.reload(lazy=True)
            else:
                self._log.create()
                _klepto_save_tick()

    def _converted(self, extra: bytes) -> bytes:
        """A klepto pickle/JSON file's contents as a log (SerializationError if one won't store)."""
        items = [(key, self._encode(key, value)) for key, value in self._memo.items()]
        records, _known = self._log.set_records(items)
        # the caller holds the lock: the blobs these records name go first
        self._blobs.write([b for _k, p in items if type(p) is blobs.Buffered for b in p.buffers])
        return self._log.header() + records + extra

    # -- writing --------------------------------------------------------------------------

    def _commit(
        self,
        records: bytes,
        known: recordlog.Known,
        change: Callable[[dict[Hashable, Any]], None],
        encoded_with: Serializer | None,
        buffers: list[tuple[str, Any]] | None = None,
    ) -> None:
        """Apply one change under the file lock, in whatever format the file has by then.

        ``records``/``known`` are the change as log records (see ``RecordLog.append``);
        ``change`` is the same change applied to a whole dict.
        """
        log = self._log
        with log.exclusive():
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
            if buffers:
                self._blobs.write(buffers)  # before the records that name them
            fmt = self._fmt
            if fmt is None and encoded_with is self._literal:
                self._memo, fmt = {}, PYTHON
            if fmt == PYTHON:
                memo = dict(self._memo)
                change(memo)
                log.replace(_legacy.python_text(memo))
            elif fmt in (PICKLE, JSON):
                memo = dict(self._memo)
                change(memo)  # raises KeyError for a missing delete before anything is written
                log.replace(self._converted(records))
            else:
                log.append_locked(records, known)
        _klepto_save_tick()

    # -- storage primitives -------------------------------------------------------------

    def _encode(self, key: Hashable, value: Any) -> Any:
        if self._serializer is not self._literal:
            buffered = self._encode_buffered(key, value)
            if buffered is not None:
                return buffered  # its large buffers become blob files, not copies
        return super()._encode(key, value)

    def _decode(self, key: Hashable, payload: Any) -> Any:
        if isinstance(payload, _Loaded):
            return payload.value
        if type(payload) is bytes and blobs.is_buffered(payload):
            try:
                return blobs.decode(
                    self._serializer, payload, self._blobs, self._label(), key, self._mmap_mode
                )
            except CorruptEntryError:
                raise
            except Exception as exc:
                raise CorruptEntryError(
                    self._label(), key, f"cannot load it: {type(exc).__name__}: {exc}"
                ) from exc
        return super()._decode(key, payload)

    def _read(self, key: Hashable) -> Any:
        with self._lock:
            self._log.refresh()
            if self._log.kind == recordlog.OTHER:
                return _Loaded(self._memo[key])
            return self._log.get(key, refresh=False)

    def _write(self, key: Hashable, payload: Any) -> None:
        self._write_many([(key, payload)])

    def _key_bytes(self, key: Hashable) -> bytes:
        if self._serializer is self._literal:  # refuse keys a source file cannot hold
            return self._literal.dumps(key)
        return self._encode_key(key)

    def _write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        if not items:
            return
        encoded_with = self._serializer
        records, known = self._log.set_records(items)
        loads = self._literal.loads

        def change(memo: dict[Hashable, Any]) -> None:
            if encoded_with is not self._literal:
                memo.update((key, self._decode(key, payload)) for key, payload in items)
            else:
                memo.update((key, loads(payload)) for key, payload in items)

        buffers = [b for _k, p in items if type(p) is blobs.Buffered for b in p.buffers]
        self._commit(records, known, change, encoded_with, buffers)

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
            record, known = self._log.delete_record(key)

            def change(memo: dict[Hashable, Any]) -> None:
                del memo[key]

            log = self._log
            entry = log.index.get(key) if log.kind == recordlog.LOG else None
            buffered = isinstance(entry, recordlog.Entry) and blobs.is_buffered(log.get(key))
            self._commit(record, known, change, None)
            if buffered:  # its blobs go unless another entry names them
                with log.exclusive(create=False):
                    self._blobs.sweep(blobs.referenced(value for _key, value in log.items()))

    def _keys(self) -> Iterable[Hashable]:
        with self._lock:
            return list(self._contents())

    def _count(self) -> int:
        with self._lock:
            return len(self._contents())

    def _has(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._contents()

    def _items(self) -> Iterator[tuple[Hashable, Any]]:
        with self._lock:
            self._log.refresh()
            if self._log.kind == recordlog.OTHER:
                return iter([(k, _Loaded(v)) for k, v in self._memo.items()])
            return iter(self._log.items())

    def __asdict__(self) -> dict[Hashable, Any]:
        """The whole contents as a plain dict: the file read once, the values decoded in bulk."""
        with self._lock:
            pairs = self._log.items()  # caught up first: a fresh handle reads the file here
            if self._log.kind == recordlog.OTHER:
                return dict(self._memo)
        if not pairs:
            return {}
        keys, payloads = zip(*pairs)
        try:
            values = self._serializer.loads_many(payloads)  # type: ignore[union-attr]
        except Exception:  # one cannot be read: decoding one at a time names it
            return {key: self._decode(key, payload) for key, payload in pairs}
        return dict(zip(keys, values))

    def _clear(self) -> None:
        with self._log.exclusive():
            python = self._fmt == PYTHON
            self._log.replace(_legacy.python_text({}) if python else self._log.header())
            self._blobs.sweep(())
        _klepto_save_tick()

    def _drop(self, **kwds: Any) -> None:
        self._log.remove()
        shutil.rmtree(self._blobs.directory, ignore_errors=True)

    def _reopen_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        kwds: dict[str, Any] = {"serialized": self._serialized, "protocol": self._protocol}
        if self._serializer_arg is not None:
            kwds["serializer"] = self._serializer_arg
        if self._durable:
            kwds["durable"] = True
        if self._mmap_mode is not None:
            kwds["mmap_mode"] = self._mmap_mode
        return (self._filename,), kwds

    def copy(self, name: str | None = None) -> FileArchive:  # type: ignore[override]
        """An archive on a copy of the file at ``name`` (no name: another handle on this file)."""
        args, kwds = self._reopen_args()
        if name is not None:
            with self._log.exclusive():
                shutil.copy2(self._path, name)
                if os.path.isdir(self._blobs.directory):
                    shutil.copytree(
                        self._blobs.directory, os.fspath(name) + BLOBS_SUFFIX, dirs_exist_ok=True
                    )
            args = (name,)
        return type(self)(*args, **kwds)

    @classmethod
    def local_paths(cls, name: Any) -> list[str]:
        """The file, and its blob directory (counted in its size)."""
        paths = super().local_paths(name)
        return [*paths, paths[0] + BLOBS_SUFFIX] if paths else paths

    # -- reporting ------------------------------------------------------------------------

    @property
    def format(self) -> str:
        """The file's format: ``'log'`` (ours), or klepto's ``'klepto-pickle'``,
        ``'klepto-json'``, ``'klepto-python'``."""
        with self._lock:
            self._log.refresh()
            return self._fmt or LOG

    def verify(self) -> list[CorruptEntryError]:
        """Corrupt entries, plus damaged records whose key could not be read (key ``None``)."""
        errors = super().verify()
        with self._lock:
            errors.extend(
                CorruptEntryError(self._label(), None, why) for why in self._log.unreadable
            )
        return errors


def _legacy_serializer(fmt: str) -> str | None:
    return {JSON: "json", PYTHON: "python-literal"}.get(fmt)


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
