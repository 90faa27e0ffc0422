"""``Archive.lock`` (threads, plus processes through ``lock_path``) and ``cached(single_flight=True)``."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import time
from pathlib import Path

import pytest

import klepto_core
from klepto_core.errors import LockTimeoutError
from klepto_core.registry.urls import archive as open_kind
from klepto_core.storage.locking import FileRangeLock, KeyLock


def _local_archive(lock_file: str | None = None):
    archive = open_kind("dict", "single-flight-test")
    if lock_file is not None:
        archive.lock_path = lock_file
    return archive


def _bump(lock_file: str, counter: str, rounds: int) -> None:
    archive = _local_archive(lock_file)
    for _ in range(rounds):
        with archive.lock("counter"):
            path = Path(counter)
            value = int(path.read_text() or "0")
            time.sleep(0.002)  # widen the read-modify-write window
            path.write_text(str(value + 1))


def _try_lock(lock_file: str, key: str, result) -> None:
    archive = _local_archive(lock_file)
    try:
        with archive.lock(key, timeout=0.2):
            result.value = 1
    except LockTimeoutError:
        result.value = 0


def _other_process_gets(lock_file: str, key: str) -> bool:
    ctx = multiprocessing.get_context("spawn")
    result = ctx.Value("i", -1)
    proc = ctx.Process(target=_try_lock, args=(lock_file, key, result))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    return bool(result.value)


# -- Archive.lock --------------------------------------------------------------------------


def test_default_lock_with_lock_path_excludes_other_processes(tmp_path: Path) -> None:
    lock_file, counter = str(tmp_path / "memo.lock"), tmp_path / "counter"
    counter.write_text("0")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_bump, args=(lock_file, str(counter), 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert counter.read_text() == "100"


def test_lock_is_per_key_and_reentrant_and_held_until_the_outer_exit(tmp_path: Path) -> None:
    lock_file = str(tmp_path / "memo.lock")
    archive = _local_archive(lock_file)
    with archive.lock("a", timeout=1):
        with archive.lock("a", timeout=1):  # the same thread may take it again
            pass
        assert not _other_process_gets(lock_file, "a")  # still held by the outer block
        assert _other_process_gets(lock_file, "b")  # another key is free
    assert _other_process_gets(lock_file, "a")


def test_lock_timeout_raises_and_leaves_nothing_held() -> None:
    archive = _local_archive()
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with archive.lock("k"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    start = time.monotonic()
    with pytest.raises(LockTimeoutError) as info:
        with archive.lock("k", timeout=0.1):
            pass
    assert 0.09 < time.monotonic() - start < 2
    assert isinstance(info.value, TimeoutError)
    release.set()
    thread.join()
    with archive.lock("k", timeout=1):
        pass


def test_two_handles_on_one_location_share_the_lock() -> None:
    first, second = _local_archive(), _local_archive()
    outcome: list = []

    def other_thread() -> None:
        try:
            with second.lock("k", timeout=0.05):
                outcome.append("taken")
        except LockTimeoutError:
            outcome.append("timed out")

    with first.lock("k"):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert outcome == ["timed out"]


def test_file_range_lock_times_out_while_another_process_holds_it(tmp_path: Path) -> None:
    lock_file = str(tmp_path / "x.lock")
    with KeyLock("scope", "k", outer=lambda: FileRangeLock(lock_file, "k")):
        assert not _other_process_gets(lock_file, "k")


# -- cached(single_flight=True) ---------------------------------------------------------


def _stampede(func, threads: int = 8) -> list:
    barrier = threading.Barrier(threads)
    results: list = [None] * threads

    def call(i: int) -> None:
        barrier.wait()
        results[i] = func(21)

    workers = [threading.Thread(target=call, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


@pytest.mark.parametrize("single_flight", [True, False])
def test_threads_missing_one_key_at_once(single_flight: bool) -> None:
    runs = []

    def slow_double(x: int) -> int:
        runs.append(x)
        time.sleep(0.05)
        return 2 * x

    func = klepto_core.cached(single_flight=single_flight)(slow_double)
    assert _stampede(func) == [42] * 8
    if single_flight:
        assert runs == [21]
    else:
        assert len(runs) > 1  # what single_flight prevents


def test_a_waiter_takes_the_value_stored_while_it_waited() -> None:
    runs = []

    def double(x: int) -> int:
        runs.append(x)
        return 2 * x

    func = klepto_core.cached(archive="dict", single_flight=True, namespace="ns")(double)
    archive = func.__cache__().archive
    key = func.key(5)
    answer: list = []
    with archive.lock(key):
        caller = threading.Thread(target=lambda: answer.append(func(5)))
        caller.start()
        caller.join(0.3)
        assert caller.is_alive()  # the miss waits for the holder
        archive[key] = "stored by the holder"
    caller.join(10)
    assert answer == ["stored by the holder"]
    assert runs == []  # re-checked the archive under the lock instead of computing


def test_a_hit_never_waits_for_the_lock() -> None:
    func = klepto_core.cached(archive="dict", single_flight=True, namespace="ns")(lambda x: x + 1)
    assert func(1) == 2
    archive = func.__cache__().archive
    done = threading.Event()
    with archive.lock(func.key(1)):
        threading.Thread(target=lambda: (func(1), done.set())).start()
        assert done.wait(2)


def test_single_flight_writes_through_before_releasing() -> None:
    func = klepto_core.cached(archive="dict", single_flight=True, namespace="ns")(lambda x: -x)
    func(3)
    assert func.__cache__().archive[func.key(3)] == -3
    assert func.info().miss == 1


# -- klepto-style decorators ------------------------------------------------------------------


@pytest.mark.parametrize("decorator", ["lru_cache", "lfu_cache", "inf_cache", "no_cache"])
def test_klepto_style_decorators_take_single_flight(decorator: str) -> None:
    runs = []

    def slow_double(x: int) -> int:
        runs.append(x)
        time.sleep(0.05)
        return 2 * x

    make = getattr(klepto_core, decorator)
    func = make(cache=klepto_core.archives.dict_archive(), single_flight=True)(slow_double)
    assert _stampede(func) == [42] * 8
    assert runs == [21]


def test_klepto_style_single_flight_survives_pickling_and_shows_in_repr() -> None:
    decorator = klepto_core.lru_cache(maxsize=3, single_flight=True)
    assert "single_flight=True" in repr(decorator)
    again = pickle.loads(pickle.dumps(decorator))
    assert "single_flight=True" in repr(again)
    klepto_fields = {"maxsize", "cache", "keymap", "ignore", "tol", "deep", "purge"}
    assert set(again.__state__) == set(decorator.__state__) == klepto_fields
    assert "single_flight" not in repr(klepto_core.lru_cache(maxsize=3))
    runs = []

    def slow_double(x: int) -> int:
        runs.append(x)
        time.sleep(0.05)
        return 2 * x

    assert _stampede(again(slow_double)) == [42] * 8
    assert runs == [21]  # the unpickled decorator still computes a missed key once
