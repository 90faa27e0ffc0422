"""klepto_core.storage.recordlog: the record log a third-party archive can build on, used directly."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from klepto_core.errors import CorruptEntryError, FormatError, UnhashableKeyError
from klepto_core.storage import recordlog
from klepto_core.storage.recordlog import RecordLog


def open_log(path: Path, **options: object) -> RecordLog:
    """A log keyed by UTF-8 strings, as a minimal archive would hold one."""
    return RecordLog(
        str(path),
        lambda b: b.decode("utf-8"),
        **{"encode_key": lambda key: str(key).encode("utf-8"), "label": "test_log", **options},  # type: ignore[arg-type]
    )


def put(log: RecordLog, key: str, value: bytes) -> None:
    log.set(key, value)


def test_set_get_delete_and_a_second_handle(tmp_path: Path) -> None:
    a, b = open_log(tmp_path / "x.log"), open_log(tmp_path / "x.log")
    assert a.keys() == [] and not (tmp_path / "x.log").exists()  # created by the first write
    put(a, "k", b"v1")
    put(a, "k", b"v2")
    put(a, "j", b"")
    assert b.get("k") == b"v2" and b.get("j") == b"" and b.count() == 2
    b.delete("j")
    assert a.keys() == ["k"] and not a.contains("j")
    with pytest.raises(KeyError):
        a.get("j")
    with pytest.raises(KeyError):
        a.delete("j")


def test_a_batch_is_one_append(tmp_path: Path) -> None:
    log = open_log(tmp_path / "x.log")
    put(log, "gone", b"1")
    size = (tmp_path / "x.log").stat().st_size
    records, known = log.set_records((k, b"v" + k.encode()) for k in "abc")
    removal, removed = log.delete_record("gone")
    log.append(records + removal, [*known, *removed])
    assert dict(log.items()) == {"a": b"va", "b": b"vb", "c": b"vc"}
    assert open_log(tmp_path / "x.log").get("c") == b"vc"
    assert (tmp_path / "x.log").stat().st_size == size + len(records) + len(removal)


def test_unhashable_keys_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    log = open_log(tmp_path / "x.log")
    with pytest.raises(UnhashableKeyError, match="test_log: cannot store key"):
        log.set_records([("a", b"1"), (["a", "list"], b"2")])  # type: ignore[list-item]
    assert not (tmp_path / "x.log").exists()


def test_discard_locked_removes_a_key_only_if_it_has_a_record(tmp_path: Path) -> None:
    encoded: list[object] = []

    def encode(key: object) -> bytes:
        encoded.append(key)
        return str(key).encode()

    log = open_log(tmp_path / "x.log", encode_key=encode)
    put(log, "a", b"1")
    encoded.clear()
    with log.exclusive() as held:
        assert held
        assert log.discard_locked("a") and not log.discard_locked("a")
        assert not log.discard_locked(["unhashable"])
    assert encoded == ["a"]  # absent keys are never encoded (they may not be encodable)
    assert open_log(tmp_path / "x.log").keys() == []


def test_check_refuses_before_anything_is_written(tmp_path: Path) -> None:
    log = open_log(tmp_path / "x.log")
    put(log, "a", b"1")
    size = (tmp_path / "x.log").stat().st_size

    def refuse() -> None:
        raise FormatError("no")

    record = recordlog.record(recordlog.SET, b"b", b"2")
    with pytest.raises(FormatError):
        log.append(record, [("b", 1, len(record))], refuse)
    assert (tmp_path / "x.log").stat().st_size == size and log.keys() == ["a"]


def test_damage_found_on_read_and_on_scan_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    log = open_log(path)
    for key in "abc":
        put(log, key, key.encode() * 20)
    entry = log.index["b"]
    assert isinstance(entry, recordlog.Entry)
    data = bytearray(path.read_bytes())
    data[entry.value_offset + 3] ^= 0xFF
    path.write_bytes(bytes(data))  # same size: the open handle does not re-read it
    with pytest.raises(CorruptEntryError) as info:
        log.get("b")
    assert info.value.key == "b" and info.value.archive == "test_log"
    fresh = open_log(path)
    fresh.refresh()  # opened lazily: this reads (and checks) the whole file
    assert isinstance(fresh.index["b"], recordlog.Damaged)
    with pytest.raises(CorruptEntryError):
        dict(fresh.items())
    assert fresh.get("a") == b"a" * 20 and fresh.get("c") == b"c" * 20


def test_torn_tail_is_skipped_then_dropped_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    put(open_log(path), "a", b"1")
    record = recordlog.record(recordlog.SET, b"b", b"2" * 50)
    with open(path, "ab") as handle:
        handle.write(record[:20])
    log = open_log(path)
    assert log.keys() == ["a"] and log.torn and log.unreadable == []
    put(log, "c", b"3")
    assert not log.torn and open_log(path).keys() == ["a", "c"]
    assert path.stat().st_size == len(log.header()) + 2 * len(recordlog.record(1, b"a", b"1"))


def test_compaction_swaps_in_live_records_and_other_handles_follow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recordlog, "COMPACT_MIN_BYTES", 2048)
    path = tmp_path / "x.log"
    a, b = open_log(path), open_log(path)
    put(a, "hot", b"start")
    assert b.get("hot") == b"start"
    inode = path.stat().st_ino
    for i in range(200):
        put(a, "hot", str(i).encode())
    assert path.stat().st_ino != inode and path.stat().st_size < 2048
    assert b.get("hot") == b"199"
    put(b, "other", b"x")
    assert a.keys() == ["hot", "other"]


def test_a_file_of_another_format_is_refused_or_handed_over(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"not a record log")
    with pytest.raises(FormatError, match="not a record log"):
        open_log(path).refresh()
    seen: list[bytes] = []
    log = open_log(path, on_other=seen.append)
    log.refresh()
    assert seen == [b"not a record log"] and log.kind == recordlog.OTHER


def test_the_header_is_offered_to_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    put(open_log(path, meta=lambda: {"serializer": "mine"}), "a", b"1")
    headers: list[dict[str, object]] = []
    open_log(path, on_header=headers.append).refresh()
    assert headers == [{"serializer": "mine"}]


def _append_many(path: str, worker: int) -> None:
    log = open_log(Path(path))
    for i in range(300):
        put(log, f"w{worker}-{i}", str(i).encode())


def test_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "x.log")
    ctx: Any = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    workers = [ctx.Process(target=_append_many, args=(path, w)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
        assert p.exitcode == 0
    log = open_log(Path(path))
    assert log.count() == 900
    assert log.get("w2-299") == b"299" and log.unreadable == [] and not log.torn
