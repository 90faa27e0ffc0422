"""A directory archive (klepto's ``dir_archive``): one sub-directory per key, atomic writes.

Entry names are injective: a plain ``str`` key that is printable and holds no
``-``, ``/``, ``.`` or leading ``~`` is stored as ``K_<key>``; any other key as
``K_~<stable digest>`` with the key itself in ``input.pkl`` beside the value.
Each value file is written to a temp file inside the entry and moved into place
with ``os.replace``, so a reader (or a process killed mid-write) sees the old or
the new value, never a mix; a delete renames the entry out of the way first.
The value file is ``output.pkl`` (``output.json`` for JSON serializers,
``__init__.py`` source when not ``serialized``, ``output.npy`` for arrays under
``memmode``): the same names klepto used, so klepto's directories read here
(``K_<str(key) with - -> _>``, including ``fast``/``compression`` entries and
numpy side files) and klepto can read the entries written here.
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
from klepto_core.errors import CorruptEntryError, SerializationError
from klepto_core.hookspecs import hookimpl
from klepto_core.pysource import to_source
from klepto_core.serializer import Serializer, get_serializer
from klepto_core.types import PluginSpec

PREFIX = "K_"
DIGEST_MARK = "~"
#: value files, in the order a lookup tries them
OUTPUTS = ("output.pkl", "output.json", "__init__.py", "output.npy")
INPUTS = ("input.pkl", "input.json", "__args__.py")
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
    """Entries as sub-directories of ``dirname`` (default ``memo``), created at construction.

    klepto's options: ``serialized`` (False: values as Python source), ``compression``
    (zlib level), ``permissions`` (mode of new directories, default 0o775),
    ``memmode`` (arrays memory-mapped on read), ``memsize`` (kept, unused),
    ``protocol`` (pickle protocol; a str picks JSON), ``fast`` (pickle protocol 5).
    New: ``serializer`` by name or object, ``durable`` (fsync file and directory).
    """

    __kind_name__: ClassVar[str] = "dir_archive"
    persistent: ClassVar[bool] = True

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
    ) -> None:
        dirname = "memo" if dirname is None else os.fspath(dirname)
        if not serialized:
            compression, memmode, fast = 0, None, False
        elif compression or memmode:
            fast = True
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
        }
        if serializer is not None:
            state["serializer"] = getattr(serializer, "name", serializer)
        if durable:
            state["durable"] = True
        chosen: Serializer | None = None
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

    # -- encoding -------------------------------------------------------------------------

    def _encode(self, key: Hashable, value: Any) -> Any:
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
            return self._load(payload)
        except Exception as exc:
            raise CorruptEntryError(
                self._label(), key,
                f"{payload.filename} is unreadable: {type(exc).__name__}: {exc}",
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

    # -- reading entries --------------------------------------------------------------------

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

    def _read(self, key: Hashable) -> Any:
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        return found[1]

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

    def _keys(self) -> Iterable[Hashable]:
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
        for key in legacy:  # klepto's entries, unless ours shadows them
            try:
                shadowed = key in ours
            except TypeError:
                shadowed = False
            if not shadowed:
                keys.append(key)
        return keys

    def _count(self) -> int:
        return len(list(self._keys()))

    def _has(self, key: Hashable) -> bool:
        return self._find(key) is not None

    # -- writing entries --------------------------------------------------------------------

    def _write(self, key: Hashable, payload: Any) -> None:
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
            _fsync_dir(directory)
            _fsync_dir(self._root)

    def _remove_entry(self, path: str) -> bool:
        """Rename the entry out of sight (atomic), then delete it; False if it was gone."""
        grave = os.path.join(self._root, f"{PREFIX}.D_{_unique()}")
        try:
            os.rename(path, grave)
        except FileNotFoundError:
            return False
        shutil.rmtree(grave, ignore_errors=True)
        return True

    def _delete(self, key: Hashable) -> None:
        found = self._find(key)
        if found is None or not self._remove_entry(found[0]):
            raise KeyError(key)

    def _clear(self) -> None:
        for item in list(self._entries()):
            self._remove_entry(item.path)
        with contextlib.suppress(FileNotFoundError), os.scandir(self._root) as scanner:
            for item in scanner:  # leftovers of crashed writes and deletes (ours)
                if item.name.startswith((PREFIX + ".D_", PREFIX + ".I_")) and item.is_dir():
                    shutil.rmtree(item.path, ignore_errors=True)

    def _drop(self, **kwds: Any) -> None:
        shutil.rmtree(self._root, ignore_errors=True)

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
            shutil.copytree(self._root, name, dirs_exist_ok=True)
            args = (name,)
        return type(self)(*args, **kwds)

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
        """Remove the entry directory for ``key`` (if any)."""
        found = self._find(key)
        self._remove_entry(found[0] if found else self._getdir(key))

    def verify(self) -> list[CorruptEntryError]:
        """Corrupt entries, including those whose stored key cannot be read (key = entry name)."""
        self._unreadable.clear()
        errors = super().verify()
        errors.extend(
            CorruptEntryError(self._label(), name, why) for name, why in self._unreadable.items()
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


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


dir_archive = archive_factory(DirArchive)


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the ``dir`` archive."""
    return PluginSpec(
        name="dir",
        factory=dir_archive,
        description="one sub-directory per key; atomic writes (reads klepto's layout too)",
        url_schemes=("dir",),
    )
