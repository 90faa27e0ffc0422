"""One cache shared by 8 worker processes through PostgreSQL, MariaDB, Redis, SQLite or a directory.

Each worker decorates the same slow function with ``cached(archive=<URL>)`` and
maps it over overlapping inputs; a counter file records every real execution.
A shared archive must cut executions far below the per-process baseline, lose
nothing and return only right answers; ``single_flight=True`` must compute each
input once even when all workers miss it at the same moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from klepto_core.base.archive import Archive
from klepto_core.registry.urls import open_archive
from klepto_core.testing.shared import SharedPool, SharedRun, overlapping, stampede
from tests.services import mariadb_url, postgres_url, redis_url

pytestmark = [pytest.mark.slow, pytest.mark.services]

DISTINCT, COPIES = 30, 8


@pytest.fixture(scope="module")
def pool() -> Iterator[SharedPool]:
    with SharedPool(8) as workers:
        yield workers


@pytest.fixture(scope="module")
def baseline(pool: SharedPool) -> SharedRun:
    return pool.run(None, overlapping(DISTINCT, COPIES, seed=3), work=0.02)


@pytest.fixture(params=["postgresql", "mariadb", "redis", "sqlite", "dir"])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    token = f"kctest_{uuid.uuid4().hex[:10]}"
    if request.param == "postgresql":
        url = f"{postgres_url()}?table={token}"
    elif request.param == "mariadb":
        url = f"{mariadb_url()}?table={token}"
    elif request.param == "redis":
        url = f"{redis_url()}?archive={token}"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/{token}.db"
    else:
        url = f"dir:{tmp_path}/{token}"
    yield url
    archive = open_archive(url)
    archive.__drop__()
    archive.close()


def _check(run: SharedRun, calls: list[int]) -> None:
    assert run.wrong == []
    assert sorted(run.results) == sorted((x, x * x + 1) for x in calls)
    assert set(run.executions) == set(calls)


def test_workers_sharing_an_archive_compute_far_less(
    pool: SharedPool, baseline: SharedRun, archive_url: str
) -> None:
    calls = overlapping(DISTINCT, COPIES, seed=3)
    _check(baseline, calls)
    shared = pool.run(archive_url, calls, work=0.02, namespace="shared")
    _check(shared, calls)
    assert shared.total_executions <= baseline.total_executions / 2
    archive = open_archive(archive_url)
    try:  # nothing lost: every input's result is in the archive, under the run's namespace
        stored = {key: archive[key] for key in archive}
        assert all(key[0] == "shared" for key in stored)
        assert sorted(stored.values()) == [x * x + 1 for x in range(DISTINCT)]
    finally:
        archive.close()


def _locks_across_processes(archive: Archive) -> bool:
    return type(archive).lock is not Archive.lock or archive.lock_path is not None


def test_single_flight_computes_each_input_once(pool: SharedPool, archive_url: str) -> None:
    archive = open_archive(archive_url)
    crosses = _locks_across_processes(archive)
    archive.close()
    if not crosses:
        pytest.skip(f"{type(archive).__name__} locks threads only (no lock_path, no lock())")
    calls = stampede(DISTINCT // 2, COPIES)
    flight = pool.run(archive_url, calls, work=0.05, single_flight=True, namespace="flight")
    _check(flight, calls)
    assert flight.executions == {x: 1 for x in range(DISTINCT // 2)}
