"""A canonical byte encoding of keys, identical in every interpreter, process and hash seed.

Builtin ``hash()`` is salted per process and ``repr`` elides or embeds addresses,
so neither can name a key that outlives the process. :func:`stable_bytes`
encodes a key by value instead: builtin scalars and containers get a type tag
and a length-prefixed payload (sets and dicts sorted by the bytes of their
items, so iteration order never matters), ``NULL``/``SENTINEL`` are encoded by
name, classes by module and qualified name, numpy arrays and pandas objects by
their content digest (:mod:`klepto_core.keys.content`), and anything else by
its pickle (protocol 4). :func:`stable_digest` hashes that encoding with BLAKE2b; archives
use it to name persisted keys and ``hashmap(algorithm="stable")`` uses it as the key.

Equal builtin values of different types stay distinct (``1``, ``1.0`` and
``True`` encode differently). Pickled objects are only as stable as their
pickle: an object holding a set of strings pickles in hash-seed order.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import struct
from collections.abc import Callable
from typing import Any

from klepto_core.base.keymap import NOSENTINEL
from klepto_core.errors import SerializationError
from klepto_core.keys.null import NULL

__all__ = ["FORMAT_VERSION", "stable_bytes", "stable_digest"]

#: the first byte of every encoding; bumped if the encoding ever changes, so old
#: and new digests can never be confused
FORMAT_VERSION = 1

_length = struct.Struct(">Q").pack
_double = struct.Struct(">d").pack
_NAN = struct.pack(">d", math.nan)

_Writer = Callable[[Any, bytearray], None]


def stable_bytes(obj: Any) -> bytes:
    """The canonical encoding of ``obj``: a format byte, then type-tagged, length-prefixed data."""
    out = bytearray((FORMAT_VERSION,))
    try:
        _write(obj, out)
    except RecursionError:
        kind = type(obj).__name__
        raise SerializationError(
            f"cannot encode a {kind} key stably: it nests too deeply or contains itself"
        ) from None
    return bytes(out)


def stable_digest(obj: Any, size: int = 16) -> str:
    """The hex BLAKE2b digest (``size`` bytes, 1 to 64) of :func:`stable_bytes` of ``obj``."""
    return hashlib.blake2b(stable_bytes(obj), digest_size=size).hexdigest()


def _write(obj: Any, out: bytearray) -> None:
    writer = _WRITERS.get(type(obj))
    if writer is None:
        _write_other(obj, out)
    else:
        writer(obj, out)


def _item_bytes(obj: Any) -> bytes:
    out = bytearray()
    _write(obj, out)
    return bytes(out)


def _write_none(obj: None, out: bytearray) -> None:
    out += b"N"


def _write_bool(obj: bool, out: bytearray) -> None:
    out += b"T" if obj else b"F"


def _write_int(obj: int, out: bytearray) -> None:
    data = obj.to_bytes((obj.bit_length() + 8) // 8, "big", signed=True)
    out += b"i" + _length(len(data)) + data


def _float_bytes(value: float) -> bytes:
    return _NAN if value != value else _double(value)  # every NaN encodes alike


def _write_float(obj: float, out: bytearray) -> None:
    out += b"f" + _float_bytes(obj)


def _write_complex(obj: complex, out: bytearray) -> None:
    out += b"c" + _float_bytes(obj.real) + _float_bytes(obj.imag)


def _write_str(obj: str, out: bytearray) -> None:
    data = obj.encode("utf-8", "surrogatepass")
    out += b"s" + _length(len(data)) + data


def _write_bytes(obj: bytes, out: bytearray) -> None:
    out += b"b" + _length(len(obj)) + obj


def _sequence_writer(tag: bytes) -> _Writer:
    def write(obj: Any, out: bytearray) -> None:
        out += tag + _length(len(obj))
        for item in obj:
            _write(item, out)

    return write


def _set_writer(tag: bytes) -> _Writer:
    def write(obj: Any, out: bytearray) -> None:
        out += tag + _length(len(obj))
        for data in sorted(_item_bytes(item) for item in obj):
            out += data

    return write


def _write_dict(obj: dict[Any, Any], out: bytearray) -> None:
    out += b"d" + _length(len(obj))
    # encodings are prefix-free, so sorting key+value bytes sorts by key first
    for data in sorted(_item_bytes(k) + _item_bytes(v) for k, v in obj.items()):
        out += data


def _write_name(tag: bytes, name: str, out: bytearray) -> None:
    data = name.encode("utf-8", "surrogatepass")
    out += tag + _length(len(data)) + data


def _write_singleton(obj: Any, out: bytearray) -> None:
    # NULL and the sentinels reduce to their global name, which is what identifies them
    _write_name(b"!", obj.__reduce__(), out)


#: (is it one, its digest) for values encoded by content digest; keys.content registers itself
_BULK_ENCODERS: list[tuple[Callable[[Any], bool], Callable[[Any], str]]] = []


def register_bulk_encoder(is_bulk: Callable[[Any], bool], digest: Callable[[Any], str]) -> None:
    """Encode the values ``is_bulk`` accepts by ``digest(value)`` instead of their pickle."""
    _BULK_ENCODERS.append((is_bulk, digest))


def _write_other(obj: Any, out: bytearray) -> None:
    if isinstance(obj, type):
        _write_name(b"y", obj.__module__, out)
        _write_name(b"", obj.__qualname__, out)
        return
    for is_bulk, digest in _BULK_ENCODERS:
        if is_bulk(obj):  # arrays and frames by a digest of their values: no pickle copy
            _write_name(b"C", digest(obj), out)
            return
    try:
        data = pickle.dumps(obj, protocol=4)
    except Exception as exc:
        raise SerializationError(
            f"cannot encode a {type(obj).__name__} key stably: it is not a builtin value and "
            f"pickle refused it ({type(exc).__name__}: {exc})"
        ) from exc
    out += b"p" + _length(len(data)) + data


_WRITERS: dict[type, _Writer] = {
    type(None): _write_none,
    bool: _write_bool,
    int: _write_int,
    float: _write_float,
    complex: _write_complex,
    str: _write_str,
    bytes: _write_bytes,
    tuple: _sequence_writer(b"t"),
    list: _sequence_writer(b"l"),
    dict: _write_dict,
    set: _set_writer(b"S"),
    frozenset: _set_writer(b"Z"),
    type(NOSENTINEL): _write_singleton,
    type(NULL): _write_singleton,
}
