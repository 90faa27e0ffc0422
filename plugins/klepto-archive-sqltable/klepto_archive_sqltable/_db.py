"""One database behind a sql archive: URL defaults, driver choice, SQLite pragmas, errors.

Imported only when a sql archive is constructed, so listing plugins never pays
for SQLAlchemy. Every failure to reach the database becomes a one-line
:class:`~klepto_core.errors.ArchiveUnavailableError`; lock conflicts between
writers are retried.

Entry reads and writes on SQLite skip SQLAlchemy's statement layer (about ten
times its per-row cost) and run on raw ``sqlite3`` connections: one per thread
for a file, taken from (and configured by) the engine's pool, and the single
shared connection of an in-memory database. Schema work stays on SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from klepto_archive_sqltable import _timeouts as timeouts
from klepto_core.errors import ArchiveError, ArchiveUnavailableError, CorruptEntryError, FormatError

MEMORY_URL = "sqlite:///:memory:"
#: klepto's database name for a server URL that names none
DEFAULT_DATABASE = "defaultdb"
#: seconds a SQLite writer waits for another process's lock before giving up
SQLITE_TIMEOUT = 60.0

# driver names SQLAlchemy knows -> the module that provides each, in order of preference
_DRIVERS: dict[str, tuple[tuple[str, str], ...]] = {
    "postgresql": (("psycopg", "psycopg"), ("psycopg2", "psycopg2"), ("pg8000", "pg8000")),
    "mysql": (
        ("mysqldb", "MySQLdb"),
        ("pymysql", "pymysql"),
        ("mysqlconnector", "mysql.connector"),
    ),
    "mariadb": (
        ("mysqldb", "MySQLdb"),
        ("pymysql", "pymysql"),
        ("mysqlconnector", "mysql.connector"),
    ),
}
_RETRIES = 8
T = TypeVar("T")


def normalize_url(database: str | None) -> str:
    """klepto's database defaults: None -> in-memory SQLite, a bare name -> a SQLite file.

    A server URL without a database name gets klepto's ``defaultdb``.
    """
    if database is None or database in ("sqlite://", "sqlite:///"):
        return MEMORY_URL
    if not isinstance(database, str):
        raise ArchiveUnavailableError(f"a database URL must be a str, got {database!r}")
    if "/" not in database:
        return f"sqlite:///{database}"
    url = parse_url(database)
    if url.get_backend_name() != "sqlite" and not url.database:
        if not url.query and database.endswith("/"):
            return database + DEFAULT_DATABASE
        if not url.query:
            return f"{database}/{DEFAULT_DATABASE}"
        return url.set(database=DEFAULT_DATABASE).render_as_string(hide_password=False)
    return database


def parse_url(text: str) -> URL:
    """``text`` as a SQLAlchemy URL; ArchiveUnavailableError when it is not one."""
    try:
        return make_url(text)
    except (exc.ArgumentError, ValueError) as error:
        raise ArchiveUnavailableError(f"{text!r} is not a database URL: {error}") from None


def safe_url(url: URL | str) -> str:
    """The URL with its password hidden, for messages."""
    if isinstance(url, str):
        try:
            parsed = make_url(url)
        except Exception:
            return url
        return parsed.render_as_string(hide_password=True)
    return url.render_as_string(hide_password=True)


def sqlite_paths(database: str | None) -> list[str]:
    """The SQLite file a database name opens, then its ``-wal``, ``-journal``, ``-shm`` files.

    ``database`` is what an archive takes (a URL, a bare file name, None); [] for
    an in-memory database, a server, or a name that is not a database URL.
    """
    try:
        url = parse_url(normalize_url(database))
    except ArchiveError:
        return []
    if url.get_backend_name() != "sqlite" or is_memory(url):
        return []
    path = str(url.database)
    if str(url.query.get("uri", "")).lower() in ("true", "1") and path.startswith("file:"):
        path = path[len("file:") :].partition("?")[0]  # sqlite3's URI form: file:PATH?mode=...
        if path in ("", ":memory:") or url.query.get("mode") == "memory":
            return []
    return sqlite_files(os.path.abspath(path))


def sqlite_files(path: str) -> list[str]:
    """A SQLite database file and the side files SQLite may keep beside it."""
    return [path, f"{path}-wal", f"{path}-journal", f"{path}-shm"]


def is_memory(url: URL) -> bool:
    """True for an in-memory SQLite database (private to one engine)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def choose_driver(url: URL) -> URL:
    """``url`` with an installed driver when it names none (SQLAlchemy's default may be missing)."""
    backend = url.get_backend_name()
    options = _DRIVERS.get(backend)
    if options is None or "+" in url.drivername:
        return url
    for driver, module in options:
        if _installed(module):
            return url.set(drivername=f"{backend}+{driver}")
    wanted = " or ".join(module for _, module in options)
    raise ArchiveUnavailableError(
        f"cannot open {safe_url(url)}: no {backend} driver is installed (install {wanted})"
    )


