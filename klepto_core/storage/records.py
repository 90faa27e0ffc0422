"""The record log's file format: header and record encoding, scanning, damage attribution.

File layout::

    header  MAGIC (8 bytes) | u32 n | n bytes of UTF-8 JSON metadata ({"serializer": ...})
    record  b"KCR1" | u32 body length | u32 crc32(body) | body
    body    u8 op (1 set, 2 delete) | u32 key length | key bytes | value bytes

Integers are big-endian. A set record supersedes earlier records of the same
key; a delete record removes it; records of other ops are skipped. A record
cut short at the end of the file (a process killed mid-append) is a torn tail:
:func:`scan` stops before it. A damaged record is reported as corrupt for its
key when the key still decodes, and the scanner resynchronises on the next
record marker whose checksum holds. :func:`checked` verifies a record's
checksum again when its value is read, so bytes damaged after the file was
scanned raise :class:`~klepto_core.errors.CorruptEntryError`, never a
different value. :mod:`klepto_core.storage.recordlog` keeps such a file.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from klepto_core.errors import CorruptEntryError

MAGIC = b"\x89KCLOG\r\n"
RECORD = b"KCR1"
SET, DELETE = 1, 2

_U32 = struct.Struct(">I")
FRAME = struct.Struct(">4sII")  # marker, body length, crc
_BODY = struct.Struct(">BI")  # op, key length
REC_HEAD = FRAME.size + _BODY.size
_HEAD = struct.Struct(">4sIIBI")  # FRAME then _BODY: a record's whole head in one unpack


class Entry(NamedTuple):
    """Where a key's current value lives: the record and the value inside it."""

    offset: int
    length: int
    value_offset: int
    value_length: int


#: Entry((offset, length, value_offset, value_length)) without NamedTuple's Python-level __new__
_entry = partial(tuple.__new__, Entry)


class Damaged(NamedTuple):
    """A key whose latest record fails its checksum."""

    offset: int
    length: int
    reason: str


# -- encoding ----------------------------------------------------------------------------------


def header(meta: dict[str, Any]) -> bytes:
    """The file header carrying ``meta`` (serializer name, format version)."""
    text = json.dumps(meta, sort_keys=True).encode("utf-8")
    return MAGIC + _U32.pack(len(text)) + text


def read_header(data: bytes) -> tuple[dict[str, Any], int] | None:
    """(metadata, header size), or None if ``data`` holds no complete, readable header."""
    if len(data) < len(MAGIC) + 4:
        return None
    (n,) = _U32.unpack_from(data, len(MAGIC))
    end = len(MAGIC) + 4 + n
    if len(data) < end:
        return None
    try:
        meta = json.loads(data[len(MAGIC) + 4 : end].decode("utf-8"))
    except ValueError:  # damaged: not UTF-8, or not JSON
        return None
    return (meta, end) if isinstance(meta, dict) else None


def record(op: int, key: bytes, value: bytes = b"") -> bytes:
    """One encoded record."""
    body = _BODY.pack(op, len(key)) + key + value
    return FRAME.pack(RECORD, len(body), zlib.crc32(body)) + body


def _valid_at(data: bytes, pos: int) -> int:
    """The length of a complete, checksummed record at ``pos``, or 0."""
    if len(data) - pos < REC_HEAD:
        return 0
    marker, size, crc = FRAME.unpack_from(data, pos)
    end = pos + FRAME.size + size
    if marker != RECORD or size < _BODY.size or end > len(data):
        return 0
    if zlib.crc32(data[pos + FRAME.size : end]) != crc:
        return 0
    return int(end - pos)


def _complete_at(data: bytes, pos: int) -> int:
    """The length of the record whose header is at ``pos`` if it fits in ``data``, else 0."""
    if len(data) - pos < REC_HEAD:
        return 0
    marker, size, _crc = FRAME.unpack_from(data, pos)
    if marker != RECORD or size < _BODY.size or pos + FRAME.size + size > len(data):
        return 0
    return int(FRAME.size + size)


@dataclass
class ScanResult:
    """What a scan found: how far it got, whether a torn tail follows, unattributed damage."""

    end: int
    torn: bool
    unreadable: list[str]


Apply = Callable[[Hashable, "Entry | Damaged | None"], None]
Found = list[tuple[Hashable, "Entry | Damaged | None"]]


def scan(
    data: bytes, base: int, apply: Apply, decode_key: Callable[[bytes], Hashable]
) -> ScanResult:
    """Feed each record in ``data`` (which starts at file offset ``base``) to ``apply``.

    ``apply(key, entry)`` gets an Entry for a set, None for a delete, Damaged for
    a damaged record. The result says where the last complete record ends (a
    torn tail is not consumed).
    """
    found, result = scan_records(data, base, decode_key)
    for key, entry in found:
        apply(key, entry)
    return result


