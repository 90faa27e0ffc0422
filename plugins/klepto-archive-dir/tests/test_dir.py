"""dir_archive: the conformance suite for both layouts, the log's safety, klepto's layout."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from pathlib import Path

import pytest
from klepto_archive_dir import LOG_NAME, DirArchive, entry_name

from klepto_core.archives import dir_archive
from klepto_core.base.archive import Archive
from klepto_core.errors import CorruptEntryError, FormatError, InvalidArgumentError
from klepto_core.storage import recordlog
from klepto_core.testing.archive import ArchiveConformance


def flip_record_byte(archive: DirArchive, key: Hashable) -> None:
    """Flip one byte inside the value of ``key``'s log record (its checksum then fails)."""
    log = archive._log
    assert log is not None and log.contains(key)
    entry = log.index[key]
    assert isinstance(entry, recordlog.Entry)
    with open(log.path, "r+b") as handle:
        handle.seek(entry.value_offset + entry.value_length // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))


def garble_value(archive: Archive, key: Hashable, junk: bytes = b"\x80\x04not a pickle") -> None:
    """Damage the stored value of ``key``: its log record, else its entry's value file."""
    assert isinstance(archive, DirArchive)
    if archive._log is not None and archive._log.contains(key):
        flip_record_byte(archive, key)
        return
    found = archive._find(key)
    assert found is not None
    path, payload = found
    Path(path, payload.filename).write_bytes(junk)


class _DirConformance(ArchiveConformance):
    def corrupt(self, archive: Archive, key: Hashable) -> None:
        garble_value(archive, key)

    def add_foreign(self, archive: Archive) -> Callable[[], bool]:
        root = Path(archive.state["id"])
        (root / "other").mkdir()
        (root / "other" / "f").write_text("x")
        (root / "notes.txt").write_text("y")
        return lambda: (root / "other" / "f").exists() and (root / "notes.txt").exists()


class TestDirArchiveConformance(_DirConformance):
    def make_archive(self, tmp_path: Path) -> Archive:
        return dir_archive(str(tmp_path / "memo"), cached=False)  # type: ignore[no-any-return]


class TestDirArchiveJsonConformance(_DirConformance):
    any_keys = False

    def make_archive(self, tmp_path: Path) -> Archive:
        return dir_archive(str(tmp_path / "memo"), cached=False, protocol="json")  # type: ignore[no-any-return]


class TestDirArchiveCompressedConformance(_DirConformance):
    concurrent_keys = 200

    def make_archive(self, tmp_path: Path) -> Archive:
        return dir_archive(str(tmp_path / "memo"), cached=False, compression=3)  # type: ignore[no-any-return]


class TestDirArchiveKleptoLayoutConformance(_DirConformance):
    """layout='klepto': a sub-directory per key, as klepto wrote them."""

    concurrent_keys = 200

    def make_archive(self, tmp_path: Path) -> Archive:
        return dir_archive(str(tmp_path / "memo"), cached=False, layout="klepto")  # type: ignore[no-any-return]


class TestDirArchiveKleptoLayoutJsonConformance(_DirConformance):
    any_keys = False
    concurrent_keys = 100

    def make_archive(self, tmp_path: Path) -> Archive:
        return dir_archive(  # type: ignore[no-any-return]
            str(tmp_path / "memo"), cached=False, protocol="json", layout="klepto"
        )

    def corrupt(self, archive: Archive, key: Hashable) -> None:
        garble_value(archive, key, b"{not json")


class TestDirArchiveSourceConformance(_DirConformance):
    """serialized=False: values as ``memo = ...`` Python source, like klepto."""

    concurrent_keys = 100

    def make_archive(self, tmp_path: Path) -> Archive:
        return dir_archive(str(tmp_path / "memo"), cached=False, serialized=False)  # type: ignore[no-any-return]

    def corrupt(self, archive: Archive, key: Hashable) -> None:
        garble_value(archive, key, b"memo = (")


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


def entry_dirs(root: Path) -> list[str]:
    return sorted(n for n in os.listdir(root) if n.startswith("K_"))


# -- layouts and names --------------------------------------------------------------------------


def test_the_default_layout_is_one_log_file(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False)
    d.update({f"k{i}": i for i in range(50)})
    d[(1, "a")] = "tuple"
    assert entry_dirs(tmp_path / "d") == []
    log = tmp_path / "d" / LOG_NAME
    size = log.stat().st_size
    d["one more"] = 1  # one record appended, not a file per key
    assert 0 < log.stat().st_size - size < 100
    assert dir_archive(str(tmp_path / "d"), cached=False)[(1, "a")] == "tuple"
    assert d.format == "log" and d.state["layout"] == "log"


def test_names_are_injective_in_klepto_layout(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False, layout="klepto")
    d[7], d["7"], d["a-b"], d["a_b"], d["x/y"], d["x"] = 1, 2, 3, 4, 5, 6
    assert d.__asdict__() == {7: 1, "7": 2, "a-b": 3, "a_b": 4, "x/y": 5, "x": 6}
    names = entry_dirs(tmp_path / "d")
    assert "K_7" in names and "K_a_b" in names and "K_x" in names
    assert all(os.sep not in n for n in names) and len(names) == 6
    assert d.format == "klepto"


def test_layout_is_checked_and_kept(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="'log', 'klepto'"):
        dir_archive(str(tmp_path / "a"), cached=False, layout="tree")
    with pytest.raises(InvalidArgumentError, match="serialized=False"):
        dir_archive(str(tmp_path / "b"), cached=False, serialized=False, layout="log")
    with pytest.raises(InvalidArgumentError, match="memmode"):
        dir_archive(str(tmp_path / "c"), cached=False, memmode="r", layout="log")
    # serialized=False and memmode need per-key files: their default layout is klepto's
    assert dir_archive(str(tmp_path / "s"), cached=False, serialized=False).state["layout"] == "klepto"
    assert dir_archive(str(tmp_path / "m"), cached=False, memmode="r").state["layout"] == "klepto"
    import pickle

    kept = pickle.loads(pickle.dumps(dir_archive(str(tmp_path / "k"), cached=False, layout="klepto")))
    kept["x"] = 1
    assert kept.state["layout"] == "klepto" and "K_x" in entry_dirs(tmp_path / "k")


@pytest.mark.parametrize("layout", ["log", "klepto"])
def test_a_crashed_write_never_shows_as_a_key(tmp_path: Path, layout: str) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False, layout=layout)
    d["a"] = 1
    root = tmp_path / "d"
    (root / "K_.I_0123").mkdir()  # klepto's temp dir
    (root / "K_.I_0123" / "output.pkl").write_bytes(b"junk")
    (root / "K_half").mkdir()  # created, value never written
    (root / "K_b").mkdir()
    (root / "K_b" / ".tmp-1-2-3").write_bytes(b"partial")  # a temp value file
    (root / f".{LOG_NAME}.tmp-1-2").write_bytes(b"a log rewrite that never finished")
    for handle in (d, dir_archive(str(root), cached=False, layout=layout)):
        assert list(handle) == ["a"] and handle["a"] == 1 and len(handle) == 1
    d.clear()
    assert not (root / f".{LOG_NAME}.tmp-1-2").exists() and entry_dirs(root) == []


