"""The hdf archive: the conformance suite in each layout, plus what is specific to HDF5."""

from __future__ import annotations

import os
import pickle

import h5py
import numpy
import pytest
from klepto_archive_hdf import HDFArchive, hdf_archive

from klepto_core.base.archive import Archive
from klepto_core.errors import CorruptEntryError, FormatError, SerializationError
from klepto_core.testing.archive import ArchiveConformance


def _entry_path(archive: Archive, key: object) -> str:
    layout = archive._layout  # type: ignore[attr-defined]
    return layout.path(layout.name(key))


class _HDFSuite(ArchiveConformance):
    options: dict = {}

    def make_archive(self, tmp_path):
        return hdf_archive(str(tmp_path / "memo.h5"), cached=False, **self.options)

    def corrupt(self, archive, key):
        with h5py.File(archive.state["id"], "r+") as handle:
            if archive.state["meta"]:
                size = len(handle.attrs[_entry_path(archive, key)].tobytes())
                handle.attrs[_entry_path(archive, key)] = numpy.void(b"\xff" * size)
            else:
                dataset = handle[_entry_path(archive, key)]
                dataset[0] = numpy.void(b"\xff" * dataset.dtype.itemsize)

    def add_foreign(self, archive):
        path = archive.state["id"]
        with h5py.File(path, "r+") as handle:
            if archive.state["meta"]:
                handle["not-an-entry"] = [1, 2, 3]
            else:
                handle.attrs["note"] = "written by someone else"

        def still_there():
            with h5py.File(path, "r") as handle:
                if archive.state["meta"]:
                    return list(handle["not-an-entry"][()]) == [1, 2, 3]
                return handle.attrs["note"] == "written by someone else"

        return still_there


class TestHDFArchiveConformance(_HDFSuite):
    pass


class TestHDFArchiveMetaConformance(_HDFSuite):
    options = {"meta": True}


_SAME_STORAGE = pytest.mark.skip(
    reason="stores like TestHDFArchiveConformance; one multi-process run is enough"
)


class TestHDFArchiveJsonConformance(_HDFSuite):
    options = {"protocol": "json"}
    any_keys = False

    @_SAME_STORAGE
    def test_concurrent_writers_lose_nothing(self, archive):
        pass


class TestHDFArchivePickleConformance(_HDFSuite):
    options = {"serializer": "pickle"}

    @_SAME_STORAGE
    def test_concurrent_writers_lose_nothing(self, archive):
        pass


# -- constructor, names, state ------------------------------------------------------------


def test_klepto_defaults_and_name_derivation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    default = hdf_archive(cached=False)
    assert default.name == "memo.hdf5" and os.path.exists("memo.hdf5")
    assert default.state == {"id": "memo.hdf5", "serialized": True, "protocol": None, "meta": False}
    assert hdf_archive("x", cached=False).state["id"] == "x.hdf5"
    for name in ("a.hdf5", "b.hdf", "c.h5"):
        assert hdf_archive(name, cached=False).name == name
    sub = tmp_path / "sub"
    sub.mkdir()
    nested = hdf_archive(str(sub / "n"), cached=False)
    assert nested.name == "n.hdf5" and nested.state["id"] == str(sub / "n.hdf5")
    assert hdf_archive("m", cached=False, meta=True).state["protocol"] == 0
    assert hdf_archive("m2", cached=False, meta=True, protocol=None).state["protocol"] is None
    assert hdf_archive("j", cached=False, protocol="json").serializer.name == "json"
    assert hdf_archive("u", cached=False, serialized=False).serializer is None


def test_factory_wraps_in_a_cache_and_seeds_memory(tmp_path):
    cached = hdf_archive(str(tmp_path / "c"), {"a": 1})
    assert cached["a"] == 1 and "a" not in cached.archive
    cached.dump()
    assert cached.archive["a"] == 1
    assert isinstance(cached.archive, HDFArchive)
    assert isinstance(cached, hdf_archive)
    assert repr(cached.archive) == "hdf_archive('c.hdf5', {'a': 1}, cached=False)"


