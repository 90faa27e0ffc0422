"""A throwaway local Redis Cluster for tests: ``redis-server`` processes on free ports in a tmp dir.

``LocalCluster(masters=3)`` starts that many masters (no replicas, no persistence),
joins them with ``redis-cli --cluster create`` and waits until every node says
``cluster_state:ok``; ``masters=1`` gives one node holding every slot (``redis-cli``
refuses clusters under three masters, so that one is built with CLUSTER
ADDSLOTSRANGE). Use it as a context manager; leaving it stops the servers and
deletes the directory. :func:`missing_binaries` says what is not installed.
"""

from __future__ import annotations

import functools
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

__all__ = ["LocalCluster", "missing_binaries"]

_BINARIES = ("redis-server", "redis-cli")


def missing_binaries() -> list[str]:
    """The Redis programs a LocalCluster needs that are not on PATH."""
    return [name for name in _BINARIES if shutil.which(name) is None]


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait(check: Callable[[], object], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"local redis cluster: {what} within {timeout:g} s")
        time.sleep(0.02)


class LocalCluster:
    """``masters`` redis-server processes forming one cluster on 127.0.0.1 (see the module doc)."""

    def __init__(self, masters: int = 3, timeout: float = 30.0) -> None:
        if masters < 1:
            raise ValueError("a cluster needs at least one master")
        self.masters = masters
        self.timeout = timeout
        self.ports: list[int] = []
        self.directory: Path | None = None
        self._servers: list[subprocess.Popen[bytes]] = []

    @property
    def urls(self) -> list[str]:
        """``redis://127.0.0.1:<port>/0`` of each node."""
        return [f"redis://127.0.0.1:{port}/0" for port in self.ports]

    @property
    def cluster_url(self) -> str:
        """The ``redis+cluster://`` URL of the first node, as the redis archive opens it."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}/0"

    def node(self, port: int) -> redis.Redis:
        """A plain client on one node (close it after use)."""
        return redis.Redis(host="127.0.0.1", port=port)

    def start(self) -> LocalCluster:
        """Start the servers, form the cluster, wait for cluster_state:ok."""
        missing = missing_binaries()
        if missing:
            raise FileNotFoundError(f"local redis cluster: {', '.join(missing)} not on PATH")
        self.directory = Path(tempfile.mkdtemp(prefix="klepto-redis-cluster-"))
        ports = _free_ports(2 * self.masters)  # client ports, then cluster bus ports
        self.ports = ports[: self.masters]
        try:
            for port, bus in zip(self.ports, ports[self.masters :]):
                self._servers.append(self._spawn(port, bus))
            for port in self.ports:
                _wait(functools.partial(self.command, port, "PING"), f"{port} not up", 10)
            if self.masters >= 3:
                self._create()
            else:
                self._assign_all_slots()
            for port in self.ports:
                _wait(functools.partial(self._state_ok, port), "cluster_state not ok", self.timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, port: int, bus: int) -> subprocess.Popen[bytes]:
        assert self.directory is not None
        args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        args += ["--cluster-enabled", "yes", "--cluster-port", str(bus)]
        args += ["--cluster-config-file", str(self.directory / f"nodes-{port}.conf")]
        args += ["--appendonly", "no", "--save", "", "--dir", str(self.directory)]
        args += ["--logfile", str(self.directory / f"redis-{port}.log")]
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)

    def _create(self) -> None:
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        args = ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0"]
        done = subprocess.run(
            [*args, "--cluster-yes"], capture_output=True, text=True, timeout=self.timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout}{done.stderr}")

    def command(self, port: int, *args: Any) -> Any:
        """Send one command to the node on ``port`` over a connection of its own."""
        client: Any = self.node(port)
        try:
            return client.execute_command(*args)
        finally:
            client.close()

    def _assign_all_slots(self) -> None:
        first = self.ports[0]
        self.command(first, "CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        for port in self.ports[1:]:
            self.command(first, "CLUSTER", "MEET", "127.0.0.1", port)

    def _state_ok(self, port: int) -> bool:
        info = self.command(port, "CLUSTER", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text

    def stop(self) -> None:
        """Stop every server still running and delete the directory."""
        for server in self._servers:
            if server.poll() is None:
                server.terminate()
        for server in self._servers:
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        self._servers = []
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def kill(self, port: int) -> None:
        """Stop the node on ``port`` at once (as a crash would)."""
        server = self._servers[self.ports.index(port)]
        server.kill()
        server.wait()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
