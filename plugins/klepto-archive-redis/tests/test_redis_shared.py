"""Redis locks and one cache shared by many worker processes (``cached(single_flight=True)``)."""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from klepto_archive_redis import RedisArchive, redis_archive

from klepto_core.errors import LockTimeoutError
from klepto_core.testing.shared import overlapping, run_shared, stampede
from tests.services import redis_url

pytestmark = pytest.mark.services


@pytest.fixture
def space() -> Iterator[tuple[str, str]]:
    url = redis_url()
    token = f"kctest-{uuid.uuid4().hex[:12]}"
    yield url, token
    client = redis.Redis.from_url(url)
    names = list(client.scan_iter(match=f"klepto:{{{token}*", count=1000))
    for i in range(0, len(names), 1000):
        client.unlink(*names[i : i + 1000])
    client.close()


def _lock_name(archive: RedisArchive, key: object) -> bytes:
    from klepto_core.keys.stable import stable_bytes

    return archive._lock_prefix + stable_bytes(key)


def _increment(url: str, name: str, rounds: int) -> None:
    archive = redis_archive(name, url=url, cached=False)
    for _ in range(rounds):
        with archive.lock("counter"):
            value = archive.get("counter", 0)
            time.sleep(0.002)  # widen the read-modify-write window
            archive["counter"] = value + 1


def _hold_and_die(url: str, name: str) -> None:
    archive = redis_archive(name, url=url, lock_lease=0.5, cached=False)
    archive.lock("k").__enter__()
    os._exit(0)  # killed while holding: nobody releases, the lease must run out


def test_lock_excludes_other_processes(space: tuple[str, str]) -> None:
    url, token = space
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_increment, args=(url, token, 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert redis_archive(token, url=url, cached=False)["counter"] == 100


def test_lock_held_elsewhere_times_out_then_is_taken(space: tuple[str, str]) -> None:
    url, token = space
    archive = redis_archive(token, url=url, cached=False)
    client = redis.Redis.from_url(url)
    client.set(_lock_name(archive, "k"), b"another machine", px=400)
    with pytest.raises(LockTimeoutError):
        with archive.lock("k", timeout=0.1):
            pass
    start = time.monotonic()
    with archive.lock("k", timeout=5):
        assert client.get(_lock_name(archive, "k")) not in (None, b"another machine")
    assert time.monotonic() - start < 2
    assert client.get(_lock_name(archive, "k")) is None  # released
    client.close()


def test_release_never_deletes_a_lock_it_lost(space: tuple[str, str]) -> None:
    url, token = space
    archive = redis_archive(token, url=url, cached=False)
    client = redis.Redis.from_url(url)
    with archive.lock("k"):
        client.set(_lock_name(archive, "k"), b"new holder")  # as if our lease had run out
    assert client.get(_lock_name(archive, "k")) == b"new holder"
    client.close()


def test_lease_is_renewed_while_held(space: tuple[str, str]) -> None:
    url, token = space
    archive = redis_archive(token, url=url, lock_lease=0.3, cached=False)
    client = redis.Redis.from_url(url)
    with archive.lock("k"):
        time.sleep(1.0)  # more than three leases
        assert not client.set(_lock_name(archive, "k"), b"intruder", nx=True)
    client.close()


def test_a_killed_holder_frees_the_lock_when_its_lease_ends(space: tuple[str, str]) -> None:
    url, token = space
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_hold_and_die, args=(url, token))
    proc.start()
    proc.join(60)
    archive = redis_archive(token, url=url, cached=False)
    client = redis.Redis.from_url(url)
    assert client.exists(_lock_name(archive, "k"))
    start = time.monotonic()
    with archive.lock("k", timeout=10):
        pass
    assert time.monotonic() - start < 2
    client.close()


def test_lock_is_reentrant_in_one_thread(space: tuple[str, str]) -> None:
    url, token = space
    archive = redis_archive(token, url=url, cached=False)
    with archive.lock("k", timeout=1):
        with archive.lock("k", timeout=1):
            pass
        client = redis.Redis.from_url(url)
        assert client.exists(_lock_name(archive, "k"))  # the outer hold remains
        client.close()


@pytest.mark.slow
def test_eight_workers_share_one_redis_cache(space: tuple[str, str]) -> None:
    url, token = space
    archive = f"{url}?archive={token}"
    distinct, copies = 30, 8
    calls = overlapping(distinct, copies, seed=1)
    alone = run_shared(None, calls, work=0.02)
    shared = run_shared(archive, calls, work=0.02)
    for run in (alone, shared):
        assert run.wrong == [] and len(run.results) == len(calls)
        assert set(run.executions) == set(range(distinct))
    assert shared.total_executions <= alone.total_executions / 2
    assert len(redis_archive(token, url=url, cached=False)) == distinct  # nothing lost


@pytest.mark.slow
def test_single_flight_computes_each_input_once_under_a_stampede(space: tuple[str, str]) -> None:
    url, token = space
    archive = f"{url}?archive={token}"
    distinct, copies = 20, 8
    calls = stampede(distinct, copies)
    plain = run_shared(archive, calls, work=0.05, namespace="plain")
    flight = run_shared(archive, calls, work=0.05, namespace="flight", single_flight=True)
    for run in (plain, flight):
        assert run.wrong == [] and len(run.results) == len(calls)
    assert flight.executions == {x: 1 for x in range(distinct)}
    assert plain.total_executions > 2 * distinct  # the stampede really happens without it
