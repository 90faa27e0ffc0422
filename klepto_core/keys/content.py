"""Keys by content: a 128-bit digest of what an argument holds, for arguments no key can hold.

A numpy array, a pandas object, a list or dict, a dataclass or any picklable
object becomes a :class:`ContentKey`: a small hashable value, equal only to the
key of equal content, the same in every process (no salted ``hash()``, no
address), so it finds results stored by another interpreter.

What the digest covers (xxhash's XXH3-128 over a tagged, length-prefixed stream):

- a numpy array: its type, dtype (``dtype.str``; a structured dtype field by
  field, names included), shape and values in C (row-major) order. The memory
  order is *not* part of the key: a C-ordered array, its Fortran-ordered copy
  and a strided view with equal values share a key, as they compare equal and
  every numpy operation gives them equal results. Contiguous buffers are hashed
  in place (no copy); others are hashed in C order a few MB at a time.
  Object arrays are hashed element by element (through pickle).
- a pandas Series/DataFrame/Index: type, names, index, columns, dtypes and values
  (categoricals by categories and codes, other extension arrays by value and mask).
- lists, tuples, dicts, sets (dicts and sets in sorted order of their items'
  digests, so insertion order does not matter), dataclass instances by fields.
- builtin scalars by :mod:`klepto_core.keys.stable`'s canonical bytes (``1``, ``1.0``
  and ``True`` differ).
- anything else by its pickle (protocol 5 without memo, so equal values built
  separately pickle alike; large buffers hashed out of band, not copied),
  falling back to dill for what pickle refuses.

numpy, pandas and xxhash are never imported by this module's import: an array
can only exist once numpy is imported, so the checks read ``sys.modules``, and
xxhash is imported at the first digest.
"""

from __future__ import annotations

import pickle
import struct
import sys
import types
from collections.abc import Callable
from typing import Any

from klepto_core.errors import SerializationError
from klepto_core.keys.stable import _write, register_bulk_encoder

__all__ = [
    "ContentKey",
    "bulk_key",
    "content_digest",
    "content_key",
    "exact_key",
    "hashable_key",
    "is_bulk",
    "memo_key",
]

#: the first bytes hashed: bumped if the stream ever changes, so old and new keys never meet
_FORMAT = b"kc-content-1\x00"
#: arrays that are not contiguous are hashed in C order in blocks of about this many bytes
_BLOCK = 1 << 22

_u64 = struct.Struct(">Q").pack


class ContentKey:
    """The key of one argument by content: equal when the digests are, pickled as two strings.

    ``kind`` names the argument's type (for display only: the type is in the digest).
    """

    __slots__ = ("_hash", "digest", "kind")

    def __init__(self, kind: str, digest: str) -> None:
        self.kind = kind
        self.digest = digest
        self._hash = int(digest[:16], 16)

    def __eq__(self, other: object) -> bool:
        return type(other) is ContentKey and other.digest == self.digest

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"ContentKey({self.kind!r}, {self.digest!r})"

    def __reduce__(self) -> tuple[type[ContentKey], tuple[str, str]]:
        return (ContentKey, (self.kind, self.digest))

    def __copy__(self) -> ContentKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ContentKey:
        return self


# -- the digest -------------------------------------------------------------------------------

_new_hasher: Callable[[], Any] | None = None


def _hasher() -> Any:
    global _new_hasher
    if _new_hasher is None:
        import xxhash  # the first content digest pays this import, never ``import klepto_core``

        _new_hasher = xxhash.xxh3_128
    return _new_hasher()


def content_digest(obj: Any) -> str:
    """The hex XXH3-128 digest of ``obj``'s content; SerializationError if it has no content
    encoding (pickle and dill both refuse it)."""
    h = _hasher()
    h.update(_FORMAT)
    try:
        _feed(obj, h)
    except RecursionError:
        raise SerializationError(
            f"cannot key a {type(obj).__name__} by content: it nests too deeply or contains itself"
        ) from None
    return h.hexdigest()  # type: ignore[no-any-return]


def content_key(obj: Any) -> ContentKey:
    """``obj``'s :class:`ContentKey`."""
    return ContentKey(type(obj).__name__, content_digest(obj))


def _qualname(cls: type) -> bytes:
    return f"{cls.__module__}.{cls.__qualname__}".encode("utf-8", "surrogatepass")


def _text(h: Any, tag: bytes, data: bytes) -> None:
    h.update(tag + _u64(len(data)) + data)


