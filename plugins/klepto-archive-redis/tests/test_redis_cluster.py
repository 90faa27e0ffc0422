"""The redis archive on a real Redis Cluster that the tests start: 3 masters on free ports.

The cluster (``tests.helpers.redis_cluster.LocalCluster``) lives for this
module and goes away after it, so nothing needs wiping. Without ``redis-server``
and ``redis-cli`` the module is skipped, or fails under
``KLEPTO_CORE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from klepto_archive_redis import RedisArchive, redis_archive
from redis.cluster import RedisCluster
from redis.crc import key_slot

import klepto_core
from klepto_core.base.archive import Archive
from klepto_core.cli import main as cli_main
from klepto_core.errors import (
    ArchiveUnavailableError,
    ArchiveURLError,
    InvalidArgumentError,
    LockTimeoutError,
)
from klepto_core.keys.stable import stable_bytes
from klepto_core.registry.urls import open_archive, url_schemes
from klepto_core.testing.archive import ArchiveConformance
from klepto_core.testing.shared import SharedPool, stampede
from tests.helpers.redis_cluster import LocalCluster, missing_binaries
from tests.services import redis_url, services_required

pytestmark = pytest.mark.services


def _need_binaries() -> None:
    """Skip (fail under KLEPTO_CORE_REQUIRE_SERVICES=1) without redis-server and redis-cli."""
    missing = missing_binaries()
    if missing:
        reason = f"{', '.join(missing)} not installed: cannot start a local Redis Cluster"
        if services_required():
            pytest.fail(f"{reason} and KLEPTO_CORE_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    _need_binaries()
    with LocalCluster(3) as running:
        yield running


@pytest.fixture(scope="module")
def client(cluster: LocalCluster) -> Iterator[RedisCluster]:
    connection = RedisCluster.from_url(cluster.urls[0])
    yield connection
    connection.close()


def _name() -> str:
    return f"kctest-{uuid.uuid4().hex[:12]}"


def _slot(archive: str) -> int:
    return key_slot(f"klepto:{{{archive}}}:".encode())


def _owner_port(client: RedisCluster, archive: str) -> int:
    return int(client.get_node_from_key(f"klepto:{{{archive}}}:").port)


class TestRedisArchiveClusterConformance(ArchiveConformance):
    """The shared archive suite, each archive a fresh name on the cluster."""

    @pytest.fixture(autouse=True)
    def _cluster(self, cluster: LocalCluster, client: RedisCluster) -> None:
        self.url = cluster.cluster_url
        self.client = client

    def make_archive(self, tmp_path: Path) -> Archive:
        return redis_archive(_name(), url=self.url, cached=False)

    def corrupt(self, archive: Archive, key: object) -> None:
        assert isinstance(archive, RedisArchive)
        name = archive._entry(key)  # type: ignore[arg-type]
        data = self.client.get(name)
        assert data is not None
        start, _ = archive._unpack(key, data)
        self.client.set(name, data[:start] + b"\x80\x05not a pickle")

    def add_foreign(self, archive: Archive) -> Callable[[], bool]:
        longer = redis_archive(f"{archive.state['archive']}x", url=self.url, cached=False)
        longer["a"] = "foreign"
        plain = archive.state["archive"]
        self.client.set(plain, b"plain")  # a key of the same name, on whichever node owns it
        return lambda: longer.get("a") == "foreign" and self.client.get(plain) == b"plain"


# -- opening --------------------------------------------------------------------------------


def test_cluster_schemes_route_to_the_redis_plugin() -> None:
    assert url_schemes()["redis+cluster"] == ["redis"]
    assert url_schemes()["rediss+cluster"] == ["redis"]


def test_url_form_and_cluster_option_open_the_same_archive(cluster: LocalCluster) -> None:
    name = _name()
    by_url = open_archive(f"{cluster.cluster_url}?archive={name}")
    assert isinstance(by_url, RedisArchive)
    by_url.update({"a": 1, ("t", 2): [3]})
    node = f"redis://127.0.0.1:{cluster.ports[1]}/0"  # any node discovers the whole cluster
    by_option = redis_archive(name, url=node, cluster=True, cached=False)
    assert by_option.__asdict__() == {"a": 1, ("t", 2): [3]}
    assert by_option.state["url"] == f"redis+cluster://127.0.0.1:{cluster.ports[1]}/0"
    clone = pickle.loads(pickle.dumps(by_option))  # the state carries the cluster URL
    assert clone.state == by_option.state and clone["a"] == 1
    cached = open_archive(f"{cluster.cluster_url}?archive={name}", cached=True)
    cached.load()
    assert dict(cached) == {"a": 1, ("t", 2): [3]}


def test_a_decorated_function_shares_results_through_the_cluster(cluster: LocalCluster) -> None:
    url = f"{cluster.cluster_url}?archive={_name()}"
    calls: list[int] = []

    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    first = klepto_core.cached(archive=url, namespace="double")(double)
    second = klepto_core.cached(archive=url, namespace="double")(double)
    assert [first(i) for i in range(5)] == [0, 2, 4, 6, 8]
    assert [second(i) for i in range(5)] == [0, 2, 4, 6, 8]
    assert calls == [0, 1, 2, 3, 4]


def test_the_command_line_reads_a_cluster_archive(
    cluster: LocalCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    name = _name()
    url = f"{cluster.cluster_url}?archive={name}"
    redis_archive(name, url=cluster.cluster_url, cached=False).update({"a": 1, "b": 2})
    assert cli_main(["keys", url, "--json"]) == 0
    assert sorted(json.loads(capsys.readouterr().out)["keys"]) == ["'a'", "'b'"]
    assert cli_main(["verify", url]) == 0


# -- where the keys live ------------------------------------------------------------------------


def test_every_key_of_an_archive_is_in_one_slot(
    cluster: LocalCluster, client: RedisCluster
) -> None:
    name = _name()
    archive = redis_archive(name, url=cluster.cluster_url, cached=False)
    archive.update({(i, "k"): i for i in range(200)})
    archive["single"] = 1
    with archive.lock("held"):
        names = list(client.scan_iter(match=f"klepto:{{{name}}}:*", count=1000))
        assert len(names) == 202  # 201 entries and the lock
        assert {client.keyslot(n) for n in names} == {_slot(name)}
    assert len(archive) == 201


def test_archives_on_different_nodes_work_side_by_side(
    cluster: LocalCluster, client: RedisCluster
) -> None:
    by_node: dict[int, str] = {}
    while len(by_node) < len(cluster.ports):
        name = _name()
        by_node.setdefault(_owner_port(client, name), name)
    archives = {
        port: redis_archive(n, url=cluster.cluster_url, cached=False) for port, n in by_node.items()
    }
    for port, archive in archives.items():
        archive.update({"port": port, port: "own"})
    for port, archive in archives.items():
        assert archive.__asdict__() == {"port": port, port: "own"}
        with contextlib.closing(cluster.node(port)) as node:  # stored on the node owning it
            assert node.exists(archive._entry("port"))
    first, *others = archives.values()
    first.clear()
    assert len(first) == 0
    assert all(len(other) == 2 for other in others)


def test_ttl_expires_each_entry_on_the_cluster(cluster: LocalCluster, client: RedisCluster) -> None:
    archive = redis_archive(_name(), url=cluster.cluster_url, ttl=0.3, cached=False)
    archive["a"] = 1
    archive.update({"b": 2, "c": 3})
    assert 0 < client.pttl(archive._entry("a")) <= 300
    assert 0 < client.pttl(archive._entry("c")) <= 300
    time.sleep(0.5)
    assert len(archive) == 0 and "b" not in archive


# -- locks --------------------------------------------------------------------------------------


def test_a_lock_held_elsewhere_times_out_then_is_taken(
    cluster: LocalCluster, client: RedisCluster
) -> None:
    archive = redis_archive(_name(), url=cluster.cluster_url, cached=False)
    lock_name = archive._lock_prefix + stable_bytes("k")
    client.set(lock_name, b"another machine", px=300)
    with pytest.raises(LockTimeoutError):
        with archive.lock("k", timeout=0.05):
            pass
    with archive.lock("k", timeout=5):
        assert client.get(lock_name) not in (None, b"another machine")
    assert client.get(lock_name) is None  # released by the check-and-delete script


def test_single_flight_across_processes_computes_each_input_once(cluster: LocalCluster) -> None:
    url = f"{cluster.cluster_url}?archive={_name()}"
    calls = stampede(6, 4)
    with SharedPool(4) as pool:
        run = pool.run(url, calls, work=0.05, single_flight=True, namespace="flight")
    assert run.wrong == [] and len(run.results) == len(calls)
    assert run.executions == {x: 1 for x in range(6)}


# -- errors -------------------------------------------------------------------------------------


def test_a_plain_url_on_a_cluster_node_says_how_to_open_it(
    cluster: LocalCluster, client: RedisCluster
) -> None:
    name = _name()
    owner = _owner_port(client, name)
    other = next(port for port in cluster.ports if port != owner)
    with pytest.raises(ArchiveURLError) as info:  # an ArchiveUnavailableError: CLI exit 2
        open_archive(f"redis://:s3cret@127.0.0.1:{other}/0?archive={name}")
    message = str(info.value)
    assert "Redis Cluster node" in message and "MOVED" in message
    assert f"redis+cluster://:***@127.0.0.1:{other}/?archive={name}" in message
    assert "s3cret" not in message and "\n" not in message


def test_a_plain_url_on_the_owning_node_fails_clearly_once_the_slot_moves(
    cluster: LocalCluster, client: RedisCluster
) -> None:
    name = _name()
    owner = _owner_port(client, name)
    target = next(port for port in cluster.ports if port != owner)
    plain = redis_archive(name, url=f"redis://127.0.0.1:{owner}/0", cached=False)
    assert len(plain) == 0  # the owning node serves the slot to a plain client
    ids = {port: cluster.command(port, "CLUSTER", "MYID").decode() for port in cluster.ports}
    slot = _slot(name)  # move the (empty) slot to another node, as resharding would
    cluster.command(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[owner])
    cluster.command(owner, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target])
    for port in (target, owner, *(p for p in cluster.ports if p not in (target, owner))):
        cluster.command(port, "CLUSTER", "SETSLOT", slot, "NODE", ids[target])
    with pytest.raises(ArchiveUnavailableError, match="Redis Cluster node.*redis\\+cluster://"):
        plain["k"] = 1
    moved = redis_archive(name, url=cluster.cluster_url, cached=False)
    moved["k"] = 1  # the cluster client follows the slot
    assert moved["k"] == 1 and _owner_port(moved._client, name) == target


def test_a_cluster_url_on_a_standalone_server_says_how_to_open_it() -> None:
    url = redis_url().replace("redis://", "redis+cluster://", 1)
    with pytest.raises(ArchiveURLError, match="not a Redis Cluster node") as info:
        open_archive(f"{url}?archive={_name()}")
    assert url.rpartition("/")[0] in str(info.value)


def test_an_unreachable_cluster_is_archive_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ArchiveUnavailableError) as info:
        open_archive(f"redis+cluster://:s3cret@127.0.0.1:{port}/?archive=x")
    message = str(info.value)
    assert f"redis+cluster://:***@127.0.0.1:{port}" in message
    assert "s3cret" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("redis+cluster://127.0.0.1:1/3", {}),
        ("redis+cluster://127.0.0.1:1/?db=2", {}),
        ("redis+cluster://127.0.0.1:1/", {"db": 1}),
        ("unix:///tmp/redis.sock", {"cluster": True}),
        ("redis://127.0.0.1:1/0?cluster=true", {}),
    ],
)
def test_urls_a_cluster_cannot_take_are_url_errors(url: str, options: dict[str, object]) -> None:
    with pytest.raises(ArchiveURLError) as info:
        redis_archive("x", url=url, cached=False, **options)
    assert "cluster" in str(info.value).lower() and "\n" not in str(info.value)


def test_cluster_option_mistakes_are_argument_errors(cluster: LocalCluster) -> None:
    with pytest.raises(InvalidArgumentError, match="no_such_option"):
        redis_archive("x", url=cluster.cluster_url, no_such_option=1, cached=False)
    with pytest.raises(InvalidArgumentError, match="hash slot"):
        redis_archive("}x", url=cluster.cluster_url, cached=False)
    with pytest.raises(InvalidArgumentError, match="cannot be empty"):
        open_archive(f"{cluster.cluster_url}?archive=")


def test_a_cluster_that_goes_down_is_archive_unavailable() -> None:
    _need_binaries()
    with LocalCluster(1) as small:
        name = _name()
        archive = redis_archive(name, url=small.cluster_url, cached=False)
        plain = redis_archive(name, url=small.urls[0], cached=False)  # owns every slot
        archive["a"] = 1
        assert plain["a"] == 1
        small.command(small.ports[0], "CLUSTER", "DELSLOTSRANGE", 0, 16383)  # CLUSTERDOWN now
        with pytest.raises(ArchiveUnavailableError, match="CLUSTERDOWN.*redis\\+cluster://"):
            plain["a"]
        with pytest.raises(ArchiveUnavailableError, match=re.escape(small.cluster_url)):
            archive["a"]
        small.kill(small.ports[0])
        with pytest.raises(ArchiveUnavailableError, match="redis unreachable"):
            archive["a"] = 2
        with pytest.raises(ArchiveUnavailableError):
            list(archive.items())
