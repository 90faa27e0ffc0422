"""dir_archive: the conformance suite, atomic entries, injective names, klepto's layout."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from pathlib import Path

import pytest
from klepto_archive_dir import DirArchive

from klepto_core.archive_base import Archive
from klepto_core.archives import dir_archive
from klepto_core.testing_archive import ArchiveConformance


def garble_value(archive: Archive, key: Hashable) -> None:
    """Overwrite the value file of ``key`` with bytes no serializer reads."""
    assert isinstance(archive, DirArchive)
    found = archive._find(key)
    assert found is not None
    path, payload = found
    Path(path, payload.filename).write_bytes(b"\x80\x04garbage that is not a pickle")


class _DirConformance(ArchiveConformance):
    def corrupt(self, archive: Archive, key: Hashable) -> None:
        garble_value(archive, key)

    def add_foreign(self, archive: Archive) -> Callable[[], bool]:
        root = Path(archive.state["id"])
        (root / "other").mkdir()
        (root / "other" / "f").write_text("x")
        (root / "notes.txt").write_text("y")
        return lambda: (root / "other" / "f").exists() and (root / "notes.txt").exists()


class TestDirArchive(_DirConformance):
    def make_archive(self, tmp_path: Path) -> Archive:
        return dir_archive(str(tmp_path / "memo"), cached=False)  # type: ignore[no-any-return]


class TestDirArchiveJson(_DirConformance):
    any_keys = False

    def make_archive(self, tmp_path: Path) -> Archive:
        return dir_archive(str(tmp_path / "memo"), cached=False, protocol="json")  # type: ignore[no-any-return]

    def corrupt(self, archive: Archive, key: Hashable) -> None:
        found = archive._find(key)  # type: ignore[attr-defined]
        Path(found[0], found[1].filename).write_text("{not json")


class TestDirArchiveCompressed(_DirConformance):
    concurrent_keys = 200

    def make_archive(self, tmp_path: Path) -> Archive:
        return dir_archive(str(tmp_path / "memo"), cached=False, compression=3)  # type: ignore[no-any-return]


class TestDirArchiveSource(_DirConformance):
    """serialized=False: values as ``memo = ...`` Python source, like klepto."""

    concurrent_keys = 100

    def make_archive(self, tmp_path: Path) -> Archive:
        return dir_archive(str(tmp_path / "memo"), cached=False, serialized=False)  # type: ignore[no-any-return]

    def corrupt(self, archive: Archive, key: Hashable) -> None:
        found = archive._find(key)  # type: ignore[attr-defined]
        Path(found[0], found[1].filename).write_text("memo = (")


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


# -- names ------------------------------------------------------------------------------------


def test_names_are_injective(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False)
    d[7], d["7"], d["a-b"], d["a_b"], d["x/y"], d["x"] = 1, 2, 3, 4, 5, 6
    assert d.__asdict__() == {7: 1, "7": 2, "a-b": 3, "a_b": 4, "x/y": 5, "x": 6}
    names = sorted(n for n in os.listdir(tmp_path / "d") if n.startswith("K_"))
    assert "K_7" in names and "K_a_b" in names and "K_x" in names
    assert all(os.sep not in n for n in names) and len(names) == 6


def test_a_crashed_write_never_shows_as_a_key(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False)
    d["a"] = 1
    root = tmp_path / "d"
    (root / "K_.I_0123").mkdir()  # klepto's temp dir
    (root / "K_.I_0123" / "output.pkl").write_bytes(b"junk")
    (root / "K_half").mkdir()  # created, value never written
    (root / "K_a" / ".tmp-1-2-3").write_bytes(b"partial")  # a temp value file
    assert list(d) == ["a"] and d["a"] == 1 and len(d) == 1


def test_klepto_state_and_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    d = dir_archive(cached=False)
    assert d.name == "memo" and (tmp_path / "memo").is_dir()
    assert d.state == {
        "fast": False, "serialized": True, "compression": 0, "permissions": None,
        "memmode": None, "memsize": 100, "protocol": None, "id": str(tmp_path / "memo"),
    }
    assert dir_archive("c", cached=False, compression=1).state["fast"] is True
    assert dir_archive("s", cached=False, serialized=False, compression=5).state["compression"] == 0
    assert repr(dir_archive("dd", {"k": 1}, cached=False)) == "dir_archive('dd', {'k': 1}, cached=False)"
    assert isinstance(d, dir_archive) and isinstance(dir_archive("memo"), dir_archive)


def test_clear_keeps_foreign_directories_and_files(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False)
    d.update(a=1, b=2)
    (tmp_path / "d" / "clr2" / "other").mkdir(parents=True)
    (tmp_path / "d" / "clr2" / "other" / "f").write_text("keep")
    d.clear()
    assert len(d) == 0
    assert (tmp_path / "d" / "clr2" / "other" / "f").read_text() == "keep"


def test_drop_and_copy(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False)
    d.update(a=1, b=(2,))
    clone = d.copy(str(tmp_path / "e"))
    assert clone.__asdict__() == {"a": 1, "b": (2,)} and clone.name == "e"
    d.__drop__()
    assert not (tmp_path / "d").exists()
    assert clone["a"] == 1


def test_durable_and_klepto_helpers(tmp_path: Path) -> None:
    d = dir_archive(str(tmp_path / "d"), cached=False, durable=True)
    key = "1234TESTME"
    path = d._mkdir(key)
    assert d._getdir(key) == path and os.path.isdir(path)
    d[key] = [1, 2]
    assert d[key] == [1, 2]
    d._rmdir(key)
    assert key not in d


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


# -- klepto's layout, written by klepto itself --------------------------------------------

_KLEPTO_KEYS = """
import dill
from klepto.archives import dir_archive
d = dir_archive('kd', cached=False{opts})
for key, value in [('abc', 1), (7, 'seven'), ((1, 'a'), [1]), ('a-b', 'dash'),
                   (dill.dumps((1, 2)), 'pickled'), ('spaced out', None)]:
    d[key] = value
