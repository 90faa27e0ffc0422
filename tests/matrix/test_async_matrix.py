"""The async wrapper against its sync twin, for every policy over dict, dir, file, sql, redis.

sql is SQLite in a tmp file; redis needs the server (skipped when it does not
answer). Each configuration memoizes ``target_function`` twice, once as
``async def``, over two fresh archives of one kind; the same calls must give the same values,
the same ``info()`` counts and the same stored entries; a new decoration of the
async one over its archive then loads what was stored instead of computing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from klepto_core.registry import REGISTRY
from tests import services
from tests.matrix.strategies import Config, Location, Target, decorate, place, target_function

KINDS = ["dict", "dir", "file", "sql", "redis"]
#: policies that pick victims at random
RANDOM = {"rr"}
CALLS = [(1, 0), (2, 0), (1, 0), (3, 1), (1, 0), (2, 0), ("a", 2), (3, 1), (4, 0), (1, 0)]


async def async_target(x: Any, y: int = 0) -> Any:
    await asyncio.sleep(0)
    return target_function(x, y)


def _decorate_async(config: Config, location: Location) -> tuple[Callable[..., Any], Any]:
    return decorate(config, location, async_target)


@pytest.fixture
def places(tmp_path: Path) -> Iterator[Callable[[Target], Location]]:
    made: list[Location] = []

    def make(target: Target) -> Location:
        location = place(target, tmp_path)
        made.append(location)
        return location

    yield make
    for location in made:
        location.cleanup()


def _config(policy: str, kind: str, style: str) -> Config:
    target = Target(kind, "redis" if kind == "redis" else None)
    if target.service is not None:
        services.require(target.service)
    return Config(
        policy=policy, keymap="keymap", typed=False, serializer="pickle", target=target,
        maxsize=2, purge=False, style=style, cached=True,
    )


def _stored(archive: Any) -> dict[Any, Any]:
    return {key: archive[key] for key in archive.keys()}


@pytest.mark.asyncio
@pytest.mark.parametrize("style", ["api", "klepto"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("policy", REGISTRY.names("policy"))
async def test_async_matches_sync(
    policy: str, kind: str, style: str, places: Callable[[Target], Location]
) -> None:
    config = _config(policy, kind, style)
    sync_f, sync_archive = decorate(config, places(config.target))
    location = places(config.target)
    async_f, async_archive = _decorate_async(config, location)
    for x, y in CALLS:
        assert await async_f(x, y=y) == sync_f(x, y=y), config.label
    async_f.dump()  # klepto style writes on eviction and dump(); cached() wrote through
    sync_f.dump()
    if policy in RANDOM:  # victims drawn at random: the twins may keep different entries
        assert sum(async_f.info()[:3]) == sum(sync_f.info()[:3]) == len(CALLS)
    else:
        assert async_f.info() == sync_f.info(), config.label
        assert _stored(async_archive) == _stored(sync_archive), config.label
    if config.target.persistent and _stored(async_archive):
        again, _ = _decorate_async(config, location)
        for x, y in CALLS:
            assert await again(x, y=y) == target_function(x, y)
        assert again.info().load >= 1 and again.info().miss == 0, config.label
