"""klepto's test_alchemy checks, as pytest tests, for sql_archive and sqltable_archive.

klepto runs them on in-memory SQLite (where ``copy()`` makes an independent
database), then opens and drops a server database (``test_new``). The same
sequence runs here, plus the basic checks on every reachable server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from klepto_core.archives import sql_archive, sqltable_archive
from tests.helpers.sql import (
    database_exists,
    drop_database,
    unique_name,
    with_database,
)
from tests.services import mariadb_url, postgres_url

FACTORIES: dict[str, Callable[..., Any]] = {"sqltable": sqltable_archive, "sql": sql_archive}


def check_basic(d: Any) -> None:
    d["a"] = 1
    d["b"] = "1"
    assert d["a"] == 1
    assert d["b"] == "1"


def check_functions(d: Any) -> None:
    d["c"] = min
    squared = lambda x: x**2
    d["d"] = squared
    assert d["c"] == min
    assert d["d"](2) == squared(2)


def check_methods(d: Any) -> None:
    del d["d"]
    test = d.copy()
    assert d == test
    i = d["a"]
    assert d.get("a") == d.pop("a")
    assert d != test
    d["a"] = i
    assert "a" in d
    assert d.fromkeys("abc") == dict(a=None, b=None, c=None)
    assert set(d.keys()) == set(test.keys())
    assert set(d.items()) == set(test.items())
    assert set(d.values()) == set(test.values())
    d.setdefault(*d.popitem())
    assert d == test
    d.update({"z": 0})
    d.popkeys(["z"])
    assert d == test
    assert next(iter(d)) in d
    d.clear()
    assert d.__asdict__() == {}
    assert len(d) == 0
    d.__drop__()


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_klepto_sequence_in_memory(kind: str) -> None:
    d = FACTORIES[kind](cached=False)
    check_basic(d)
    check_functions(d)
    check_methods(d)


@pytest.mark.parametrize("kind", sorted(FACTORIES))
@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_basic_checks_on_servers(kind: str, server: str) -> None:
    base = postgres_url() if server == "postgresql" else mariadb_url()
    url = with_database(base, unique_name("kc_alc"))
    name = f"{url}?table=memo" if kind == "sqltable" else url
    try:
        d = FACTORIES[kind](name, cached=False)
        check_basic(d)
        check_functions(d)
        assert d.__asdict__().keys() == {"a", "b", "c", "d"}
    finally:
        drop_database(url)


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_new_database_is_created_then_dropped(server: str) -> None:
    base = postgres_url() if server == "postgresql" else mariadb_url()
    url = with_database(base, unique_name("kc_new"))
    try:
        z = sql_archive(url, cached=False)
        assert database_exists(url)
        z.__drop__()
        assert not database_exists(url)
    finally:
        drop_database(url)
