"""A server that accepts connections and never answers ends in ArchiveUnavailableError, soon.

The listening socket below never calls ``accept()``: the kernel completes each
TCP handshake and then nothing is ever sent, which is what a hung database or
a black-holing proxy looks like to a client.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

import klepto_core
from klepto_core.archives import sql_archive, sqltable_archive
from klepto_core.errors import ArchiveUnavailableError, InvalidArgumentError


@pytest.fixture
def silent_port() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


SERVER_URLS = {
    "postgresql": "postgresql://postgres@127.0.0.1:{port}/test",
    "mariadb": "mysql://root@127.0.0.1:{port}/test",
}


@pytest.mark.parametrize("factory", [sql_archive, sqltable_archive], ids=["sql", "sqltable"])
@pytest.mark.parametrize("server", sorted(SERVER_URLS))
def test_a_silent_database_server_is_unavailable_within_the_connect_timeout(
    silent_port: int, server: str, factory: object
) -> None:
    url = SERVER_URLS[server].format(port=silent_port)
    start = time.monotonic()
    with pytest.raises(ArchiveUnavailableError, match=f"127.0.0.1:{silent_port}"):
        factory(url, cached=False, connect_timeout=1)  # type: ignore[operator]
    assert time.monotonic() - start < 15


@pytest.mark.parametrize("server", sorted(SERVER_URLS))
def test_cached_over_a_silent_server_fails_at_decoration_not_forever(
    silent_port: int, server: str
) -> None:
    url = SERVER_URLS[server].format(port=silent_port)
    start = time.monotonic()
    with pytest.raises(ArchiveUnavailableError, match=f"127.0.0.1:{silent_port}"):

        @klepto_core.cached(archive="sql", name=url, connect_timeout=1)
        def f(x: int) -> int:
            return x

        f(1)
    assert time.monotonic() - start < 15


def test_the_default_connect_timeout_is_a_few_seconds(silent_port: int) -> None:
    start = time.monotonic()
    with pytest.raises(ArchiveUnavailableError):
        sql_archive(SERVER_URLS["mariadb"].format(port=silent_port), cached=False)
    assert time.monotonic() - start < 15


def test_a_silent_redis_server_is_unavailable(silent_port: int) -> None:
    pytest.importorskip("redis")
    from klepto_core.archives import redis_archive

    start = time.monotonic()
    with pytest.raises(ArchiveUnavailableError, match=str(silent_port)):
        archive = redis_archive(f"redis://127.0.0.1:{silent_port}/0?archive=t", cached=False)
        archive["k"] = 1
    assert time.monotonic() - start < 15


@pytest.mark.parametrize("option", ["connect_timeout", "timeout"])
@pytest.mark.parametrize("value", [0, -1, "5", True])
def test_timeouts_are_checked(tmp_path: object, option: str, value: object) -> None:
    with pytest.raises(InvalidArgumentError, match=option):
        sql_archive(f"sqlite:///{tmp_path}/db.sqlite", cached=False, **{option: value})


def test_sqlite_timeout_is_the_lock_wait(tmp_path: object) -> None:
    archive = sql_archive(f"sqlite:///{tmp_path}/db.sqlite", cached=False, timeout=0.5)
    archive["k"] = 1
    assert archive["k"] == 1
