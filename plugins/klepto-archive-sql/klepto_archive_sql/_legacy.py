"""klepto's ``sql_archive`` layout: one table per key, read so old databases stay usable.

klepto named each table after its (str) key and stored the value in the single
row whose ``Kkeyqwg907`` is the literal ``'Kkeyqwg907'``. Only tables with
exactly those two columns count as entries; every other table is foreign and
left alone.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from klepto_archive_sqltable._db import Database
from sqlalchemy.engine import Connection

from klepto_core.errors import CorruptEntryError

LEGACY_KEY = "Kkeyqwg907"
LEGACY_VALUE = "Kvalmol142"


def _legacy_table(name: str) -> Any:
    return sa.table(name, sa.column(LEGACY_KEY), sa.column(LEGACY_VALUE))


class LegacyTables:
    """The klepto one-table-per-key entries of a database (names cached until :meth:`refresh`)."""

    def __init__(self, db: Database, label: str, own_table: str) -> None:
        self.db = db
        self.label = label
        self.own_table = own_table
        self.names: set[str] = set()

    def refresh(self) -> set[str]:
        """Look the database over again for klepto's per-key tables."""
        shape = {LEGACY_KEY, LEGACY_VALUE}
        with self.db.inspector() as inspector:
            names = [n for n in inspector.get_table_names() if n != self.own_table]
            if not names:
                found: set[str] = set()
            else:
                columns = inspector.get_multi_columns(filter_names=names)
                found = {
                    table
                    for (_schema, table), cols in columns.items()
                    if {c["name"] for c in cols} == shape
                }
        self.names = found
        return found

    def tables(self) -> list[str]:
        """Every table of the database (for deciding whether dropping it loses foreign data)."""
        with self.db.inspector() as inspector:
            return list(inspector.get_table_names())

    def read(self, name: str) -> Any:
        """The stored payload of the entry ``name``; KeyError when the table is gone."""
        table = _legacy_table(name)
        query = sa.select(table.c[LEGACY_VALUE]).where(table.c[LEGACY_KEY] == LEGACY_KEY)

        def work(conn: Connection) -> Any:
            try:
                return conn.execute(query).all()
            except sa.exc.ProgrammingError:
                return None
            except sa.exc.OperationalError as error:
                if "no such table" in str(error):
                    return None
                raise

        rows = self.db.read(work)
        if rows is None:
            self.names.discard(name)
            raise KeyError(name)
        if not rows:
            raise CorruptEntryError(self.label, name, "klepto's table for it holds no value row")
        value = rows[0][0]
        return bytes(value) if isinstance(value, memoryview) else value

    def drop(self, name: str) -> None:
        """Drop the entry table ``name`` (it only ever held that one entry)."""
        if name == self.own_table:
            return
        table = sa.Table(name, sa.MetaData(), sa.Column(LEGACY_KEY), sa.Column(LEGACY_VALUE))
        self.db.ddl(lambda conn: table.drop(conn, checkfirst=True))
        self.names.discard(name)
