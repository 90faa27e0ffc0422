"""sqltable_archive: the conformance suite on SQLite, PostgreSQL and MariaDB, plus klepto's layout.

Server tests use the local PostgreSQL/MariaDB (skipped with a reason when they
do not answer, failed under KLEPTO_CORE_REQUIRE_SERVICES=1); each test works in
tables of its own and drops them afterwards. klepto 0.2.8 itself, when
installed, writes and reads tables in a subprocess to prove the layouts agree.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import dill
import pytest
import sqlalchemy as sa
from klepto_archive_sqltable import SqlTableArchive

from klepto_core import archive as open_by_kind
from klepto_core import open_archive
from klepto_core.archives import _sqlname, cache, sqltable_archive
from klepto_core.base.archive import Archive
from klepto_core.errors import (
    ArchiveError,
    ArchiveUnavailableError,
    CorruptEntryError,
    FormatError,
    SerializationError,
)
from klepto_core.testing.archive import ArchiveConformance
from tests.helpers.sql import (
    add_foreign_table,
    check_sqlite_local_paths,
    database_exists,
    drop_tables,
    engine_for,
    new_database,
    raw_rows,
    run_klepto,
    set_raw_value,
    table_names,
    unique_name,
)
from tests.services import mariadb_url, postgres_url

SERVERS: dict[str, Callable[[], str]] = {"postgresql": postgres_url, "mariadb": mariadb_url}


# -- the conformance suite, once per backend ---------------------------------------------------


class _SqlTableSuite(ArchiveConformance):
    """Each archive gets a table of its own; tables (and foreign ones) are dropped afterwards."""

    def database_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _cleanup(self) -> Any:
        self._made: list[tuple[str, str]] = []
        yield
        by_url: dict[str, list[str]] = {}
        for url, table in self._made:
            by_url.setdefault(url, []).append(table)
        for url, tables in by_url.items():
            drop_tables(url, tables)

    def make_archive(self, tmp_path: Path) -> Archive:
        url = self.database_url(tmp_path)
        table = unique_name("memo")
        self._made.append((url, table))
        return sqltable_archive(f"{url}?table={table}", cached=False)  # type: ignore[no-any-return]

    def location(self, archive: Archive) -> Any:
        name = archive.name
        self._made.append((archive.state["root"], archive.state["id"]))
        return name

    def corrupt(self, archive: Archive, key: Hashable) -> None:
        set_raw_value(archive, str(key), b"\x80\x04not a pickle")

    def add_foreign(self, archive: Archive) -> Callable[[], bool]:
        url = archive.state["root"]
        name, still_there = add_foreign_table(url)
        self._made.append((url, name))
        return still_there


class TestSqlTableArchiveSQLiteFileConformance(_SqlTableSuite):
    def database_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'memo.db'}"


class TestSqlTableArchiveSQLiteMemoryConformance(_SqlTableSuite):
    persistent = False

    def database_url(self, tmp_path: Path) -> str:
        return "sqlite:///:memory:"

    def add_foreign(self, archive: Archive) -> Callable[[], bool]:
        return add_foreign_table(archive._db.engine)[1]  # type: ignore[attr-defined]


class TestSqlTableArchivePostgresConformance(_SqlTableSuite):
    def database_url(self, tmp_path: Path) -> str:
        return postgres_url()


class TestSqlTableArchiveMariaDBConformance(_SqlTableSuite):
    def database_url(self, tmp_path: Path) -> str:
        return mariadb_url()


# -- one fixture for the backend-specific tests below ------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'memo.db'}"
    return SERVERS[request.param]()


@pytest.fixture
def tables(db_url: str) -> Any:
    """Fresh table names in ``db_url``, dropped after the test."""
    made: list[str] = []

    def new(prefix: str = "memo") -> str:
        made.append(unique_name(prefix))
        return made[-1]

    yield new
    drop_tables(db_url, made)


def open_table(db_url: str, table: str, **kwds: Any) -> SqlTableArchive:
    return sqltable_archive(f"{db_url}?table={table}", cached=False, **kwds)  # type: ignore[no-any-return]


def make_klepto_layout_table(db_url: str, table: str, rows: dict[str, Any]) -> None:
    """A table exactly as klepto creates it (no extra column), holding dill-pickled ``rows``."""
    meta = sa.MetaData()
    t = sa.Table(
        table,
        meta,
        sa.Column("Kkey", sa.String(255), primary_key=True),
        sa.Column("Kval", sa.LargeBinary),
    )
    with engine_for(db_url) as engine, engine.begin() as conn:
        meta.create_all(conn)
        for key, value in rows.items():
            conn.execute(t.insert().values(Kkey=key, Kval=dill.dumps(value, protocol=4)))


# -- klepto's layout -------------------------------------------------------------------------------


def test_str_keys_are_stored_the_way_klepto_stores_them(db_url: str, tables: Any) -> None:
    archive = open_table(db_url, tables())
    archive["a"] = 1
    archive["f"] = min
    rows = raw_rows(archive)
    assert rows["a"] == (dill.dumps(1, protocol=4), None)
    assert rows["f"] == (dill.dumps(min, protocol=4), None)


def test_any_key_is_accepted_and_comes_back_with_its_type(db_url: str, tables: Any) -> None:
    archive = open_table(db_url, tables())
    keys: list[Hashable] = [
        7,
        "7",
        (1, 2),
        None,
        b"\x00",
        2.5,
        "x" * 300,
        "~klepto~lookalike",
        "a\x00b",
    ]
    for i, key in enumerate(keys):
        archive[key] = i
    assert len(archive) == len(keys)
    assert {k: archive[k] for k in keys} == {k: i for i, k in enumerate(keys)}
    assert set(archive) == set(keys)
    rows = raw_rows(archive)
    assert rows["7"][1] is None  # the str key keeps klepto's layout
    digested = [k for k in rows if k.startswith("~klepto~")]
    assert len(digested) == len(keys) - 1  # every other key is digested, with its pickle beside it
    assert all(rows[k][1] for k in digested)


def test_keys_differing_in_case_or_trailing_space_stay_distinct(db_url: str, tables: Any) -> None:
    archive = open_table(db_url, tables())
    archive.update({"a": 1, "A": 2, "a ": 3})
    assert archive.__asdict__() == {"a": 1, "A": 2, "a ": 3}


def test_a_klepto_table_is_read_and_never_altered(db_url: str, tables: Any) -> None:
    name = tables()
    make_klepto_layout_table(db_url, name, {"a": 1, "7": "seven", "f": min})
    archive = open_table(db_url, name)
    assert archive.__asdict__() == {"a": 1, "7": "seven", "f": min}
    archive[8] = "eight"  # klepto stores numbers as their text
    assert archive["8"] == "eight" and archive[8] == "eight"
    with pytest.raises(SerializationError, match="str keys"):
        archive[(1, 2)] = 3
    assert (1, 2) not in archive
    with engine_for(db_url) as engine:
        columns = [c["name"] for c in sa.inspect(engine).get_columns(name)]
    assert columns == ["Kkey", "Kval"]


def test_a_table_that_is_not_a_klepto_table_is_refused(db_url: str, tables: Any) -> None:
    name = tables()
    with engine_for(db_url) as engine, engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY)")
    with pytest.raises(FormatError, match="not a klepto table"):
        open_table(db_url, name)


def test_a_failing_batch_writes_nothing(db_url: str, tables: Any) -> None:
    name = tables()
    if db_url.startswith("sqlite"):
        archive = open_table(db_url, name)
        with archive._db.engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE TRIGGER boom BEFORE INSERT ON {name} WHEN NEW.Kkey = 'boom' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        bad_key = "boom"
    else:  # a klepto-layout table has a 255-character key column the server enforces
        make_klepto_layout_table(db_url, name, {})
        archive = open_table(db_url, name)
        bad_key = "x" * 300
    archive["kept"] = 0
    with pytest.raises(Exception):
        archive.update({"a": 1, "b": 2, bad_key: 3, "z": 4})
    assert archive.__asdict__() == {"kept": 0}


def test_unserializable_key_raises_before_writing(db_url: str, tables: Any) -> None:
    archive = open_table(db_url, tables())

    class Local:  # pickle cannot find a class defined in a function
        pass

    with pytest.raises(SerializationError):
        archive.update({"a": 1, Local(): 2})
    assert len(archive) == 0


def test_a_corrupt_stored_key_is_reported_with_the_archive(db_url: str, tables: Any) -> None:
    archive = open_table(db_url, tables())
    archive[(1, 2)] = 3
    archive["fine"] = 1
    (digest,) = [k for k in raw_rows(archive) if k.startswith("~klepto~")]
    table = archive._table.table
    with archive._db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.Kkey == digest).values(Kkeyobj=b"junk"))
    with pytest.raises(CorruptEntryError) as info:
        list(archive)
    assert info.value.key == digest and "sqltable_archive" in str(info.value)
    assert archive["fine"] == 1


def test_drop_removes_the_table_and_a_later_write_recreates_it(db_url: str, tables: Any) -> None:
    name = tables()
    archive = open_table(db_url, name)
    archive["a"] = 1
    archive.__drop__()
    assert name not in table_names(db_url)
    assert len(archive) == 0 and "a" not in archive
    archive["b"] = 2
    assert name in table_names(db_url)
    assert archive.__asdict__() == {"b": 2}


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_drop_database_removes_a_server_database(server: str) -> None:
    with new_database(SERVERS[server]()) as url:
        archive = sqltable_archive(f"{url}?table=memo", cached=False)  # created on demand
        archive["a"] = 1
        assert database_exists(url)
        archive.__drop__(database=True)
        assert not database_exists(url)


def test_drop_database_deletes_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    archive = sqltable_archive(f"sqlite:///{path}", cached=False)
    archive["a"] = 1
    assert path.exists()
    archive.__drop__(database=True)
    assert not path.exists()


# -- SQLite settings -----------------------------------------------------------------------------


def test_sqlite_files_use_wal_and_synchronous_normal(tmp_path: Path) -> None:
    archive = sqltable_archive(f"sqlite:///{tmp_path / 'w.db'}", cached=False)
    archive["a"] = 1
    with archive._db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    assert (tmp_path / "w.db-wal").exists()


def test_in_memory_database_is_shared_by_threads() -> None:
    import threading

    archive = sqltable_archive(cached=False)
    threads = [
        threading.Thread(target=lambda n=n: archive.update({f"t{n}-{i}": i for i in range(50)}))
        for n in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(archive) == 200


# -- SQLite entries on raw sqlite3 connections -------------------------------------------------


def _outside(path: Path) -> sqlite3.Connection:
    """A connection of another program to the archive's file (autocommit, waits on locks)."""
    return sqlite3.connect(path, isolation_level=None, timeout=60, check_same_thread=False)


