"""A Redis archive: one named archive in a Redis database, shared by every process that opens it.

Open it as ``open_archive("redis://host:6379/0")`` (archive ``memo``), with
``?archive=<name>`` appended to pick another archive in the same database, or
as ``archive("redis", "<name>", url="redis://...")``. Each entry is one Redis
string under ``klepto:{<archive>}:e:<stable bytes of the key>``, so a write is a
single SET (optionally with ``ttl=`` seconds of expiry) and several are one
MULTI/EXEC. The value holds the pickled key before the serialized payload, so
``keys()`` gives back the original keys. ``lock(key)`` is a Redis lease lock
(SET NX PX + a token, renewed while held, released by a check-and-delete
script), shared by every process and machine using the server.

A Redis Cluster opens as ``redis+cluster://host:port/?archive=<name>``
(``rediss+cluster://`` over TLS), or as ``redis_archive(name, url="redis://...",
cluster=True)``: the node named is where the client discovers the cluster, and
the database must be 0 (a cluster has no other). The archive's name in braces
is the hash tag of all its keys, so one archive lives in one hash slot, where
MULTI/EXEC and the multi-key scripts stay legal. A plain ``redis://`` URL naming
a cluster node fails with an error saying to open it as ``redis+cluster://``.

One string per entry rather than one HASH per archive, because only a key can
expire on its own before Redis 7.4 (HEXPIRE). Keys and values are unpickled on
read: open only archives on a server you trust.
"""

from __future__ import annotations

import functools
import inspect
import pickle
import struct
import threading
import uuid
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.cluster import REDIS_ALLOWED_KEYS, RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ClusterError,
    MovedError,
    RedisClusterException,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from klepto_core.errors import (
    ArchiveUnavailableError,
    ArchiveURLError,
    CorruptEntryError,
    InvalidArgumentError,
    SerializationError,
)
from klepto_core.keys.stable import stable_bytes
from klepto_core.plugin import (
    Archive,
    PluginSpec,
    Serializer,
    archive_factory,
    get_serializer,
    hookimpl,
)
from klepto_core.storage.locking import KeyLock, lock_scope, poll

__all__ = ["RedisArchive", "redis_archive"]

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_ARCHIVE = "memo"
_SCHEMES = ("redis", "rediss", "unix")
_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
_FORMAT = 1  # first byte of every stored value
_HEAD = struct.Struct(">BI")  # format byte, length of the pickled key
_BATCH = 1000

# keys of a batch -> the pickled key of each entry, without sending the payloads
_KEY_BLOBS = """
local out = {}
for i, name in ipairs(KEYS) do
  local head = redis.call('GETRANGE', name, 0, 4)
  if #head == 5 and string.byte(head, 1) == 1 then
    local n = struct.unpack('>I4', head, 2)
    out[i] = redis.call('GETRANGE', name, 5, 4 + n)
  else
    out[i] = false
  end
end
return out
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_F = TypeVar("_F", bound=Callable[..., Any])

# what a lost server, a cluster that lost a slot's node, or a cluster node reached
# without the cluster client (MOVED/ASK/CLUSTERDOWN/TRYAGAIN replies) raise
_LOST = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterError,
    AskError,
    TryAgainError,
    RedisClusterException,
)
_REPLIES = (
    (MovedError, "MOVED"),
    (AskError, "ASK"),
    (TryAgainError, "TRYAGAIN"),
    (ClusterDownError, "CLUSTERDOWN"),
)
# RedisCluster's own keywords; the rest of RedisCluster.__init__'s are its node clients'
_CLUSTER_OPTIONS = frozenset(REDIS_ALLOWED_KEYS).union(
    inspect.signature(RedisCluster.__init__).parameters
) - {"self", "kwargs", "host", "port", "retry", "url", "startup_nodes"}


def _online(method: _F) -> _F:
    """Turn a lost or refused connection into ArchiveUnavailableError naming the archive."""

    @functools.wraps(method)
    def guarded(self: RedisArchive, *args: Any, **kwds: Any) -> Any:
        try:
            return method(self, *args, **kwds)
        except _LOST as exc:
            raise self._unavailable(exc) from None

    return guarded  # type: ignore[return-value]


def _split(name: Any, url: str | None) -> tuple[str, str]:
    """(server URL, archive name) from ``name`` (a URL or an archive name) and ``url``.

    Without ``url=``, a name with ``:``, ``/``, ``?`` or ``@`` but no scheme is a URL
    whose ``redis://`` was taken off (``open_archive`` does that when the scheme is
    the plugin's name); with ``url=`` a name without a scheme is always the archive's.
    """
    if name is None:
        return url or DEFAULT_URL, DEFAULT_ARCHIVE
    if not isinstance(name, str):
        raise InvalidArgumentError(f"a redis archive name must be a str, got {type(name).__name__}")
    if "://" not in name:
        if url is not None or not any(c in name for c in ":/?@"):
            return url or DEFAULT_URL, name or DEFAULT_ARCHIVE
        name = f"redis://{name}"
    elif url is not None:
        raise InvalidArgumentError("give the redis URL either as the name or as url=, not both")
    parts = urlsplit(name)
    query = parse_qsl(parts.query, keep_blank_values=True)
    archive = [v for k, v in query if k == "archive"]
    rest = urlencode([(k, v) for k, v in query if k != "archive"])
    return urlunsplit(parts._replace(query=rest)), (archive[-1] if archive else DEFAULT_ARCHIVE)


def _cluster_form(url: str) -> str:
    """``url`` with its ``redis://``/``rediss://`` scheme turned into the cluster one."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _CLUSTER_SCHEMES:
        return url
    if scheme not in ("redis", "rediss"):
        raise ArchiveURLError(
            f"{_redact(url)!r}: a Redis Cluster is reached over TCP: "
            "redis+cluster://host:port/ or rediss+cluster://host:port/"
        )
    return urlunsplit(parts._replace(scheme=f"{scheme}+cluster"))