"""


def test_reads_klepto_dir_layout_with_every_key_kind(tmp_path: Path) -> None:
    import dill

    klepto(_KLEPTO_KEYS.format(opts=""), tmp_path)
    names = set(os.listdir(tmp_path / "kd"))
    assert {"K_abc", "K_7", "K_(1, 'a')", "K_a_b"} <= names
    d = dir_archive(str(tmp_path / "kd"), cached=False)
    expected = {
        "abc": 1, 7: "seven", (1, "a"): [1], "a-b": "dash",
        dill.dumps((1, 2)): "pickled", "spaced out": None,
    }
    assert d.__asdict__() == expected
    for key, value in expected.items():
        assert key in d and d[key] == value
    assert "7" not in d and "a_b" not in d  # klepto aliased these; we do not
    # writing a klepto key moves it to our layout without duplicating it
    d["a-b"] = "new"
    d[7] = "SEVEN"
    d["7"] = "str seven"
    assert d["a-b"] == "new" and d[7] == "SEVEN" and d["7"] == "str seven"
    assert len(d) == 7
    del d[(1, "a")]
    assert (1, "a") not in d and len(d) == 6


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


def test_klepto_reads_the_plain_str_entries_written_here(tmp_path: Path) -> None:
    # other keys live under digest names, which klepto cannot look up (it aliased them)
    d = dir_archive(str(tmp_path / "ours"), cached=False)
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


# -- crashes ----------------------------------------------------------------------------------

_KILL_WRITER = """
import sys
from klepto_core.archives import dir_archive
d = dir_archive(sys.argv[1], cached=False)
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


def test_sigkill_mid_write_leaves_old_or_new_values(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "d"
    d = dir_archive(str(root), cached=False)
    d.update({("key", j): ("v" * 20000, 0) for j in range(10)})
    d.update({f"s{j}": ("w" * 20000, 0) for j in range(10)})
    for delay in (0.1, 0.25, 0.4):
        proc = subprocess.Popen(
            [sys.executable, "-c", _KILL_WRITER, str(root)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        fresh = dir_archive(str(root), cached=False)
        contents = fresh.__asdict__()
        assert {k for k in contents if k != "gone"} == {("key", j) for j in range(10)} | {
            f"s{j}" for j in range(10)
        }
        for key, value in contents.items():
            if key != "gone":
                assert value[0] in ("v" * 20000, "w" * 20000) and isinstance(value[1], int)
        assert max(v[1] for k, v in contents.items() if k != "gone") > 0
        assert fresh.verify() == []