def test_threads_share_a_sqlite_file_archive(tmp_path: Path) -> None:
    archive = sqltable_archive(f"sqlite:///{tmp_path / 't.db'}", cached=False)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(100):
                archive[f"{n}-{i}"] = i
                assert archive[f"{n}-{i}"] == i
            archive.update({f"{n}-batch-{i}": i for i in range(20)})
            del archive[f"{n}-0"]
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(archive) == 4 * 119
    assert archive["3-99"] == 99 and "2-0" not in archive


def test_close_releases_the_file_while_other_threads_live(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    archive = sqltable_archive(f"sqlite:///{path}", cached=False)
    done, release = threading.Event(), threading.Event()

    def reader() -> None:  # reads once, then stays alive holding its connection
        assert archive.get("a") is None
        done.set()
        release.wait(30)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert done.wait(30)
        archive["a"] = 1
        archive.close()
        # SQLite removes the WAL when the last connection to the file closes
        assert not (tmp_path / "c.db-wal").exists()
        assert archive["a"] == 1  # and the archive reopens after close()
    finally:
        release.set()
        thread.join()


def _rewritten_by_another_writer(path: Path) -> tuple[Any, sqlite3.Connection]:
    """An archive holding a=1 in ``path``, and another program's open transaction setting a=2."""
    archive = sqltable_archive(f"sqlite:///{path}", cached=False)
    archive["a"] = 1
    other = _outside(path)
    other.execute("BEGIN IMMEDIATE")
    other.execute('UPDATE memo SET "Kval" = ? WHERE "Kkey" = ?', (dill.dumps(2), "a"))
    return archive, other


def test_a_read_sees_committed_rows_only_and_never_waits_for_a_writer(tmp_path: Path) -> None:
    archive, other = _rewritten_by_another_writer(tmp_path / "r.db")
    try:
        assert archive["a"] == 1 and len(archive) == 1
        other.execute("COMMIT")
        assert archive["a"] == 2
    finally:
        other.close()


def test_a_write_waits_for_another_writer_and_then_commits(tmp_path: Path) -> None:
    archive, other = _rewritten_by_another_writer(tmp_path / "w.db")
    timer = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    timer.start()
    try:
        archive.update({"b": 3, "c": 4})  # waits for the lock instead of failing
    finally:
        timer.join()
        other.close()
    assert archive.__asdict__() == {"a": 2, "b": 3, "c": 4}


def test_a_batch_sqlite_refuses_midway_rolls_back_and_says_why(tmp_path: Path) -> None:
    archive = sqltable_archive(f"sqlite:///{tmp_path / 'b.db'}", cached=False)
    archive["kept"] = 0
    with archive._db.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER boom BEFORE INSERT ON memo WHEN NEW.Kkey = 'boom' "
            "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
        )
    with pytest.raises(ArchiveError, match="refused by trigger"):
        archive.update({"a": 1, "boom": 2, "z": 3})
    assert archive.__asdict__() == {"kept": 0}
    archive["after"] = 1  # no transaction was left open
    assert archive.__asdict__() == {"kept": 0, "after": 1}


