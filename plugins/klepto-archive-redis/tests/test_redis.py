"""The redis archive against the Redis at 127.0.0.1:6379: conformance, URLs, keys, TTL, errors.

Every test works in archives named ``kctest-<random>...`` and deletes every
Redis key under that name when it ends, so runs never see each other's data.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from klepto_archive_redis import RedisArchive, redis_archive

import klepto_core
from klepto_core import archive as archive_by_kind
from klepto_core.base.archive import Archive
from klepto_core.errors import (
    ArchiveUnavailableError,
    CorruptEntryError,
    InvalidArgumentError,
)
from klepto_core.registry.urls import open_archive, url_schemes
from klepto_core.testing.archive import ArchiveConformance
from tests.services import redis_url

pytestmark = pytest.mark.services


def _wipe(url: str, token: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        for pattern in (f"klepto:{{{token}*", f"{token}*"):
            names = list(client.scan_iter(match=pattern, count=1000))
            for i in range(0, len(names), 1000):
                client.unlink(*names[i : i + 1000])
    finally:
        client.close()


@pytest.fixture
def space() -> Iterator[tuple[str, str]]:
    """(server URL, a name prefix unique to this test); everything under it is deleted after."""
    url = redis_url()
    token = f"kctest-{uuid.uuid4().hex[:12]}"
    yield url, token
    _wipe(url, token)


@pytest.fixture
def client(space: tuple[str, str]) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(space[0])
    yield connection
    connection.close()


class TestRedisArchiveConformance(ArchiveConformance):
    """The shared archive suite, each archive a fresh name on the test server."""

    @pytest.fixture(autouse=True)
    def _space(self, space: tuple[str, str]) -> None:
        self.url, self.token = space

    def make_archive(self, tmp_path: Path) -> Archive:
        return redis_archive(f"{self.token}-{uuid.uuid4().hex[:6]}", url=self.url, cached=False)

    def corrupt(self, archive: Archive, key: object) -> None:
        assert isinstance(archive, RedisArchive)
        client = redis.Redis.from_url(self.url)
        name = archive._entry(key)  # type: ignore[arg-type]
        data = client.get(name)
        assert data is not None
        start, _ = archive._unpack(key, data)
        client.set(name, data[:start] + b"\x80\x05not a pickle")
        client.close()

    def add_foreign(self, archive: Archive) -> Callable[[], bool]:
        assert isinstance(archive, RedisArchive)
        # another archive whose name extends this one's, and a plain key of the same name
        longer = redis_archive(f"{archive.state['archive']}x", url=self.url, cached=False)
        longer["a"] = "foreign"
        client = redis.Redis.from_url(self.url)
        client.set(f"{archive.state['archive']}", b"plain")

        def still_there() -> bool:
            return longer.get("a") == "foreign" and client.get(archive.state["archive"]) == b"plain"

        return still_there


# -- discovery and URLs -------------------------------------------------------------------


def test_registered_through_its_own_entry_point() -> None:
    rows = [p for p in klepto_core.plugins("archive") if p.name == "redis"]
    assert len(rows) == 1
    assert rows[0].distribution == "klepto-archive-redis"
    assert rows[0].error is None
    assert url_schemes()["redis"] == ["redis"]
    assert url_schemes()["rediss"] == ["redis"]


def test_open_archive_by_url_names_the_archive(space: tuple[str, str]) -> None:
    url, token = space
    first = open_archive(f"{url}?archive={token}-a")
    assert isinstance(first, RedisArchive)
    assert first.state["archive"] == f"{token}-a"
    first["k"] = 1
    again = archive_by_kind("redis", f"{token}-a", url=url)
    assert again["k"] == 1
    assert again == first
    other = open_archive(f"{url}?archive={token}-b")
    assert "k" not in other and len(other) == 0
    cached = open_archive(f"{url}?archive={token}-a", cached=True)
    cached.load()
    assert dict(cached) == {"k": 1}


def test_archives_with_different_names_never_share_or_clear_each_other(
    space: tuple[str, str],
) -> None:
    url, token = space
    names = [f"{token}-a", f"{token}-a*", f"{token}-[a]", f"{token}-a?b"]
    archives = [redis_archive(n, url=url, cached=False) for n in names]
    for i, archive in enumerate(archives):
        archive.update({"k": i, i: "own"})
    for i, archive in enumerate(archives):
        assert archive.__asdict__() == {"k": i, i: "own"}
    archives[1].clear()  # a name with glob characters matches only itself
    assert len(archives[1]) == 0
    for i in (0, 2, 3):
        assert archives[i].__asdict__() == {"k": i, i: "own"}


def test_keys_are_stable_across_processes_with_other_hash_seeds(space: tuple[str, str]) -> None:
    url, token = space
    key = ("f", frozenset({"alpha", "beta", "gamma", "delta"}), ("nested", 1.5), None)
    code = (
        "import sys; from klepto_archive_redis import redis_archive\n"
        "a = redis_archive(sys.argv[1], url=sys.argv[2], cached=False)\n"
        "a[('f', frozenset({'delta', 'gamma', 'beta', 'alpha'}), ('nested', 1.5), None)] = 'v'\n"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", code, token, url], check=True, env=env)
    archive = redis_archive(token, url=url, cached=False)
    assert len(archive) == 1  # both processes wrote the same entry
    assert archive[key] == "v"
    assert list(archive) == [key]


def test_keys_come_back_as_the_original_objects(space: tuple[str, str]) -> None:
    url, token = space
    archive = redis_archive(token, url=url, cached=False)
    keys = [1, 1.0, True, "1", b"1", (1,), frozenset({1}), ("ns", (1, 2), {"a": 1}.get("a"))]
    for i, key in enumerate(keys):
        archive[key] = i
    assert len(archive) == len(keys)  # 1, 1.0 and True are distinct entries
    stored = list(archive)
    for key in keys:
        assert any(type(s) is type(key) and s == key for s in stored)


def test_values_use_the_chosen_serializer(space: tuple[str, str], client: redis.Redis) -> None:
    url, token = space
    archive = redis_archive(token, url=url, serializer="json", cached=False)
    archive["k"] = {"a": [1, 2]}
    raw = client.get(archive._entry("k"))
    assert raw is not None and raw.endswith(b'{"a": [1, 2]}')
    assert archive["k"] == {"a": [1, 2]}
    assert archive.state["serializer"] == "json"


def test_a_decorated_function_shares_results_through_redis(space: tuple[str, str]) -> None:
    url, token = space
    calls: list[int] = []

    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    first = klepto_core.cached(archive=f"{url}?archive={token}", namespace="double")(double)
    second = klepto_core.cached(archive=f"{url}?archive={token}", namespace="double")(double)
    assert [first(i) for i in range(5)] == [0, 2, 4, 6, 8]
    assert [second(i) for i in range(5)] == [0, 2, 4, 6, 8]  # another cache, loaded from redis
    assert calls == [0, 1, 2, 3, 4]


# -- TTL --------------------------------------------------------------------------------------


def test_ttl_expires_each_entry(space: tuple[str, str], client: redis.Redis) -> None:
    url, token = space
    archive = redis_archive(token, url=url, ttl=0.4, cached=False)
    archive["a"] = 1
    archive.update({"b": 2, "c": 3})
    assert 0 < client.pttl(archive._entry("a")) <= 400
    assert 0 < client.pttl(archive._entry("c")) <= 400
    assert archive.__asdict__() == {"a": 1, "b": 2, "c": 3}
    time.sleep(0.6)
    assert "a" not in archive and len(archive) == 0 and list(archive) == []
    with pytest.raises(KeyError):
        archive["b"]
    assert archive.ttl == 0.4


def test_without_ttl_entries_do_not_expire(space: tuple[str, str], client: redis.Redis) -> None:
    url, token = space
    archive = redis_archive(token, url=url, cached=False)
    archive["a"] = 1
    assert client.pttl(archive._entry("a")) == -1
    assert archive.ttl is None


@pytest.mark.parametrize("ttl", [0, -1, "10", True])
def test_bad_ttl_is_refused(space: tuple[str, str], ttl: object) -> None:
    url, token = space
    with pytest.raises(InvalidArgumentError, match="ttl"):
        redis_archive(token, url=url, ttl=ttl, cached=False)


# -- atomicity --------------------------------------------------------------------------------


def test_update_is_one_transaction(space: tuple[str, str]) -> None:
    url, token = space
    archive = redis_archive(token, url=url, cached=False)
    watcher = redis.Redis.from_url(url)
    size, rounds = 3000, 5
    seen: list[int] = []
    done = threading.Event()
    names = [(archive._entry((r, 0)), archive._entry((r, size - 1))) for r in range(rounds)]

    def watch() -> None:
        while not done.is_set():
            for first, last in names:
                seen.append(watcher.exists(first, last))

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        for r in range(rounds):
            archive.update({(r, i): i for i in range(size)})
    finally:
        done.set()
        thread.join()
        watcher.close()
    assert len(archive) == size * rounds
    assert 1 not in seen  # the first and last entry of a batch appear together


# -- errors -----------------------------------------------------------------------------------


def test_unreachable_server_is_archive_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ArchiveUnavailableError) as info:
        open_archive(f"redis://:s3cret@127.0.0.1:{port}/0")
    message = str(info.value)
    assert "\n" not in message
    assert f"127.0.0.1:{port}" in message
    assert "s3cret" not in message
    assert isinstance(info.value, ConnectionError)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:notaport/0", "redis://127.0.0.1:6379/notadb", "http://127.0.0.1/0"]
)
def test_bad_urls_are_archive_unavailable(url: str) -> None:
    with pytest.raises(ArchiveUnavailableError) as info:
        redis_archive(url, cached=False)
    assert "\n" not in str(info.value)


def test_bad_client_option_is_an_argument_error(space: tuple[str, str]) -> None:
    url, token = space
    with pytest.raises(InvalidArgumentError):
        redis_archive(token, url=url, no_such_option=1, cached=False)


class _Proxy:
    """A TCP relay to the Redis server that can be cut, to lose the server mid-use."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                inner, _ = self.server.accept()
            except OSError:
                return
            outer = socket.create_connection(self.target)
            self.sockets += [inner, outer]
            for a, b in ((inner, outer), (outer, inner)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def test_losing_the_server_mid_use_is_archive_unavailable(space: tuple[str, str]) -> None:
    url, token = space
    host, port = redis.Redis.from_url(url).connection_pool.connection_kwargs["host"], 6379
    proxy = _Proxy((host, port))
    archive = redis_archive(token, url=f"redis://127.0.0.1:{proxy.port}/0", cached=False)
    archive["a"] = 1
    proxy.cut()
    with pytest.raises(ArchiveUnavailableError) as info:
        archive["a"]
    assert "\n" not in str(info.value)
    with pytest.raises(ArchiveUnavailableError):
        list(archive.items())


def test_a_value_not_written_by_the_archive_is_corrupt(
    space: tuple[str, str], client: redis.Redis
) -> None:
    url, token = space
    archive = redis_archive(token, url=url, cached=False)
    archive["good"] = 1
    client.set(archive._entry("bad"), b"hello")
    with pytest.raises(CorruptEntryError) as info:
        archive["bad"]
    assert info.value.key == "bad"
    assert archive["good"] == 1
    assert len(archive.verify()) == 1
