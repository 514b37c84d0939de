"""Which TCP ports the daemon's processes listen on: a /proc poller and its listeners.

Nothing announces "this process now listens"; the monitor reads the kernel's socket tables
(``/proc/net/tcp`` and ``tcp6``, state ``0A`` = LISTEN) and matches their inodes against the
``socket:[inode]`` links in ``/proc/<pid>/fd`` of every process the daemon started (its
descendants: as a subreaper it also adopts their orphans). It runs only while somebody wants
it (active signals, live servers), since each round reads all of ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from computesdk_daemon.config import CONFIG

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
_LISTEN = "0A"
_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})


def listening_sockets(tables: Iterable[str] = _TABLES) -> dict[int, int]:
    """Socket inode -> port of every listening TCP socket in this network namespace."""
    found: dict[int, int] = {}
    for table in tables:
        try:
            with open(table, encoding="ascii") as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue  # no IPv6 in this kernel, or /proc not mounted
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            port = int(fields[1].rsplit(":", 1)[1], 16)
            inode = int(fields[9])
            if inode:
                found[inode] = port
    return found


@dataclass(frozen=True)
class ProcessEntry:
    """One process as /proc/<pid>/stat tells it."""

    pid: int
    ppid: int
    pgid: int


def process_table() -> dict[int, ProcessEntry]:
    """Every process visible in /proc."""
    table: dict[int, ProcessEntry] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue  # it exited while we looked
        # The command name in parentheses may hold spaces and parentheses: split after the last ")".
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) < 3 or fields[0] == "Z":
            continue
        table[int(name)] = ProcessEntry(int(name), int(fields[1]), int(fields[2]))
    return table


def descendants(table: dict[int, ProcessEntry], roots: Iterable[int]) -> set[int]:
    """The processes in the trees below ``roots`` (the roots themselves included when alive)."""
    children: dict[int, list[int]] = {}
    for entry in table.values():
        children.setdefault(entry.ppid, []).append(entry.pid)
    seen: set[int] = set()
    stack = [root for root in roots if root in table]
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        stack.extend(children.get(pid, ()))
    return seen


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets a process has open (empty if it is gone or not ours to read)."""
    inodes: set[int] = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


@dataclass(frozen=True)
class Snapshot:
    """The ports the daemon's processes listen on at one moment."""

    table: dict[int, ProcessEntry]
    ports_by_pid: dict[int, frozenset[int]]

    @property
    def ports(self) -> frozenset[int]:
        """Every listening port of every process the daemon started."""
        return frozenset(port for ports in self.ports_by_pid.values() for port in ports)

    def ports_of(self, root: int) -> frozenset[int]:
        """Ports of the process ``root``, its descendants and the rest of its process group."""
        tree = descendants(self.table, [root])
        tree |= {entry.pid for entry in self.table.values() if entry.pgid == root}
        return frozenset(port for pid in tree for port in self.ports_by_pid.get(pid, ()))


EMPTY = Snapshot({}, {})


def take_snapshot(daemon_pid: int) -> Snapshot:
    """Read /proc once: the listening ports of every descendant of ``daemon_pid``."""
    listening = listening_sockets()
    table = process_table()
    ports_by_pid: dict[int, frozenset[int]] = {}
    if listening:
        # A child between fork and exec still holds the daemon's own sockets (its listening
        # one included): those are never a child's port.
        own = socket_inodes(daemon_pid)
        for pid in descendants(table, [daemon_pid]) - {daemon_pid}:
            ports = frozenset(listening[inode] for inode in socket_inodes(pid) - own if inode in listening)
            if ports:
                ports_by_pid[pid] = ports
    return Snapshot(table, ports_by_pid)


def port_url(host: str, port: int) -> str:
    """Where a port of the sandbox is reached: the daemon's own host, loopback for a wildcard."""
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


Listener = Callable[[Snapshot, Snapshot], None]


class PortMonitor:
    """Polls /proc while it has users and tells listeners each new snapshot (with the last one)."""

    def __init__(self, host: str, interval: float = POLL_INTERVAL) -> None:
        self.host = host
        self.interval = interval
        self.latest = EMPTY
        self._listeners: list[Listener] = []
        self._users: set[object] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closed = False

    def url(self, port: int) -> str:
        """The URL of a sandbox port."""
        return port_url(self.host, port)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(previous, current)`` after every poll (on the event loop)."""
        self._listeners.append(listener)

    def acquire(self, user: object) -> None:
        """Keep polling on behalf of ``user`` (idempotent per user)."""
        if self._closed:
            return
        self._users.add(user)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def release(self, user: object) -> None:
        """``user`` no longer needs polling; the poller ends when nobody does."""
        self._users.discard(user)
        if not self._users:
            self._wake.set()

    def poll_soon(self) -> None:
        """Poll now instead of at the next tick (a process was just started or stopped)."""
        self._wake.set()

    async def _run(self) -> None:
        # The first snapshot is the baseline: ports already open are not news.
        self.latest = await asyncio.to_thread(take_snapshot, os.getpid())
        while self._users and not self._closed:
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            if not self._users:
                break
            try:
                current = await asyncio.to_thread(take_snapshot, os.getpid())
            except OSError:
                logger.exception("reading /proc for listening ports failed")
                continue
            previous, self.latest = self.latest, current
            for listener in list(self._listeners):
                try:
                    listener(previous, current)
                except Exception:
                    logger.exception("a port listener failed")

    async def close(self) -> None:
        """Stop polling for good."""
        self._closed = True
        self._users.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


PORTS = web.AppKey("ports", PortMonitor)


def setup(app: web.Application) -> None:
    """Attach the port monitor (idle until signals or servers need it)."""
    monitor = PortMonitor(app[CONFIG].host)
    app[PORTS] = monitor

    async def on_shutdown(_: web.Application) -> None:
        await monitor.close()

    app.on_shutdown.append(on_shutdown)