def _reason(exc: BaseException) -> str:
    """The first line of what went wrong (RedisCluster wraps the cause of a failed startup)."""
    if isinstance(exc, RedisClusterException) and exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    for kind, word in _REPLIES:  # redis-py drops the reply's first word from these
        if isinstance(exc, kind) and not text.startswith(word):
            return f"{word} {text}"
    return text


def _positive(seconds: Any) -> bool:
    return isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _glob_escape(data: bytes) -> bytes:
    out = bytearray()
    for byte in data:
        if byte in b"*?[]\\":
            out += b"\\"
        out.append(byte)
    return bytes(out)


class RedisMutex:
    """One use of a Redis lease lock: SET NX PX with a random token, renewed while held."""

    def __init__(self, client: Any, name: bytes, lease: float, scripts: dict[str, Any]) -> None:
        self._client = client
        self._name = name
        self._lease_ms = max(int(lease * 1000), 1)
        self._scripts = scripts
        self._token = uuid.uuid4().hex.encode()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self, timeout: float | None) -> bool:
        client, name, token, lease = self._client, self._name, self._token, self._lease_ms
        try:
            if not poll(lambda: bool(client.set(name, token, nx=True, px=lease)), timeout):
                return False
        except _LOST as exc:
            raise ArchiveUnavailableError(
                f"cannot lock {name!r}: redis unreachable: {_reason(exc)}"
            ) from None
        self._renewer = threading.Thread(target=self._renew, name="klepto-redis-lock", daemon=True)
        self._renewer.start()
        return True

    def _renew(self) -> None:
        # keep the lease while the holder computes; a dead process stops renewing it
        while not self._stop.wait(self._lease_ms / 3000):
            try:
                kept = self._scripts["renew"](keys=[self._name], args=[self._token, self._lease_ms])
            except (redis.RedisError, RedisClusterException):
                continue
            if not kept:
                return

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            self._scripts["release"](keys=[self._name], args=[self._token])
        except _LOST as exc:  # the lease will run out
            raise ArchiveUnavailableError(f"cannot unlock {self._name!r}: {_reason(exc)}") from None


