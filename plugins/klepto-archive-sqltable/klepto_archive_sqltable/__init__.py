"""klepto's ``sqltable_archive``: entries in one table (default ``memo``) of any SQL database.

The table keeps klepto's layout (``Kkey`` text primary key, ``Kval`` dill
pickle), so klepto and klepto_core read each other's str-keyed entries; tables
created here also accept any key (see :mod:`klepto_archive_sqltable._table`).
SQLAlchemy is imported when an archive is constructed, never at plugin import.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from klepto_core.errors import ArchiveURLError
from klepto_core.plugin import (
    Archive,
    PluginSpec,
    Serializer,
    archive_factory,
    get_serializer,
    hookimpl,
)

if TYPE_CHECKING:
    from klepto_archive_sqltable._db import Database
    from klepto_archive_sqltable._table import EntryTable

#: klepto pickles with ``dill.DEFAULT_PROTOCOL``
DEFAULT_PROTOCOL = 4
DEFAULT_TABLE = "memo"
URL_SCHEMES = (
    "sqltable",
    "sqlite",
    "postgresql",
    "postgresql+psycopg2",
    "postgresql+psycopg",
    "mysql",
    "mysql+pymysql",
    "mariadb",
    "mariadb+pymysql",
)


def sqlname(name: str | None) -> tuple[str | None, str | None]:
    """klepto's ``_sqlname``: ``'<url>?table=<t>'`` -> (url, table); a bare name is a table."""
    from klepto_core.archives import _sqlname

    return _sqlname(name)


def value_serializer(serialized: bool, serializer: Any, protocol: Any) -> Serializer | None:
    """The serializer for values: None when ``serialized`` is False (values kept as text)."""
    if not serialized:
        return None
    return get_serializer(serializer, protocol)


def key_serializer(values: Serializer | None) -> Serializer:
    """Keys need an exact round trip, so a lossy value format (json) falls back to the default."""
    if values is not None and values.roundtrips_any:
        return values
    return get_serializer()


#: (take without waiting, release) of a server-side named lock, per database backend
_SERVER_LOCKS = {
    "postgresql": ("SELECT pg_try_advisory_lock(%s)", "SELECT pg_advisory_unlock(%s)"),
    "mysql": ("SELECT GET_LOCK(%s, 0)", "SELECT RELEASE_LOCK(%s)"),
    "mariadb": ("SELECT GET_LOCK(%s, 0)", "SELECT RELEASE_LOCK(%s)"),
}