def test_klepto_state_and_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    d = dir_archive(cached=False)
    assert d.name == "memo" and (tmp_path / "memo").is_dir()
    assert d.state == {
        "fast": False, "serialized": True, "compression": 0, "permissions": None,
        "memmode": None, "memsize": 100, "protocol": None, "id": str(tmp_path / "memo"),
        "layout": "log",
    }
    assert dir_archive("c", cached=False, compression=1).state["fast"] is True
    assert dir_archive("s", cached=False, serialized=False, compression=5).state["compression"] == 0
    assert repr(dir_archive("dd", {"k": 1}, cached=False)) == "dir_archive('dd', {'k': 1}, cached=False)"
    assert isinstance(d, dir_archive) and isinstance(dir_archive("memo"), dir_archive)


@pytest.mark.parametrize("layout", ["log", "klepto"])
def test_clear_keeps_foreign_directories_and_files(tmp_path: Path, layout: str) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False, layout=layout)
    d.update(a=1, b=2)
    (tmp_path / "d" / "clr2" / "other").mkdir(parents=True)
    (tmp_path / "d" / "clr2" / "other" / "f").write_text("keep")
    d.clear()
    assert len(d) == 0 and len(dir_archive(str(tmp_path / "d"), cached=False)) == 0
    assert (tmp_path / "d" / "clr2" / "other" / "f").read_text() == "keep"


