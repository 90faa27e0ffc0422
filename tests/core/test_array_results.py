"""Array results stored without copies: blob files beside the dir/file record log, mmap reads."""

from __future__ import annotations

import os
from typing import Any

import pytest

from klepto_core.archives import dir_archive, file_archive
from klepto_core.errors import CorruptEntryError, InvalidArgumentError
from klepto_core.storage.blobs import MIN_SIZE

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

KINDS = ["dir", "file"]


def open_archive(kind: str, where: Any, **options: Any) -> Any:
    if kind == "dir":
        return dir_archive(str(where / "memo"), cached=False, **options)
    return file_archive(str(where / "memo.pkl"), cached=False, **options)


def blob_files(kind: str, where: Any) -> list[str]:
    root = where / ("memo/memo.blobs" if kind == "dir" else "memo.pkl.blobs")
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def log_size(kind: str, where: Any) -> int:
    return os.path.getsize(where / ("memo/memo.log" if kind == "dir" else "memo.pkl"))


@pytest.fixture(params=["dill", "pickle"])
def serializer(request: Any) -> str:
    return str(request.param)


@pytest.mark.parametrize("kind", KINDS)
def test_an_array_is_a_blob_of_its_bytes_and_the_log_stays_small(
    kind: str, tmp_path: Any, serializer: str
) -> None:
    a = np.random.default_rng(1).random(100_000)
    store = open_archive(kind, tmp_path, serializer=serializer)
    store["a"] = a
    store["small"] = [1, 2]
    files = blob_files(kind, tmp_path)
    assert len(files) == 1 and os.path.getsize(files[0]) == a.nbytes  # raw bytes, no pickle
    assert log_size(kind, tmp_path) < 2_000
    again = open_archive(kind, tmp_path, serializer=serializer)
    back = again["a"]
    assert (back == a).all() and back.dtype == a.dtype and back.flags.writeable
    back[0] = -1  # the caller's own memory: the archive is not changed
    assert again["a"][0] == a[0] and again["small"] == [1, 2]


@pytest.mark.parametrize("kind", KINDS)
def test_mmap_mode_gives_memory_maps_of_the_blobs(kind: str, tmp_path: Any) -> None:
    a = np.arange(50_000.0).reshape(100, 500)
    open_archive(kind, tmp_path)["a"] = {"values": a, "label": "x"}
    mapped = open_archive(kind, tmp_path, mmap_mode="r")["a"]
    assert mapped["label"] == "x" and (mapped["values"] == a).all()
    assert not mapped["values"].flags.writeable
    copied = open_archive(kind, tmp_path, mmap_mode="c")["a"]["values"]
    copied[0, 0] = -5.0  # copy-on-write: the blob keeps its bytes
    assert open_archive(kind, tmp_path)["a"]["values"][0, 0] == 0.0
    with pytest.raises(InvalidArgumentError, match="mmap_mode"):
        open_archive(kind, tmp_path, mmap_mode="r+")


@pytest.mark.parametrize("kind", KINDS)
def test_fortran_order_views_frames_and_several_arrays_round_trip(kind: str, tmp_path: Any) -> None:
    f = np.asfortranarray(np.arange(40_000.0).reshape(200, 200))
    frame = pd.DataFrame({"x": np.arange(20_000.0), "y": np.arange(20_000)})
    values = {"f": f, "view": f[::2, ::3], "frame": frame, "pair": (f, b"z" * MIN_SIZE)}
    store = open_archive(kind, tmp_path)
    store.update(values)
    back = open_archive(kind, tmp_path)
    assert (back["f"] == f).all() and back["f"].flags.f_contiguous
    assert (back["view"] == f[::2, ::3]).all()
    pd.testing.assert_frame_equal(back["frame"], frame)
    pair = back["pair"]
    assert (pair[0] == f).all() and pair[1] == b"z" * MIN_SIZE


