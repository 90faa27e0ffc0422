"""Hypothesis strategies drawing cache configurations from the installed plugins.

Every name comes from ``REGISTRY.names(kind)``, so a newly installed policy,
keymap, serializer or archive is exercised with no change here. An archive kind
is reached through a :class:`Target`: where it lives (a path under the test's
tmp directory, an SQLite URL, a namespace on a server) and how to clean it up.
Targets needing a server are offered only when the server answers (and must
answer under ``KLEPTO_CORE_REQUIRE_SERVICES=1``; see tests/services.py).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from klepto_core.registry import REGISTRY
from tests import services

# -- where an archive kind lives ------------------------------------------------------------

#: kinds whose ``name`` is a database URL; any other persistent kind is given a path
_SQL_KINDS = ("sql", "sqltable")
#: kinds that only exist on a server: kind -> the service of tests/services.py
_SERVER_KINDS = {"redis": "redis"}
#: extra placements of a kind on a server: (kind, service)
_SERVER_VARIANTS = [
    ("sqltable", "postgresql"),
    ("sql", "postgresql"),
    ("sqltable", "mariadb"),
    ("sql", "mariadb"),
]
#: the database URL of each SQL server (tests/services.py)
_SQL_SERVERS = {"postgresql": services.POSTGRES_URL, "mariadb": services.MARIADB_URL}

_counter = itertools.count()


@dataclass(frozen=True)
class Target:
    """An archive kind placed somewhere: locally (a tmp path or SQLite file) or on a server."""

    kind: str
    service: str | None = None

    @property
    def label(self) -> str:
        return self.kind if self.service is None else f"{self.kind}@{self.service}"

    @property
    def persistent(self) -> bool:
        return bool(REGISTRY.resolve("archive", self.kind).factory.__backend__.persistent)

    @property
    def is_null(self) -> bool:
        return bool(REGISTRY.resolve("archive", self.kind).factory.__backend__.is_null)


@dataclass
class Location:
    """The ``name`` and options that open one archive, and what removes it afterwards."""

    target: Target
    name: Any
    options: dict[str, Any] = field(default_factory=dict)
    cleanup: Callable[[], None] = lambda: None

    def open(self, cached: bool = False, serializer: str | None = None) -> Any:
        """A new handle on the archive at this location."""
        from klepto_core.registry.urls import archive

        options = dict(self.options)
        if serializer is not None:
            options["serializer"] = serializer
        return archive(self.target.kind, self.name, cached=cached, **options)


def place(target: Target, base: Path) -> Location:
    """A fresh, empty location for ``target`` under ``base`` (or a fresh namespace on its server)."""
    tag = f"m{next(_counter)}_{uuid.uuid4().hex[:8]}"
    kind = target.kind
    if target.service == "redis" or kind in _SERVER_KINDS:
        return _redis_location(target, tag)
    if target.service in _SQL_SERVERS:
        return _sql_server_location(target, tag)
    if not target.persistent:
        return Location(target, tag)
    if kind in _SQL_KINDS:
        return Location(target, f"sqlite:///{base / tag}.db")
    return Location(target, str(base / tag))


def _sql_server_location(target: Target, tag: str) -> Location:
    """A table of its own in the server's shared test database, dropped by the cleanup.

    sqltable names its table in the URL; sql (a whole database in klepto) takes the
    database URL as its name and its entries table as the ``table`` option.
    """
    from tests.helpers.sql import drop_tables

    url = _SQL_SERVERS[str(target.service)]
    cleanup = lambda: drop_tables(url, [tag])  # noqa: E731
    if target.kind == "sql":
        return Location(target, url, {"table": tag}, cleanup)
    return Location(target, f"{url}?table={tag}", cleanup=cleanup)


def _redis_location(target: Target, tag: str) -> Location:
    import redis

    token = f"kctest-{tag}"
    url = services.REDIS_URL

    def wipe() -> None:
        client = redis.Redis.from_url(url)
        try:
            for pattern in (f"klepto:{{{token}*", f"{token}*"):
                names = list(client.scan_iter(match=pattern, count=1000))
                if names:
                    client.unlink(*names)
        finally:
            client.close()

    return Location(target, token, {"url": url}, wipe)


def _reachable(service: str) -> bool:
    """Whether ``service`` answers; under KLEPTO_CORE_REQUIRE_SERVICES=1 a silent one fails."""
    try:
        services.require(service)
    except pytest.skip.Exception:
        return False
    return True


def all_targets() -> list[Target]:
    """Every installed archive kind, placed locally, plus its placements on servers."""
    kinds = REGISTRY.names("archive")
    targets = [Target(kind, _SERVER_KINDS.get(kind)) for kind in kinds]
    targets += [Target(kind, service) for kind, service in _SERVER_VARIANTS if kind in kinds]
    return targets


def available_targets() -> list[Target]:
    """:func:`all_targets` whose server answers (a silent one fails under REQUIRE_SERVICES)."""
    return [t for t in all_targets() if t.service is None or _reachable(t.service)]


# -- what a configuration is ------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One combination of plugins and options for a memoized function."""

    policy: str
    keymap: str
    typed: bool
    serializer: str
    target: Target
    maxsize: int | None
    purge: bool
    style: str  # "api": cached(...) by names; "klepto": <policy>_cache(cache=archive(...))
    cached: bool  # klepto style: the archive wrapped in a memory cache (True) or used as memory

    @property
    def label(self) -> str:
        """The plugin names a failure is reported by."""
        return (
            f"policy={self.policy} keymap={self.keymap}{'(typed)' if self.typed else ''} "
            f"serializer={self.serializer} archive={self.target.label} maxsize={self.maxsize} "
            f"purge={self.purge} style={self.style}{'' if self.cached else '(uncached)'}"
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Config:
        data = json.loads(text)
        data["target"] = Target(**data["target"])
        return cls(**data)


#: the function every configuration memoizes; its value is JSON, so every serializer stores it
def target_function(x: Any, y: int = 0) -> Any:
    return {"x": x, "y": y, "sum": [str(x), y * 2]}


#: the namespace api-style caches use, the same in every process
NAMESPACE = "tests.matrix.target_function"


def keymap_object(config: Config) -> Any:
    return REGISTRY.resolve("keymap", config.keymap).factory(typed=config.typed)


def decorate(
    config: Config, location: Location, function: Callable[..., Any] = target_function
) -> tuple[Callable[..., Any], Any]:
    """``function`` (``target_function``) memoized by ``config`` over the archive at ``location``.

    Returns (the decorated function, the archive handle behind it).
    """
    keymap = keymap_object(config)
    if config.style == "api":
        from klepto_core import cached

        decorator = cached(
            config.policy, maxsize=config.maxsize, keymap=keymap, purge=config.purge,
            archive=config.target.kind, name=location.name, serializer=config.serializer,
            namespace=NAMESPACE, **location.options,
        )
        func = decorator(function)
        memory = func.__cache__()  # type: ignore[attr-defined]
        return func, memory.archive
    from klepto_core.compat.decorators import decorator_class

    store = location.open(cached=config.cached, serializer=config.serializer)
    factory = decorator_class(config.policy)
    func = factory(config.maxsize, cache=store, keymap=keymap, purge=config.purge)(function)
    return func, (store.archive if config.cached else store)


def memory_is_archive(config: Config) -> bool:
    """True when the archive itself is the cache's memory (klepto style, ``cached=False``)."""
    return config.style == "klepto" and not config.cached


def memo_keys(config: Config, sequence: list[Any]) -> list[Any]:
    """The keys the cache stores for these calls (before namespacing)."""
    from klepto_core.memo.wrappers import build_key_functions

    memo = build_key_functions(target_function, keymap_object(config), None, None, False)[0]
    return [memo(*call_args(call)[0], **call_args(call)[1]) for call in sequence]


def effective_maxsize(func: Callable[..., Any]) -> int | None:
    return func.info().maxsize  # type: ignore[attr-defined,no-any-return]


# -- strategies -----------------------------------------------------------------------------

#: small argument pools, so a sequence of calls repeats some of them
_plain = st.one_of(st.integers(-3, 6), st.sampled_from(["a", "b", "ü", "", 2.5]))
#: equal to a plain argument but of another type: only a typed keymap tells them apart
_lookalikes = st.sampled_from([True, False, 1.0, -0.0])


def calls(typed: bool) -> st.SearchStrategy[list[tuple[Any, int | None]]]:
    """A sequence of calls ``(x, y)``; ``y`` None means "left at its default"."""
    x = st.one_of(_plain, _lookalikes) if typed else _plain
    return st.lists(st.tuples(x, st.one_of(st.none(), st.integers(0, 2))), min_size=1, max_size=14)


def call_args(call: tuple[Any, int | None]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """(args, kwds) of a drawn call: ``y`` given by keyword, or left at its default."""
    x, y = call
    return ((x,), {}) if y is None else ((x,), {"y": y})


def configs(targets: list[Target], persistent_only: bool = False) -> st.SearchStrategy[Config]:
    """A configuration drawn from the installed plugins and the reachable archive targets."""
    pool = [t for t in targets if t.persistent] if persistent_only else targets
    return st.builds(
        Config,
        policy=st.sampled_from(REGISTRY.names("policy")),
        keymap=st.sampled_from(REGISTRY.names("keymap")),
        typed=st.booleans(),
        serializer=st.sampled_from(REGISTRY.names("serializer")),
        target=st.sampled_from(pool),
        maxsize=st.one_of(st.none(), st.integers(0, 4)),
        purge=st.booleans(),
        style=st.sampled_from(["api", "klepto"]),
        cached=st.booleans(),
    )


def hashable_values() -> st.SearchStrategy[Hashable]:
    """Keys an archive of any serializer can hold."""
    return st.sampled_from(["a", "b", "dir/slash", "dot.ted", "ünï ✓", "7", "with space"])


def json_values() -> st.SearchStrategy[Any]:
    """Values every serializer stores and gives back equal."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=8),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=6,
    )
