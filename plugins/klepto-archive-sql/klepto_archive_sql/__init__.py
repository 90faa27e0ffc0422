"""klepto's ``sql_archive``: a SQL database as an archive, with entries in one table it owns.

klepto made one table per key, listed every table as a key and dropped them all
on ``clear()``. Here entries live in ``klepto_entries`` (klepto's sqltable
layout, any key), foreign tables are never listed or dropped, and a database
klepto wrote stays readable: its one-table-per-key entries appear as keys and
move into the entries table when rewritten. SQLAlchemy is imported when an
archive is constructed.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from klepto_archive_sqltable import DEFAULT_PROTOCOL, SqlTableArchive

from klepto_core.plugin import PluginSpec, archive_factory, hookimpl

if TYPE_CHECKING:
    from klepto_archive_sql._legacy import LegacyTables

#: the table holding every entry of a sql archive
DEFAULT_TABLE = "klepto_entries"


class SqlArchive(SqlTableArchive):
    """A whole database as an archive (klepto's ``sql_archive`` constructor and name).

    ``name`` is the database URL (None: in-memory SQLite; a bare name: a SQLite
    file in the working directory; a server URL without a database: klepto's
    ``defaultdb``, created when missing). ``table`` picks the entries table.
    ``__drop__()`` drops this archive's tables, and the database too when
    nothing else is left in it and this archive created it (a SQLite file: when
    it is empty); ``__drop__(database=True)`` always drops the database,
    ``database=False`` never does.
    """

    __kind_name__: ClassVar[str] = "sql_archive"

    def __init__(
        self,
        name: str | None = None,
        serialized: bool = True,
        protocol: Any = DEFAULT_PROTOCOL,
        serializer: Any = None,
        table: str | None = None,
        database: str | None = None,
        **engine_options: Any,
    ) -> None:
        from klepto_archive_sqltable._db import normalize_url

        from klepto_archive_sql._legacy import LegacyTables

        engine_options.pop("id", None)
        engine_options.update(engine_options.pop("config", None) or {})
        url = normalize_url(name if name is not None else database)
        table_name = table or DEFAULT_TABLE
        state: dict[str, Any] = {"serialized": bool(serialized), "id": url, "protocol": protocol}
        if table_name != DEFAULT_TABLE:
            state["table"] = table_name
        self._connect(url, state, url, table_name, serializer, engine_options)
        self._legacy: LegacyTables = LegacyTables(self._db, self._label(), table_name)
        self._legacy.refresh()

    @classmethod
    def _options_from_state(cls, state: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in state.items() if k != "id"}

    def _missing_table(self, url: str, table_name: str, tables: set[str]) -> str | None:
        """Read-only without an entries table: klepto's one-table-per-key entries still read,
        but a database holding only a sqltable archive's table is named as such."""
        if tables and tables != {"memo"}:
            return None
        return super()._missing_table(url, table_name, tables)

    @classmethod
    def local_paths(cls, name: Any) -> list[str]:
        """The SQLite file ``name`` (a URL or a bare file name) stores into, then its
        -wal, -journal and -shm companions; [] for an in-memory or server database."""
        from klepto_archive_sqltable._db import sqlite_paths

        return sqlite_paths(name) if isinstance(name, str) else []

    def _reopen_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        args, kwds = super()._reopen_args()
        if "table" in self.__state__:
            kwds["table"] = self.__state__["table"]
        return args, kwds

    # -- primitives: the entries table first, klepto's per-key tables behind it ----------

    def _legacy_name(self, key: Hashable) -> str | None:
        return key if type(key) is str and key in self._legacy.names else None

    def _read(self, key: Hashable) -> Any:
        try:
            return self._table.read(key)
        except KeyError:
            name = self._legacy_name(key)
            if name is None:
                raise
            return self._legacy.read(name)

    def _has(self, key: Hashable) -> bool:
        return self._table.has(key) or self._legacy_name(key) is not None

    def _write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        self._table.write_many(items)
        for key, _payload in items:
            name = self._legacy_name(key)
            if name is not None:  # the entry now lives in the entries table
                self._legacy.drop(name)

    def _write(self, key: Hashable, payload: Any) -> None:
        self._write_many([(key, payload)])

    def _delete(self, key: Hashable) -> None:
        name = self._legacy_name(key)
        try:
            self._table.delete(key)
        except KeyError:
            if name is None:
                raise
        if name is not None:
            self._legacy.drop(name)

    def _keys(self) -> Iterable[Hashable]:
        keys = self._table.keys()
        legacy = self._legacy.refresh()
        if legacy:
            seen = {k for k in keys if type(k) is str}
            keys.extend(sorted(legacy - seen))
        return keys

    def _count(self) -> int:
        if not self._legacy.names:
            return self._table.count()
        return len(list(self._keys()))

    def _items(self) -> Iterator[tuple[Hashable, Any]]:
        seen: set[str] = set()
        for key, payload in self._table.items():
            if type(key) is str:
                seen.add(key)
            yield key, payload
        for name in sorted(self._legacy.refresh() - seen):
            try:
                yield name, self._legacy.read(name)
            except KeyError:
                continue

    def _clear(self) -> None:
        self._table.clear()
        for name in sorted(self._legacy.refresh()):
            self._legacy.drop(name)

    def _drop(self, **kwds: Any) -> None:
        """Drop the entries table and klepto's per-key tables; maybe the database (class doc)."""
        database = kwds.get("database")
        if database:
            self._db.drop_database()
            self._table._use(None)
            self._legacy.names.clear()
            return
        for name in sorted(self._legacy.refresh()):
            self._legacy.drop(name)
        self._table.drop()
        if database is None and self._database_is_ours() and not self._legacy.tables():
            self._db.drop_database()

    def _database_is_ours(self) -> bool:
        db = self._db
        if db.memory:
            return False
        if db.sqlite_path is not None:
            return os.path.exists(db.sqlite_path)
        return db.created_database


sql_archive = archive_factory(SqlArchive)

__all__ = ["DEFAULT_TABLE", "SqlArchive", "sql_archive"]


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the ``sql`` archive."""
    return PluginSpec(
        name="sql",
        factory=sql_archive,
        description="a SQL database as an archive, entries in one table (klepto's sql_archive)",
        url_schemes=("sql",),
    )