@pytest.mark.parametrize("kind", KINDS)
def test_equal_buffers_are_stored_once_and_removed_with_their_last_entry(
    kind: str, tmp_path: Any
) -> None:
    a = np.ones(20_000)
    store = open_archive(kind, tmp_path)
    store["one"] = a
    store["two"] = a.copy()
    assert len(blob_files(kind, tmp_path)) == 1
    del store["one"]
    assert len(blob_files(kind, tmp_path)) == 1 and (store["two"] == a).all()
    del store["two"]
    assert blob_files(kind, tmp_path) == []
    store["three"] = a
    store.clear()
    assert blob_files(kind, tmp_path) == [] and len(store) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_or_missing_blob_is_a_corrupt_entry_naming_the_key(
    kind: str, tmp_path: Any
) -> None:
    store = open_archive(kind, tmp_path)
    store["a"] = np.zeros(20_000)
    store["b"] = 7
    (path,) = blob_files(kind, tmp_path)
    with open(path, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x01")
    with pytest.raises(CorruptEntryError, match="'a'.*does not match its digest"):
        open_archive(kind, tmp_path)["a"]
    os.unlink(path)
    with pytest.raises(CorruptEntryError, match="'a'.*missing"):
        open_archive(kind, tmp_path)["a"]
    assert open_archive(kind, tmp_path)["b"] == 7  # the other entries still read


def test_a_copied_file_archive_takes_its_blobs_along(tmp_path: Any) -> None:
    store = open_archive("file", tmp_path)
    store["a"] = np.arange(20_000)
    copy = store.copy(str(tmp_path / "other.pkl"))
    assert (copy["a"] == np.arange(20_000)).all()
    paths = file_archive.__backend__.local_paths(str(tmp_path / "memo.pkl"))
    assert paths[1].endswith("memo.pkl.blobs")


def test_small_arrays_are_stored_inside_the_log_as_before(tmp_path: Any) -> None:
    store = open_archive("dir", tmp_path)
    store["small"] = np.arange(10)
    assert blob_files("dir", tmp_path) == []
    assert (store["small"] == np.arange(10)).all()


def test_hdf_keeps_array_buffers_as_raw_datasets_read_or_mapped(tmp_path: Any) -> None:
    h5py = pytest.importorskip("h5py")
    from klepto_core.archives import hdf_archive

    name = str(tmp_path / "memo.h5")
    a = np.random.default_rng(2).random(50_000)
    store = hdf_archive(name, cached=False)
    store["a"] = a
    store["b"] = {"same": a.copy(), "n": 1}
    store["small"] = 3
    with h5py.File(name, "r") as handle:
        blobs = handle["klepto_core.blobs"]
        assert len(blobs) == 1 and blobs[next(iter(blobs))].shape == (a.nbytes,)
    assert sorted(map(str, store.keys())) == ["a", "b", "small"]
    back = hdf_archive(name, cached=False)["a"]
    assert (back == a).all() and back.flags.writeable
    mapped = hdf_archive(name, cached=False, mmap_mode="r")["b"]
    assert (mapped["same"] == a).all() and not mapped["same"].flags.writeable
    del store["a"]
    assert (store["b"]["same"] == a).all()  # the blob still has an entry naming it
    del store["b"]
    with h5py.File(name, "r") as handle:
        assert "klepto_core.blobs" not in handle
    assert store["small"] == 3


def test_a_klepto_pickle_file_holding_arrays_converts_to_the_log_with_its_blobs(
    tmp_path: Any,
) -> None:
    import dill

    a = np.arange(30_000.0)
    path = tmp_path / "memo.pkl"
    path.write_bytes(dill.dumps({"old": a}))  # klepto's own file_archive format
    store = file_archive(str(path), cached=False)
    store["new"] = 1  # the first write converts the file to the log
    assert store.format == "log" and len(blob_files("file", tmp_path)) == 1
    back = file_archive(str(path), cached=False)
    assert (back["old"] == a).all() and back["new"] == 1
