"""A directory archive (klepto's ``dir_archive``): a record log by default, per-key entries too.

Two layouts, chosen by ``layout``:

``"log"`` (the default for a new or empty directory, and one whose log holds records)
    Entries are checksummed records appended to ``<dirname>/memo.log`` (the
    :mod:`klepto_core.storage.recordlog` format, as the file archive's). A write is one
    ``flock``-ed append, a read an index lookup and one ``pread``; other
    processes' appends are picked up from the file's tail (one ``stat``). A
    damaged record raises CorruptEntryError naming the archive and the key.
``"klepto"``
    One sub-directory per key, klepto's own layout, for directories still shared
    with klepto 0.2.8 processes. It is the default for a directory that already
    holds per-key entries and no log records (written by klepto, by klepto_core
    before the log, or in this layout), so klepto processes sharing it keep
    finding every key; ``layout="log"`` moves the keys it writes into the log
    instead. A directory shared with klepto processes from the start (still
    empty when opened here) needs ``layout="klepto"`` given explicitly. It is
    the only layout for ``serialized=False``, whose values are Python source,
    and ``memmode``, whose arrays are ``.npy`` files memory-mapped on read.
    Each value file is moved into place atomically; entry names, value files
    and klepto's own entries are described in :mod:`klepto_archive_dir._entries`,
    which holds that layout.

Whatever the layout, everything already there is read: klepto's directories
(``K_<str(key) with - -> _>``, including ``fast``/``compression`` entries and
numpy side files), the per-key entries earlier klepto_core versions wrote, and
the log. A key is looked up in the log first, then among the per-key entries;
listing gives both (the log's record shadows an entry of the same key). Writing
or deleting a key in a directory holding per-key entries also removes that key's
entry, so an old value never shows through. A writer of per-key entries marks
the log's header (creating the log if needed), so handles of the log layout look
for such entries; all klepto_core writers of one directory serialize on the
log's lock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Hashable, Iterable, Iterator
from typing import Any, ClassVar

from klepto_archive_dir import _formats
from klepto_archive_dir._entries import (
    _JSON_FAMILY,
    PerKeyEntries,
    _holds_entries,
    _needs_klepto_checks,
    _within,
)
from klepto_archive_dir._entries import DIGEST_MARK as DIGEST_MARK
from klepto_archive_dir._entries import INPUTS as INPUTS
from klepto_archive_dir._entries import MARKER as MARKER
from klepto_archive_dir._entries import OUTPUTS as OUTPUTS
from klepto_archive_dir._entries import PREFIX as PREFIX
from klepto_archive_dir._entries import _Payload as _Payload
from klepto_archive_dir._entries import digest as digest
from klepto_archive_dir._entries import entry_name as entry_name
from klepto_archive_dir._entries import readable as readable
from klepto_core.errors import (
    ArchiveURLError,
    CorruptEntryError,
    FormatError,
    InvalidArgumentError,
    SerializationError,
)
from klepto_core.plugin import PluginSpec, Serializer, archive_factory, get_serializer, hookimpl
from klepto_core.storage import blobs
from klepto_core.storage.faults import storage_faults
from klepto_core.storage.recordlog import MAGIC, Entry, RecordLog, read_header

#: the record log inside the directory (no K_ prefix: klepto never lists it)
LOG_NAME = "memo.log"
#: the blob files of the log's large buffers (see klepto_core.storage.blobs)
BLOBS_NAME = "memo.blobs"
LOG, KLEPTO = "log", "klepto"
#: set in the log's header once per-key entries may exist beside it
PER_KEY_FLAG = "per_key_entries"
#: bytes read from a log to tell whether it holds more than its header
_HEADER_PEEK = 1 << 16


class DirArchive(PerKeyEntries):
    """Entries of a directory ``dirname`` (default ``memo``), created at construction.

    klepto's options: ``serialized`` (False: values as Python source), ``compression``
    (zlib level), ``permissions`` (mode of new directories, default 0o775),
    ``memmode`` (arrays memory-mapped on read), ``memsize`` (kept, unused),
    ``protocol`` (pickle protocol; a str picks JSON), ``fast`` (pickle protocol 5).
    New: ``serializer`` by name or object, ``durable`` (fsync each write),
    ``mmap_mode`` (``"r"`` or ``"c"``: arrays and other large buffers of values in the
    log come back memory-mapped from their blob files, read-only or copy-on-write),
    ``layout``: ``"log"`` (one record log: the default) or ``"klepto"`` (a
    sub-directory per key, for directories klepto 0.2.8 processes share; the
    default for a directory holding such entries and no log records, and with
    ``serialized=False`` or ``memmode``, which need it).
    """

    __kind_name__: ClassVar[str] = "dir_archive"
    persistent: ClassVar[bool] = True
    path_named: ClassVar[bool] = True
    #: the layouts this class writes, its default first (a subclass without a log: KLEPTO only)
    layouts: ClassVar[tuple[str, ...]] = (LOG, KLEPTO)
    opens_read_only: ClassVar[bool] = True

    def __init__(
        self,
        dirname: Any = None,
        serialized: bool = True,
        compression: int = 0,
        permissions: int | None = None,
        memmode: str | None = None,
        memsize: int = 100,
        protocol: Any = None,
        fast: bool = False,
        *,
        serializer: Any = None,
        durable: bool = False,
        layout: str | None = None,
        mmap_mode: str | None = None,
        mode: str = "w",
    ) -> None:
        dirname = "memo" if dirname is None else os.fspath(dirname)
        mmap_mode = blobs.check_mmap_mode(mmap_mode)
        if not serialized:
            compression, memmode, fast = 0, None, False
        elif compression or memmode:
            fast = True
        root = os.path.abspath(dirname)
        if mode == "r" and not os.path.isdir(root):
            raise ArchiveURLError(f"{self.__kind_name__}({dirname!r}): no archive at {root!r}")
        layout = self._choose_layout(layout, serialized, memmode, root)
        dir_mode = 0o775 if permissions is None else permissions
        if mode != "r":
            with storage_faults(root, f"{self.__kind_name__}({dirname!r})"):
                os.makedirs(root, mode=dir_mode, exist_ok=True)
        compat = _needs_klepto_checks(root, create=mode != "r")
        state: dict[str, Any] = {
            "fast": fast,
            "serialized": serialized,
            "compression": compression,
            "permissions": permissions,
            "memmode": memmode,
            "memsize": memsize,
            "protocol": protocol,
            "id": root,
            "layout": layout,
        }
        if serializer is not None:
            state["serializer"] = getattr(serializer, "name", serializer)
        if durable:
            state["durable"] = True
        if mmap_mode is not None:
            state["mmap_mode"] = mmap_mode
        chosen: Serializer | None = None
        pickle_protocol = protocol
        if serialized:
            pickle_protocol = 5 if fast and not isinstance(protocol, int) else protocol
            if fast and isinstance(protocol, str) and serializer is None:
                pickle_protocol = 5  # klepto: fast ignores a json protocol
            chosen = get_serializer(serializer, pickle_protocol)
        super().__init__(os.path.basename(root), state, chosen)
        self._dirname = dirname
        self._root = root
        # single-flight locks of other processes meet on this file (not an entry: no K_ prefix)
        self.lock_path = os.path.join(root, ".klepto_core.lock")
        self._mode = dir_mode
        self.read_only = mode == "r"
        self._options = {
            "serialized": serialized,
            "compression": compression,
            "permissions": permissions,
            "memmode": memmode,
            "memsize": memsize,
            "protocol": protocol,
            "fast": fast,
            "layout": layout,
        }
        self._serializer_arg = serializer
        self._durable = durable
        self._mmap_mode = mmap_mode
        self._blobs = blobs.BlobStore(os.path.join(root, BLOBS_NAME), durable)
        self._unreadable: dict[str, str] = {}
        # a directory klepto_core did not create may hold klepto's entries, whose names
        # alias other keys: look for them there (and only there)
        self._compat = compat
        self._compression = int(compression or 0)
        self._memmode = memmode
        if not serialized:
            self._out, self._in = "__init__.py", "__args__.py"
        elif chosen is not None and chosen.name in _JSON_FAMILY:
            self._out, self._in = "output.json", "input.json"
        else:
            self._out, self._in = "output.pkl", "input.pkl"
        self._writes_to = layout  # the layout new values go to (LOG or KLEPTO)
        # whether per-key entries may be here: looked up (after the log) and removed on writes
        self._per_key = layout != LOG or compat or _holds_entries(root)
        self._log: RecordLog | None = None
        if LOG in type(self).layouts:
            self._explicit = serializer is not None or isinstance(protocol, str)
            self._pickle_protocol = pickle_protocol
            self._log_serializer = chosen if chosen is not None else get_serializer()
            self._log = RecordLog(
                os.path.join(root, LOG_NAME),
                self._decode_log_key,
                encode_key=self._log_key_bytes,
                label=self._label(),
                meta=self._log_meta,
                on_header=self._read_log_header,
                lock=self._lock,
                durable=durable,
            )
            self._log.refresh()  # an existing log is read now (and refused now, if it must be)

    @classmethod
    def _choose_layout(
        cls, layout: str | None, serialized: bool, memmode: str | None, root: str
    ) -> str:
        """The layout asked for, checked; by default the log, but klepto's layout for values
        that need it and for a directory written in it (see :func:`_written_per_key`)."""
        choices = cls.layouts
        needs_entries = not serialized or memmode is not None
        if layout is None:
            if choices[0] == KLEPTO or KLEPTO not in choices:
                return choices[0]
            return KLEPTO if needs_entries or _written_per_key(root) else choices[0]
        if layout not in choices:
            raise InvalidArgumentError(
                f"{cls.__kind_name__}: unknown layout {layout!r}; "
                f"choose one of {', '.join(map(repr, choices))}"
            )
        if layout == LOG and needs_entries:
            what = "memmode arrays" if serialized else "Python source values (serialized=False)"
            raise InvalidArgumentError(
                f"{cls.__kind_name__}: layout='log' cannot hold {what}; "
                "use layout='klepto' (the default for them)"
            )
        return layout

    # -- the log ----------------------------------------------------------------------------

    def _log_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"format": 1, "serializer": self._log_serializer.name}
        if self._per_key:
            meta[PER_KEY_FLAG] = True
        return meta

    def _read_log_header(self, meta: dict[str, Any]) -> None:
        """Adopt the log's serializer (refuse a conflicting explicit one); note its flag."""
        if meta.get(PER_KEY_FLAG):
            self._per_key = True
        name = meta.get("serializer")
        if not isinstance(name, str) or name == self._log_serializer.name:
            return
        if self._writes_to != LOG:  # values written here go to entries: only read the log with it
            self._log_serializer = get_serializer(name)
            return
        if self._explicit:
            raise FormatError(
                f"{self._label()}: its log {LOG_NAME!r} was written with the {name!r} serializer, "
                f"not {self._log_serializer.name!r}; open it without serializer=/protocol="
            )
        self._serializer = self._log_serializer = get_serializer(name, self._pickle_protocol)

    def _decode_log_key(self, data: bytes) -> Hashable:
        return self._log_serializer.loads_key(data)  # type: ignore[no-any-return]

    def _log_key_bytes(self, key: Hashable) -> bytes:
        try:
            return self._log_serializer.dumps_key(key)
        except SerializationError as exc:
            raise SerializationError(
                f"{self._label()}: cannot store key {key!r}: {exc}; nothing was written"
            ) from exc

    def _write_log(self, items: list[tuple[Hashable, Any]]) -> None:
        """Append one record per item (one write); remove their per-key entries, if any.

        All under one hold of the log's lock: the header read on taking it may say
        per-key entries exist, and another writer must not write one of these keys
        as an entry between our append and the removal of its old entries.
        """
        log = self._log
        assert log is not None
        encoded_with = self._serializer
        records, known = log.set_records(items)
        with log.exclusive():
            if self._serializer is not encoded_with:  # the log was made by another serializer
                raise FormatError(
                    f"{self._label()}: its log was created meanwhile with the "
                    f"{self._log_serializer.name!r} serializer; nothing was written"
                )
            self._blobs.write(_buffers_of(items))  # before the records that name them
            log.append_locked(records, known)
            if self._per_key:
                for key, _payload in items:
                    self._drop_entries(key)

    def _write_entries(self, items: list[tuple[Hashable, Any]]) -> None:
        """Write per-key entries under the log's lock (marking its header), dropping log records."""
        log = self._log
        if log is None:
            for key, payload in items:
                self._put_entry(key, payload)
            return
        with log.exclusive():
            if not log.meta.get(PER_KEY_FLAG):
                log.replace(log.compacted())  # tell log-layout handles to look for entries
            for key, payload in items:
                self._put_entry(key, payload)
                log.discard_locked(key)

    # -- encoding -------------------------------------------------------------------------

    def _encode(self, key: Hashable, value: Any) -> Any:
        if self._writes_to == LOG:
            if not self._compression:
                buffered = self._encode_buffered(key, value)
                if buffered is not None:
                    return buffered  # its large buffers become blob files, not copies
            data = super()._encode(key, value)
            return _formats.zcompress(data, self._compression) if self._compression else data
        return self._entry_payload(key, value)

    def _decode(self, key: Hashable, payload: Any) -> Any:
        try:
            if type(payload) is bytes:  # a log record's value
                if blobs.is_buffered(payload):
                    return blobs.decode(
                        self._log_serializer,
                        payload,
                        self._blobs,
                        self._label(),
                        key,
                        self._mmap_mode,
                    )
                if payload[:2] == _formats.ZPREFIX:
                    payload = _formats.zdecompress(payload)
                return self._log_serializer.loads(payload)
            return self._load(payload)
        except CorruptEntryError:
            raise
        except Exception as exc:
            where = LOG_NAME if type(payload) is bytes else payload.filename
            raise CorruptEntryError(
                self._label(), key, f"{where} is unreadable: {type(exc).__name__}: {exc}"
            ) from exc

    # -- the storage primitives -------------------------------------------------------------

    def _read(self, key: Hashable) -> Any:
        log = self._log
        if log is not None:
            try:
                return log.get(key)
            except CorruptEntryError:
                raise
            except (KeyError, TypeError):
                pass
            if not self._per_key:
                raise KeyError(key)
        found = self._find(key)
        if found is not None:
            return found[1]
        if log is not None:  # moved into the log meanwhile (its writer removed the entry)
            with contextlib.suppress(TypeError):
                if log.contains(key):
                    return log.get(key)
        raise KeyError(key)

    def _write(self, key: Hashable, payload: Any) -> None:
        if self._writes_to == LOG:
            self._write_log([(key, payload)])
        else:
            self._write_entries([(key, payload)])

    def _write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        if not items:
            return
        if self._writes_to == LOG:
            self._write_log(items)
        else:
            self._write_entries(items)

    def _delete(self, key: Hashable) -> None:
        log = self._log
        if log is None:
            if not self._drop_entries(key):
                raise KeyError(key)
            return
        with log.exclusive(create=False):
            entry = log.index.get(key) if _hashable(key) else None
            buffered = isinstance(entry, Entry) and blobs.is_buffered(log.get(key, refresh=False))
            found = log.discard_locked(key)
            if buffered:
                self._sweep_locked()
            if self._per_key:  # (the header, just read, may have said so)
                found = self._drop_entries(key) or found
        if not found:
            raise KeyError(key)

    def _keys(self) -> Iterable[Hashable]:
        log = self._log
        keys = log.keys() if log is not None else []
        if not self._per_key:
            return keys
        shadow = set(keys)
        keys.extend(key for key in self._entry_keys() if not _within(key, shadow))
        return keys

    def _count(self) -> int:
        log = self._log
        if log is not None:
            count = log.count()
            if not self._per_key:
                return count
        return len(list(self._keys()))

    def _has(self, key: Hashable) -> bool:
        log = self._log
        if log is not None:
            try:
                if log.contains(key):
                    return True
            except TypeError:
                pass
            if not self._per_key:
                return False
        return self._find(key) is not None

    def _items(self) -> Iterator[tuple[Hashable, Any]]:
        log = self._log
        items: list[tuple[Hashable, Any]] = log.items() if log is not None else []
        if not self._per_key:
            return iter(items)
        shadow = {key for key, _payload in items}
        for key in self._entry_keys():
            if not _within(key, shadow):
                found = self._find(key)
                if found is not None:
                    items.append((key, found[1]))
        return iter(items)

    def _sweep_locked(self) -> None:
        """Remove blob files no live record names (the log's lock is held)."""
        log = self._log
        assert log is not None
        self._blobs.sweep(blobs.referenced(value for _key, value in log.items()))

    def _clear(self) -> None:
        if self._log is not None:
            self._log.clear()
            with self._log.exclusive(create=False):
                self._sweep_locked()
        self._clear_entries()
        temp = f".{LOG_NAME}.tmp-"
        with contextlib.suppress(FileNotFoundError), os.scandir(self._root) as scanner:
            for item in scanner:  # leftovers of crashed log rewrites (ours)
                if item.name.startswith(temp) and item.is_file():
                    with contextlib.suppress(OSError):
                        os.unlink(item.path)

    def _drop(self, **kwds: Any) -> None:
        self.close()
        shutil.rmtree(self._root, ignore_errors=True)

    def close(self) -> None:
        """Close the log's file handle (it is reopened on the next operation)."""
        if self._log is not None:
            self._log.close()

    def _reopen_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        kwds = dict(self._options)
        if self._serializer_arg is not None:
            kwds["serializer"] = self._serializer_arg
        if self._durable:
            kwds["durable"] = True
        if self._mmap_mode is not None:
            kwds["mmap_mode"] = self._mmap_mode
        return (self._root,), kwds

    def copy(self, name: str | None = None) -> DirArchive:  # type: ignore[override]
        """An archive on a copy of the directory at ``name`` (no name: another handle here)."""
        args, kwds = self._reopen_args()
        if name is not None:
            with self._log.exclusive(create=False) if self._log else contextlib.nullcontext():
                shutil.copytree(self._root, name, dirs_exist_ok=True)
            args = (name,)
        return type(self)(*args, **kwds)

    @property
    def format(self) -> str:
        """How new entries are written: ``'log'``, ``'log+klepto'`` (per-key entries are
        read too), or ``'klepto'`` (a sub-directory per key)."""
        return LOG + "+" + KLEPTO if self._writes_to == LOG and self._per_key else self._writes_to

    def verify(self) -> list[CorruptEntryError]:
        """Corrupt entries, plus those whose stored key cannot be read (key: the entry's name,
        or None for a damaged log record)."""
        self._unreadable.clear()
        errors = super().verify()
        errors.extend(
            CorruptEntryError(self._label(), name, why) for name, why in self._unreadable.items()
        )
        if self._log is not None:
            with self._lock:
                errors.extend(
                    CorruptEntryError(self._label(), None, why) for why in self._log.unreadable
                )
        return errors