def _feed(obj: Any, h: Any) -> None:
    """Write ``obj``'s tagged encoding into the hasher ``h``."""
    cls = type(obj)
    writer = _WRITERS.get(cls)
    if writer is not None:
        writer(obj, h)
        return
    if cls is ContentKey:
        _text(h, b"K", obj.digest.encode("ascii"))
        return
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, np.ndarray):
        _feed_array(obj, h, np)
        return
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(obj, pd.Series | pd.DataFrame | pd.Index):
        _feed_frame(obj, h, pd, np)
        return
    if isinstance(obj, type):
        _text(h, b"y", _qualname(obj))
        return
    if isinstance(obj, tuple) and hasattr(cls, "_fields"):  # a namedtuple: its type and items
        _text(h, b"n", _qualname(cls))
        _feed_sequence(obj, h, b"t")
        return
    dataclasses = sys.modules.get("dataclasses")  # no dataclass exists before it is imported
    if dataclasses is not None and dataclasses.is_dataclass(obj):
        _text(h, b"D", _qualname(cls))
        fields = dataclasses.fields(obj)
        h.update(_u64(len(fields)))
        for field in fields:
            _feed_scalar(field.name, h)
            _feed(getattr(obj, field.name), h)
        return
    _feed_pickled(obj, h)


def _feed_scalar(obj: Any, h: Any) -> None:
    out = bytearray(b"s")
    _write(obj, out)
    h.update(_u64(len(out)) + out)


def _feed_sequence(obj: Any, h: Any, tag: bytes) -> None:
    h.update(tag + _u64(len(obj)))
    for item in obj:
        _feed(item, h)


def _sub_digest(obj: Any) -> bytes:
    h = _hasher()
    _feed(obj, h)
    return h.digest()  # type: ignore[no-any-return]


def _feed_dict(obj: dict[Any, Any], h: Any) -> None:
    h.update(b"d" + _u64(len(obj)))
    for pair in sorted(_sub_digest(k) + _sub_digest(v) for k, v in obj.items()):
        h.update(pair)


def _set_feeder(tag: bytes) -> Callable[[Any, Any], None]:
    def feed(obj: Any, h: Any) -> None:
        h.update(tag + _u64(len(obj)))
        for item in sorted(_sub_digest(x) for x in obj):
            h.update(item)

    return feed


_WRITERS: dict[type, Callable[[Any, Any], None]] = {
    type(None): _feed_scalar,
    bool: _feed_scalar,
    int: _feed_scalar,
    float: _feed_scalar,
    complex: _feed_scalar,
    str: _feed_scalar,
    bytes: _feed_scalar,
    tuple: lambda obj, h: _feed_sequence(obj, h, b"t"),
    list: lambda obj, h: _feed_sequence(obj, h, b"l"),
    dict: _feed_dict,
    set: _set_feeder(b"S"),
    frozenset: _set_feeder(b"Z"),
}


# -- numpy arrays -------------------------------------------------------------------------------