class SqlTableArchive(Archive):
    """An archive over one table; each set/update commits (a batch in one transaction).

    ``name`` is parsed like klepto's (``'sqlite:///x.db?table=t'``, ``'t'``,
    ``'table=t'``); ``database``/``table`` fill what the name leaves out.
    ``serialized=False`` stores values as text, ``protocol`` picks the pickle
    protocol (a str protocol picks json), ``serializer`` any registered
    serializer; other keywords go to :func:`sqlalchemy.create_engine`.
    ``__drop__()`` drops the table, ``__drop__(database=True)`` the database.
    """

    __kind_name__: ClassVar[str] = "sqltable_archive"
    persistent: ClassVar[bool] = True
    opens_read_only: ClassVar[bool] = True

    def __init__(
        self,
        name: str | None = None,
        database: str | None = None,
        table: str | None = None,
        serialized: bool = True,
        protocol: Any = DEFAULT_PROTOCOL,
        serializer: Any = None,
        **engine_options: Any,
    ) -> None:
        from klepto_archive_sqltable._db import normalize_url

        db_name, table_name = sqlname(name)
        engine_options.pop("id", None)
        engine_options.pop("root", None)
        engine_options.update(engine_options.pop("config", None) or {})
        url = normalize_url(db_name if db_name is not None else database)
        table_name = table_name or table or DEFAULT_TABLE
        state: dict[str, Any] = {
            "serialized": bool(serialized),
            "root": url,
            "id": table_name,
            "protocol": protocol,
        }
        self._connect(
            f"{url}?table={table_name}", state, url, table_name, serializer, engine_options
        )

    def _connect(
        self,
        name: str,
        state: dict[str, Any],
        url: str,
        table_name: str,
        serializer: Any,
        engine_options: dict[str, Any],
    ) -> None:
        """Set up the archive over table ``table_name`` of database ``url`` (creating the table)."""
        from klepto_archive_sqltable._db import Database, sqlite_paths
        from klepto_archive_sqltable._table import EntryTable

        read_only = engine_options.pop("mode", "w") == "r"
        paths = sqlite_paths(url)
        if read_only and paths and not os.path.exists(paths[0]):
            raise ArchiveURLError(f"{self.__kind_name__}({name!r}): no database at {paths[0]!r}")
        serialized = bool(state["serialized"])
        values = value_serializer(serialized, serializer, state["protocol"])
        if isinstance(serializer, str):
            state["serializer"] = serializer
        state.update(engine_options)
        super().__init__(name, state, values)
        self._engine_options = engine_options
        self._db: Database = Database(url, engine_options, self._lock)
        # an in-memory database dies with the object: pickling and copy() carry the contents
        self.persistent = not self._db.memory  # type: ignore[misc]
        self._table: EntryTable = EntryTable(
            self._db, table_name, self._label(), key_serializer(values), serialized
        )
        self.read_only = read_only
        if not self._table.open(create=not read_only):
            with self._db.inspector() as inspector:
                tables = set(inspector.get_table_names())
            problem = self._missing_table(url, table_name, tables)
            if problem is not None:
                raise ArchiveURLError(problem)

    def _missing_table(self, url: str, table_name: str, tables: set[str]) -> str | None:
        """Why a read-only open found no table ``table_name`` (and what the database holds
        instead); None when the archive can be read without it."""
        message = f"{self._label()}: no table {table_name!r} in {url}"
        if "klepto_entries" in tables:
            message += f"; it holds a sql archive (table 'klepto_entries'): open 'sql:{url}'"
        elif "memo" in tables:
            message += f"; it holds a sqltable archive (table 'memo'): open '{url}?table=memo'"
        elif tables:
            message += f"; its tables: {', '.join(sorted(tables))} (name one with ?table=)"
        return message

    @classmethod
    def _options_from_state(cls, state: Mapping[str, Any]) -> dict[str, Any]:
        """Constructor keywords from klepto's ``state`` (``root``/``id`` become the name)."""
        options = {k: v for k, v in state.items() if k not in ("root", "id")}
        if state.get("root") is not None:
            options["database"] = state["root"]
        if state.get("id") is not None:
            options["table"] = state["id"]
        return options

    @classmethod
    def local_paths(cls, name: Any) -> list[str]:
        """The SQLite file ``name`` stores into, then its -wal, -journal and -shm companions.

        [] when the database is in memory (a bare table name, ``sqlite://``) or on a server.
        """
        from klepto_archive_sqltable._db import sqlite_paths

        if not isinstance(name, str):
            return []
        database, _table = sqlname(name)
        return sqlite_paths(database) if database is not None else []

    def _label(self) -> str:
        return f"{self.__kind_name__}({self._name!r})"

    def _reopen_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        state = self.__state__
        kwds = {"serialized": state["serialized"], "protocol": state["protocol"]}
        if "serializer" in state:
            kwds["serializer"] = state["serializer"]
        kwds.update(self._engine_options)
        return (self._name,), kwds

    # -- primitives ----------------------------------------------------------------------

    def _read(self, key: Hashable) -> Any:
        return self._table.read(key)

    def _write(self, key: Hashable, payload: Any) -> None:
        self._table.write_many([(key, payload)])

    def _write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        self._table.write_many(items)

    def _delete(self, key: Hashable) -> None:
        self._table.delete(key)

    def _keys(self) -> Iterable[Hashable]:
        return self._table.keys()

    def _count(self) -> int:
        return self._table.count()

    def _has(self, key: Hashable) -> bool:
        return self._table.has(key)

    def _items(self) -> Iterator[tuple[Hashable, Any]]:
        return self._table.items()

    def _clear(self) -> None:
        self._table.clear()

    def _drop(self, **kwds: Any) -> None:
        """Drop the table; ``database=True`` drops the whole database (klepto's ``__drop__``)."""
        if kwds.get("database", False):
            self._db.drop_database()
            self._table._use(None)
            return
        self._table.drop()

    def lock(self, key: Hashable, timeout: float | None = None) -> Any:
        """A lock on ``key`` for ``single_flight`` caching, shared by the processes using the table.

        PostgreSQL: a session advisory lock on a 64-bit stable hash of table and key;
        MariaDB/MySQL: a named lock (``GET_LOCK``) on the same hash; each on a
        connection of its own, so the server frees it if the process dies. A
        SQLite file: a byte-range lock on ``<file>.lock``; otherwise the default.
        """
        from klepto_core.storage import locking

        db = self._db
        queries = _SERVER_LOCKS.get(db.backend)
        if queries is None:
            path = None if db.sqlite_path is None else f"{db.sqlite_path}.lock"
            return locking.default_lock(self, key, timeout, path=path)
        take, give = queries
        number = locking.lock_id(self._name, key)
        ident: object = number  # MariaDB names locks by strings of up to 64 characters
        if db.backend != "postgresql":
            ident = f"klepto_core:{number & 0xFFFFFFFFFFFFFFFF:016x}"

        def server_lock() -> locking.PollingLock:
            conn = db.lock_connection()

            def attempt() -> bool:
                try:
                    return bool(conn.exec_driver_sql(take, (ident,)).scalar())
                except Exception as error:
                    conn.invalidate()  # the server may have granted it: never pool this session
                    raise db.unavailable(error) from None

            def release() -> None:
                try:
                    conn.exec_driver_sql(give, (ident,))
                except Exception:
                    conn.invalidate()  # never pooled again while it may still hold the lock
                finally:
                    conn.close()

            return locking.PollingLock(attempt, release, conn.close)

        return locking.KeyLock(locking.lock_scope(self), key, timeout, server_lock)

    def close(self) -> None:
        """Close pooled connections (an in-memory database would be lost, so it stays open)."""
        if not self._db.memory:
            self._db.close()


sqltable_archive = archive_factory(SqlTableArchive)

__all__ = ["DEFAULT_TABLE", "SqlTableArchive", "sqlname", "sqltable_archive"]


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the ``sqltable`` archive."""
    return PluginSpec(
        name="sqltable",
        factory=sqltable_archive,
        description="entries in one SQL table, klepto's layout (SQLite, PostgreSQL, MySQL/MariaDB)",
        url_schemes=URL_SCHEMES,
    )