def test_drop_and_copy(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False)
    d.update(a=1, b=(2,))
    clone = d.copy(str(tmp_path / "e"))
    assert clone.__asdict__() == {"a": 1, "b": (2,)} and clone.name == "e"
    d.__drop__()
    assert not (tmp_path / "d").exists()
    assert clone["a"] == 1


@pytest.mark.parametrize("layout", ["log", "klepto"])
def test_durable_and_klepto_helpers(tmp_path: Path, layout: str) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False, durable=True, layout=layout)
    key = "1234TESTME"
    path = d._mkdir(key)
    assert d._getdir(key) == path and os.path.isdir(path)
    assert key not in d  # an empty entry directory holds no value
    d[key] = [1, 2]
    assert d[key] == [1, 2]
    d._rmdir(key)
    assert key not in d and not os.path.exists(path)
    assert dir_archive(str(tmp_path / "d"), cached=False).__asdict__() == {}


@pytest.mark.parametrize(
    "options", [{}, {"fast": True}, {"compression": 3}, {"memmode": "r+"}, {"serialized": False}]
)
def test_numpy_arrays_round_trip_under_every_mode(tmp_path: Path, options: dict) -> None:
    np = pytest.importorskip("numpy")
    d = dir_archive(str(tmp_path / "d"), cached=False, **options)
    x, y = np.array([1, 2, 3, 4, 5]), np.arange(1000)
    t = np.dtype([("int32", np.int32), ("float32", np.float32)])
    d.update(a=x, b=y, c=np.inf, f=min)
    assert (d["a"] == x).all() and (d["b"] == y).all()
    assert d["c"] == np.inf and d["f"] is min
    if options.get("serialized") is False:
        # dill.source writes the dtype *class* for a dtype: refused, not stored wrong
        from klepto_core.errors import SerializationError

        with pytest.raises(SerializationError, match="'e'"):
            d["e"] = t
        assert "e" not in d
    else:
        d["e"] = t
        assert d["e"] == t
    if options.get("memmode"):
        assert isinstance(d["b"], np.memmap)


# -- the log: damage, crashes, serializers ------------------------------------------------------


def test_a_damaged_record_names_the_archive_and_key_in_every_process(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False)
    d.update({"before": 1, "bad": "x" * 50, "after": [2]})
    flip_record_byte(d, "bad")
    for handle in (d, dir_archive(str(tmp_path / "d"), cached=False)):  # read-time, scan-time
        with pytest.raises(CorruptEntryError) as info:
            handle["bad"]
        assert info.value.key == "bad" and str(tmp_path / "d") in info.value.archive
        assert handle["before"] == 1 and handle["after"] == [2] and "bad" in handle
        assert [e.key for e in handle.verify()] == ["bad"]
    d["bad"] = "fixed"
    assert dir_archive(str(tmp_path / "d"), cached=False).verify() == []


def test_a_damaged_last_record_is_corrupt_not_silently_gone(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False)
    d.update({"a": 1, "last": "y" * 40})
    flip_record_byte(d, "last")
    fresh = dir_archive(str(tmp_path / "d"), cached=False)
    assert sorted(fresh) == ["a", "last"]
    with pytest.raises(CorruptEntryError):
        fresh["last"]