def _feed_array(a: Any, h: Any, np: Any) -> None:
    cls = type(a)
    if cls is not np.ndarray and not isinstance(a, np.memmap):
        if isinstance(a, np.ma.MaskedArray):
            _text(h, b"M", _qualname(cls))
            _feed_array(np.ma.getdata(a), h, np)
            _feed_array(np.ma.getmaskarray(a), h, np)
            _feed(a.fill_value, h)
            return
        # another subclass: its type, its values, and whatever state it adds
        _text(h, b"U", _qualname(cls))
        _feed_array(a.view(np.ndarray), h, np)
        _feed(dict(getattr(a, "__dict__", {})), h)
        return
    dtype = a.dtype
    h.update(b"A" + _u64(a.ndim) + b"".join(_u64(n) for n in a.shape))
    if dtype.names is not None:  # structured: field by field (padding bytes never count)
        _text(h, b"r", repr(dtype.names).encode("utf-8", "surrogatepass"))
        for name in dtype.names:
            _feed_array(a[name], h, np)
        return
    _text(h, b"t", dtype.str.encode("ascii") + repr(dtype.metadata or None).encode())
    if dtype.hasobject:
        _feed_pickled(list(a.reshape(-1)), h, tag=b"o")
        return
    if dtype.subdtype is not None:  # cannot happen for an array's own dtype; kept exact anyway
        _text(h, b"b", repr(dtype.descr).encode())
    h.update(_u64(a.size * dtype.itemsize))
    if a.flags.c_contiguous:
        h.update(a.reshape(-1).view(np.uint8))
        return
    if a.ndim == 0:
        h.update(np.ascontiguousarray(a).reshape(-1).view(np.uint8))
        return
    row = max(1, a[:1].size * dtype.itemsize)
    step = max(1, _BLOCK // row)
    for start in range(0, a.shape[0], step):
        block = np.ascontiguousarray(a[start : start + step])
        h.update(block.reshape(-1).view(np.uint8))


# -- anything else: its pickle ------------------------------------------------------------------


class _HashWriter:
    """A file whose writes go into a hasher (the pickle stream is never held whole)."""

    __slots__ = ("h",)

    def __init__(self, h: Any) -> None:
        self.h = h

    def write(self, data: Any) -> int:
        self.h.update(data)
        return len(data)


def _feed_pickled(obj: Any, h: Any, tag: bytes = b"p") -> None:
    """Hash ``obj``'s pickle (and, separately, its out-of-band buffers) into ``h``."""
    stream, buffers = _hasher(), _hasher()
    count = 0

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        nonlocal count
        raw = buffer.raw()
        buffers.update(_u64(raw.nbytes))
        buffers.update(raw)
        count += 1
        return False

    errors: list[str] = []
    for make, fast in _picklers():
        stream.reset()
        buffers.reset()
        count = 0
        try:
            pickler = make(_HashWriter(stream), out_of_band)
            pickler.fast = fast  # no memo: equal values built separately pickle alike
            pickler.dump(obj)
            break
        except Exception as exc:  # a cycle (fast mode), or nothing pickle can do: try the next
            errors.append(f"{type(exc).__name__}: {exc}")
    else:
        raise SerializationError(
            f"cannot key a {type(obj).__name__} by content: it has no content encoding "
            f"({'; '.join(errors)})"
        )
    h.update(tag + _qualname(type(obj)) + b"\x00" + _u64(count))
    h.update(stream.digest() + buffers.digest())


def _picklers() -> list[tuple[Callable[[Any, Any], Any], bool]]:
    """(make a pickler, fast mode) in the order tried: pickle without memo, pickle (for
    cycles), dill (for lambdas, local classes and what else pickle refuses)."""

    def c_pickler(file: Any, callback: Any) -> Any:
        return pickle.Pickler(file, protocol=5, buffer_callback=callback)

    def dill_pickler(file: Any, callback: Any) -> Any:
        import dill  # type: ignore[import-untyped]

        return dill.Pickler(file, protocol=5, buffer_callback=callback, byref=False)

    return [(c_pickler, True), (c_pickler, False), (dill_pickler, False)]


# -- replacing arguments in a formatted key ----------------------------------------------------


def hashable_key(key: Any) -> Any:
    """``key`` with each unhashable part (walking into tuples) replaced by its ContentKey."""
    if type(key) is tuple:
        items = [hashable_key(item) for item in key]
        if any(new is not old for new, old in zip(items, key)):
            return tuple(items)
        return key
    try:
        hash(key)
    except TypeError:
        return content_key(key)
    return key


class _DescribedError(SerializationError):
    """A content-keying error that already names the argument."""


def memo_key(key: Any) -> Any:
    """:func:`hashable_key` for a cache: an argument with no content encoding is a
    SerializationError naming it (its parameter, when the flat key has it, and its type)."""
    if type(key) is not tuple:
        return hashable_key(key)
    items = list(key)
    for i, item in enumerate(key):
        try:
            items[i] = memo_key(item)
        except _DescribedError:
            raise
        except SerializationError as exc:
            named = f"argument {key[i - 1]!r}" if i and type(key[i - 1]) is str else "an argument"
            raise _DescribedError(f"{named} ({describe(item)}) cannot be keyed: {exc}") from exc
    return tuple(items)


def is_bulk(obj: Any) -> bool:
    """Whether ``obj`` is a numpy array or a pandas object (keyed by digest, never by its bytes)."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, np.ndarray):
        return True
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.Series | pd.DataFrame | pd.Index)


def bulk_key(key: Any) -> Any:
    """``key`` with each array and pandas object (in tuples, lists, dicts) replaced by its
    ContentKey: what a pickle-encoded key holds instead of megabytes of data."""
    if "numpy" not in sys.modules and "pandas" not in sys.modules:
        return key
    return _replace(key, lambda obj: is_bulk(obj))


def exact_key(key: Any) -> Any:
    """``key`` with each part whose ``repr`` does not tell it apart replaced by its ContentKey.

    Builtin scalars, classes, builtins such as ``min``, klepto's markers and a few
    stdlib values print exactly, and so do tuples, lists, dicts and sets of them:
    a key made only of those is returned as it is (its text is what it always was).
    Anything else (numpy and pandas abbreviate, default reprs show an address, a
    custom repr may say less than the value holds) is keyed by content.
    """
    return key if _plain(key) else _replace(key, _inexact)


def _plain(obj: Any) -> bool:
    """Whether ``obj`` is builtin scalars in builtin containers (the usual key: checked fast)."""
    cls = type(obj)
    if cls in _EXACT_TYPES:
        return True
    if cls is tuple or cls is list or cls is set or cls is frozenset:
        for item in obj:  # a loop, not all(): no generator on every key  # noqa: SIM110
            if type(item) not in _EXACT_TYPES and not _plain(item):
                return False
        return True
    if cls is dict:
        for name, item in obj.items():
            if type(name) not in _EXACT_TYPES and not _plain(name):
                return False
            if type(item) not in _EXACT_TYPES and not _plain(item):
                return False
        return True
    return False


def _replace(key: Any, replace: Callable[[Any], bool]) -> Any:
    cls = type(key)
    if cls is tuple or cls is list:
        items = [_replace(item, replace) for item in key]
        if any(new is not old for new, old in zip(items, key)):
            return cls(items)
        return key
    if cls is dict:
        pairs = [(_replace(k, replace), _replace(v, replace)) for k, v in key.items()]
        if any(nk is not k or nv is not v for (nk, nv), (k, v) in zip(pairs, key.items())):
            return dict(pairs)
        return key
    if cls is set or cls is frozenset:
        members = [(_replace(item, replace), item) for item in key]
        if any(new is not old for new, old in members):
            return cls(new for new, _old in members)
        return key
    if replace(key):
        return content_key(key)
    return key


_EXACT_TYPES = frozenset(
    {type(None), bool, int, float, complex, str, bytes, type(Ellipsis), type(NotImplemented), range}
)
#: stdlib types whose repr names every part of their value (checked by name: never imported)
_EXACT_NAMES = frozenset(
    {
        "decimal.Decimal",
        "fractions.Fraction",
        "datetime.date",
        "datetime.timedelta",
        "datetime.timezone",
        "uuid.UUID",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
    }
)
#: klepto_core's markers (NULL, SENTINEL, NOSENTINEL) print their unique names
_MARKERS = frozenset({"klepto_core._inspect._Null", "klepto_core.keymap._Sentinel"})


def _inexact(obj: Any) -> bool:
    """Whether ``repr(obj)`` may be shared by a different value."""
    cls = type(obj)
    if cls in _EXACT_TYPES or cls is ContentKey or isinstance(obj, type):
        return False
    name = f"{cls.__module__}.{cls.__qualname__}"
    if name in _EXACT_NAMES or name in _MARKERS:
        return False
    if name in ("datetime.datetime", "datetime.time"):
        tz = obj.tzinfo
        return tz is not None and type(tz).__name__ != "timezone"
    if cls is types.BuiltinFunctionType:  # ``<built-in function min>``: unique in builtins only
        return getattr(obj, "__module__", None) != "builtins"
    return True


def describe(obj: Any) -> str:
    """A short description of an argument for error messages (its type, its size)."""
    size = getattr(obj, "shape", None)
    text = type(obj).__name__
    return f"{text} of shape {size}" if isinstance(size, tuple) else text


# pandas objects: a Series is its name, index, dtype and values; a DataFrame its columns,
# index and each column's dtype and values; an Index its type, names, dtype and values


def _feed_frame(obj: Any, h: Any, pd: Any, np: Any) -> None:
    """Write a Series, DataFrame or Index into the hasher ``h``."""
    _text(h, b"P", _qualname(type(obj)))
    if isinstance(obj, pd.DataFrame):
        _feed_frame(obj.columns, h, pd, np)
        _feed_frame(obj.index, h, pd, np)
        h.update(_u64(obj.shape[1]))
        for i in range(obj.shape[1]):
            _feed_frame_values(obj.iloc[:, i].array, h, pd, np)
        return
    if isinstance(obj, pd.Series):
        _feed(obj.name, h)
        _feed_frame(obj.index, h, pd, np)
        _feed_frame_values(obj.array, h, pd, np)
        return
    _feed(list(obj.names), h)
    if isinstance(obj, pd.MultiIndex):
        h.update(_u64(obj.nlevels))
        for level in range(obj.nlevels):
            _feed_frame(obj.get_level_values(level), h, pd, np)
        return
    if isinstance(obj, pd.RangeIndex):
        _feed((obj.start, obj.stop, obj.step), h)
        return
    _feed_frame_values(obj.array, h, pd, np)


def _feed_frame_values(values: Any, h: Any, pd: Any, np: Any) -> None:
    dtype = values.dtype
    _text(h, b"v", repr(dtype).encode("utf-8", "surrogatepass"))
    if isinstance(dtype, np.dtype):
        _feed_array(values.to_numpy(), h, np)
        return
    if isinstance(values, pd.Categorical):
        _feed_frame(values.categories, h, pd, np)
        _feed(bool(values.ordered), h)
        _feed_array(values.codes, h, np)
        return
    _feed_array(np.asarray(values.isna()), h, np)
    _feed_array(np.asarray(values, dtype=object), h, np)


register_bulk_encoder(is_bulk, content_digest)
