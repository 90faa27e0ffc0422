"""sql_archive: the conformance suite on SQLite, PostgreSQL and MariaDB, klepto's edges 27 and 36.

On a server each archive gets a database of its own (created by the archive,
as klepto does for a missing database, and dropped afterwards), since a
sql_archive is a whole database. klepto 0.2.8 itself, when installed, writes a
one-table-per-key database in a subprocess to prove it stays readable.
"""

from __future__ import annotations

import contextlib
import pickle
import subprocess
import sys
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import dill
import pytest
import sqlalchemy as sa
from klepto_archive_sql import DEFAULT_TABLE
from klepto_archive_sqltable._db import normalize_url

from klepto_core import lru_cache, open_archive
from klepto_core.archives import sql_archive
from klepto_core.base.archive import Archive
from klepto_core.errors import ArchiveUnavailableError, CorruptEntryError
from klepto_core.testing.archive import ArchiveConformance
from tests.helpers import sql as helpers
from tests.services import mariadb_url, postgres_url

SERVERS: dict[str, Callable[[], str]] = {"postgresql": postgres_url, "mariadb": mariadb_url}


# -- the conformance suite, once per backend ---------------------------------------------------


class _SqlSuite(ArchiveConformance):
    def corrupt(self, archive: Archive, key: Hashable) -> None:
        helpers.set_raw_value(archive, str(key), b"\x80\x04not a pickle")

    def add_foreign(self, archive: Archive) -> Callable[[], bool]:
        return helpers.add_foreign_table(archive.name)[1]


class TestSqlArchiveSQLiteFileConformance(_SqlSuite):
    def make_archive(self, tmp_path: Path) -> Archive:
        return sql_archive(f"sqlite:///{tmp_path / 'memo.db'}", cached=False)  # type: ignore[no-any-return]


class TestSqlArchiveSQLiteMemoryConformance(_SqlSuite):
    persistent = False

    def make_archive(self, tmp_path: Path) -> Archive:
        return sql_archive(cached=False)  # type: ignore[no-any-return]

    def add_foreign(self, archive: Archive) -> Callable[[], bool]:
        return helpers.add_foreign_table(archive._db.engine)[1]  # type: ignore[attr-defined]


class _ServerSuite(_SqlSuite):
    """Every archive in a database of its own, dropped after the test."""

    server = ""

    @pytest.fixture(autouse=True)
    def _cleanup(self) -> Any:
        with contextlib.ExitStack() as self._databases:
            yield

    def make_archive(self, tmp_path: Path) -> Archive:
        url = self._databases.enter_context(helpers.new_database(SERVERS[self.server](), "kc_sql"))
        return sql_archive(url, cached=False)  # type: ignore[no-any-return]


class TestSqlArchivePostgresConformance(_ServerSuite):
    server = "postgresql"


class TestSqlArchiveMariaDBConformance(_ServerSuite):
    server = "mariadb"


# -- a database per test, on every backend ---------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'memo.db'}"
        return
    with helpers.new_database(SERVERS[request.param](), "kc_sql") as url:
        helpers.create_database(url)
        yield url


def write_klepto_layout(db_url: str, entries: dict[str, Any]) -> None:
    """klepto's sql_archive layout: a table per key, its value in the row keyed 'Kkeyqwg907'."""
    meta = sa.MetaData()
    with helpers.engine_for(db_url) as engine, engine.begin() as conn:
        for key, value in entries.items():
            t = sa.Table(
                key,
                meta,
                sa.Column("Kkeyqwg907", sa.String(255), primary_key=True),
                sa.Column("Kvalmol142", sa.LargeBinary),
            )
            t.create(conn)
            conn.execute(
                t.insert().values(Kkeyqwg907="Kkeyqwg907", Kvalmol142=dill.dumps(value, protocol=4))
            )


# -- edge 27: one table, any key, foreign tables ignored ------------------------------------------


def test_entries_live_in_one_table_whatever_the_keys(db_url: str) -> None:
    archive = sql_archive(db_url, cached=False)
    keys: list[Hashable] = ["a", 7, "7", (1, 2), None, "x" * 400]
    archive.update({k: i for i, k in enumerate(keys)})
    assert helpers.table_names(db_url) == [DEFAULT_TABLE]
    assert {k: archive[k] for k in keys} == {k: i for i, k in enumerate(keys)}
    assert set(archive.keys()) == set(keys) and len(archive) == len(keys)