def test_a_torn_tail_is_ignored_and_then_dropped(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False)
    d.update({"a": 1, "b": 2})
    log = tmp_path / "d" / LOG_NAME
    good = log.read_bytes()
    rec = recordlog.record(recordlog.SET, d._log_key_bytes("c"), d._encode("c", 3))
    log.write_bytes(good + rec[: len(rec) // 2])  # a writer killed mid-append
    fresh = dir_archive(str(tmp_path / "d"), cached=False)
    assert fresh.__asdict__() == {"a": 1, "b": 2} and fresh.verify() == []
    fresh["d"] = 4  # the next writer drops the torn bytes
    assert dir_archive(str(tmp_path / "d"), cached=False).__asdict__() == {"a": 1, "b": 2, "d": 4}
    assert d.__asdict__() == {"a": 1, "b": 2, "d": 4}  # an old handle follows the rewrite


def test_the_log_keeps_its_serializer(tmp_path: Path) -> None:
    dir_archive(str(tmp_path / "d"), cached=False, protocol="json")["a"] = [1, 2]
    plain = dir_archive(str(tmp_path / "d"), cached=False)  # adopts the log's serializer
    assert plain["a"] == [1, 2] and plain.serializer.name == "json"
    plain["b"] = {"c": None}
    with pytest.raises(FormatError, match="'json' serializer"):
        dir_archive(str(tmp_path / "d"), cached=False, serializer="pickle")


def test_a_value_encoded_for_another_serializer_is_never_appended(tmp_path: Path) -> None:
    late = dir_archive(str(tmp_path / "d"), cached=False)  # opened before any log exists
    dir_archive(str(tmp_path / "d"), cached=False, protocol="json")["a"] = 1
    with pytest.raises(FormatError, match="'json' serializer"):
        late["b"] = (2, 3)  # pickled with dill, then the log turned out to be JSON
    assert "b" not in late and late.serializer.name == "json"
    late["b"] = [2, 3]  # encoded with the log's serializer now
    assert dir_archive(str(tmp_path / "d"), cached=False).__asdict__() == {"a": 1, "b": [2, 3]}


def test_compaction_keeps_the_live_entries(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(recordlog, "COMPACT_MIN_BYTES", 4096)
    d = dir_archive(str(tmp_path / "d"), cached=False)
    other = dir_archive(str(tmp_path / "d"), cached=False)
    for i in range(300):
        d["k"] = i
        d[f"keep{i % 5}"] = i
    assert (tmp_path / "d" / LOG_NAME).stat().st_size < 4096
    expected = {"k": 299, **{f"keep{j}": 295 + j for j in range(5)}}
    assert d.__asdict__() == expected and other.__asdict__() == expected


# -- per-key entries beside the log ------------------------------------------------------------


@pytest.mark.parametrize("with_log", [True, False], ids=["layout-klepto", "before-the-log"])
def test_a_per_key_directory_keeps_its_layout_unless_the_log_is_asked_for(
    tmp_path: Path, with_log: bool
) -> None:
    old = dir_archive(str(tmp_path / "d"), cached=False, layout="klepto")
    old.update({"a": 1, (1, 2): "tuple", "b": 2})
    if not with_log:  # as klepto_core wrote before the log: entries only
        (tmp_path / "d" / LOG_NAME).unlink()
    d = dir_archive(str(tmp_path / "d"), cached=False)
    assert d.format == "klepto" and d.state["layout"] == "klepto"
    d["c"] = 3
    d["a"] = 10
    assert entry_dirs(tmp_path / "d") == sorted(["K_a", "K_b", "K_c", entry_name((1, 2))])
    assert dir_archive(str(tmp_path / "d"), cached=False).format == "klepto"
    assert old.__asdict__() == {"a": 10, (1, 2): "tuple", "b": 2, "c": 3}
    # once the log holds records, a handle given no layout writes to it
    dir_archive(str(tmp_path / "d"), cached=False, layout="log")["c"] = 30
    assert dir_archive(str(tmp_path / "d"), cached=False).format == "log+klepto"


def test_old_klepto_core_entries_are_read_and_replaced(tmp_path: Path) -> None:
    old = dir_archive(str(tmp_path / "d"), cached=False, layout="klepto")  # the former layout
    old.update({"a": 1, (1, 2): "tuple", "b": 2})
    d = dir_archive(str(tmp_path / "d"), cached=False, layout="log")
    assert d.__asdict__() == {"a": 1, (1, 2): "tuple", "b": 2} and d.format == "log+klepto"
    d["a"] = 10  # goes to the log; the entry it replaces is removed
    del d[(1, 2)]
    assert entry_dirs(tmp_path / "d") == ["K_b"]
    again = dir_archive(str(tmp_path / "d"), cached=False)
    assert again.__asdict__() == {"a": 10, "b": 2} and len(again) == 2
    del again["a"]
    assert "a" not in dir_archive(str(tmp_path / "d"), cached=False)


def test_entries_written_later_by_another_layout_are_seen(tmp_path: Path) -> None:
    logged = dir_archive(str(tmp_path / "d"), cached=False)  # opened on an empty directory
    logged["x"] = 1
    per_key = dir_archive(str(tmp_path / "d"), cached=False, layout="klepto")
    per_key["y"] = 2
    per_key["x"] = 3  # its entry now holds x: the log's record is deleted
    assert logged["y"] == 2 and logged["x"] == 3 and sorted(logged) == ["x", "y"]
    logged["y"] = 4
    assert per_key["y"] == 4 and len(per_key) == 2 and entry_dirs(tmp_path / "d") == ["K_x"]


def test_a_per_key_write_landing_whenever_the_log_is_unlocked_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the log writer learns while appending that per-key entries exist; another process
    # writes the same key as an entry the moment the log's lock is released: its value
    # must survive (it is the last write), never be removed by the log writer's cleanup
    root = str(tmp_path / "d")
    logged = dir_archive(root, cached=False)  # on an empty directory: no entries looked for
    per_key = dir_archive(root, cached=False, layout="klepto")
    per_key["other"] = 0  # marks the log's header: entries may exist now
    log = logged._log
    assert log is not None
    release = log._release
    armed = [True]

    def release_then_let_the_other_writer_in() -> None:
        release()
        if armed[0]:
            armed[0] = False
            per_key["k"] = "theirs"

    monkeypatch.setattr(log, "_release", release_then_let_the_other_writer_in)
    logged["k"] = "ours"
    assert not armed[0]
    for handle in (logged, per_key, dir_archive(root, cached=False)):
        assert handle["k"] == "theirs" and sorted(handle, key=str) == ["k", "other"]


def test_rewriting_the_log_mid_write_never_lets_another_writer_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a torn tail makes the next write rewrite the log (temp file + rename); the writer must
    # hold the new file's lock before it replaces the old one, so a per-key writer of the
    # same key waits until the log writer is done instead of landing in between and being
    # cleaned away
    import threading

    root = str(tmp_path / "d")
    per_key = dir_archive(root, cached=False, layout="klepto")
    per_key["seed"] = 0
    logged = dir_archive(root, cached=False, layout="log")
    logged["x"] = 1
    with open(os.path.join(root, LOG_NAME), "ab") as handle:  # a writer killed mid-append
        handle.write(recordlog.FRAME.pack(recordlog.RECORD, 1000, 0) + b"partial")
    log = logged._log
    assert log is not None
    adopt = log._adopt
    other: list[threading.Thread] = []

    def adopt_while_the_other_writer_tries(fd: int) -> None:
        adopt(fd)
        if not other:
            other.append(threading.Thread(target=per_key.__setitem__, args=("k", "theirs")))
            other[0].start()
            other[0].join(0.5)
            assert other[0].is_alive()  # it waits for our lock on the new file

    monkeypatch.setattr(log, "_adopt", adopt_while_the_other_writer_tries)
    logged["k"] = "ours"
    other[0].join(30)
    assert not other[0].is_alive()
    for handle in (logged, per_key, dir_archive(root, cached=False)):
        assert handle["k"] == "theirs"  # the later write wins, and nothing is lost
        assert sorted(handle, key=str) == ["k", "seed", "x"]


# -- klepto's layout, written by klepto itself --------------------------------------------

_KLEPTO_KEYS = """
import dill
from klepto.archives import dir_archive
d = dir_archive('kd', cached=False{opts})
for key, value in [('abc', 1), (7, 'seven'), ((1, 'a'), [1]), ('a-b', 'dash'),
                   (dill.dumps((1, 2)), 'pickled'), ('spaced out', None)]:
    d[key] = value
"""


@pytest.mark.parametrize("layout", ["log", "klepto"])
def test_reads_klepto_dir_layout_with_every_key_kind(tmp_path: Path, layout: str) -> None:
    import dill

    klepto(_KLEPTO_KEYS.format(opts=""), tmp_path)
    names = set(os.listdir(tmp_path / "kd"))
    assert {"K_abc", "K_7", "K_(1, 'a')", "K_a_b"} <= names
    d = dir_archive(str(tmp_path / "kd"), cached=False, layout=layout)
    expected = {
        "abc": 1, 7: "seven", (1, "a"): [1], "a-b": "dash",
        dill.dumps((1, 2)): "pickled", "spaced out": None,
    }
    assert d.__asdict__() == expected
    for key, value in expected.items():
        assert key in d and d[key] == value
    assert "7" not in d and "a_b" not in d  # klepto aliased these; we do not
    # writing a klepto key replaces its entry without duplicating it
    d["a-b"] = "new"
    d[7] = "SEVEN"
    d["7"] = "str seven"
    assert d["a-b"] == "new" and d[7] == "SEVEN" and d["7"] == "str seven"
    assert len(d) == 7
    del d[(1, "a")]
    assert (1, "a") not in d and len(d) == 6
    final = {**expected, "a-b": "new", 7: "SEVEN", "7": "str seven"}
    del final[(1, "a")]
    assert dir_archive(str(tmp_path / "kd"), cached=False).__asdict__() == final


_KLEPTO_READS = """
from klepto.archives import dir_archive
d = dir_archive('kd', cached=False)
print(d.get('abc'), d.get('spaced out'), d.get('new'))
"""


def test_klepto_sees_what_we_write_to_its_directory_by_default(tmp_path: Path) -> None:
    klepto(_KLEPTO_KEYS.format(opts=""), tmp_path)
    d = dir_archive(str(tmp_path / "kd"), cached=False)  # klepto's directory: klepto's layout
    assert d.format == "klepto"
    d["abc"] = 2
    d["new"] = "written"
    again = dir_archive(str(tmp_path / "kd"), cached=False)  # its log (made to lock) holds no records
    assert again.format == "klepto"
    again["spaced out"] = 3
    assert klepto(_KLEPTO_READS, tmp_path).split() == ["2", "3", "written"]


def test_layout_log_moves_the_keys_written_out_of_klepto_s_sight(tmp_path: Path) -> None:
    klepto(_KLEPTO_KEYS.format(opts=""), tmp_path)
    d = dir_archive(str(tmp_path / "kd"), cached=False, layout="log")
    d["abc"] = 2
    d["new"] = "in the log"
    assert d.format == "log+klepto" and d["abc"] == 2 and d["spaced out"] is None
    assert klepto(_KLEPTO_READS, tmp_path).split() == ["None", "None", "None"]
    assert dir_archive(str(tmp_path / "kd"), cached=False).format == "log+klepto"


def test_reads_klepto_json_dirs(tmp_path: Path) -> None:
    klepto(
        """
        from klepto.archives import dir_archive
        d = dir_archive('kd', cached=False, protocol='json')
        d['a'] = [1, 2]; d[7] = {'x': None}; d['a-b'] = 'dash'
        """,
        tmp_path,
    )
    d = dir_archive(str(tmp_path / "kd"), cached=False)
    assert d.__asdict__() == {"a": [1, 2], 7: {"x": None}, "a-b": "dash"}


@pytest.mark.parametrize(
    "opts", [", fast=True", ", compression=3", ", memmode='r'", ", serialized=False"]
)
def test_reads_klepto_fast_compressed_memmapped_and_source_entries(tmp_path: Path, opts: str) -> None:
    np = pytest.importorskip("numpy")
    klepto(
        f"""
        import numpy as np
        from klepto.archives import dir_archive
        d = dir_archive('kd', cached=False{opts})
        d['arr'] = np.arange(50); d['n'] = 5; d['l'] = [1, 'x']; d[3] = 'three'
        """,
        tmp_path,
    )
    memmode = "r" if "memmode" in opts else None
    serialized = "serialized=False" not in opts
    d = dir_archive(str(tmp_path / "kd"), cached=False, memmode=memmode, serialized=serialized)
    assert (d["arr"] == np.arange(50)).all()
    assert d["n"] == 5 and d["l"] == [1, "x"] and d[3] == "three"
    if memmode:
        assert isinstance(d["arr"], np.memmap)


def test_klepto_reads_the_plain_str_entries_written_in_klepto_layout(tmp_path: Path) -> None:
    # other keys live under digest names, which klepto cannot look up (it aliased them)
    d = dir_archive(str(tmp_path / "ours"), cached=False, layout="klepto")
    d.update({"abc": 1, "under_score": [1], "with space": (2, "x")})
    out = klepto(
        """
        from klepto.archives import dir_archive
        d = dir_archive('ours', cached=False)
        print(sorted(map(repr, d.items())))
        """,
        tmp_path,
    )
    for pair in [("abc", 1), ("under_score", [1]), ("with space", (2, "x"))]:
        assert repr(pair) in out


# -- many processes, crashes --------------------------------------------------------------------

_MIXED_WRITER = """
import sys
from klepto_core.archives import dir_archive
d = dir_archive(sys.argv[1], cached=False, layout=sys.argv[2])
w = int(sys.argv[3])
for i in range(150):
    d[f"w{w}-{i}"] = (w, i)
    d[("shared", i % 10)] = (w, i)
    if i % 7 == 0:
        d.update({f"w{w}-batch{i}": i, f"w{w}-batch{i}b": -i})
        del d[f"w{w}-batch{i}b"]
"""


def test_writers_of_both_layouts_at_once_lose_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = tmp_path / "d"
    dir_archive(str(root), cached=False)  # created by klepto_core, no entries yet
    layouts = ["log", "log", "klepto"]
    procs = [
        subprocess.Popen([sys.executable, "-c", _MIXED_WRITER, str(root), layout, str(w)])
        for w, layout in enumerate(layouts)
    ]
    for proc in procs:
        assert proc.wait(timeout=240) == 0
    expected = {
        **{f"w{w}-{i}": (w, i) for w in range(3) for i in range(150)},
        **{f"w{w}-batch{i}": i for w in range(3) for i in range(0, 150, 7)},
    }
    for layout in layouts[1:]:
        contents = dir_archive(str(root), cached=False, layout=layout).__asdict__()
        shared = {k: v for k, v in contents.items() if isinstance(k, tuple)}
        assert {k: v for k, v in contents.items() if not isinstance(k, tuple)} == expected
        assert sorted(shared) == [("shared", j) for j in range(10)]
        assert all(w in range(3) and i % 10 == j for (_s, j), (w, i) in shared.items())


_KILL_WRITER = """
import sys
from klepto_core.archives import dir_archive
d = dir_archive(sys.argv[1], cached=False, layout=sys.argv[2])
i = 0
print("ready", flush=True)
while True:
    i += 1
    for j in range(10):
        d[("key", j)] = ("v" * 20000, i)
        d[f"s{j}"] = ("w" * 20000, i)
        if d.pop("gone", None) is None:
            d["gone"] = i
"""


@pytest.mark.parametrize("layout", ["log", "klepto"])
def test_sigkill_mid_write_leaves_old_or_new_values(tmp_path: Path, layout: str) -> None:
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "d"
    d = dir_archive(str(root), cached=False, layout=layout)
    d.update({("key", j): ("v" * 20000, 0) for j in range(10)})
    d.update({f"s{j}": ("w" * 20000, 0) for j in range(10)})
    for delay in (0.1, 0.25, 0.4):
        proc = subprocess.Popen(
            [sys.executable, "-c", _KILL_WRITER, str(root), layout],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        fresh = dir_archive(str(root), cached=False, layout=layout)
        contents = fresh.__asdict__()
        assert {k for k in contents if k != "gone"} == {("key", j) for j in range(10)} | {
            f"s{j}" for j in range(10)
        }
        for key, value in contents.items():
            if key != "gone":
                assert value[0] in ("v" * 20000, "w" * 20000) and isinstance(value[1], int)
        assert max(v[1] for k, v in contents.items() if k != "gone") > 0
        assert fresh.verify() == []
        fresh["after"] = 1  # still writable after the crash
        assert dir_archive(str(root), cached=False, layout=layout)["after"] == 1
        del fresh["after"]
