"""klepto's per-key directory layout of the dir archive: entry names, value files, entries.

One sub-directory per key (``K_<key>``), klepto's own layout. Entry names are
injective: a plain ``str`` key that is printable and holds no ``-``, ``/``,
``.`` or leading ``~`` is stored as ``K_<key>``; any other key as
``K_~<stable digest>`` with the key itself in ``input.pkl`` beside the value.
Each value file is written to a temp file inside the entry and moved into place
with ``os.replace``, so a reader (or a process killed mid-write) sees the old or
the new value, never a mix; a delete renames the entry out of the way first. The
value file is ``output.pkl`` (``output.json`` for JSON serializers,
``__init__.py`` source when not ``serialized``, ``output.npy`` for arrays under
``memmode``): the names klepto used, so klepto reads these entries where it
finds them by name. klepto's own directories (``K_<str(key) with - -> _>``,
``fast``/``compression`` entries, numpy side files) are read too.

:class:`PerKeyEntries` is a base class of the archive, not an object it holds:
entries are read and written through hooks (``_load``, ``_key_bytes``,
``_stored_key``, ``_has_output``, ``_foreign``) that subclasses such as hdfdir
override on the archive itself.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from collections.abc import Hashable, Iterator
from typing import Any

from klepto_archive_dir import _formats
from klepto_core.errors import SerializationError
from klepto_core.plugin import Archive, get_serializer
from klepto_core.storage.pysource import to_source
from klepto_core.storage.recordlog import fsync_dir, unique_suffix

PREFIX = "K_"
DIGEST_MARK = "~"
#: value files, in the order a lookup tries them
OUTPUTS = ("output.pkl", "output.json", "__init__.py", "output.npy")
INPUTS = ("input.pkl", "input.json", "__args__.py")
_JSON_FAMILY = ("json", "jsonpickle")
_UNSAFE_SEARCH = re.compile(r"[-/.\\\x00]").search
_MAX_NAME = 200


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
        from klepto_core.keys.stable import stable_digest
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


class PerKeyEntries(Archive):
    """An archive's entries as sub-directories of its directory, in klepto's layout.

    The subclass's ``__init__`` sets the attributes declared here.
    """

    _root: str  # the directory (absolute)
    _mode: int  # the mode of new directories
    _compat: bool  # whether klepto's entries (whose names alias other keys) may be here
    _durable: bool  # fsync each write
    _compression: int  # zlib level of serialized values (0: none)
    _memmode: str | None  # arrays are .npy files, memory-mapped on read in this mode
    _out: str  # the value file written
    _in: str  # the key file written beside it (for keys stored under a digest)
    _unreadable: dict[str, str]  # entry name -> why its key is unreadable (for verify)

    # -- value files ----------------------------------------------------------------------

    def _entry_payload(self, key: Hashable, value: Any) -> _Payload:
        """``value`` as an entry's value file: ``.npy`` under memmode, source, or serialized."""
        if self._memmode is not None and type(value).__name__ == "ndarray":
            import numpy

            buffer = io.BytesIO()
            numpy.save(buffer, value, allow_pickle=False)
            return _Payload("output.npy", buffer.getvalue())
        if self._serializer is None:
            return _Payload(self._out, self._source(key, value))
        data = Archive._encode(self, key, value)  # the serializer's bytes
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

    # -- entry directories ----------------------------------------------------------------------

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
        tmp = os.path.join(directory, f".tmp-{unique_suffix()}")
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
        grave = os.path.join(self._root, f"{PREFIX}.D_{unique_suffix()}")
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

    def _clear_entries(self) -> None:
        """Remove every entry, and what crashed writes and deletes of entries left behind."""
        for item in list(self._entries()):
            self._remove_entry(item.path)
        with contextlib.suppress(FileNotFoundError), os.scandir(self._root) as scanner:
            for item in scanner:
                if item.name.startswith((PREFIX + ".D_", PREFIX + ".I_")) and item.is_dir():
                    shutil.rmtree(item.path, ignore_errors=True)

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


MARKER = ".klepto-core"


def _needs_klepto_checks(root: str, create: bool = True) -> bool:
    """False for a directory klepto_core created (marked by an empty MARKER file); an empty
    directory is marked now, unless ``create`` is False (opened read-only)."""
    if os.path.exists(os.path.join(root, MARKER)):
        return False
    with os.scandir(root) as scanner:
        if any(True for _ in scanner):
            return True  # made by klepto, or by hand: it may hold klepto's entries
    if not create:
        return False
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