def test_foreign_tables_are_neither_keys_nor_cleared(db_url: str) -> None:
    archive = sql_archive(db_url, cached=False)
    name, still_there = helpers.add_foreign_table(db_url)
    archive["a"] = 1
    assert list(archive) == ["a"] and name not in archive
    archive.clear()
    assert still_there() and len(archive) == 0
    archive["b"] = 2
    archive.__drop__()  # drops this archive's table, keeps the foreign one and the database
    assert still_there()
    assert helpers.table_names(db_url) == [name]
    helpers.drop_tables(db_url, [name])


def test_evicted_entries_load_back_through_a_cache() -> None:
    archive = sql_archive()  # cached: klepto's default
    calls = []

    @lru_cache(maxsize=2, cache=archive)
    def f(x: int) -> int:
        calls.append(x)
        return x * 10

    for x in (1, 2, 3, 4, 1):
        assert f(x) == x * 10
    info = f.info()
    assert info.load == 1 and calls == [1, 2, 3, 4]
    assert len(archive.archive.keys()) >= 2


def test_the_entries_table_can_be_chosen(db_url: str) -> None:
    archive = sql_archive(db_url, cached=False, table="mine")
    archive["a"] = 1
    assert helpers.table_names(db_url) == ["mine"]
    assert archive.state["table"] == "mine"
    again = pickle.loads(pickle.dumps(archive))
    assert again["a"] == 1 and again.state == archive.state


def test_str_keys_in_the_entries_table_use_klepto_sqltable_layout(db_url: str) -> None:
    archive = sql_archive(db_url, cached=False)
    archive["a"] = [1]
    assert helpers.raw_rows(archive)["a"] == (dill.dumps([1], protocol=4), None)


# -- klepto's one-table-per-key databases -----------------------------------------------------------


def test_one_table_per_key_databases_are_read_and_migrated(db_url: str) -> None:
    write_klepto_layout(db_url, {"a": 1, "b": [1, 2, "x"], "7": "seven"})
    foreign, still_there = helpers.add_foreign_table(db_url)
    archive = sql_archive(db_url, cached=False)
    assert archive.__asdict__() == {"a": 1, "b": [1, 2, "x"], "7": "seven"}
    assert len(archive) == 3 and "b" in archive and foreign not in archive
    archive["a"] = "new"  # a rewrite moves the entry into the entries table
    assert archive["a"] == "new" and len(archive) == 3
    assert "a" not in helpers.table_names(db_url)
    del archive["b"]
    assert "b" not in archive and "b" not in helpers.table_names(db_url)
    archive.clear()
    assert len(archive) == 0 and still_there()
    assert sorted(helpers.table_names(db_url)) == sorted([DEFAULT_TABLE, foreign])
    helpers.drop_tables(db_url, [foreign])


