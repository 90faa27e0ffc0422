"""The append-only record log behind file_archive: encoding and scanning.

File layout::

    header  MAGIC (8 bytes) | u32 n | n bytes of UTF-8 JSON metadata ({"serializer": ...})
    record  b"KCR1" | u32 body length | u32 crc32(body) | body
    body    u8 op (1 set, 2 delete) | u32 key length | key bytes | value bytes

Integers are big-endian. A set record supersedes earlier records of the same
key; a delete record removes it. A record cut short at the end of the file (a
crash mid-append) is ignored. A damaged record followed by good ones is
reported as corrupt for its key when the key still decodes; the scanner
resynchronises on the next record marker whose checksum holds.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

MAGIC = b"\x89KCLOG\r\n"
RECORD = b"KCR1"
SET, DELETE = 1, 2

_U32 = struct.Struct(">I")
_REC = struct.Struct(">4sII")  # marker, body length, crc
_BODY = struct.Struct(">BI")  # op, key length
REC_HEAD = _REC.size + _BODY.size


@dataclass(frozen=True)
class Entry:
    """Where a key's current value lives: the record and the value inside it."""

    offset: int
    length: int
    value_offset: int
    value_length: int


@dataclass(frozen=True)
class Damaged:
    """A key whose latest record fails its checksum."""

    offset: int
    length: int
    reason: str


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
    return _REC.pack(RECORD, len(body), zlib.crc32(body)) + body


def _valid_at(data: bytes, pos: int) -> int:
    """The length of a complete, checksummed record at ``pos``, or 0."""
    if len(data) - pos < _REC.size + _BODY.size:
        return 0
    marker, size, crc = _REC.unpack_from(data, pos)
    end = pos + _REC.size + size
    if marker != RECORD or size < _BODY.size or end > len(data):
        return 0
    if zlib.crc32(data[pos + _REC.size : end]) != crc:
        return 0
    return int(end - pos)


@dataclass
class ScanResult:
    """What a scan found: the index changes, how far it got, and unattributed damage."""

    end: int
    torn: bool
    unreadable: list[str]


Apply = Callable[[Hashable, "Entry | Damaged | None"], None]


def scan(
    data: bytes, base: int, apply: Apply, decode_key: Callable[[bytes], Hashable]
) -> ScanResult:
    """Feed each record in ``data`` (which starts at file offset ``base``) to ``apply``.

    ``apply(key, entry)`` gets an Entry for a set, None for a delete, Damaged for
    a damaged record. The result says where the last complete record ends (a
    torn tail is not consumed).
    """
    pos = 0
    unreadable: list[str] = []
    size = len(data)
    while pos < size:
        length = _valid_at(data, pos)
        if length:
            op, klen = _BODY.unpack_from(data, pos + _REC.size)
            kstart = pos + REC_HEAD
            try:
                key = decode_key(data[kstart : kstart + klen])
            except Exception as exc:
                unreadable.append(f"record at byte {base + pos}: key unreadable: {exc}")
                pos += length
                continue
            if op == SET:
                vstart = kstart + klen
                apply(key, Entry(base + pos, length, base + vstart, pos + length - vstart))
            elif op == DELETE:
                apply(key, None)
            pos += length
            continue
        # damaged or torn: find the next good record; none means a torn tail
        nxt = data.find(RECORD, pos + 1)
        while nxt != -1 and not _valid_at(data, nxt):
            nxt = data.find(RECORD, nxt + 1)
        if nxt == -1:
            return ScanResult(base + pos, True, unreadable)
        _attribute_damage(data, pos, nxt, base, apply, decode_key, unreadable)
        pos = nxt
    return ScanResult(base + pos, False, unreadable)


def _attribute_damage(
    data: bytes,
    pos: int,
    nxt: int,
    base: int,
    apply: Apply,
    decode_key: Callable[[bytes], Hashable],
    unreadable: list[str],
) -> None:
    reason = f"checksum mismatch in the record at byte {base + pos}"
    try:
        marker, _size, _crc = _REC.unpack_from(data, pos)
        op, klen = _BODY.unpack_from(data, pos + _REC.size)
        if marker != RECORD or op not in (SET, DELETE) or pos + REC_HEAD + klen > nxt:
            raise ValueError("damaged record header")
        key = decode_key(data[pos + REC_HEAD : pos + REC_HEAD + klen])
        hash(key)
    except Exception:
        unreadable.append(f"{reason}: the key is unreadable too")
        return
    apply(key, Damaged(base + pos, nxt - pos, reason))