def test_a_malformed_sqlite_file_raises_format_error(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    archive = sqltable_archive(f"sqlite:///{path}", cached=False)
    archive.update({f"k{i}": "v" * 200 for i in range(300)})
    archive.close()
    data = bytearray(path.read_bytes())
    for page in range(2 * 4096, len(data), 4096):  # the schema page stays readable
        data[page : page + 100] = b"\xff" * 100
    path.write_bytes(bytes(data))
    damaged = sqltable_archive(f"sqlite:///{path}", cached=False)
    for action in (lambda: damaged["k5"], lambda: len(damaged), damaged.__asdict__):
        with pytest.raises(FormatError, match="is damaged: database disk image is malformed"):
            action()


def test_stored_text_that_is_not_utf8_is_a_corrupt_entry(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    archive = sqltable_archive(f"sqlite:///{path}", cached=False, serialized=False)
    archive.update({"a": "x", "b": "y"})
    other = _outside(path)
    other.execute("""UPDATE memo SET "Kval" = CAST(x'80ff' AS TEXT) WHERE "Kkey" = 'a'""")
    other.close()
    with pytest.raises(CorruptEntryError) as info:
        archive["a"]
    assert info.value.key == "a" and "sqltable_archive" in str(info.value)
    assert archive["b"] == "y"
    assert [error.key for error in archive.verify()] == ["a"]


# -- local paths (what the command line checks and sizes) ----------------------------------------


def test_local_paths_name_the_sqlite_file_and_its_companions(tmp_path: Path) -> None:
    check_sqlite_local_paths(sqltable_archive, tmp_path / "p.db", ["?table=t"])


@pytest.mark.parametrize(
    "name",
    [None, "memo", "table=memo", "sqlite:///:memory:?table=t", "sqlite://", "bad://x"]
    + ["postgresql://postgres@127.0.0.1:5432/test?table=t", "mysql+pymysql://root@h/test"],
)
def test_local_paths_are_empty_in_memory_and_on_servers(name: str | None) -> None:
    assert sqltable_archive.__backend__.local_paths(name) == []


# -- names, state and repr (klepto §3.2) --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, (None, None)),
        ("memo", (None, "memo")),
        ("table=abc", (None, "abc")),
        ("?table=abc", (None, "abc")),
        ("sqlite:///x.db", ("sqlite:///x.db", None)),
        ("sqlite:///x.db?table=t", ("sqlite:///x.db", "t")),
        ("foo.db", (None, "foo.db")),
    ],
)
def test_sqlname_splits_like_klepto(name: str | None, expected: tuple[Any, Any]) -> None:
    assert _sqlname(name) == expected