def test_opened_by_url_and_by_name(tmp_path):
    from klepto_core import open_archive
    from klepto_core.registry.urls import archive

    path = str(tmp_path / "u.h5")
    a = open_archive(f"hdf:{path}")
    a["k"] = 1
    assert open_archive(f"h5:{path}")["k"] == 1
    assert archive("hdf", path)["k"] == 1


def test_state_round_trips_through_reopen_args(tmp_path):
    archive = hdf_archive(str(tmp_path / "s"), cached=False, meta=True, serializer="pickle")
    assert archive.state["serializer"] == "pickle"
    archive["a"] = (1, 2)
    clone = pickle.loads(pickle.dumps(archive))
    assert clone.state == archive.state and clone["a"] == (1, 2)


# -- iteration (klepto: RecursionError, edge 29) ---------------------------------------------


def test_iteration_works(tmp_path):
    archive = hdf_archive(str(tmp_path / "it"), cached=False)
    archive.update({"a": 1, 2: "b", (3, "c"): None})
    assert sorted(map(repr, archive)) == sorted(map(repr, ["a", 2, (3, "c")]))
    assert len(list(archive.keys())) == 3
    assert dict(archive.items()) == {"a": 1, 2: "b", (3, "c"): None}
    assert sorted(map(repr, archive.values())) == sorted(map(repr, [1, "b", None]))


# -- unserialized values (edge 30 kept: str comes back as bytes from a dataset) ------------


def test_unserialized_values_are_stored_as_hdf5_data(tmp_path):
    archive = hdf_archive(str(tmp_path / "raw"), cached=False, serialized=False)
    archive["s"] = "str"
    archive["i"] = 7
    archive["a"] = numpy.arange(5)
    assert archive["s"] == b"str"  # klepto's behaviour, kept and documented
    assert archive["i"] == 7 and isinstance(archive["i"], numpy.integer)
    assert (archive["a"] == numpy.arange(5)).all()
    with pytest.raises(SerializationError):
        archive["n"] = None  # HDF5 has no None
    with pytest.raises(SerializationError):
        archive.update({"ok": 1, "bad": {"a": 1}})
    assert "ok" not in archive and "n" not in archive and len(archive) == 3


def test_unserialized_meta_keeps_str(tmp_path):
    archive = hdf_archive(str(tmp_path / "rawm"), cached=False, serialized=False, meta=True)
    archive["s"] = "str"
    assert archive["s"] == "str"


def test_meta_values_over_64k(tmp_path):
    """Our files hold big attributes; klepto's old-format files cannot, and nothing changes."""
    ours = hdf_archive(str(tmp_path / "big"), cached=False, meta=True)
    ours["big"] = "x" * 100_000
    assert ours["big"] == "x" * 100_000
    with h5py.File(tmp_path / "old.h5", "w", libver="earliest"):
        pass  # an empty file as klepto makes it
    old = hdf_archive(str(tmp_path / "old.h5"), cached=False, meta=True)
    old["small"] = 1
    with pytest.raises(SerializationError, match="64 KiB"):
        old["big"] = "x" * 100_000
    assert old.__asdict__() == {"small": 1}


# -- keys that need care in HDF5 names ---------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["a/b", "http://host/x", "a/./b", "a/", "/lead", "../up", "é", "a\x00b", "x" * 70_000, 2**80],
)
def test_awkward_keys_round_trip_without_colliding(tmp_path, key):
    archive = hdf_archive(str(tmp_path / "k"), cached=False)
    archive.update({key: "value", "a/b/c": "other", "http:/host/x": "single"})
    assert archive[key] == "value"
    assert archive["a/b/c"] == "other" and archive["http:/host/x"] == "single"
    assert key in list(archive)
    del archive[key]
    assert key not in archive and len(archive) == 2


def test_overwrite_with_same_size_value_does_not_grow_the_file(tmp_path):
    archive = hdf_archive(str(tmp_path / "g"), cached=False)
    archive["k"] = 1000
    size = os.path.getsize(archive.state["id"])
    for i in range(1001, 1200):
        archive["k"] = i
    assert archive["k"] == 1199
    assert os.path.getsize(archive.state["id"]) == size