def scan_records(
    data: bytes,
    base: int,
    decode_key: Callable[[bytes], Hashable],
    decode_keys: Callable[[Sequence[bytes]], Sequence[Hashable]] | None = None,
) -> tuple[Found, ScanResult]:
    """Every record in ``data`` (at file offset ``base``) in file order, as :func:`scan` feeds them.

    Runs of good records are walked in one tight loop and their keys decoded
    together by ``decode_keys`` (a bulk ``decode_key``, when the caller has one);
    a key that fails is decoded alone to say which record it was.
    """
    found: Found = []
    unreadable: list[str] = []
    size = len(data)
    pos = 0
    while pos < size:
        pos = _good_run(data, pos, base, found, decode_key, decode_keys, unreadable)
        if pos >= size:
            break
        # damaged or torn: find the next good record
        nxt = data.find(RECORD, pos + 1)
        while nxt != -1 and not _valid_at(data, nxt):
            nxt = data.find(RECORD, nxt + 1)
        if nxt == -1:
            # the last record: cut short (a crash mid-append) is a torn tail; whole but
            # failing its checksum is damage, reported like damage anywhere else
            nxt = pos + _complete_at(data, pos)
            if nxt == pos or nxt != size:
                return found, ScanResult(base + pos, True, unreadable)
        _attribute_damage(data, pos, nxt, base, found.append, decode_key, unreadable)
        pos = nxt
    return found, ScanResult(base + pos, False, unreadable)


def _good_run(
    data: bytes,
    pos: int,
    base: int,
    found: Found,
    decode_key: Callable[[bytes], Hashable],
    decode_keys: Callable[[Sequence[bytes]], Sequence[Hashable]] | None,
    unreadable: list[str],
) -> int:
    """Add the good records from ``pos`` on to ``found``; return where the first bad one starts."""
    unpack, crc32, size, entry = _HEAD.unpack_from, zlib.crc32, len(data), _entry
    frame, head, body_head = FRAME.size, REC_HEAD, _BODY.size
    keys: list[bytes] = []
    entries: list[Entry | int] = []  # an int: the offset of a delete record
    add_key, add_entry = keys.append, entries.append
    last = size - head
    while pos <= last:
        marker, body, crc, op, klen = unpack(data, pos)
        end = pos + frame + body
        if marker != RECORD or body < body_head or end > size:
            break
        if crc32(data[pos + frame : end]) != crc:
            break
        vstart = pos + head + klen
        if op == SET:
            add_entry(entry((base + pos, end - pos, base + vstart, end - vstart)))
        elif op == DELETE:
            add_entry(base + pos)
        else:  # an op of a later format: skipped
            pos = end
            continue
        add_key(data[pos + head : vstart])
        pos = end
    if keys:
        found.extend(_with_keys(keys, entries, decode_key, decode_keys, unreadable))
    return pos


def _with_keys(
    keys: list[bytes],
    entries: list[Entry | int],
    decode_key: Callable[[bytes], Hashable],
    decode_keys: Callable[[Sequence[bytes]], Sequence[Hashable]] | None,
    unreadable: list[str],
) -> Found:
    """(key, entry) pairs, keys decoded in bulk; records whose key fails are left out, described."""
    if decode_keys is not None:
        try:
            decoded = decode_keys(keys)
        except Exception:
            pass  # one of them is unreadable: find which, one at a time
        else:
            if int not in map(type, entries):
                return list(zip(decoded, entries))  # type: ignore[arg-type]
            return [(k, None if isinstance(e, int) else e) for k, e in zip(decoded, entries)]
    out: Found = []
    for raw, entry in zip(keys, entries):
        start = entry if type(entry) is int else entry.offset  # type: ignore[union-attr]
        try:
            key = decode_key(raw)
        except Exception as exc:
            unreadable.append(f"record at byte {start}: key unreadable: {exc}")
            continue
        out.append((key, None if type(entry) is int else entry))  # type: ignore[arg-type]
    return out


def _attribute_damage(
    data: bytes,
    pos: int,
    nxt: int,
    base: int,
    apply: Callable[[tuple[Hashable, Damaged]], None],
    decode_key: Callable[[bytes], Hashable],
    unreadable: list[str],
) -> None:
    reason = f"checksum mismatch in the record at byte {base + pos}"
    try:
        marker, _size, _crc = FRAME.unpack_from(data, pos)
        op, klen = _BODY.unpack_from(data, pos + FRAME.size)
        if marker != RECORD or op not in (SET, DELETE) or pos + REC_HEAD + klen > nxt:
            raise ValueError("damaged record header")
        key = decode_key(data[pos + REC_HEAD : pos + REC_HEAD + klen])
        hash(key)
    except Exception:
        unreadable.append(f"{reason}: the key is unreadable too")
        return
    apply((key, Damaged(base + pos, nxt - pos, reason)))


def checked(label: str, key: Hashable, data: bytes | memoryview, entry: Entry) -> bytes:
    """The value in ``data`` (the bytes of ``entry``'s record), if its checksum still holds."""
    if len(data) == entry.length:
        _marker, size, crc = FRAME.unpack_from(data, 0)
        if size == entry.length - FRAME.size and zlib.crc32(data[FRAME.size :]) == crc:
            return bytes(data[entry.value_offset - entry.offset :])
    raise CorruptEntryError(label, key, f"checksum mismatch in the record at byte {entry.offset}")