@pytest.mark.parametrize(
    ("name", "full"),
    [
        (None, "sqlite:///:memory:?table=memo"),
        ("memo", "sqlite:///:memory:?table=memo"),
        ("table=abc", "sqlite:///:memory:?table=abc"),
        ("?table=abc", "sqlite:///:memory:?table=abc"),
        ("foo.db", "sqlite:///:memory:?table=foo.db"),
        ("sqlite:///", "sqlite:///:memory:?table=memo"),
    ],
)
def test_names_resolve_to_klepto_urls(name: str | None, full: str) -> None:
    assert sqltable_archive(name, cached=False).name == full


def test_file_names_state_and_repr_match_klepto(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    archive = sqltable_archive(f"{url}?table=t", {"k": 1}, cached=False)
    assert archive.name == f"{url}?table=t"
    assert archive.state == {"serialized": True, "root": url, "id": "t", "protocol": 4}
    assert repr(archive) == f"sqltable_archive('{url}?table=t', {{'k': 1}}, cached=False)"
    default = sqltable_archive(url, cached=False)
    assert default.state["id"] == "memo"


def test_cached_factory_and_url_opening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    wrapper = sqltable_archive(url, {"a": 1})
    assert type(wrapper) is cache and dict(wrapper) == {"a": 1}
    wrapper.dump()
    assert open_archive(url).__asdict__() == {"a": 1}
    assert open_archive(f"sqltable:{url}?table=memo")["a"] == 1
    assert open_by_kind("sqltable", f"{url}?table=memo")["a"] == 1
    assert isinstance(open_archive(url), sqltable_archive)


def test_engine_options_are_kept_in_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    archive = sqltable_archive(url, cached=False, echo=False, pool_pre_ping=True)
    assert archive.state["pool_pre_ping"] is True
    again = archive.copy()
    assert again.state == archive.state


def test_serialized_false_stores_text(db_url: str, tables: Any) -> None:
    archive = open_table(db_url, tables(), serialized=False)
    archive["a"] = "text"
    archive["b"] = 3
    assert archive.__asdict__() == {"a": "text", "b": "3"}  # klepto keeps text
    assert archive.serializer is None


def test_str_protocol_means_json(tmp_path: Path) -> None:
    archive = sqltable_archive(f"sqlite:///{tmp_path / 'j.db'}", cached=False, protocol="json")
    archive["a"] = {"x": [1, 2]}
    assert archive["a"] == {"x": [1, 2]}
    assert raw_rows(archive)["a"][0] == b'{"x": [1, 2]}' or b'"x"' in raw_rows(archive)["a"][0]


def test_other_serializers_by_name(tmp_path: Path) -> None:
    archive = sqltable_archive(f"sqlite:///{tmp_path / 'p.db'}", cached=False, serializer="pickle")
    archive[(1, 2)] = {1, 2}
    again = sqltable_archive(archive.name, cached=False, serializer="pickle")
    assert again[(1, 2)] == {1, 2}


# -- errors reaching the database -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://postgres@127.0.0.1:1/test",  # nothing listens on port 1
        "mysql+pymysql://root@127.0.0.1:1/test",
        "postgresql+pg8000://postgres@127.0.0.1/test",  # driver not installed
        "nosuchdb://host/db",
        "sqlite:////nonexistent-dir/sub/x.db",
    ],
)
def test_unreachable_databases_raise_one_line_errors(url: str) -> None:
    if "pg8000" in url and importlib.util.find_spec("pg8000") is not None:
        pytest.skip("pg8000 is installed")
    with pytest.raises(ArchiveUnavailableError) as info:
        sqltable_archive(url, cached=False)
    message = str(info.value)
    assert "\n" not in message and message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert isinstance(info.value, ConnectionError)


