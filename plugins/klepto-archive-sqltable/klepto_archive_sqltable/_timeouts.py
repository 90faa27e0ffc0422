"""Bounded waits on database servers: connect and statement timeouts per DB-API driver.

A server that accepts a connection and never answers must not hang the caller:
every server engine gets a connect timeout (``connect_timeout=``, seconds) and a
statement timeout (``timeout=``, seconds), spelled as each driver wants them.
On SQLite ``timeout`` is how long a writer waits for another's lock.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from klepto_core.errors import InvalidArgumentError

#: seconds to wait for a server to accept and answer a new connection
CONNECT_TIMEOUT = 5.0
#: seconds one statement may take on a server (a 200 MB value still fits)
STATEMENT_TIMEOUT = 30.0


def seconds(option: str, value: Any) -> float:
    """``value`` as a positive number of seconds; InvalidArgumentError naming ``option``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidArgumentError(
            f"{option} must be a positive number of seconds, got {value!r}"
        )
    return float(value)


def server_connect_args(driver: str, connect: float, statement: float) -> dict[str, Any]:
    """The DB-API ``connect()`` arguments that bound the waits of ``driver``."""
    whole = max(1, math.ceil(connect))
    if driver in ("psycopg2", "psycopg"):
        # libpq counts the whole handshake; statement_timeout is kept by the server
        milliseconds = int(statement * 1000)
        return {"connect_timeout": whole, "options": f"-c statement_timeout={milliseconds}"}
    if driver == "pymysql":
        # client-side socket timeouts, which also end a wait on a server gone silent; the
        # handshake is read under them, so they start at the connect timeout (see relax)
        return {"connect_timeout": whole, "read_timeout": whole, "write_timeout": whole}
    if driver == "mysqldb":
        return {"connect_timeout": whole, "read_timeout": whole_or(statement),
                "write_timeout": whole_or(statement)}
    if driver == "mysqlconnector":
        return {"connection_timeout": whole}
    if driver == "pg8000":
        return {"timeout": statement}
    return {}


def relax(engine: Engine, driver: str, statement: float) -> None:
    """After pymysql's handshake, let its reads and writes wait the statement timeout."""
    if driver != "pymysql":
        return

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection._read_timeout = dbapi_connection._write_timeout = whole_or(statement)

    event.listen(engine, "connect", on_connect)


def whole_or(value: float) -> int:
    """Whole seconds, at least one (the MySQL drivers take ints)."""
    return max(1, math.ceil(value))
