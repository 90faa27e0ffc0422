"""A directory archive (klepto's ``dir_archive``): a record log by default, per-key entries too.

Two layouts, chosen by ``layout``:

``"log"`` (the default)
    Entries are checksummed records appended to ``<dirname>/memo.log`` (the
    :mod:`klepto_core.recordlog` format, as the file archive's). A write is one
    ``flock``-ed append, a read an index lookup and one ``pread``; other
    processes' appends are picked up from the file's tail (one ``stat``). A
    damaged record raises CorruptEntryError naming the archive and the key.
``"klepto"``
    One sub-directory per key, klepto's own layout, for directories still shared
    with klepto 0.2.8 processes (and the only layout for ``serialized=False``,
    whose values are Python source, and ``memmode``, whose arrays are ``.npy``
    files memory-mapped on read). Entry names are injective: a plain ``str`` key
    that is printable and holds no ``-``, ``/``, ``.`` or leading ``~`` is stored
    as ``K_<key>``; any other key as ``K_~<stable digest>`` with the key itself in
    ``input.pkl`` beside the value. Each value file is written to a temp file
    inside the entry and moved into place with ``os.replace``, so a reader (or a
    process killed mid-write) sees the old or the new value, never a mix; a
    delete renames the entry out of the way first. The value file is
    ``output.pkl`` (``output.json`` for JSON serializers, ``__init__.py`` source
    when not ``serialized``, ``output.npy`` for arrays under ``memmode``): the
    names klepto used, so klepto reads these entries where it finds them by name.

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
import io
import os
import re
import shutil
import threading
from collections.abc import Hashable, Iterable, Iterator
from typing import Any, ClassVar

from klepto_archive_dir import _formats
from klepto_core.archive_base import Archive, archive_factory
from klepto_core.errors import (
    CorruptEntryError,
    FormatError,
    InvalidArgumentError,
    SerializationError,
    UnhashableKeyError,
)
from klepto_core.hookspecs import hookimpl
from klepto_core.pysource import to_source
from klepto_core.recordlog import DELETE, SET, RecordLog, fsync_dir, record
from klepto_core.serializer import Serializer, get_serializer
from klepto_core.types import PluginSpec

PREFIX = "K_"
DIGEST_MARK = "~"
#: value files, in the order a lookup tries them
OUTPUTS = ("output.pkl", "output.json", "__init__.py", "output.npy")
INPUTS = ("input.pkl", "input.json", "__args__.py")
#: the record log inside the directory (no K_ prefix: klepto never lists it)
LOG_NAME = "memo.log"
LOG, KLEPTO = "log", "klepto"
#: set in the log's header once per-key entries may exist beside it
PER_KEY_FLAG = "per_key_entries"
_JSON_FAMILY = ("json", "jsonpickle")
_UNSAFE_SEARCH = re.compile(r"[-/.\\\x00]").search
_MAX_NAME = 200

_counter = 0
_counter_lock = threading.Lock()


def _unique() -> str:
    """A name no other writer uses at the same time (the global RNG is left alone)."""
    global _counter
    with _counter_lock:
        _counter += 1
        return f"{os.getpid()}-{threading.get_ident()}-{_counter}"


def readable(key: Hashable) -> bool:
    """Whether ``key`` is stored under its own text (else under a digest)."""
    if type(key) is not str or not key or key[0] == DIGEST_MARK:
        return False
    if len(key) > _MAX_NAME // 4 and len(key.encode("utf-8", "surrogatepass")) > _MAX_NAME:
        return False
    return key.isprintable() and _UNSAFE_SEARCH(key) is None


def digest(key: Hashable) -> str:
    """A stable hex digest of ``key``, the same in every process."""
    try:
        from klepto_core.stable import stable_digest
    except ImportError:  # pragma: no cover - klepto_core always ships it
        import hashlib
        import pickle

        return hashlib.blake2b(pickle.dumps(key, protocol=4), digest_size=16).hexdigest()
    return stable_digest(key)


def entry_name(key: Hashable) -> str:
    """The sub-directory holding ``key``."""
    return PREFIX + key if readable(key) else PREFIX + DIGEST_MARK + digest(key)  # type: ignore[operator]


class _Payload:
    """A stored value on its way in or out: the file name and its bytes (or path, for .npy)."""

    __slots__ = ("data", "directory", "filename")

    def __init__(self, filename: str, data: Any, directory: str = "") -> None:
        self.filename = filename
        self.data = data
        self.directory = directory


class DirArchive(Archive):
    """Entries of a directory ``dirname`` (default ``memo``), created at construction.

    klepto's options: ``serialized`` (False: values as Python source), ``compression``
    (zlib level), ``permissions`` (mode of new directories, default 0o775),
    ``memmode`` (arrays memory-mapped on read), ``memsize`` (kept, unused),
    ``protocol`` (pickle protocol; a str picks JSON), ``fast`` (pickle protocol 5).
    New: ``serializer`` by name or object, ``durable`` (fsync each write),
    ``layout``: ``"log"`` (the default: one record log) or ``"klepto"`` (a
    sub-directory per key, for directories klepto 0.2.8 processes share; the
    default with ``serialized=False`` or ``memmode``, which need it).
    """

    __kind_name__: ClassVar[str] = "dir_archive"
    persistent: ClassVar[bool] = True
    path_named: ClassVar[bool] = True
    #: the layouts this class writes, its default first (a subclass without a log: KLEPTO only)
    layouts: ClassVar[tuple[str, ...]] = (LOG, KLEPTO)

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
    ) -> None:
        dirname = "memo" if dirname is None else os.fspath(dirname)
        if not serialized:
            compression, memmode, fast = 0, None, False
        elif compression or memmode:
            fast = True
        layout = self._choose_layout(layout, serialized, memmode)
        root = os.path.abspath(dirname)
        mode = 0o775 if permissions is None else permissions
        os.makedirs(root, mode=mode, exist_ok=True)
        compat = _needs_klepto_checks(root)
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
        self._mode = mode
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
                label=self._label(),
                meta=self._log_meta,
                on_header=self._read_log_header,
                lock=self._lock,
                durable=durable,
            )
            self._log.refresh()  # an existing log is read now (and refused now, if it must be)

    @classmethod
    def _choose_layout(cls, layout: str | None, serialized: bool, memmode: str | None) -> str:
        choices = cls.layouts
        needs_entries = not serialized or memmode is not None
        if layout is None:
            return KLEPTO if needs_entries and KLEPTO in choices else choices[0]
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

    def _discard_from_log(self, key: Hashable) -> bool:
        """Delete ``key``'s record, if any (the caller holds the log's lock); whether it had one."""
        log = self._log
        try:
            if log is None or log.fd is None or key not in log.index:
                return False
        except TypeError:  # unhashable: never in the log
            return False
        rec = record(DELETE, self._log_key_bytes(key))
        log.append_locked(rec, ((key, -1, len(rec)),))
        return True

    def _write_log(self, items: list[tuple[Hashable, Any]]) -> None:
        """Append one record per item (one write); remove their per-key entries, if any."""
        log = self._log
        assert log is not None
        encoded_with = self._serializer
        parts: list[bytes] = []
        known: list[tuple[Hashable, int, int]] = []
        for key, payload in items:
            try:
                hash(key)  # the index is a dict: refuse what it cannot hold, before writing
            except TypeError as exc:
                raise UnhashableKeyError(f"{self._label()}: cannot store key: {exc}") from exc
            key_bytes = self._log_key_bytes(key)
            rec = record(SET, key_bytes, payload)
            parts.append(rec)
            known.append((key, len(key_bytes), len(rec)))
        records = parts[0] if len(parts) == 1 else b"".join(parts)

        def check() -> None:
            if self._serializer is not encoded_with:  # the log was made by another serializer
                raise FormatError(
                    f"{self._label()}: its log was created meanwhile with the "
                    f"{self._log_serializer.name!r} serializer; nothing was written"
                )

        if not self._per_key:
            log.append(records, known, check)
            if not self._per_key:
                return
            with log.exclusive():  # the log's header (read while appending) says entries exist
                for key, _payload in items:
                    self._drop_entries(key)
            return
        with log.exclusive():
            check()
            log.append_locked(records, known)
            for key, _payload in items:
                self._drop_entries(key)

    # -- encoding -------------------------------------------------------------------------

    def _encode(self, key: Hashable, value: Any) -> Any:
        if self._writes_to == LOG:
            data = super()._encode(key, value)
            return _formats.zcompress(data, self._compression) if self._compression else data
        if self._memmode is not None and type(value).__name__ == "ndarray":
            import numpy

            buffer = io.BytesIO()
            numpy.save(buffer, value, allow_pickle=False)
            return _Payload("output.npy", buffer.getvalue())
        if self._serializer is None:
            return _Payload(self._out, self._source(key, value))
        data = super()._encode(key, value)
        if self._compression:
            data = _formats.zcompress(data, self._compression)
        return _Payload(self._out, data)

    def _source(self, key: Hashable, value: Any) -> bytes:
        """``memo = ...`` Python source for ``value`` (klepto's ``serialized=False``)."""
        try:
            return f"memo = {to_source(value)}\n".encode()
        except SerializationError:
            pass  # not plain data: let dill find importable source for it
        try:
            from dill.source import getimportable

            try:
                text = getimportable(value, alias="memo", byname=False)
            except AttributeError:
                text = getimportable(value, alias="memo")
            back = _formats.load_source(text, "<source>")
        except Exception as exc:
            raise SerializationError(
                f"{self._label()}: cannot store key {key!r} as source (serialized=False): "
                f"{type(exc).__name__}: {exc}; nothing was written"
            ) from exc
        if not _same(back, value):
            raise SerializationError(
                f"{self._label()}: key {key!r}: the source written for a {type(value).__name__} "
                "does not read back as the same value (serialized=False); nothing was written"
            )
        return text.encode("utf-8")  # type: ignore[no-any-return]

    def _key_bytes(self, key: Hashable) -> bytes:
        if self._serializer is None:
            return self._source(key, key)
        return self._encode_key(key)

    def _decode(self, key: Hashable, payload: Any) -> Any:
        try:
            if type(payload) is bytes:  # a log record's value
                if payload[:2] == _formats.ZPREFIX:
                    payload = _formats.zdecompress(payload)
                return self._log_serializer.loads(payload)
            return self._load(payload)
        except Exception as exc:
            where = LOG_NAME if type(payload) is bytes else payload.filename
            raise CorruptEntryError(
                self._label(), key, f"{where} is unreadable: {type(exc).__name__}: {exc}"
            ) from exc

    def _load(self, payload: _Payload) -> Any:
        name, data = payload.filename, payload.data
        if name.endswith(".npy"):
            import numpy

            mode: Any = self._memmode
            return numpy.load(data, mmap_mode=mode, allow_pickle=False)
        if name.endswith(".py"):
            return _formats.load_source(data.decode("utf-8"), os.path.join(payload.directory, name))
        if name.endswith(".json"):
            serializer = self._serializer
            if serializer is None or serializer.name not in _JSON_FAMILY:
                serializer = get_serializer("json")
            return serializer.loads(data)
        if data.startswith(_formats.ZPREFIX):
            data = _formats.zdecompress(data)
        if _formats.is_klepto_fast(data):
            return _formats.load_klepto_fast(data, payload.directory, self._memmode)
        serializer = self._serializer
        if serializer is None or serializer.name in _JSON_FAMILY:
            serializer = get_serializer("dill")
        return serializer.loads(data)

    # -- per-key entries ----------------------------------------------------------------------

    @staticmethod
    def _listing(directory: str) -> set[str] | None:
        """The file names in an entry directory (None if it is missing)."""
        try:
            return set(os.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _read_output(self, directory: str, names: set[str] | None = None) -> _Payload | None:
        if names is None:
            try:  # the usual case: the value file this archive writes
                with open(f"{directory}{os.sep}{self._out}", "rb") as handle:
                    return _Payload(self._out, handle.read(), directory)
            except (FileNotFoundError, NotADirectoryError):
                names = self._listing(directory)
        if not names:
            return None
        for name in (self._out, *OUTPUTS):
            if name not in names:
                continue
            path = os.path.join(directory, name)
            if name.endswith(".npy"):
                return _Payload(name, path, directory)
            try:
                with open(path, "rb") as handle:
                    return _Payload(name, handle.read(), directory)
            except (FileNotFoundError, IsADirectoryError):
                continue
        return None

    def _stored_key(self, directory: str) -> tuple[bool, Any]:
        """(has an input file, the key it holds); the key is the name when there is none."""
        for name in INPUTS:
            path = os.path.join(directory, name)
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except (FileNotFoundError, NotADirectoryError):
                continue
            key = self._load(_Payload(name, data, directory))
            return True, _formats.hashable(key) if name.endswith(".json") else key
        return False, os.path.basename(directory)[len(PREFIX) :]

    def _foreign(self, directory: str, key: Hashable, names: set[str] | None = None) -> bool:
        """Whether ``directory`` (named after str ``key``) holds klepto's entry of another key."""
        if names is not None and names.isdisjoint(INPUTS):
            return False
        try:
            has_input, stored = self._stored_key(directory)
        except Exception:
            return True
        return has_input and not _key_equal(stored, key)

    def _find(self, key: Hashable) -> tuple[str, _Payload] | None:
        """The entry directory holding ``key`` (ours, else klepto's) and its value file."""
        path = f"{self._root}{os.sep}{entry_name(key)}"
        if not self._compat:
            payload = self._read_output(path)
            return None if payload is None else (path, payload)
        names = self._listing(path)
        if names:
            payload = self._read_output(path, names)
            if payload is not None and not (readable(key) and self._foreign(path, key, names)):
                return path, payload
        legacy = _formats.klepto_name(key)
        if legacy is None or legacy.startswith(PREFIX + "."):
            return None
        path = os.path.join(self._root, legacy)
        payload = self._read_output(path)
        if payload is None or not self._is_klepto_entry_of(path, key):
            return None
        return path, payload

    def _is_klepto_entry_of(self, path: str, key: Hashable) -> bool:
        try:
            has_input, stored = self._stored_key(path)
        except Exception:
            return False
        return _key_equal(stored, key) if has_input else key == stored

    @staticmethod
    def _has_output(directory: str) -> bool:
        return any(os.path.isfile(os.path.join(directory, name)) for name in OUTPUTS)

    def _entries(self) -> Iterator[os.DirEntry[str]]:
        try:
            scanner = os.scandir(self._root)
        except FileNotFoundError:
            return
        with scanner:
            for item in scanner:
                name = item.name
                if name.startswith(PREFIX) and not name.startswith(PREFIX + ".") and item.is_dir():
                    yield item

    def _entry_keys(self) -> list[Hashable]:
        """The keys of the per-key entries (klepto's after ours; ours shadow them)."""
        keys: list[Hashable] = []
        ours: set[Any] = set()
        legacy: list[Hashable] = []
        for item in self._entries():
            if not self._has_output(item.path):
                continue  # an empty entry: a write in progress or a crashed one
            try:
                _has_input, key = self._stored_key(item.path)
            except Exception as exc:
                self._unreadable[item.name] = f"the stored key is unreadable: {exc}"
                continue
            if entry_name(key) == item.name:
                keys.append(key)
                with contextlib.suppress(TypeError):
                    ours.add(key)
            else:
                legacy.append(key)
        keys.extend(key for key in legacy if not _within(key, ours))
        return keys

    def _put_entry(self, key: Hashable, payload: _Payload) -> None:
        """Write ``key``'s entry directory (klepto's layout), moving aliased klepto entries."""
        name = entry_name(key)
        key_bytes = None if readable(key) else self._key_bytes(key)
        path = os.path.join(self._root, name)
        if key_bytes is None and self._compat:
            names = self._listing(path)
            if names and not names.isdisjoint(INPUTS) and self._foreign(path, key, names):
                self._move_klepto_entry(path)
        while True:
            try:
                self._write_entry(path, key_bytes, payload)
                break
            except FileNotFoundError:
                # the entry was renamed away by a concurrent delete: write a fresh one
                os.makedirs(self._root, mode=self._mode, exist_ok=True)
        legacy = _formats.klepto_name(key) if self._compat else None
        if legacy is not None and legacy != name:
            legacy_path = os.path.join(self._root, legacy)
            if os.path.isdir(legacy_path) and self._is_klepto_entry_of(legacy_path, key):
                self._remove_entry(legacy_path)

    def _move_klepto_entry(self, path: str) -> None:
        """Move klepto's entry of another key out of a name we need (to its digest name)."""
        try:
            _has_input, stored = self._stored_key(path)
            target = os.path.join(self._root, entry_name(stored))
        except Exception:
            target = ""
        if target and target != path and not os.path.exists(target):
            with contextlib.suppress(OSError):
                os.rename(path, target)
                return
        self._remove_entry(path)

    def _write_entry(self, path: str, key_bytes: bytes | None, payload: _Payload) -> None:
        try:
            os.mkdir(path, self._mode)
            fresh = True
        except FileExistsError:
            fresh = False
        if key_bytes is not None and (fresh or not os.path.exists(os.path.join(path, self._in))):
            self._put(path, self._in, key_bytes)
        self._put(path, payload.filename, payload.data)
        if fresh:
            return
        for other in OUTPUTS:  # a value stored before under another format
            if other != payload.filename:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(path, other))

    def _put(self, directory: str, name: str, data: bytes) -> None:
        tmp = os.path.join(directory, f".tmp-{_unique()}")
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                if self._durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, os.path.join(directory, name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if self._durable:
            fsync_dir(directory)
            fsync_dir(self._root)

    def _remove_entry(self, path: str) -> bool:
        """Rename the entry out of sight (atomic), then delete it; False if it was gone."""
        grave = os.path.join(self._root, f"{PREFIX}.D_{_unique()}")
        try:
            os.rename(path, grave)
        except FileNotFoundError:
            return False
        shutil.rmtree(grave, ignore_errors=True)
        return True

    def _drop_entries(self, key: Hashable) -> bool:
        """Remove every per-key entry holding ``key`` (ours and klepto's); whether there was one."""
        removed = False
        for _ in range(3):
            found = self._find(key)
            if found is None or not self._remove_entry(found[0]):
                break
            removed = True
        return removed

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
                self._discard_from_log(key)

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
        if not self._per_key:
            try:
                log.delete(key, self._log_key_bytes(key))
                return
            except (KeyError, TypeError, SerializationError):
                if not self._per_key:  # else the log's header, just read, says entries exist
                    raise KeyError(key) from None
        with log.exclusive(create=False):
            found = self._discard_from_log(key)
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

    def _clear(self) -> None:
        if self._log is not None:
            self._log.clear()
        for item in list(self._entries()):
            self._remove_entry(item.path)
        temp = f".{LOG_NAME}.tmp-"
        with contextlib.suppress(FileNotFoundError), os.scandir(self._root) as scanner:
            for item in scanner:  # leftovers of crashed writes and deletes (ours)
                if item.name.startswith((PREFIX + ".D_", PREFIX + ".I_")) and item.is_dir():
                    shutil.rmtree(item.path, ignore_errors=True)
                elif item.name.startswith(temp) and item.is_file():
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

    # -- klepto's helpers ---------------------------------------------------------------------

    def _getdir(self, key: Hashable) -> str:
        """The entry directory for ``key``."""
        return os.path.join(self._root, entry_name(key))

    def _mkdir(self, key: Hashable) -> str:
        """Create (if missing) and return the entry directory for ``key``."""
        path = self._getdir(key)
        os.makedirs(path, mode=self._mode, exist_ok=True)
        return path

    def _rmdir(self, key: Hashable) -> None:
        """Remove ``key`` (its record, its entries) and its entry directory, even if empty."""
        with contextlib.suppress(KeyError):
            self._delete(key)
        self._remove_entry(self._getdir(key))

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


MARKER = ".klepto-core"


def _needs_klepto_checks(root: str) -> bool:
    """False for a directory klepto_core created (marked by an empty MARKER file)."""
    if os.path.exists(os.path.join(root, MARKER)):
        return False
    with os.scandir(root) as scanner:
        if any(True for _ in scanner):
            return True  # made by klepto, or by hand: it may hold klepto's entries
    with contextlib.suppress(OSError):
        os.close(os.open(os.path.join(root, MARKER), os.O_CREAT | os.O_WRONLY, 0o664))
        return False
    return True


def _holds_entries(root: str) -> bool:
    """Whether ``root`` holds a per-key entry directory (of klepto, or of klepto_core < 0.2)."""
    with os.scandir(root) as scanner:
        for item in scanner:
            name = item.name
            if name.startswith(PREFIX) and not name.startswith(PREFIX + ".") and item.is_dir():
                return True
    return False


def _within(key: Any, keys: set[Any]) -> bool:
    try:
        return key in keys
    except TypeError:  # an unhashable key (a per-key entry may hold one): not shadowed
        return False


def _key_equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:
        return False


def _same(a: Any, b: Any) -> bool:
    """Whether source read back ``a`` stands for the original ``b``."""
    if callable(b) and not isinstance(b, type):
        return callable(a)
    try:
        result = a == b
        if hasattr(result, "all"):
            result = result.all()
        return bool(result) and type(a) is type(b)
    except Exception:
        return False


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
