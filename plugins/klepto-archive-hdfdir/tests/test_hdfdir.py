"""The hdfdir archive: conformance in each layout, klepto's files both ways, its own edges."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy
import pytest
from klepto_archive_hdfdir import HDFDirArchive, hdfdir_archive

from klepto_core.errors import SerializationError
from klepto_core.testing.archive import ArchiveConformance


class _HDFDirSuite(ArchiveConformance):
    options: dict = {}

    def make_archive(self, tmp_path):
        return hdfdir_archive(str(tmp_path / "memo"), cached=False, **self.options)

    def corrupt(self, archive, key):
        path, payload = archive._find(key)
        Path(path, payload.filename).write_bytes(b"\x89HDF\r\n\x1a\n but then garbage")

    def add_foreign(self, archive):
        root = Path(archive.state["id"])
        (root / "other").mkdir()
        (root / "other" / "f").write_text("x")
        (root / "notes.txt").write_text("y")
        return lambda: (root / "other" / "f").exists() and (root / "notes.txt").exists()


class TestHDFDirArchiveConformance(_HDFDirSuite):
    pass


_SAME_STORAGE = pytest.mark.skip(reason="writes files like TestHDFDirArchiveConformance; one run is enough")


class TestHDFDirArchiveMetaConformance(_HDFDirSuite):
    options = {"meta": True}

    @_SAME_STORAGE
    def test_concurrent_writers_lose_nothing(self, archive):
        pass


class TestHDFDirArchiveJsonConformance(_HDFDirSuite):
    options = {"protocol": "json"}
    any_keys = False

    @_SAME_STORAGE
    def test_concurrent_writers_lose_nothing(self, archive):
        pass


def test_klepto_state_and_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = hdfdir_archive(cached=False)
    assert d.name == "memo" and (tmp_path / "memo").is_dir()
    assert d.state == {
        "id": str(tmp_path / "memo"),
        "serialized": True,
        "permissions": None,
        "protocol": None,
        "meta": False,
    }
    assert hdfdir_archive("m", cached=False, meta=True).state["protocol"] == 0
    assert repr(hdfdir_archive("hd", {"k": 1}, cached=False)) == (
        "hdfdir_archive('hd', {'k': 1}, cached=False)"
    )
    cached = hdfdir_archive("c", {"a": 1})
    assert isinstance(cached, hdfdir_archive) and isinstance(cached.archive, HDFDirArchive)


def test_entries_are_one_entry_hdf5_files_keyed_none(tmp_path):
    d = hdfdir_archive(str(tmp_path / "d"), cached=False)
    d["plain"] = [1]
    d[("t", 1)] = 2
    with h5py.File(tmp_path / "d" / "K_plain" / "output.hdf5", "r") as handle:
        assert list(handle) == ["N."] and handle["N."].dtype.kind == "V"
    [digest_entry] = [n for n in os.listdir(tmp_path / "d") if n.startswith("K_~")]
    assert sorted(os.listdir(tmp_path / "d" / digest_entry)) == ["input.hdf5", "output.hdf5"]


def test_unserialized_values(tmp_path):
    d = hdfdir_archive(str(tmp_path / "raw"), cached=False, serialized=False)
    d["s"] = "str"
    d[("t", 1)] = numpy.arange(3)
    assert d["s"] == b"str"  # a str in a dataset reads back as bytes (klepto's, kept)
    assert d[("t", 1)].tolist() == [0, 1, 2]
    assert set(d) == {"s", ("t", 1)}  # the key itself is stored serialized, so it round-trips
    with pytest.raises(SerializationError):
        d["none"] = None
    assert "none" not in d


# -- klepto's layout, both ways (klepto 0.2.8 runs in a child process) -----------------------

pytestmark_klepto = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import klepto"], capture_output=True).returncode != 0,
    reason="the klepto 0.2.8 oracle is not installed",
)


def klepto(code: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


COMBOS = [
    pytest.param({"serialized": True, "meta": False}, id="serialized"),
    pytest.param({"serialized": True, "meta": True}, id="serialized-meta"),
    pytest.param({"serialized": False, "meta": False}, id="raw"),
    pytest.param({"serialized": False, "meta": True}, id="raw-meta"),
    pytest.param({"serialized": True, "meta": False, "protocol": "json"}, id="json"),
]


def _plain(value):
    """An unserialized value as the Python object klepto was given (numpy scalars, bytes for str)."""
    value = value.tolist() if hasattr(value, "tolist") else value
    return value.decode() if isinstance(value, bytes) else value


@pytestmark_klepto
@pytest.mark.parametrize("options", COMBOS)
def test_reads_what_klepto_wrote(tmp_path, options):
    if options["serialized"]:
        items = "[('abc', 1), (7, 'seven'), ('a-b', [1, 2]), ('spaced out', None)]"
        if "protocol" not in options:
            items = items[:-1] + ", ((1, 'a'), {'x': 1.5})]"
    else:  # klepto could not store a tuple key raw, nor None
        items = "[('abc', 1), (7, 'seven'), ('a-b', 2.5), ('spaced out', [1, 2])]"
    klepto(
        f"""
        from klepto.archives import hdfdir_archive
        d = hdfdir_archive('kd', cached=False, **{options!r})
        for key, value in {items}:
            d[key] = value
        """,
        tmp_path,
    )
    expected = dict(ast.literal_eval(items))
    d = hdfdir_archive(str(tmp_path / "kd"), cached=False, **options)
    contents = d.__asdict__()
    assert set(contents) == set(expected)
    for key, value in expected.items():
        assert _plain(d[key]) == value, key
    assert "a_b" not in d and "7" not in d  # klepto aliased these names; we do not
    d["a_b"] = 5  # lives where klepto put 'a-b': klepto's entry moves aside, intact
    assert d["a_b"] == 5 and _plain(d["a-b"]) == expected["a-b"]
    d["a-b"] = 99  # rewriting a klepto entry moves it to our names without duplicates
    assert d["a-b"] == 99 and len(d) == len(expected) + 1


@pytestmark_klepto
@pytest.mark.parametrize("options", [c for c in COMBOS if not c.values[0]["meta"]])
def test_klepto_reads_what_we_write(tmp_path, options):
    """klepto finds entries by name (str keys of safe characters); it cannot read meta dirs at all."""
    d = hdfdir_archive(str(tmp_path / "od"), cached=False, **options)
    d.update({"abc": 1, "with space": [1, 2], "x_y": 2.5})
    out = klepto(
        f"""
        from klepto.archives import hdfdir_archive
        d = hdfdir_archive('od', cached=False, **{options!r})
        got = {{k: d[k] for k in ('abc', 'with space', 'x_y')}}
        print(repr({{k: (v.tolist() if hasattr(v, 'tolist') else v) for k, v in got.items()}}))
        """,
        tmp_path,
    )
    assert ast.literal_eval(out) == {"abc": 1, "with space": [1, 2], "x_y": 2.5}
