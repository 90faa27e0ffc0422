"""Reach the local PostgreSQL, MariaDB and Redis servers, or skip (fail under CI) when they are down.

A test that needs a server asks for its URL through these helpers. On a
developer machine without the server the test is skipped with the reason; with
``KLEPTO_CORE_REQUIRE_SERVICES=1`` (set by .ci/run) a missing server fails.
"""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES_URL = os.environ.get("KLEPTO_CORE_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("KLEPTO_CORE_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("KLEPTO_CORE_REDIS_URL", "redis://127.0.0.1:6379/0")

_PORTS = {"postgresql": 5432, "mariadb": 3306, "redis": 6379}


def services_required() -> bool:
    """True when a missing service must fail the run instead of skipping."""
    return os.environ.get("KLEPTO_CORE_REQUIRE_SERVICES", "") not in ("", "0")


def _answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require(service: str) -> None:
    """Skip (or fail under KLEPTO_CORE_REQUIRE_SERVICES=1) unless ``service`` answers."""
    port = _PORTS[service]
    if _answers(port):
        return
    reason = f"{service} is not answering on 127.0.0.1:{port}"
    if services_required():
        pytest.fail(f"{reason} and KLEPTO_CORE_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


def postgres_url() -> str:
    """The PostgreSQL test database URL, once the server answers."""
    require("postgresql")
    return POSTGRES_URL


def mariadb_url() -> str:
    """The MariaDB test database URL, once the server answers."""
    require("mariadb")
    return MARIADB_URL


def redis_url() -> str:
    """The Redis test database URL, once the server answers."""
    require("redis")
    return REDIS_URL