def test_a_klepto_table_without_its_row_is_reported_corrupt(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    write_klepto_layout(url, {"a": 1})
    with helpers.engine_for(url) as engine, engine.begin() as conn:
        conn.exec_driver_sql('DELETE FROM "a"')
    archive = sql_archive(url, cached=False)
    with pytest.raises(CorruptEntryError) as info:
        archive["a"]
    assert info.value.key == "a" and "sql_archive" in str(info.value)


def test_reads_a_database_written_by_klepto(tmp_path: Path) -> None:
    helpers.run_klepto(
        """
        from klepto.archives import sql_archive
        s = sql_archive('sqlite:///k.db', cached=False)
        s['a'] = 1
        s['b'] = [1, 2, 'x']
        s['f'] = min
        s['7'] = 'seven'
        """,
        tmp_path,
    )
    archive = sql_archive(f"sqlite:///{tmp_path / 'k.db'}", cached=False)
    assert archive.__asdict__() == {"a": 1, "b": [1, 2, "x"], "f": min, "7": "seven"}
    assert sorted(archive) == ["7", "a", "b", "f"]


# -- names, defaults, drop ------------------------------------------------------------------------


def test_names_and_state_match_klepto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memory = sql_archive(cached=False)
    assert memory.name == "sqlite:///:memory:"
    assert memory.state == {"serialized": True, "id": "sqlite:///:memory:", "protocol": 4}
    assert sql_archive("sqlite:///", cached=False).name == "sqlite:///:memory:"
    monkeypatch.chdir(tmp_path)
    bare = sql_archive("foo", {"k": 1}, cached=False)
    assert bare.name == "sqlite:///foo" and (tmp_path / "foo").exists()
    assert repr(bare) == "sql_archive('sqlite:///foo', {'k': 1}, cached=False)"


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("postgresql://u@h:5432", "postgresql://u@h:5432/defaultdb"),
        ("postgresql://u@h:5432/", "postgresql://u@h:5432/defaultdb"),
        ("mysql+pymysql://root@h", "mysql+pymysql://root@h/defaultdb"),
        ("postgresql://u@h/mydb", "postgresql://u@h/mydb"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_server_urls_without_a_database_get_kleptos_default(given: str, url: str) -> None:
    assert normalize_url(given) == url


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_a_missing_database_is_created_and_drop_removes_it(server: str) -> None:
    """klepto's test_new: open a database that does not exist, then __drop__ it."""
    with helpers.new_database(SERVERS[server](), "kc_new") as url:
        archive = sql_archive(url, cached=False)
        archive["a"] = 1
        assert helpers.database_exists(url)
        archive.__drop__()  # it created the database and nothing else is in it
        assert not helpers.database_exists(url)


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_drop_keeps_a_database_the_archive_did_not_create(server: str) -> None:
    with helpers.new_database(SERVERS[server](), "kc_keep") as url:
        sql_archive(url, cached=False).close()  # someone else created it
        archive = sql_archive(url, cached=False)
        archive["a"] = 1
        archive.__drop__()
        assert helpers.database_exists(url) and helpers.table_names(url) == []
        archive.__drop__(database=True)
        assert not helpers.database_exists(url)


def test_drop_deletes_a_sqlite_file_only_when_nothing_else_is_in_it(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    archive = sql_archive(f"sqlite:///{path}", cached=False)
    archive["a"] = 1
    archive.__drop__()
    assert not path.exists()
    archive = sql_archive(f"sqlite:///{path}", cached=False)
    _, still_there = helpers.add_foreign_table(f"sqlite:///{path}")
    archive.__drop__()
    assert path.exists() and still_there()
    archive.__drop__(database=False)
    assert path.exists()


def test_engine_options_reach_the_engine_and_the_state(tmp_path: Path) -> None:
    archive = sql_archive(
        f"sqlite:///{tmp_path / 'e.db'}", cached=False, pool_pre_ping=True, echo=False
    )
    assert archive._db.engine.pool._pre_ping is True
    assert archive.state["pool_pre_ping"] is True


def test_open_archive_with_the_sql_scheme(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    archive = open_archive(f"sql:{url}")
    archive["a"] = 1
    assert isinstance(archive, sql_archive) and archive.name == url


def test_local_paths_name_the_sqlite_file_and_its_companions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = helpers.check_sqlite_local_paths(sql_archive, tmp_path / "p.db", ["?timeout=5"])
    monkeypatch.chdir(tmp_path)  # a bare name is a SQLite file in the working directory
    assert sql_archive.__backend__.local_paths("p.db") == expected


@pytest.mark.parametrize(
    "name",
    [None, "sqlite:///:memory:", "sqlite://", "postgresql://postgres@127.0.0.1:5432/test"]
    + ["mysql+pymysql://root@127.0.0.1:3306/test", "postgresql://h/", "bad://x"],
)
def test_local_paths_are_empty_in_memory_and_on_servers(name: str | None) -> None:
    assert sql_archive.__backend__.local_paths(name) == []


def test_unreachable_servers_raise_one_line_errors() -> None:
    with pytest.raises(ArchiveUnavailableError) as info:
        sql_archive("postgresql+psycopg2://postgres@127.0.0.1:1/test", cached=False)
    assert "\n" not in str(info.value) and info.value.__cause__ is None


def test_importing_the_plugin_does_not_import_sqlalchemy() -> None:
    code = "import sys, klepto_archive_sql; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
