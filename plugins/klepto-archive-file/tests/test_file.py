"""file_archive: the conformance suite, the log format's safety, and klepto's file formats."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from pathlib import Path

from klepto_archive_file import FileArchive

from klepto_core.archives import file_archive
from klepto_core.base.archive import Archive
from klepto_core.storage import recordlog as _log
from klepto_core.testing.archive import ArchiveConformance


def flip_value_byte(archive: Archive, key: Hashable) -> None:
    """Flip one byte inside the stored value of ``key`` (its record's checksum then fails)."""
    assert isinstance(archive, FileArchive)
    archive._log.refresh()
    entry = archive._log.index[key]
    assert isinstance(entry, _log.Entry)
    with open(archive._path, "r+b") as handle:
        handle.seek(entry.value_offset + entry.value_length // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))


class _FileConformance(ArchiveConformance):
    def corrupt(self, archive: Archive, key: Hashable) -> None:
        flip_value_byte(archive, key)

    def add_foreign(self, archive: Archive) -> Callable[[], bool]:
        other = Path(archive._path).with_name("foreign.txt")  # type: ignore[attr-defined]
        other.write_text("not ours")
        return lambda: other.read_text() == "not ours"


class TestFileArchiveConformance(_FileConformance):
    def make_archive(self, tmp_path: Path) -> Archive:
        return file_archive(str(tmp_path / "memo.pkl"), cached=False)  # type: ignore[no-any-return]


class TestFileArchiveJsonConformance(_FileConformance):
    any_keys = False

    def make_archive(self, tmp_path: Path) -> Archive:
        return file_archive(str(tmp_path / "memo.json"), cached=False, serializer="json")  # type: ignore[no-any-return]


class TestFileArchivePythonSourceConformance(_FileConformance):
    """serialized=False keeps klepto's ``memo = {...}`` text, rewritten whole under a lock."""

    concurrent_keys = 100

    def make_archive(self, tmp_path: Path) -> Archive:
        return file_archive(str(tmp_path / "memo"), serialized=False, cached=False)  # type: ignore[no-any-return]

    def corrupt(self, archive: Archive, key: Hashable) -> None:
        import pytest

        pytest.skip("a python-source file is parsed whole; damage is a FormatError")


# -- the log format ---------------------------------------------------------------------------


def test_a_write_appends_one_record_instead_of_rewriting(tmp_path: Path) -> None:
    ar = file_archive(str(tmp_path / "m.pkl"), cached=False)
    for i in range(200):
        ar[i] = "x" * 100
    path = tmp_path / "m.pkl"
    inode, size = path.stat().st_ino, path.stat().st_size
    ar["one more"] = 1
    assert path.stat().st_ino == inode  # same file: appended, not replaced
    grown = path.stat().st_size - size
    assert 0 < grown < 100  # one small record, not the 200 entries again


def test_torn_tail_record_is_ignored_and_then_compacted(tmp_path: Path) -> None:
    path = tmp_path / "m.pkl"
    ar = file_archive(str(path), cached=False)
    ar.update({"a": 1, "b": 2})
    good = path.read_bytes()
    record = _log.record(_log.SET, ar._encode_key("c"), ar._encode("c", 3))
    path.write_bytes(good + record[: len(record) // 2])  # a crash mid-append
    fresh = file_archive(str(path), cached=False)
    assert fresh.__asdict__() == {"a": 1, "b": 2}
    fresh["d"] = 4  # the next writer drops the torn bytes
    assert file_archive(str(path), cached=False).__asdict__() == {"a": 1, "b": 2, "d": 4}
    assert fresh.verify() == []


def test_compaction_keeps_the_live_entries(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(_log, "COMPACT_MIN_BYTES", 4096)
    path = tmp_path / "m.pkl"
    ar = file_archive(str(path), cached=False)
    other = file_archive(str(path), cached=False)  # a second handle sees the swap
    inode = path.stat().st_ino
    for i in range(300):
        ar["k"] = i
        ar[f"keep{i % 5}"] = i
    assert path.stat().st_ino != inode  # compacted into a new file
    assert path.stat().st_size < 4096
    expected = {"k": 299, **{f"keep{j}": 295 + j for j in range(5)}}
    assert ar.__asdict__() == expected
    assert other.__asdict__() == expected


def test_another_handle_sees_appends_without_reopening(tmp_path: Path) -> None:
    a = file_archive(str(tmp_path / "m.pkl"), cached=False)
    b = file_archive(str(tmp_path / "m.pkl"), cached=False)
    a["x"] = 1
    assert b["x"] == 1
    del b["x"]
    assert "x" not in a


def test_explicit_serializer_must_match_the_file(tmp_path: Path) -> None:
    from klepto_core.errors import FormatError

    file_archive(str(tmp_path / "m.pkl"), cached=False)["a"] = 1
    try:
        file_archive(str(tmp_path / "m.pkl"), cached=False, serializer="json")
    except FormatError as exc:
        assert "dill" in str(exc)
    else:
        raise AssertionError("a dill file opened as json must be refused")
    # without an explicit choice the file's serializer is used
    assert file_archive(str(tmp_path / "m.pkl"), cached=False)["a"] == 1


def test_name_and_state_derivations_match_klepto(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert file_archive(cached=False).state == {"id": "memo.pkl", "serialized": True, "protocol": None}
    assert file_archive(cached=False, protocol="json").name == "memo.json"
    assert file_archive(cached=False, serialized=False).name == "memo.py"
    assert file_archive("x", cached=False, serialized=False).name == "x.py"
    assert file_archive("y.pyc", cached=False, serialized=False).name == "y.pyc"
    ar = file_archive("ff.pkl", {"k": 1}, cached=False)
    assert repr(ar) == "file_archive('ff.pkl', {'k': 1}, cached=False)"
    assert os.path.exists("ff.pkl")
    assert isinstance(ar, file_archive) and isinstance(file_archive("ff.pkl"), file_archive)


def test_each_save_draws_once_from_the_global_rng_like_klepto(tmp_path: Path) -> None:
    import random

    def draws(action: Callable[[], object]) -> int:
        random.seed(7)
        expected = [random.random() for _ in range(5)]
        random.seed(7)
        action()
        after = random.random()
        return expected.index(after)

    path = str(tmp_path / "m.pkl")
    assert draws(lambda: file_archive(path, cached=False)) == 2  # create + seed update
    ar = file_archive(path, cached=False)
    assert draws(lambda: ar.__setitem__("a", 1)) == 1
    assert draws(lambda: ar["a"]) == 0
    assert draws(lambda: ar.update({"b": 2, "c": 3})) == 1
    assert draws(lambda: ar.__delitem__("b")) == 1
    assert draws(ar.clear) == 1


def test_drop_removes_the_file(tmp_path: Path) -> None:
    ar = file_archive(str(tmp_path / "m.pkl"), cached=False)
    ar["a"] = 1
    ar.__drop__()
    assert not (tmp_path / "m.pkl").exists()


def test_copy_copies_the_file(tmp_path: Path) -> None:
    ar = file_archive(str(tmp_path / "m.pkl"), cached=False)
    ar["a"] = 1
    clone = ar.copy(str(tmp_path / "n.pkl"))
    assert clone.__asdict__() == {"a": 1} and clone.name == "n.pkl"
    clone["b"] = 2
    assert "b" not in ar


def test_durable_writes_work(tmp_path: Path) -> None:
    ar = file_archive(str(tmp_path / "m.pkl"), cached=False, durable=True)
    ar.update(a=1, b=2)
    del ar["a"]
    assert file_archive(str(tmp_path / "m.pkl"), cached=False).__asdict__() == {"b": 2}
    assert ar.state["durable"] is True


# -- klepto's formats, written by klepto itself --------------------------------------------


def klepto(code: str, cwd: Path) -> str:
    """Run ``code`` with the real klepto 0.2.8 (the oracle) in a child process."""
    import subprocess
    import sys
    import textwrap

    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_reads_klepto_dill_pickle_files(tmp_path: Path) -> None:
    klepto(
        """
        from klepto.archives import file_archive
        ar = file_archive('k.pkl', cached=False)
        ar.update({'a': 1, 7: 'seven', (1, 'x'): [1, 2], b'raw': None, 'f': lambda x: x * 2})
        """,
        tmp_path,
    )
    ar = file_archive(str(tmp_path / "k.pkl"), cached=False)
    assert ar.format == "klepto-pickle"
    assert ar["a"] == 1 and ar[7] == "seven" and ar[(1, "x")] == [1, 2] and ar[b"raw"] is None
    assert ar["f"](4) == 8
    assert len(ar) == 5
    ar["new"] = 3  # the first write converts the file to the log, keeping everything
    assert ar.format == "log"
    again = file_archive(str(tmp_path / "k.pkl"), cached=False)
    assert sorted(map(repr, again)) == sorted(map(repr, ["a", 7, (1, "x"), b"raw", "f", "new"]))
    assert again["f"](1) == 2


def test_reads_klepto_json_files(tmp_path: Path) -> None:
    klepto(
        """
        from klepto.archives import file_archive
        file_archive('k.json', {'a': [1, 2], 'b': {'c': None}}, cached=False, protocol='json')
        """,
        tmp_path,
    )
    ar = file_archive(str(tmp_path / "k.json"), cached=False)
    assert ar.format == "klepto-json"
    assert ar.__asdict__() == {"a": [1, 2], "b": {"c": None}}
    ar["d"] = "x"
    assert ar.format == "log" and ar.serializer.name == "json"
    assert file_archive(str(tmp_path / "k.json"), cached=False)["a"] == [1, 2]


def test_reads_klepto_python_source_files_from_any_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    klepto(
        """
        from klepto.archives import file_archive
        file_archive('sub/k', {'a': 1, (2, 3): 'tuple', 'n': None}, cached=False, serialized=False)
        """,
        tmp_path,
    )
    path = tmp_path / "sub" / "k.py"
    assert path.read_text().startswith("memo = {")
    ar = file_archive(str(path), cached=False)  # klepto needed the directory on sys.path
    assert ar.format == "klepto-python"
    assert ar.__asdict__() == {"a": 1, (2, 3): "tuple", "n": None}
    ar["b"] = [4]
    assert ar.format == "klepto-python"  # stays readable source
    out = klepto(
        """
        import sys
        sys.path.insert(0, 'sub')
        from klepto.archives import file_archive
        print(sorted(map(repr, file_archive('sub/k.py', cached=False, serialized=False).items())))
        """,
        tmp_path,
    )
    assert "('b', [4])" in out and "((2, 3), 'tuple')" in out


def test_damaged_klepto_pickle_is_refused_not_emptied(tmp_path: Path) -> None:
    from klepto_core.errors import FormatError

    klepto(
        """
        from klepto.archives import file_archive
        file_archive('k.pkl', {i: 'v' * 50 for i in range(50)}, cached=False)
        """,
        tmp_path,
    )
    path = tmp_path / "k.pkl"
    path.write_bytes(path.read_bytes()[:100])  # truncated
    damaged = path.read_bytes()
    try:
        file_archive(str(path), cached=False)
    except FormatError as exc:
        assert "k.pkl" in str(exc)
    else:
        raise AssertionError("klepto read a truncated pickle as {}; it must be refused")
    assert path.read_bytes() == damaged


def test_klepto_reads_the_python_files_written_here(tmp_path: Path) -> None:
    file_archive(str(tmp_path / "ours"), {"a": 1, "b": (2, "x")}, cached=False, serialized=False)
    out = klepto(
        """
        import sys
        sys.path.insert(0, '.')
        from klepto.archives import file_archive
        print(file_archive('ours.py', cached=False, serialized=False).__asdict__())
        """,
        tmp_path,
    )
    assert out.strip() == "{'a': 1, 'b': (2, 'x')}"


def test_python_source_refuses_values_that_do_not_read_back(tmp_path: Path) -> None:
    from klepto_core.errors import SerializationError

    ar = file_archive(str(tmp_path / "m"), cached=False, serialized=False)
    ar["a"] = 1
    try:
        ar["f"] = lambda x: x
    except SerializationError as exc:
        assert "'f'" in str(exc)
    else:
        raise AssertionError("a lambda cannot be written as a literal")
    assert ar.__asdict__() == {"a": 1}


# -- crashes and concurrency ---------------------------------------------------------------

_KILL_WRITER = """
import sys
from klepto_core.archives import file_archive
ar = file_archive(sys.argv[1], cached=False)
i = 0
print("ready", flush=True)
while True:
    i += 1
    ar.update({f"k{j}": ("v" * 3000, i) for j in range(20)})
"""


def test_sigkill_mid_write_leaves_old_or_new_values(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "m.pkl"
    ar = file_archive(str(path), cached=False)
    ar.update({f"k{j}": ("v" * 3000, 0) for j in range(20)})
    for delay in (0.15, 0.3, 0.45):
        proc = subprocess.Popen(
            [sys.executable, "-c", _KILL_WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        fresh = file_archive(str(path), cached=False)
        contents = fresh.__asdict__()
        assert sorted(contents) == sorted(f"k{j}" for j in range(20))
        for value in contents.values():
            assert value[0] == "v" * 3000 and isinstance(value[1], int)
        assert max(value[1] for value in contents.values()) > 0  # the writer got going
        assert fresh.verify() == []
        fresh["after"] = 1  # still writable after the crash
        assert file_archive(str(path), cached=False)["after"] == 1
        del fresh["after"]


def test_python_source_keeps_builtin_types_in_keys(tmp_path: Path) -> None:
    # typed keymaps put types in keys; klepto wrote "<class 'int'>" and lost the file
    ar = file_archive(str(tmp_path / "m"), cached=False, serialized=False)
    key = ("x", 5, "y", 5.0, int, float)
    ar[key] = {frozenset({1}): {2}, "nan": float("inf")}
    again = file_archive(str(tmp_path / "m.py"), cached=False, serialized=False)
    assert again[key] == {frozenset({1}): {2}, "nan": float("inf")}
    assert "int, float)" in (tmp_path / "m.py").read_text()


def _spy_reads(path: str, monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """A list that gets the size of every os.pread from ``path`` (the reads still happen)."""
    real_pread, real_open = os.pread, os.open
    fds: set[int] = set()
    sizes: list[int] = []

    def opening(name, *args, **kwds):  # type: ignore[no-untyped-def]
        fd = real_open(name, *args, **kwds)
        if os.path.abspath(name) == os.path.abspath(path):
            fds.add(fd)
        return fd

    def reading(fd: int, n: int, offset: int) -> bytes:
        data = real_pread(fd, n, offset)
        if fd in fds:
            sizes.append(len(data))
        return data

    monkeypatch.setattr(os, "open", opening)
    monkeypatch.setattr(os, "pread", reading)
    return sizes


def test_open_then_load_reads_the_file_once(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "memo.pkl")
    memory = file_archive(path, cached=True)
    entries = {f"k{i}": (i if i % 2 else f"value {i}") for i in range(3000)}
    memory.update(entries)
    memory.dump()
    size = os.path.getsize(path)
    reads = _spy_reads(path, monkeypatch)
    fresh = file_archive(path, cached=True)
    assert sum(reads) <= 4096 < size  # the header only: a conflicting serializer is refused here
    reads.clear()
    fresh.load()
    monkeypatch.undo()
    assert dict(fresh) == entries
    assert len(reads) == 1 and size - 4096 < reads[0] < size, (reads, size)  # the records, once


def test_load_of_a_fresh_handle_names_a_damaged_entry(tmp_path: Path) -> None:
    from klepto_core.errors import CorruptEntryError

    path = str(tmp_path / "memo.pkl")
    writer = file_archive(path, cached=False)
    writer.update({f"k{i}": i for i in range(50)})
    flip_value_byte(writer, "k20")
    fresh = file_archive(path, cached=True)
    try:
        fresh.load()
    except CorruptEntryError as exc:
        assert exc.key == "k20"
    else:
        raise AssertionError("load() of a damaged entry did not raise")
    assert fresh.archive["k21"] == 21


def test_a_value_the_serializer_cannot_load_is_named_by_a_bulk_load(tmp_path: Path) -> None:
    from klepto_core.errors import CorruptEntryError

    path = str(tmp_path / "memo.pkl")
    writer = file_archive(path, cached=False)
    writer.update({"a": 1, "c": 3})
    # a well-formed record (its checksum holds) whose value no unpickler reads
    bad = _log.record(_log.SET, writer._encode_key("b"), b"not a pickle")
    with open(path, "ab") as handle:
        handle.write(bad)
    fresh = file_archive(path, cached=False)
    try:
        fresh.__asdict__()
    except CorruptEntryError as exc:
        assert exc.key == "b"
    else:
        raise AssertionError("an unreadable value did not raise")
    assert fresh["a"] == 1 and fresh["c"] == 3


def test_a_log_of_sets_deletes_and_overwrites_reopens_in_order(tmp_path: Path) -> None:
    path = str(tmp_path / "memo.pkl")
    writer = file_archive(path, cached=False)
    for i in range(30):
        writer[f"k{i}"] = i
    del writer["k3"]
    writer["k5"] = "again"  # moves to the end, as a dict's re-set key does not
    writer["k3"] = "back"
    fresh = file_archive(path, cached=False)
    assert list(fresh.keys()) == list(writer.keys())
    assert fresh.__asdict__() == writer.__asdict__()
    assert fresh["k5"] == "again" and fresh["k3"] == "back" and len(fresh) == 30
