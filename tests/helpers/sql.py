"""Helpers the sql archive test suites share: unique names, raw SQL access, cleanup, klepto.

Tests run against real databases (SQLite files, PostgreSQL, MariaDB), so each
test works in its own table or database and removes it afterwards; these
helpers do that with plain SQLAlchemy, outside the archive under test.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from klepto_archive_sqltable._db import choose_driver
from sqlalchemy.engine import Engine, make_url


def unique_name(prefix: str = "kc") -> str:
    """A fresh lower-case identifier, valid as a table or database name everywhere."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def with_database(url: str, database: str | None) -> str:
    """``url`` pointing at another database of the same server."""
    parsed = make_url(url)._replace(database=database)  # URL.set() cannot clear a field
    return parsed.render_as_string(hide_password=False)


@contextlib.contextmanager
def engine_for(url: str, **options: Any) -> Iterator[Engine]:
    """A short-lived engine on ``url`` (with an installed driver), disposed afterwards."""
    engine = sa.create_engine(choose_driver(make_url(url)), **options)
    try:
        yield engine
    finally:
        engine.dispose()


def quote(engine: Engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote_identifier(name)


def table_names(url: str) -> list[str]:
    with engine_for(url) as engine:
        return list(sa.inspect(engine).get_table_names())


def drop_tables(url: str, names: list[str]) -> None:
    """Drop these tables if they exist."""
    if not names:
        return
    with engine_for(url) as engine, engine.begin() as conn:
        for name in names:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(engine, name)}")


def drop_database(url: str) -> None:
    """Drop the database ``url`` names, if it exists (server databases only)."""
    parsed = make_url(url)
    admin = with_database(url, "postgres" if parsed.get_backend_name() == "postgresql" else None)
    with engine_for(admin, isolation_level="AUTOCOMMIT") as engine, engine.connect() as conn:
        force = " WITH (FORCE)" if parsed.get_backend_name() == "postgresql" else ""
        conn.exec_driver_sql(
            f"DROP DATABASE IF EXISTS {quote(engine, parsed.database or '')}{force}"
        )


def create_database(url: str) -> None:
    """Create the (server) database ``url`` names."""
    parsed = make_url(url)
    admin = with_database(url, "postgres" if parsed.get_backend_name() == "postgresql" else None)
    with engine_for(admin, isolation_level="AUTOCOMMIT") as engine, engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {quote(engine, parsed.database or '')}")


@contextlib.contextmanager
def new_database(server_url: str, prefix: str = "kc_db") -> Iterator[str]:
    """``server_url`` pointing at a database that does not exist yet, dropped afterwards if made."""
    url = with_database(server_url, unique_name(prefix))
    try:
        yield url
    finally:
        drop_database(url)


def database_exists(url: str) -> bool:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    admin = with_database(url, "postgres" if backend == "postgresql" else None)
    with engine_for(admin) as engine, engine.connect() as conn:
        if backend == "postgresql":
            query = "SELECT 1 FROM pg_database WHERE datname = %(n)s"
        else:
            query = "SELECT 1 FROM information_schema.schemata WHERE schema_name = %(n)s"
        return conn.exec_driver_sql(query, {"n": parsed.database}).first() is not None


def add_foreign_table(where: str | Engine) -> tuple[str, Callable[[], bool]]:
    """Create a table no archive owns, holding one row; return its name and 'is it intact?'.

    ``where`` is a database URL, or the engine of an in-memory SQLite database
    (which no other engine can see).
    """

    def connected() -> contextlib.AbstractContextManager[Engine]:
        return contextlib.nullcontext(where) if isinstance(where, Engine) else engine_for(where)

    name = unique_name("foreign")
    with connected() as engine, engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE {quote(engine, name)} (id INTEGER PRIMARY KEY, note VARCHAR(20))"
        )
        conn.exec_driver_sql(f"INSERT INTO {quote(engine, name)} VALUES (1, 'mine')")

    def still_there() -> bool:
        with connected() as engine, engine.connect() as conn:
            try:
                rows = conn.exec_driver_sql(f"SELECT id, note FROM {quote(engine, name)}").all()
            except sa.exc.DBAPIError:
                return False
        return [tuple(r) for r in rows] == [(1, "mine")]

    return name, still_there


def set_raw_value(archive: Any, kkey: str, blob: bytes) -> None:
    """Overwrite the stored bytes of the row ``kkey`` of a sql/sqltable archive's table."""
    table = archive._table.table
    stmt = sa.update(table).where(table.c.Kkey == kkey).values(Kval=blob)
    with archive._db.engine.begin() as conn:
        assert conn.execute(stmt).rowcount == 1


def raw_rows(archive: Any) -> dict[str, tuple[Any, ...]]:
    """Kkey -> the rest of the row, straight from the archive's table."""
    table = archive._table.table
    with archive._db.engine.connect() as conn:
        rows = conn.execute(sa.select(table)).all()
    return {
        row[0]: tuple(bytes(v) if isinstance(v, memoryview) else v for v in row[1:]) for row in rows
    }


def run_klepto(code: str, cwd: Path) -> str:
    """Run ``code`` with klepto 0.2.8 in a subprocess, return its stdout (never imports klepto).

    Skips the test when klepto is not installed; fails it when the code fails.
    """
    if importlib.util.find_spec("klepto") is None:
        pytest.skip("klepto (the oracle) is not installed")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def check_sqlite_local_paths(factory: Any, path: Path, queries: list[str]) -> list[str]:
    """Check what ``factory``'s backend reports as local paths for the SQLite file ``path``.

    The file and its -wal, -journal and -shm companions, whatever URL query
    follows (each of ``queries``, and none), and an archive writing there makes
    no other file in ``path``'s directory. Returns the expected list.
    """
    expected = [str(path), f"{path}-wal", f"{path}-journal", f"{path}-shm"]
    for query in ["", *queries]:
        assert factory.__backend__.local_paths(f"sqlite:///{path}{query}") == expected, query
    archive = factory(f"sqlite:///{path}", cached=False)
    archive["a"] = 1
    assert {str(p) for p in path.parent.iterdir()} <= set(expected) and path.exists()
    return expected
