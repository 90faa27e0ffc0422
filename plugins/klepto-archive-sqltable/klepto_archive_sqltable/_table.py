"""One key/value table in klepto's ``sqltable_archive`` layout, plus a column for any key.

klepto's table is ``("Kkey" VARCHAR(255) PRIMARY KEY, "Kval" BLOB)`` holding str
keys and dill pickles. Tables created here add ``"Kkeyobj"`` (a pickle of the
key, NULL for plain str keys): a str key that fits is stored as itself, so klepto
reads it; any other key is stored under ``~klepto~<stable digest>`` with its
pickle beside it. A table created by someone else is never altered: in it,
numbers are stored as their text (as klepto does) and other keys are refused.

On SQLite, row statements are plain SQL run on raw ``sqlite3`` connections
(:meth:`Database.raw_rows`, :meth:`Database.raw_write`); on servers they are
SQLAlchemy statements. Both write the same rows.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable

from klepto_archive_sqltable._db import Database, first_line
from klepto_core.errors import CorruptEntryError, FormatError, SerializationError
from klepto_core.keys.stable import stable_digest
from klepto_core.plugin import Serializer

KEY = "Kkey"
VALUE = "Kval"
KEYOBJ = "Kkeyobj"
#: klepto's key column width; longer str keys are stored by digest
KEY_WIDTH = 255
#: marks a Kkey that stands for a key stored in Kkeyobj (str keys with it are digested too)
DIGEST_PREFIX = "~klepto~"
_DIGEST_SIZE = 20


def _plain_str(key: str) -> bool:
    """Whether a str key can be its own Kkey on every backend (PostgreSQL rejects NUL)."""
    if len(key) > KEY_WIDTH or key.startswith(DIGEST_PREFIX) or "\x00" in key:
        return False
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _mysql_collation(dialect: Any) -> str:
    """A case- and trailing-space-sensitive collation, so distinct str keys stay distinct."""
    if getattr(dialect, "is_mariadb", False):
        return "utf8mb4_nopad_bin"
    if (dialect.server_version_info or (0,)) >= (8,):
        return "utf8mb4_0900_bin"
    return "utf8mb4_bin"


class EntryTable:
    """Rows of one table: ``read``/``write_many``/``delete``/``keys``/``items``/``clear``/``drop``.

    ``label`` names the archive in errors; ``keys`` pickles non-str keys for
    tables created here; ``serialized`` False stores values as text (klepto's
    ``serialized=False``).
    """

    def __init__(
        self, db: Database, name: str, label: str, keys: Serializer, serialized: bool = True
    ) -> None:
        self.db = db
        self.name = name
        self.label = label
        self.key_serializer = keys
        self.serialized = serialized
        self.table: sa.Table | None = None
        self.owned = False
        self._statements: dict[str, Any] = {}
        self._sql: dict[str, str] = {}  # raw SQLite statements, built with the table

    # -- schema ----------------------------------------------------------------------------

    def open(self, create: bool) -> bool:
        """Find the table (creating it when ``create``); False when it does not exist."""
        table = self._reflect()
        if table is None and create:
            self._create()
            table = self._reflect()
            if table is None:
                raise FormatError(f"{self.label}: table {self.name!r} could not be created")
        self._use(table)
        return table is not None

    def _reflect(self) -> sa.Table | None:
        def work(conn: Connection) -> sa.Table | None:
            try:
                return sa.Table(self.name, sa.MetaData(), autoload_with=conn)
            except exc.NoSuchTableError:
                return None

        # A table another process is creating at this instant can reflect with no columns
        # (SQLite lists it before its schema is readable here): look again shortly.
        for attempt in range(50):
            table = self.db.read(work)
            if table is None or len(table.c) > 0:
                return table
            time.sleep(0.01 * (attempt + 1))
        return table

    def _create(self) -> None:
        dialect = self.db.engine.dialect
        key_type: Any = sa.String(KEY_WIDTH)
        blob: Any = sa.LargeBinary()
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql

            key_type = mysql.VARCHAR(
                KEY_WIDTH, charset="utf8mb4", collation=_mysql_collation(dialect)
            )
            blob = mysql.LONGBLOB()
        value_type = blob if self.serialized else sa.Text()
        table = sa.Table(
            self.name,
            sa.MetaData(),
            sa.Column(KEY, key_type, primary_key=True),
            sa.Column(VALUE, value_type),
            sa.Column(KEYOBJ, blob, nullable=True),
        )
        try:
            self.db.ddl(lambda conn: conn.execute(CreateTable(table, if_not_exists=True)))
        except exc.DBAPIError as error:
            # another process created it between our look and our CREATE: that is fine
            if self._reflect() is None:
                raise FormatError(
                    f"{self.label}: cannot create table {self.name!r}: {first_line(error)}"
                ) from None

    def _use(self, table: sa.Table | None) -> None:
        self._statements.clear()
        self._sql = {}
        self.table = table
        if table is None:
            self.owned = False
            return
        names = set(table.c.keys())
        if not {KEY, VALUE} <= names:
            raise FormatError(
                f"{self.label}: table {self.name!r} is not a klepto table: it has columns "
                f"{sorted(names)}, not {KEY!r} and {VALUE!r}"
            )
        self.owned = KEYOBJ in names
        if self.db.raw:
            self._sql = self._raw_statements(table)

    def _raw_statements(self, table: sa.Table) -> dict[str, str]:
        """The row statements as SQLite SQL with ``?`` parameters (what SQLAlchemy would send).

        Rows go in as (Kkey, Kval[, Kkeyobj]); ``upsert`` is missing when Kkey is not the
        primary key (a foreign table): writes then update, or insert when nothing matched.
        """
        q = self.db.engine.dialect.identifier_preparer.quote_identifier
        t, k, v, o = q(self.name), q(KEY), q(VALUE), q(KEYOBJ)
        keyobj = o if self.owned else "NULL"
        columns = f"{k}, {v}, {o}" if self.owned else f"{k}, {v}"
        marks = "?, ?, ?" if self.owned else "?, ?"
        changed = [v, o] if self.owned else [v]
        insert = f"INSERT INTO {t} ({columns}) VALUES ({marks})"
        sql = {
            "read": f"SELECT {k}, {v} FROM {t} WHERE {k} = ?",
            "has": f"SELECT {k} FROM {t} WHERE {k} = ?",
            "keys": f"SELECT {k}, {keyobj} FROM {t}",
            "items": f"SELECT {k}, {keyobj}, {v} FROM {t}",
            "count": f"SELECT count(*) FROM {t}",
            "delete": f"DELETE FROM {t} WHERE {k} = ?",
            "clear": f"DELETE FROM {t}",
            # parameters: the new Kval[, Kkeyobj], then the Kkey
            "update": f"UPDATE {t} SET {', '.join(f'{c} = ?' for c in changed)} WHERE {k} = ?",
            "insert": insert,
        }
        if table.c[KEY].primary_key:
            sets = ", ".join(f"{c} = excluded.{c}" for c in changed)
            sql["upsert"] = f"{insert} ON CONFLICT ({k}) DO UPDATE SET {sets}"
        return sql

    def drop(self) -> None:
        """Drop the table (nothing else)."""
        table = self.table if self.table is not None else self._reflect()
        if table is not None:
            self.db.ddl(lambda conn: table.drop(conn, checkfirst=True))
        self._use(None)

    def exists(self) -> bool:
        """Whether the table is there (looked up again if it was dropped)."""
        if self.table is None:
            self._use(self._reflect())
        return self.table is not None

    # -- keys --------------------------------------------------------------------------------

    def kkey(self, key: Hashable) -> str | None:
        """The Kkey of ``key`` (what a lookup compares); None when this table cannot hold it."""
        if type(key) is str and (not self.owned or _plain_str(key)):
            return key
        if not self.owned:
            if isinstance(key, (int, float)) and not isinstance(key, bool):
                return str(key)  # klepto's coercion of numbers to text
            if isinstance(key, str):
                return str(key)
            return None
        return DIGEST_PREFIX + stable_digest(key, _DIGEST_SIZE)

    def row_key(self, key: Hashable) -> tuple[str, bytes | None] | None:
        """(Kkey, Kkeyobj) for ``key``; None when this table cannot hold it."""
        kkey = self.kkey(key)
        if kkey is None or not self.owned or not kkey.startswith(DIGEST_PREFIX):
            return None if kkey is None else (kkey, None)
        try:  # a digest (no plain str starts like one): the key itself is stored beside it
            pickled = self.key_serializer.dumps(key)
        except SerializationError as error:
            raise SerializationError(
                f"{self.label}: cannot store key {key!r}: {error}; nothing was written"
            ) from None
        return kkey, pickled

    def _row_key_for_write(self, key: Hashable) -> tuple[str, bytes | None]:
        row = self.row_key(key)
        if row is None:
            raise SerializationError(
                f"{self.label}: table {self.name!r} was not created by klepto_core and holds "
                f"only str keys (numbers as text); cannot store a {type(key).__name__} key "
                f"{key!r}; nothing was written"
            )
        return row

    def decode_key(self, kkey: str, keyobj: bytes | None) -> Hashable:
        """The key a row stands for."""
        if keyobj is None:
            return kkey
        try:
            return self.key_serializer.loads(bytes(keyobj))  # type: ignore[no-any-return]
        except Exception as error:
            raise CorruptEntryError(
                self.label,
                kkey,
                f"its stored key cannot be loaded: {type(error).__name__}: {error}",
            ) from None

    # -- statements --------------------------------------------------------------------------

    def _stmt(self, name: str) -> Any:
        stmt = self._statements.get(name)
        if stmt is None:
            stmt = self._statements[name] = getattr(self, f"_build_{name}")()
        return stmt

    def _t(self) -> sa.Table:
        if self.table is None and not self.exists():
            raise KeyError("table is missing")
        assert self.table is not None
        return self.table

    def _build_read(self) -> Any:
        t = self._t()
        return sa.select(t.c[KEY], t.c[VALUE]).where(t.c[KEY] == sa.bindparam("k"))

    def _build_has(self) -> Any:
        t = self._t()
        return sa.select(t.c[KEY]).where(t.c[KEY] == sa.bindparam("k"))

    def _build_keys(self) -> Any:
        t = self._t()
        cols = [t.c[KEY], t.c[KEYOBJ]] if self.owned else [t.c[KEY], sa.null()]
        return sa.select(*cols)

    def _build_items(self) -> Any:
        t = self._t()
        cols = [t.c[KEY], t.c[KEYOBJ]] if self.owned else [t.c[KEY], sa.null()]
        return sa.select(*cols, t.c[VALUE])

    def _build_count(self) -> Any:
        return sa.select(sa.func.count()).select_from(self._t())

    def _build_delete(self) -> Any:
        t = self._t()
        return sa.delete(t).where(t.c[KEY] == sa.bindparam("k"))

    def _build_clear(self) -> Any:
        return sa.delete(self._t())

    def _build_update(self) -> Any:
        t = self._t()
        values: dict[str, Any] = {VALUE: sa.bindparam("new_value")}
        if self.owned:
            values[KEYOBJ] = sa.bindparam("new_keyobj")
        return sa.update(t).where(t.c[KEY] == sa.bindparam("old_key")).values(values)

    def _build_insert(self) -> Any:
        return sa.insert(self._t())

    def _build_upsert(self) -> Any:
        """A single-statement insert-or-replace for this dialect; None if it has none.

        The statement takes rows keyed by column name and no ``values()`` clause,
        so SQLAlchemy can send a batch as multi-row INSERTs ("insertmanyvalues").
        """
        t = self._t()
        if not t.c[KEY].primary_key:
            return None
        dialect = self.db.engine.dialect.name
        columns = [VALUE, KEYOBJ] if self.owned else [VALUE]
        if dialect == "sqlite":
            from sqlalchemy.dialects import sqlite

            lite = sqlite.insert(t)
            return lite.on_conflict_do_update(
                index_elements=[t.c[KEY]], set_={c: lite.excluded[c] for c in columns}
            )
        if dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            pg = postgresql.insert(t)
            # SQLAlchemy batches an upsert into multi-row INSERTs only when it returns rows
            return pg.on_conflict_do_update(
                index_elements=[t.c[KEY]], set_={c: pg.excluded[c] for c in columns}
            ).returning(t.c[KEY])
        if dialect in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql

            my = mysql.insert(t)
            return my.on_duplicate_key_update({c: my.inserted[c] for c in columns})
        return None

    # -- operations --------------------------------------------------------------------------

    def _value_param(self, payload: Any) -> Any:
        if self.serialized or payload is None or isinstance(payload, str):
            return payload
        return str(payload)  # klepto's serialized=False keeps text

    def read(self, key: Hashable) -> Any:
        """The stored payload of ``key``; KeyError when absent."""
        kkey = self.kkey(key)
        if kkey is None or not self.exists():
            raise KeyError(key)
        if self.db.raw:
            rows = self.db.raw_rows(self._sql["read"], (kkey,), key, self.label)
        else:
            stmt = self._stmt("read")
            rows = self.db.read(lambda conn: conn.execute(stmt, {"k": kkey}).all())
        for stored, value in rows:
            if stored == kkey:  # a case-insensitive collation can match other keys
                return bytes(value) if isinstance(value, memoryview) else value
        raise KeyError(key)

    def has(self, key: Hashable) -> bool:
        kkey = self.kkey(key)
        if kkey is None or not self.exists():
            return False
        if self.db.raw:
            rows = self.db.raw_rows(self._sql["has"], (kkey,))
        else:
            stmt = self._stmt("has")
            rows = self.db.read(lambda conn: conn.execute(stmt, {"k": kkey}).all())
        return any(stored == kkey for (stored,) in rows)

    def write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        """Store every (key, payload) in one transaction; keys are all encoded before it starts."""
        if not items:
            return
        if not self.exists():  # dropped earlier: a write brings the table back
            self.open(create=True)
        rows: dict[str, dict[str, Any]] = {}
        for key, payload in items:
            kkey, keyobj = self._row_key_for_write(key)
            row = {KEY: kkey, VALUE: self._value_param(payload)}
            if self.owned:
                row[KEYOBJ] = keyobj
            rows[kkey] = row  # the last write of a key wins, as in a dict
        # a fixed order keeps concurrent batches from deadlocking on each other's rows
        params = [rows[k] for k in sorted(rows)]
        if self.db.raw:
            self._write_raw(params)
            return
        upsert = self._stmt("upsert")
        if upsert is not None:
            self.db.write(lambda conn: conn.execute(upsert, params))
            return
        update, insert = self._stmt("update"), self._stmt("insert")

        def update_or_insert(conn: Connection) -> None:
            for row in params:
                changes = {"old_key": row[KEY], "new_value": row[VALUE]}
                if self.owned:
                    changes["new_keyobj"] = row[KEYOBJ]
                if conn.execute(update, changes).rowcount == 0:
                    conn.execute(insert, row)

        self.db.write(update_or_insert)

    def _write_raw(self, params: list[dict[str, Any]]) -> None:
        """Store these rows on SQLite in one transaction (an upsert when Kkey is the key)."""
        owned = self.owned
        rows = [(r[KEY], r[VALUE], r[KEYOBJ]) if owned else (r[KEY], r[VALUE]) for r in params]
        upsert = self._sql.get("upsert")
        if upsert is not None:
            self.db.raw_write(lambda conn: conn.executemany(upsert, rows))
            return
        update, insert = self._sql["update"], self._sql["insert"]

        def update_or_insert(conn: Any) -> None:
            for row in rows:
                if conn.execute(update, (*row[1:], row[0])).rowcount == 0:
                    conn.execute(insert, row)

        self.db.raw_write(update_or_insert)

    def delete(self, key: Hashable) -> None:
        """Remove ``key``; KeyError when absent."""
        kkey = self.kkey(key)
        if kkey is None or not self.exists():
            raise KeyError(key)
        if self.db.raw:
            sql = self._sql["delete"]
            count = self.db.raw_write(lambda conn: conn.execute(sql, (kkey,)).rowcount)
        else:
            stmt = self._stmt("delete")
            count = self.db.write(lambda conn: conn.execute(stmt, {"k": kkey}).rowcount)
        if not count:
            raise KeyError(key)

    def raw_keys(self) -> list[tuple[str, bytes | None]]:
        if not self.exists():
            return []
        if self.db.raw:
            return [(k, o) for k, o in self.db.raw_rows(self._sql["keys"])]
        stmt = self._stmt("keys")
        return [(k, o) for k, o in self.db.read(lambda conn: conn.execute(stmt).all())]

    def keys(self) -> list[Hashable]:
        return [self.decode_key(k, o) for k, o in self.raw_keys()]

    def items(self) -> Iterator[tuple[Hashable, Any]]:
        if not self.exists():
            return
        if self.db.raw:
            rows = self.db.raw_rows(self._sql["items"])
        else:
            stmt = self._stmt("items")
            rows = self.db.read(lambda conn: conn.execute(stmt).all())
        for kkey, keyobj, value in rows:
            if isinstance(value, memoryview):
                value = bytes(value)
            yield self.decode_key(kkey, keyobj), value

    def count(self) -> int:
        if not self.exists():
            return 0
        if self.db.raw:
            return int(self.db.raw_rows(self._sql["count"])[0][0])
        stmt = self._stmt("count")
        return int(self.db.read(lambda conn: conn.execute(stmt).scalar_one()))

    def clear(self) -> None:
        """Delete every row of this table (and touch no other table)."""
        if not self.exists():
            return
        if self.db.raw:
            sql = self._sql["clear"]
            self.db.raw_write(lambda conn: conn.execute(sql))
            return
        stmt = self._stmt("clear")
        self.db.write(lambda conn: conn.execute(stmt))