def test_passwords_stay_out_of_error_messages() -> None:
    with pytest.raises(ArchiveUnavailableError) as info:
        sqltable_archive("postgresql+psycopg2://user:s3cret@127.0.0.1:1/test", cached=False)
    assert "s3cret" not in str(info.value)


def test_importing_the_plugin_does_not_import_sqlalchemy() -> None:
    code = "import sys, klepto_archive_sqltable; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- many writers ------------------------------------------------------------------------------------

_BATCH_WRITER = textwrap.dedent(
    """
    import sys
    from klepto_core.archives import sqltable_archive
    name, worker = sys.argv[1], int(sys.argv[2])
    archive = sqltable_archive(name, cached=False)
    keys = [f"k{i}" for i in range(500)]
    for start in range(0, 500, 50):  # every worker writes every key, in batches
        archive.update({k: (worker, k) for k in keys[start:start + 50]})
    archive.update({f"own{worker}-{i}": i for i in range(100)})
    archive.close()
    """
)


@pytest.mark.slow
def test_overlapping_batched_upserts_from_many_processes(db_url: str, tables: Any) -> None:
    archive = open_table(db_url, tables())
    procs = [
        subprocess.Popen([sys.executable, "-c", _BATCH_WRITER, archive.name, str(w)])
        for w in range(4)
    ]
    assert [p.wait(timeout=240) for p in procs] == [0, 0, 0, 0]
    contents = archive.__asdict__()
    assert len(contents) == 500 + 4 * 100
    assert all(contents[f"k{i}"][1] == f"k{i}" for i in range(500))
    assert all(contents[f"own{w}-{i}"] == i for w in range(4) for i in range(100))