def _buffers_of(items: list[tuple[Hashable, Any]]) -> list[tuple[str, Any]]:
    """The blobs the payloads among ``items`` name, still to be written."""
    out: list[tuple[str, Any]] = []
    for _key, payload in items:
        if type(payload) is blobs.Buffered:
            out.extend(payload.buffers)
    return out


def _hashable(key: Any) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True


def _written_per_key(root: str) -> bool:
    """Whether ``root`` holds per-key entries and no log records (no log, or a bare header).

    Such a directory was written by klepto (or by klepto_core before the log, or
    with ``layout="klepto"``, whose writers create the log only to lock it and
    mark its header): a handle given no layout keeps writing it that way, so klepto
    processes sharing it still find every key.
    """
    try:
        if not _holds_entries(root):
            return False
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        with open(os.path.join(root, LOG_NAME), "rb") as handle:
            data = handle.read(_HEADER_PEEK)
    except (FileNotFoundError, IsADirectoryError):
        return True
    if MAGIC.startswith(data):  # empty, or a header cut short: no records
        return True
    found = read_header(data)
    return found is not None and found[1] == len(data)


dir_archive = archive_factory(DirArchive)


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the ``dir`` archive."""
    return PluginSpec(
        name="dir",
        factory=dir_archive,
        description="a directory: a checksummed record log, or klepto's sub-directory per key "
        "(reads klepto's layout too)",
        url_schemes=("dir",),
    )