class RedisArchive(Archive):
    """Entries of one named archive in a Redis database; values by the chosen serializer.

    ``name`` is a ``redis://`` URL (``?archive=<name>`` picks the archive) or an
    archive name on ``url`` (default ``redis://127.0.0.1:6379/0``). ``ttl`` gives
    every entry written that many seconds to live; ``lock_lease`` is how long a
    lock outlives a holder that stopped renewing it (a killed process). Other
    keywords go to ``redis.Redis.from_url`` (``redis.cluster.RedisCluster`` on a
    cluster). ``cluster=True`` opens a ``redis://`` URL as a Redis Cluster, as
    ``redis+cluster://`` does. ``len()`` and ``keys()`` scan the database (every
    primary of a cluster), so a big shared cache is best given a database of its own.
    """

    __kind_name__: ClassVar[str] = "redis_archive"
    persistent: ClassVar[bool] = True

    def __init__(
        self,
        name: Any = None,
        *,
        url: str | None = None,
        serializer: Any = None,
        protocol: Any = None,
        ttl: float | None = None,
        lock_lease: float = 30.0,
        cluster: bool = False,
        **client_options: Any,
    ) -> None:
        server, archive = _split(name, url)
        if cluster:
            server = _cluster_form(server)
        self._cluster = urlsplit(server).scheme.lower() in _CLUSTER_SCHEMES
        if self._cluster and (not archive or archive.startswith("}")):
            raise InvalidArgumentError(
                f"a redis cluster archive name cannot be empty or start with '}}' "
                f"({archive!r}): its keys would not share one hash slot"
            )
        if ttl is not None and not _positive(ttl):
            raise InvalidArgumentError(f"ttl must be a positive number of seconds, got {ttl!r}")
        if not _positive(lock_lease):
            raise InvalidArgumentError(f"lock_lease must be a positive number, got {lock_lease!r}")
        ser: Serializer = get_serializer(serializer, protocol)
        shown = _redact(server)
        full = f"{shown}{'&' if '?' in shown else '?'}archive={archive}"
        state = {"id": full, "url": shown, "archive": archive, "serializer": ser.name, "ttl": ttl}
        super().__init__(full, state, ser)
        self._url = server
        self._archive = archive
        self._ttl_ms = None if ttl is None else max(int(ttl * 1000), 1)
        self._lease = float(lock_lease)
        self._options = dict(client_options)
        prefix = b"klepto:{" + archive.encode("utf-8", "surrogatepass") + b"}:"
        self._entry_prefix = prefix + b"e:"
        self._lock_prefix = prefix + b"l:"
        self._pattern = _glob_escape(self._entry_prefix) + b"*"
        self._client = self._connect()
        self._scripts = {
            "keys": self._client.register_script(_KEY_BLOBS),
            "release": self._client.register_script(_RELEASE),
            "renew": self._client.register_script(_RENEW),
        }

    def _connect(self) -> Any:
        if self._cluster:
            return self._connect_cluster()
        parts = urlsplit(self._url)
        scheme, db = parts.scheme.lower(), parts.path.strip("/")
        if scheme not in _SCHEMES or (scheme != "unix" and db and not db.isdigit()):
            raise ArchiveURLError(
                f"{_redact(self._url)!r} is not a redis URL "
                "(redis://host:port/db, rediss://host:port/db or unix:///path?db=n; "
                "a cluster: redis+cluster://host:port/)"
            )
        if any(k == "cluster" for k, _ in parse_qsl(parts.query)):
            raise ArchiveURLError(
                f"{_redact(self._url)!r}: open a Redis Cluster as redis+cluster://host:port/ "
                "(or pass cluster=True), not with ?cluster="
            )
        options = {"socket_connect_timeout": 5.0, **self._options}
        try:
            client = redis.Redis.from_url(self._url, **options)
            # one round trip, as a PING: the archive's slot answers MOVED on a cluster node
            client.exists(self._entry_prefix)
        except (redis.RedisError, ValueError, OSError) as exc:
            raise self._unavailable(exc, opening=True) from None
        except TypeError as exc:
            raise InvalidArgumentError(f"redis archive: bad client option: {exc}") from None
        return client

    def _connect_cluster(self) -> Any:
        parts = urlsplit(self._url)
        db = parts.path.strip("/") or "0"
        dbs = [v for k, v in parse_qsl(parts.query) if k == "db"]
        if "db" in self._options:
            dbs.append(str(self._options["db"]))
        if any(v != "0" for v in (db, *dbs)):
            raise ArchiveURLError(
                f"{_redact(self._url)!r}: a Redis Cluster has only database 0, "
                f"got {', '.join(v for v in (db, *dbs) if v != '0')}"
            )
        unknown = sorted(set(self._options) - _CLUSTER_OPTIONS)
        if unknown:
            raise InvalidArgumentError(
                f"redis archive: bad client option for a cluster: {', '.join(unknown)}"
            )
        options = {"socket_connect_timeout": 5.0, **self._options}
        options.pop("db", None)
        scheme = _CLUSTER_SCHEMES[parts.scheme.lower()]
        try:
            client = RedisCluster.from_url(urlunsplit(parts._replace(scheme=scheme)), **options)
            client.exists(self._entry_prefix)  # reaches the node holding the archive's slot
        except (redis.RedisError, RedisClusterException, ValueError, OSError) as exc:
            raise self._unavailable(exc, opening=True) from None
        except TypeError as exc:
            raise InvalidArgumentError(f"redis archive: bad client option: {exc}") from None
        return client

    def _unavailable(self, exc: BaseException, opening: bool = False) -> ArchiveUnavailableError:
        """The error to raise for ``exc``, naming the archive, the URL and what to do.

        A server that is (or is not) a cluster node when the URL says otherwise is
        reachable but named the wrong way: ArchiveURLError, a bad URL to the CLI.
        """
        shown = _redact(self._url)
        if opening:
            where = f"cannot open redis archive {self._archive!r} at {shown}"
        else:
            where = f"{self._label()}: redis unreachable"
        parts = urlsplit(shown)
        scheme = parts.scheme.lower()
        if not self._cluster and isinstance(exc, AskError | ClusterError | TryAgainError):
            tls = "s" if scheme == "rediss" else ""
            query = urlencode({"archive": self._archive})
            form = urlunsplit((f"redis{tls}+cluster", parts.netloc, "/", query, ""))
            return ArchiveURLError(
                f"{where}: the server is a Redis Cluster node (it answered {_reason(exc)!r}); "
                f"open it as {form} or pass cluster=True"
            )
        if self._cluster and "Cluster mode is not enabled" in str(exc):
            plain = urlunsplit(parts._replace(scheme=_CLUSTER_SCHEMES[scheme]))
            return ArchiveURLError(
                f"{where}: the server is not a Redis Cluster node; open it as {plain}"
            )
        return ArchiveUnavailableError(f"{where}: {_reason(exc)}")

    # -- encoding ---------------------------------------------------------------------

    def _entry(self, key: Hashable) -> bytes:
        return self._entry_prefix + stable_bytes(key)

    def _entry_or_missing(self, key: Hashable) -> bytes:
        try:
            return self._entry(key)
        except SerializationError:
            raise KeyError(key) from None  # a key that cannot be stored is not stored

    def _pack(self, key: Hashable, payload: bytes) -> tuple[bytes, bytes]:
        name = self._entry(key)
        try:
            blob = pickle.dumps(key, protocol=4)
        except Exception as exc:
            raise SerializationError(f"{self._label()}: cannot store key {key!r}: {exc}") from exc
        return name, _HEAD.pack(_FORMAT, len(blob)) + blob + payload

    def _unpack(self, key: Any, data: bytes) -> tuple[int, int]:
        """(start of payload, length of key blob) of a stored value; CorruptEntryError if bad."""
        if len(data) < _HEAD.size:
            raise CorruptEntryError(self._label(), key, "stored value is truncated")
        fmt, size = _HEAD.unpack_from(data)
        if fmt != _FORMAT or _HEAD.size + size > len(data):
            raise CorruptEntryError(self._label(), key, "not a value written by a redis archive")
        return _HEAD.size + size, size

    def _key_of(self, blob: bytes | None, name: bytes) -> Hashable:
        if blob is None:
            raise CorruptEntryError(self._label(), name, "not a value written by a redis archive")
        try:
            key: Hashable = pickle.loads(blob)
        except Exception as exc:
            raise CorruptEntryError(
                self._label(), name, f"its key cannot be unpickled: {type(exc).__name__}: {exc}"
            ) from exc
        return key

    # -- storage primitives -----------------------------------------------------------

    @_online
    def _read(self, key: Hashable) -> Any:
        data = self._client.get(self._entry_or_missing(key))
        if data is None:
            raise KeyError(key)
        start, _ = self._unpack(key, data)
        return data[start:]

    @_online
    def _write(self, key: Hashable, payload: Any) -> None:
        name, data = self._pack(key, payload)
        self._client.set(name, data, px=self._ttl_ms)

    @_online
    def _write_many(self, items: list[tuple[Hashable, Any]]) -> None:
        packed = [self._pack(key, payload) for key, payload in items]
        with self._client.pipeline(transaction=True) as pipe:
            for name, data in packed:
                pipe.set(name, data, px=self._ttl_ms)
            pipe.execute()

    @_online
    def _delete(self, key: Hashable) -> None:
        if not self._client.delete(self._entry_or_missing(key)):
            raise KeyError(key)

    @_online
    def _has(self, key: Hashable) -> bool:
        try:
            name = self._entry(key)
        except SerializationError:
            return False
        return bool(self._client.exists(name))

    def _names(self) -> Iterator[list[bytes]]:
        batch: list[bytes] = []
        for name in self._client.scan_iter(match=self._pattern, count=_BATCH):
            batch.append(name)
            if len(batch) >= _BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    @_online
    def _keys(self) -> Iterable[Hashable]:
        out: list[Hashable] = []
        for names in self._names():
            for name, blob in zip(names, self._scripts["keys"](keys=names)):
                if blob is None:
                    continue  # expired or deleted meanwhile (or foreign: verify() reports it)
                try:
                    out.append(self._key_of(blob, name))
                except CorruptEntryError:
                    continue
        return out

    @_online
    def _count(self) -> int:
        return sum(len(names) for names in self._names())

    def _items(self) -> Iterator[tuple[Hashable, Any]]:
        try:
            for names in list(self._names()):
                for name, data in zip(names, self._client.mget(names)):
                    if data is None:
                        continue  # expired or deleted meanwhile
                    start, _ = self._unpack(name, data)
                    yield self._key_of(data[_HEAD.size : start], name), data[start:]
        except _LOST as exc:
            raise self._unavailable(exc) from None

    @_online
    def _clear(self) -> None:
        for names in list(self._names()):
            self._client.unlink(*names)

    def _reopen_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        ttl = None if self._ttl_ms is None else self._ttl_ms / 1000
        kwds = {"url": self._url, "serializer": self._serializer, "ttl": ttl, **self._options}
        kwds["lock_lease"] = self._lease
        return (self._archive,), kwds

    # -- beyond the mapping -------------------------------------------------------------

    @_online
    def verify(self) -> list[CorruptEntryError]:
        """Read every entry, the ones whose key cannot be read included; return the errors."""
        errors = []
        for names in list(self._names()):
            for name, data in zip(names, self._client.mget(names)):
                if data is None:
                    continue
                try:
                    start, _ = self._unpack(name, data)
                    key = self._key_of(data[_HEAD.size : start], name)
                    self._decode(key, data[start:])
                except CorruptEntryError as exc:
                    errors.append(exc)
        return errors

    def lock(self, key: Hashable, timeout: float | None = None) -> KeyLock:
        """A lock on ``key`` shared through the server by every process and machine using it."""
        name = self._lock_prefix + stable_bytes(key)

        def outer() -> RedisMutex:
            return RedisMutex(self._client, name, self._lease, self._scripts)

        return KeyLock(lock_scope(self), key, timeout, outer)

    @property
    def ttl(self) -> float | None:
        """Seconds each written entry lives (None: until deleted)."""
        return None if self._ttl_ms is None else self._ttl_ms / 1000

    def close(self) -> None:
        """Drop the pooled connections; the next operation reconnects."""
        self._client.close()

    # -- native asyncio (an ``async def`` function's misses await these) ---------------

    native_async: ClassVar[bool] = True

    def _async_client(self) -> Any:
        """The running loop's ``redis.asyncio`` client: its connections belong to that loop."""
        import asyncio

        loop = asyncio.get_running_loop()
        clients = self.__dict__.get("_async_clients")
        if clients is None:
            clients = self.__dict__.setdefault("_async_clients", weakref.WeakKeyDictionary())
        client = clients.get(loop)
        if client is None:
            client = clients[loop] = self._connect_async()
        return client

    async def aclose(self) -> None:
        """Close the running loop's ``redis.asyncio`` client (call it before the loop ends)."""
        import asyncio

        clients = self.__dict__.get("_async_clients")
        client = clients.pop(asyncio.get_running_loop(), None) if clients else None
        if client is not None:
            await client.aclose()

    def _connect_async(self) -> Any:
        import redis.asyncio
        from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

        options = {"socket_connect_timeout": 5.0, **self._options}
        if not self._cluster:
            return redis.asyncio.Redis.from_url(self._url, **options)
        options.pop("db", None)
        parts = urlsplit(self._url)
        url = urlunsplit(parts._replace(scheme=_CLUSTER_SCHEMES[parts.scheme.lower()]))
        return AsyncRedisCluster.from_url(url, **options)

    async def _aread(self, key: Hashable) -> Any:
        name = self._entry_or_missing(key)
        try:
            data = await self._async_client().get(name)
        except _LOST as exc:
            raise self._unavailable(exc) from None
        if data is None:
            raise KeyError(key)
        start, _ = self._unpack(key, data)
        return data[start:]

    async def _awrite(self, key: Hashable, payload: Any) -> None:
        name, data = self._pack(key, payload)
        try:
            await self._async_client().set(name, data, px=self._ttl_ms)
        except _LOST as exc:
            raise self._unavailable(exc) from None


redis_archive = archive_factory(RedisArchive)


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the ``redis`` archive and its URL schemes."""
    return PluginSpec(
        name="redis",
        factory=redis_archive,
        description="entries in a Redis database, shared by processes and machines",
        url_schemes=("redis", "rediss", "redis+cluster", "rediss+cluster"),
    )