def first_line(error: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's background links."""
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip() or type(error).__name__
    return text.splitlines()[0]


def _error_codes(error: BaseException) -> set[Any]:
    """The SQLSTATE and vendor error numbers a driver attached to ``error``."""
    orig = getattr(error, "orig", error)
    codes = {getattr(orig, attr, None) for attr in ("sqlstate", "pgcode")}
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        codes.add(args[0])
    codes.discard(None)
    return codes


def _missing_database(error: BaseException) -> bool:
    text = first_line(error).lower()
    return bool(_error_codes(error) & {"3D000", 1049}) or (
        "database" in text and "does not exist" in text
    )


def _damaged(error: BaseException) -> bool:
    """A damaged database file: SQLite's generic DatabaseError ("malformed"), or text it stored
    that no longer decodes; not a constraint or SQL error, which stay as they are."""
    return type(error) is exc.DatabaseError or isinstance(error, UnicodeDecodeError)


def _transient(error: BaseException) -> bool:
    """A lock or deadlock conflict between writers: retrying the transaction succeeds."""
    if _error_codes(error) & {"40P01", "40001", 1213, 1205}:
        return True
    text = first_line(error).lower()
    return "database is locked" in text or "database table is locked" in text


class Database:
    """An engine for one database URL, reopened after ``fork`` and closed by :meth:`close`.

    ``engine_options`` go to :func:`sqlalchemy.create_engine`. SQLite files run in
    WAL mode with ``synchronous=NORMAL`` and start write transactions with
    ``BEGIN IMMEDIATE``; an in-memory SQLite database is one connection shared by
    all threads (its operations are serialized by ``lock``).
    """

    def __init__(
        self, url_text: str, engine_options: dict[str, Any], lock: threading.RLock
    ) -> None:
        self.text = url_text
        self.url = choose_driver(parse_url(url_text))
        self.backend = self.url.get_backend_name()
        self.memory = is_memory(self.url)
        self.sqlite_path = None if self.memory or self.backend != "sqlite" else self.url.database
        self.options = dict(engine_options)
        self.connect_args = self._bounded_waits(self.options)
        self.lock = lock if self.memory else _NullLock()
        self.created_database = False
        self._pid = os.getpid()
        #: entry statements run on raw sqlite3 connections (see the module doc)
        self.raw = self.backend == "sqlite" and self.url.get_driver_name() == "pysqlite"
        self._local = threading.local()
        self._slots: weakref.WeakSet[_Slot] = weakref.WeakSet()  # every thread's, for close()
        self._slots_lock = threading.Lock()
        self._shared: _Slot | None = None  # an in-memory database's one connection
        self._generation = 0  # bumped by close(): older raw connections are reopened
        self.engine = self._make_engine()
        self._lock_engine: Engine | None = None  # server-side locks' own connections
        self._lock_engine_made = threading.Lock()
        self._ensure_database()

    # -- engine --------------------------------------------------------------------------

    def _bounded_waits(self, options: dict[str, Any]) -> dict[str, Any]:
        """The engine's ``connect_args``: the caller's, over timeouts taken out of ``options``."""
        given = dict(options.pop("connect_args", {}))
        connect = timeouts.seconds(
            "connect_timeout", options.pop("connect_timeout", timeouts.CONNECT_TIMEOUT)
        )
        if self.backend == "sqlite":
            statement = timeouts.seconds("timeout", options.pop("timeout", SQLITE_TIMEOUT))
            return given if self.memory else {"timeout": statement, **given}
        statement = timeouts.seconds(
            "timeout", options.pop("timeout", timeouts.STATEMENT_TIMEOUT)
        )
        self.statement_timeout = statement
        return {**timeouts.server_connect_args(self._driver(), connect, statement), **given}

    def _driver(self) -> str:
        """The DB-API driver :func:`choose_driver` named ('' when the URL names none)."""
        return self.url.drivername.partition("+")[2]

    def _server(self, engine: Engine) -> Engine:
        """``engine`` with the driver's waits bounded for statements too (see _timeouts)."""
        timeouts.relax(engine, self._driver(), self.statement_timeout)
        return engine

    def _make_engine(self) -> Engine:
        options = dict(self.options)
        connect_args = dict(self.connect_args)
        try:
            if self.backend == "sqlite":
                if self.memory:
                    connect_args.setdefault("check_same_thread", False)
                    options.setdefault("poolclass", StaticPool)
                engine = sa.create_engine(self.url, connect_args=connect_args, **options)
                _sqlite_events(engine, wal=not self.memory)
                return engine
            options.setdefault("pool_pre_ping", True)
            return self._server(sa.create_engine(self.url, connect_args=connect_args, **options))
        except ArchiveError:
            raise
        except (ImportError, exc.NoSuchModuleError) as error:
            raise ArchiveUnavailableError(
                f"cannot open {safe_url(self.url)}: driver not installed ({error})"
            ) from None
        except (exc.ArgumentError, TypeError, ValueError) as error:
            raise ArchiveUnavailableError(f"cannot open {safe_url(self.url)}: {error}") from None

    def _ensure_database(self) -> None:
        """Connect once; create the database first when the server says it does not exist."""
        try:
            with self.engine.connect():
                return
        except UnicodeDecodeError as error:  # a damaged SQLite header or schema
            raise self.damaged(error) from None
        except exc.DBAPIError as error:
            if self.backend == "sqlite" or not _missing_database(error):
                raise self.unavailable(error) from None
        self._create_database()
        try:
            with self.engine.connect():
                return
        except exc.DBAPIError as error:
            raise self.unavailable(error) from None

    def lock_connection(self) -> Connection:
        """An AUTOCOMMIT connection for holding a server-side lock, outside the entries' pool.

        A lock is held while its caller computes, and the caller then reads and
        writes through the entries' pool; were both taken from that pool, enough
        concurrent holders would exhaust it. This pool grows as needed instead.
        """
        self._check_fork()
        with self._lock_engine_made:  # one engine, however many threads ask first
            engine = self._lock_engine
            if engine is None:
                engine = self._lock_engine = self._server(sa.create_engine(
                    self.url,
                    connect_args=self.connect_args,
                    isolation_level="AUTOCOMMIT",
                    pool_size=1,
                    max_overflow=-1,
                    pool_pre_ping=True,
                ))
        try:
            return engine.connect()
        except exc.DBAPIError as error:
            raise self.unavailable(error) from None

    def _server_engine(self) -> Engine:
        """An AUTOCOMMIT engine on the server's maintenance database (to create or drop ours)."""
        admin_db = "postgres" if self.backend == "postgresql" else None
        url = self.url._replace(database=admin_db)  # URL.set() cannot clear a field
        engine = sa.create_engine(url, connect_args=self.connect_args, isolation_level="AUTOCOMMIT")
        return self._server(engine)

    def _create_database(self) -> None:
        name = self.url.database or DEFAULT_DATABASE
        admin = self._server_engine()
        try:
            with admin.connect() as conn:
                quoted = admin.dialect.identifier_preparer.quote_identifier(name)
                try:
                    conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
                    self.created_database = True
                except exc.DBAPIError as error:
                    if "exist" not in first_line(error).lower():  # lost a race: fine
                        raise
        except exc.DBAPIError as error:
            raise ArchiveUnavailableError(
                f"cannot create database {name!r} at {safe_url(self.url)}: {first_line(error)}"
            ) from None
        finally:
            admin.dispose()

    def drop_database(self) -> None:
        """Remove the whole database (a SQLite file and its WAL side files)."""
        self.close()
        if self.backend == "sqlite":
            for path in sqlite_files(self.sqlite_path) if self.sqlite_path else ():
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
            return
        name = self.url.database or DEFAULT_DATABASE
        admin = self._server_engine()
        try:
            with admin.connect() as conn:
                quoted = admin.dialect.identifier_preparer.quote_identifier(name)
                force = ""
                if self.backend == "postgresql" and (admin.dialect.server_version_info or (0,)) >= (
                    13,
                ):
                    force = " WITH (FORCE)"
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}{force}")
        except exc.DBAPIError as error:
            raise ArchiveUnavailableError(
                f"cannot drop database {name!r} at {safe_url(self.url)}: {first_line(error)}"
            ) from None
        finally:
            admin.dispose()

    def close(self) -> None:
        """Close pooled and raw connections; the next operation opens new ones.

        A raw connection another thread is using at this moment is closed by that
        thread when it next needs one.
        """
        self._generation += 1
        self._shared = None
        with self._slots_lock:
            slots = list(self._slots)
        for slot in slots:
            if slot.pid == os.getpid() and slot.lock.acquire(blocking=False):
                try:
                    slot.close()
                finally:
                    slot.lock.release()
        self.engine.dispose()
        if self._lock_engine is not None:
            self._lock_engine.dispose()

    # -- running statements --------------------------------------------------------------

    def _check_fork(self) -> None:
        pid = os.getpid()
        if pid != self._pid:
            # a server or file connection inherited from the parent must not be shared; an
            # in-memory database is the child's own copy, and its only copy, so it is kept
            if not self.memory:
                self.engine.dispose(close=False)
            if self._lock_engine is not None:
                self._lock_engine.dispose(close=False)
            self._pid = pid

    def unavailable(self, error: BaseException) -> ArchiveUnavailableError:
        return ArchiveUnavailableError(f"cannot use {safe_url(self.url)}: {first_line(error)}")

    def damaged(self, error: BaseException) -> FormatError:
        return FormatError(f"{safe_url(self.url)} is damaged: {first_line(error)}")

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on a pooled connection (no write transaction)."""
        self._check_fork()
        with self.lock:
            try:
                with self.engine.connect() as conn:
                    return work(conn)
            except (exc.OperationalError, exc.InterfaceError) as error:
                raise self.unavailable(error) from None
            except (exc.DatabaseError, UnicodeDecodeError) as error:
                if _damaged(error):
                    raise self.damaged(error) from None
                raise

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one committed transaction, retried when writers collide."""
        self._check_fork()
        delay = 0.01
        with self.lock:
            for attempt in range(_RETRIES):
                try:
                    with self.engine.connect() as conn:
                        if self.backend == "sqlite":
                            conn = conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
                        with conn.begin():
                            return work(conn)
                except exc.DBAPIError as error:
                    if attempt + 1 < _RETRIES and _transient(error):
                        time.sleep(delay)
                        delay = min(delay * 2, 1.0)
                        continue
                    if isinstance(error, (exc.OperationalError, exc.InterfaceError)):
                        raise self.unavailable(error) from None
                    if _damaged(error):
                        raise self.damaged(error) from None
                    raise
                except UnicodeDecodeError as error:
                    raise self.damaged(error) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def ddl(self, work: Callable[[Connection], T]) -> T:
        """Run schema changes in their own transaction (no BEGIN IMMEDIATE needed)."""
        self._check_fork()
        with self.lock:
            try:
                with self.engine.connect() as conn:
                    if self.backend == "sqlite":
                        conn = conn.execution_options(sqlite_begin="BEGIN")
                    with conn.begin():
                        return work(conn)
            except (exc.OperationalError, exc.InterfaceError) as error:
                if _transient(error):
                    raise
                raise self.unavailable(error) from None
            except (exc.DatabaseError, UnicodeDecodeError) as error:
                if _damaged(error):
                    raise self.damaged(error) from None
                raise

    # -- raw sqlite3 (entry statements on SQLite) ---------------------------------------

    def _slot(self) -> _Slot:
        """This thread's raw connection (the shared one of an in-memory database), opened lazily."""
        slot: _Slot | None = self._shared if self.memory else getattr(self._local, "slot", None)
        if slot is None or slot.generation != self._generation or slot.pid != os.getpid():
            slot = self._new_slot(slot)
        return slot

    def _acquire(self) -> _Slot:
        """This thread's raw connection, locked against :meth:`close`; release ``slot.lock``."""
        while True:
            slot = self._slot()
            slot.lock.acquire()
            if slot.generation == self._generation:
                return slot
            slot.lock.release()  # closed by another thread's close() meanwhile: open anew

    def _new_slot(self, old: _Slot | None) -> _Slot:
        pid = os.getpid()
        if old is not None:
            if old.pid == pid:
                with old.lock:
                    old.close()
            else:
                old.close()  # inherited through fork: kept open, never used
        self._check_fork()
        try:
            fairy = self.engine.raw_connection()
        except exc.DBAPIError as error:
            raise self._raw_error(error.orig if error.orig is not None else error) from None
        conn = fairy.driver_connection
        assert isinstance(conn, sqlite3.Connection), f"pysqlite gave {type(conn).__name__}"
        if self.memory:
            fairy.close()  # back to the StaticPool, which keeps the one connection open
        else:
            fairy.detach()  # ours from now on, out of the pool's count
        slot = _Slot(conn, pid, self._generation, owned=not self.memory)
        if self.memory:
            self._shared = slot
        else:
            self._local.slot = slot
            with self._slots_lock:
                self._slots.add(slot)
        return slot

    def _raw_error(self, error: BaseException, key: object = None, label: str = "") -> Exception:
        """A klepto_core error for an sqlite3 error; ``key``/``label`` name a row being read."""
        text = first_line(error)
        if isinstance(error, sqlite3.OperationalError) and "could not decode" in text.lower():
            if label:  # the row's text is not UTF-8: that row is damaged, not the database
                return CorruptEntryError(label, key, f"its stored text is damaged: {text}")
            return self.damaged(error)
        if isinstance(error, (sqlite3.OperationalError, sqlite3.InterfaceError)):
            return self.unavailable(error)
        if type(error) is sqlite3.DatabaseError or isinstance(
            error, (sqlite3.InternalError, UnicodeDecodeError)
        ):
            return self.damaged(error)
        return ArchiveError(f"cannot use {safe_url(self.url)}: {text}")

    def raw_rows(
        self, sql: str, params: tuple[Any, ...] = (), key: object = None, label: str = ""
    ) -> Sequence[Any]:
        """Every row of one query, each SELECT its own snapshot (no transaction is left open)."""
        with self.lock:
            slot = self._acquire()
            try:
                return slot.conn.execute(sql, params).fetchall()
            except (sqlite3.Error, UnicodeDecodeError) as error:
                raise self._raw_error(error, key, label) from None
            finally:
                slot.lock.release()

    def raw_write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction, retried when writers collide."""
        delay = 0.01
        with self.lock:
            for attempt in range(_RETRIES):
                slot = self._acquire()
                conn = slot.conn
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        result = work(conn)
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            with contextlib.suppress(sqlite3.Error):
                                conn.execute("ROLLBACK")
                        raise
                    return result
                except (sqlite3.Error, UnicodeDecodeError) as error:
                    if attempt + 1 < _RETRIES and _transient(error):
                        time.sleep(delay)
                        delay = min(delay * 2, 1.0)
                        continue
                    raise self._raw_error(error) from None
                finally:
                    slot.lock.release()
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def inspector(self) -> Iterator[Any]:
        """A schema inspector on a fresh connection."""
        self._check_fork()
        with self.lock:
            try:
                with self.engine.connect() as conn:
                    yield sa.inspect(conn)
            except (exc.OperationalError, exc.InterfaceError) as error:
                raise self.unavailable(error) from None
            except (exc.DatabaseError, UnicodeDecodeError) as error:
                if _damaged(error):
                    raise self.damaged(error) from None
                raise


class _Slot:
    """A raw sqlite3 connection with the process and generation it was opened in.

    ``lock`` is held while the connection runs a statement, so :meth:`Database.close`
    in another thread closes only connections that are idle. ``owned`` is False for
    an in-memory database's connection, which its engine's pool keeps and closes.
    """

    __slots__ = ("__weakref__", "conn", "generation", "lock", "owned", "pid")

    def __init__(self, conn: sqlite3.Connection, pid: int, generation: int, owned: bool) -> None:
        self.conn = conn
        self.pid = pid
        self.generation = generation
        self.owned = owned
        self.lock = threading.Lock()

    def close(self) -> None:
        """Close the connection (in the process that opened it; an inherited one is kept)."""
        self.generation = -1
        if not self.owned:
            return
        self.owned = False
        if self.pid == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
        else:  # closing a connection inherited through fork could drop the parent's locks
            _INHERITED.append(self.conn)

    def __del__(self) -> None:
        # dropped with its thread (or replaced): close it, or keep it if it was inherited;
        # no module globals here, they may already be gone at interpreter exit
        try:
            self.close()
        except BaseException:
            pass


#: raw connections inherited through fork: kept open and never used
_INHERITED: list[sqlite3.Connection] = []


class _NullLock:
    """A no-op context manager: pooled server connections need no process-wide lock."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


def _sqlite_events(engine: Engine, wal: bool) -> None:
    """Let SQLAlchemy (not pysqlite) emit BEGIN, and turn on WAL for files.

    pysqlite's own transaction handling issues a deferred BEGIN lazily; taking
    over lets write transactions start with ``BEGIN IMMEDIATE`` so concurrent
    writers wait on the busy timeout instead of failing on a stale snapshot,
    and lets reads skip BEGIN/ROLLBACK altogether.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        if wal:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_TIMEOUT * 1000)}")
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            finally:
                cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # reads run without a transaction (each SELECT sees one consistent snapshot)
        mode = conn.get_execution_options().get("sqlite_begin")
        if mode:
            conn.exec_driver_sql(mode)