def test_changes_made_by_others_between_two_writes_are_kept(tmp_path):
    path = str(tmp_path / "shared.hdf5")
    archive = hdf_archive(path, cached=False)
    other = hdf_archive(path, cached=False)  # a second archive object on the same file
    archive["a"] = 1
    other["b"] = 2
    archive["c"] = 3
    a, b = archive._layout.name("a"), archive._layout.name("b")
    with h5py.File(path, "r+") as handle:  # a writer that takes no lock (klepto, h5py) ...
        first, second = handle[a][()], handle[b][()]
        handle[a][...], handle[b][...] = second, first  # ... swaps values in place, same size
    archive["d"] = 4
    assert hdf_archive(path, cached=False).__asdict__() == {"a": 2, "b": 1, "c": 3, "d": 4}
    other.clear()
    archive["e"] = 5
    os.unlink(path)  # and a file removed behind the archive's back
    other["f"] = 6
    archive["g"] = 7
    assert hdf_archive(path, cached=False).__asdict__() == {"f": 6, "g": 7}
    archive.close()  # closes the handle kept for writing; the next write reopens it
    archive["h"] = 8
    assert other.__asdict__() == {"f": 6, "g": 7, "h": 8}


# -- damaged files -----------------------------------------------------------------------


def test_a_file_that_is_not_hdf5_is_a_format_error(tmp_path):
    path = tmp_path / "not.h5"
    path.write_bytes(b"plain text, not HDF5")
    with pytest.raises(FormatError, match="not.h5"):
        hdf_archive(str(path), cached=False)
    assert path.read_bytes() == b"plain text, not HDF5"


def test_a_truncated_file_is_a_format_error_naming_it(tmp_path):
    archive = hdf_archive(str(tmp_path / "t"), cached=False)
    archive.update({i: "v" * 100 for i in range(50)})
    path = archive.state["id"]
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)
    with pytest.raises(FormatError, match="t.hdf5"):
        archive[1]
    with pytest.raises(FormatError):
        archive["new"] = 1


def test_damaged_object_header_is_a_corrupt_entry_and_others_read(tmp_path):
    archive = hdf_archive(str(tmp_path / "oh"), cached=False)
    archive.update({"bad": 1, "good": 2})
    path = archive.state["id"]
    with h5py.File(path, "r") as handle:
        address = h5py.h5o.get_info(handle[_entry_path(archive, "bad")].id).addr
    with open(path, "r+b") as handle:
        handle.seek(address)
        handle.write(b"\xff" * 16)
    with pytest.raises(CorruptEntryError) as info:
        archive["bad"]
    assert info.value.key == "bad" and "oh.hdf5" in str(info.value)
    assert archive["good"] == 2
    assert [e.key for e in archive.verify()] == ["bad"]


def test_drop_removes_the_file_and_its_lock(tmp_path):
    archive = hdf_archive(str(tmp_path / "d"), cached=False)
    archive["a"] = 1
    archive.__drop__()
    assert sorted(os.listdir(tmp_path)) == []


def test_importing_the_plugin_does_not_import_h5py():
    import subprocess
    import sys

    code = "import sys, klepto_archive_hdf; print('h5py' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_without_h5py_the_error_says_what_to_install(tmp_path):
    import subprocess
    import sys

    code = f"""
import sys
sys.modules["h5py"] = None  # as if h5py were not installed
import klepto_core
from klepto_core.archives import hdf_archive
assert "hdf" in [p.name for p in klepto_core.plugins() if p.kind == "archive"]
try:
    hdf_archive({str(tmp_path / "x")!r}, cached=False)
except ImportError as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "pip install klepto-core[hdf]" in out.stdout
    assert not (tmp_path / "x.hdf5").exists()


def test_threads_writing_through_one_archive_lose_nothing(tmp_path):
    import threading

    archive = hdf_archive(str(tmp_path / "threads"), cached=False)
    other = hdf_archive(str(tmp_path / "threads"), cached=False)  # a second handle, same file

    def write(worker):
        target = archive if worker % 2 else other
        for i in range(60):
            target[(worker, i)] = i
            assert target[(worker, i)] == i

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert archive.__asdict__() == {(w, i): i for w in range(4) for i in range(60)}