# -- klepto 0.2.8 itself ------------------------------------------------------------------------------


def test_reads_a_table_written_by_klepto(tmp_path: Path) -> None:
    run_klepto(
        """
        from klepto.archives import sqltable_archive
        t = sqltable_archive('sqlite:///k.db?table=memo', cached=False)
        t['a'] = 1
        t[7] = 'seven'
        t['f'] = min
        t['l'] = [1, (2, 'x')]
        """,
        tmp_path,
    )
    archive = sqltable_archive(f"sqlite:///{tmp_path / 'k.db'}?table=memo", cached=False)
    assert archive.__asdict__() == {"a": 1, "7": "seven", "f": min, "l": [1, (2, "x")]}
    archive["b"] = 2
    archive["a"] = 10
    out = run_klepto(
        """
        from klepto.archives import sqltable_archive
        t = sqltable_archive('sqlite:///k.db?table=memo', cached=False)
        print(sorted(t.__asdict__().items(), key=str))
        """,
        tmp_path,
    )
    assert out.strip() == repr(
        sorted({"a": 10, "7": "seven", "f": min, "l": [1, (2, "x")], "b": 2}.items(), key=str)
    )


def test_klepto_reads_the_str_keys_of_a_table_created_here(tmp_path: Path) -> None:
    archive = sqltable_archive(f"sqlite:///{tmp_path / 'o.db'}", cached=False)
    archive.update({"a": 1, "f": min, (1, 2): "tuple"})
    archive.close()
    out = run_klepto(
        """
        from klepto.archives import sqltable_archive
        t = sqltable_archive('sqlite:///o.db', cached=False)
        print(t['a'], t['f'].__name__)
        """,
        tmp_path,
    )
    assert out.split() == ["1", "min"]


def test_a_forked_child_opens_its_own_connections(tmp_path: Path) -> None:
    archive = sqltable_archive(f"sqlite:///{tmp_path / 'f.db'}", cached=False)
    archive["parent"] = 1
    pid = os.fork()
    if pid == 0:  # the child writes through the archive object it inherited
        try:
            archive["child"] = 2
            os._exit(0 if archive["parent"] == 1 else 1)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    archive["parent"] = 3
    assert archive.__asdict__() == {"parent": 3, "child": 2}
