"""``lock(key)`` of sql archives: a server-side lock (PostgreSQL advisory, MariaDB ``GET_LOCK``),
a lock file beside a SQLite file."""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from klepto_core.errors import LockTimeoutError
from klepto_core.registry.urls import open_archive


def _try(url: str, key: str, result) -> None:
    archive = open_archive(url)
    try:
        with archive.lock(key, timeout=0.3):
            result.value = 1
    except LockTimeoutError:
        result.value = 0


def _other_process_gets(url: str, key: str) -> bool:
    ctx = multiprocessing.get_context("spawn")
    result = ctx.Value("i", -1)
    proc = ctx.Process(target=_try, args=(url, key, result))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    return bool(result.value)


def _hold_and_die(url: str) -> None:
    open_archive(url).lock("k").__enter__()
    os._exit(0)  # killed while holding: the server ends the session and frees the lock


@pytest.fixture(params=["postgresql", "mariadb"])
def server_table(request: pytest.FixtureRequest) -> Iterator[str]:
    from tests.services import mariadb_url, postgres_url

    base = postgres_url() if request.param == "postgresql" else mariadb_url()
    url = f"{base}?table=kctest_{uuid.uuid4().hex[:10]}"
    yield url
    archive = open_archive(url)
    archive.__drop__()
    archive.close()


@pytest.mark.services
def test_server_lock_excludes_other_processes(server_table: str) -> None:
    archive = open_archive(server_table)
    with archive.lock("k", timeout=5):
        assert not _other_process_gets(server_table, "k")
        assert _other_process_gets(server_table, "other key")
    assert _other_process_gets(server_table, "k")


@pytest.mark.services
def test_server_lock_is_per_table(server_table: str) -> None:
    archive = open_archive(server_table)
    other = server_table.rsplit("=", 1)[0] + f"=kctest_{uuid.uuid4().hex[:10]}"
    try:
        with archive.lock("k", timeout=5):
            assert _other_process_gets(other, "k")
    finally:
        open_archive(other).__drop__()


@pytest.mark.services
def test_server_lock_of_a_killed_holder_is_freed_at_once(server_table: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_hold_and_die, args=(server_table,))
    proc.start()
    proc.join(60)
    start = time.monotonic()
    with open_archive(server_table).lock("k", timeout=10):
        pass
    assert time.monotonic() - start < 5


def test_sqlite_file_lock_excludes_other_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/memo.db"
    archive = open_archive(url)
    with archive.lock("k", timeout=5):
        assert not _other_process_gets(url, "k")
    assert _other_process_gets(url, "k")
    assert (tmp_path / "memo.db.lock").exists()


@pytest.mark.services
def test_many_lock_holders_do_not_starve_the_entries_pool(server_table: str) -> None:
    """20 threads each hold a key's lock while computing, then write: more than the pool holds."""
    import threading

    import klepto_core

    @klepto_core.cached(archive=server_table, single_flight=True)
    def slow_double(x: int) -> int:
        time.sleep(0.2)
        return 2 * x

    results: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            results[i] = slow_double(i)
        except Exception as exc:  # reported below, with the key
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert results == {i: 2 * i for i in range(20)}
