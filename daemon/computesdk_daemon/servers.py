"""Managed servers: long-running processes by slug, with status, detected port, logs and restarts.

A server goes ``starting`` (spawned) -> ``running`` (alive, seen by the port monitor) ->
``ready`` (one of its processes listens on a TCP port; ``port`` and ``url`` are then set).
It is ``failed`` when it exits on its own (its output and exit code are kept) and ``stopped``
after a stop: SIGTERM to its process group, then SIGKILL once ``stop_timeout`` has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from dotenv import dotenv_values

from computesdk_core.wire import format_datetime
from computesdk_daemon.auth import public
from computesdk_daemon.command_spec import command_environment, default_shell, resolve_cwd
from computesdk_daemon.config import CONFIG
from computesdk_daemon.env import status_wrapped
from computesdk_daemon.errors import ApiError
from computesdk_daemon.openapi import error_responses
from computesdk_daemon.output import OutputPump, TailBuffer, TextSink
from computesdk_daemon.ports import PORTS, PortMonitor, Snapshot, listening_sockets
from computesdk_daemon.processes import SUPERVISOR, Child, ProcessSupervisor
from computesdk_daemon.request_body import get_bool, get_str, get_str_map, read_object, require_str
from computesdk_daemon.responses import flat
from computesdk_daemon.signals import SIGNALS, SignalService

SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
ACTIVE = frozenset({"installing", "starting", "running", "ready", "restarting"})
RESTART_POLICIES = ("never", "on-failure", "always")
LOG_STREAMS = ("stdout", "stderr", "combined")
# Options of the protocol this daemon does not implement: refused rather than silently ignored.
UNSUPPORTED = ("overlay", "overlays", "depends_on", "health_check")
LOG_LIMIT = 1024 * 1024
DEFAULT_STOP_TIMEOUT = 10.0
DEFAULT_RESTART_DELAY = 1.0
# Output still arriving after the process group is gone is read for at most this long.
DRAIN_GRACE = 0.5
_NS = 1_000_000_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class ServerConfig:
    """What a server runs and how (the checked ServerStartOptions)."""

    slug: str
    start: str
    path: str
    original_path: str | None
    install: str | None = None
    env_file: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    strict_port: bool = False
    autostart: bool = True
    restart_policy: str = "never"
    max_restarts: int = 0
    restart_delay: float = DEFAULT_RESTART_DELAY
    stop_timeout: float = DEFAULT_STOP_TIMEOUT


def _int_field(body: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, f"'{key}' must be an integer from {low} to {high}")
    return value


def parse_options(body: dict[str, Any], workdir: Path) -> ServerConfig:
    """Check a POST /servers body (400/404 naming the field at fault)."""
    for key in UNSUPPORTED:
        if body.get(key) is not None:
            raise ApiError(400, f"'{key}' is not supported by this daemon")
    slug = require_str(body, "slug")
    if not SLUG.fullmatch(slug):
        raise ApiError(400, "'slug' must be 1-63 letters, digits, '-' or '_', starting with a letter or digit")
    start = get_str(body, "start") or get_str(body, "command")
    if not start:
        raise ApiError(400, "'start' (the start command) is required")
    original_path = get_str(body, "path")
    policy = get_str(body, "restart_policy", "never") or "never"
    if policy not in RESTART_POLICIES:
        raise ApiError(400, "'restart_policy' must be 'never', 'on-failure' or 'always'")
    stop_ms = _int_field(body, "stop_timeout_ms", 0, 3_600_000)
    delay_ms = _int_field(body, "restart_delay_ms", 0, 3_600_000)
    return ServerConfig(
        slug=slug,
        start=start,
        path=resolve_cwd(workdir, original_path),
        original_path=original_path,
        install=get_str(body, "install") or None,
        env_file=get_str(body, "env_file") or None,
        environment=get_str_map(body, "environment"),
        port=_int_field(body, "port", 1, 65535),
        strict_port=get_bool(body, "strict_port"),
        autostart=get_bool(body, "autostart", True),
        restart_policy=policy,
        max_restarts=_int_field(body, "max_restarts", 0, 1_000_000) or 0,
        restart_delay=DEFAULT_RESTART_DELAY if delay_ms is None else delay_ms / 1000,
        stop_timeout=DEFAULT_STOP_TIMEOUT if stop_ms is None else stop_ms / 1000,
    )


def port_is_free(port: int) -> bool:
    """Whether nothing listens on ``port`` and it can be bound on every interface."""
    if port in listening_sockets().values():
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def allocate_port(requested: int, strict: bool) -> int:
    """The requested port, or (unless ``strict``) the next free one above it."""
    for port in range(requested, min(requested + 100, 65536)):
        if port_is_free(port):
            return port
        if strict:
            raise ApiError(409, f"port {requested} is already in use")
    raise ApiError(409, f"no free port from {requested} on")


class ManagedServer:
    """One server: its configuration, its current process, its state and its output."""

    def __init__(self, config: ServerConfig, app: web.Application) -> None:
        self.config = config
        self._app = app
        self.status = "starting"
        self.pid: int | None = None
        self.port: int | None = None
        self.url: str | None = None
        self.exit_code: int | None = None
        self.restart_count = 0
        self.created_at = _now()
        self.updated_at = self.created_at
        self.stdout = TailBuffer(LOG_LIMIT)
        self.stderr = TailBuffer(LOG_LIMIT)
        self.combined = TailBuffer(LOG_LIMIT)
        self.child: Child | None = None
        self.task: asyncio.Task[None] | None = None
        self.stopping = False
        self.lock = asyncio.Lock()
        self.assigned_port: int | None = None

    @property
    def supervisor(self) -> ProcessSupervisor:
        """The daemon's process supervisor."""
        return self._app[SUPERVISOR]

    @property
    def monitor(self) -> PortMonitor:
        """The daemon's port monitor."""
        return self._app[PORTS]

    def set_status(self, status: str) -> None:
        """Change the status and the update time."""
        self.status = status
        self.updated_at = _now()

    def note(self, text: str) -> None:
        """Add a line of the daemon's own to the server's stderr (why it could not start)."""
        line = f"[computesdk] {text}\n"
        self.stderr.append(line)
        self.combined.append(line)

    def logs(self, stream: str) -> str:
        """The kept output of one stream, or of both interleaved."""
        return {"stdout": self.stdout, "stderr": self.stderr, "combined": self.combined}[stream].text()

    def info(self) -> dict[str, Any]:
        """The ServerInfo body."""
        config = self.config
        return {
            "slug": config.slug,
            "start": config.start,
            "command": config.start,
            "install": config.install,
            "path": config.path,
            "original_path": config.original_path,
            "env_file": config.env_file,
            "environment": config.environment,
            "autostart": config.autostart,
            "strict_port": config.strict_port,
            "port": self.port if self.port is not None else self.assigned_port,
            "url": self.url,
            "status": self.status,
            "pid": self.pid,
            "terminal_id": None,
            "restart_policy": config.restart_policy,
            "max_restarts": config.max_restarts,
            "restart_delay": int(config.restart_delay * _NS),
            "stop_timeout": int(config.stop_timeout * _NS),
            "restart_count": self.restart_count,
            "exit_code": self.exit_code,
            "created_at": format_datetime(self.created_at),
            "updated_at": format_datetime(self.updated_at),
        }

    # --- running ------------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """The process environment: the daemon's, the env file's, ``environment``, then $PORT."""
        config = self.config
        extra: dict[str, str] = {}
        if config.env_file:
            env_path = os.path.join(config.path, config.env_file)
            if not os.path.isfile(env_path):
                raise ApiError(400, f"env_file not found: {config.env_file}")
            values = dotenv_values(env_path)
            extra.update({key: value for key, value in values.items() if value is not None})
        extra.update(config.environment)
        if self.assigned_port is not None:
            extra["PORT"] = str(self.assigned_port)
        return command_environment(extra)

    def spawn(self, command: str) -> Child:
        """Start ``command`` through the shell in the server's directory."""
        try:
            child = self.supervisor.spawn([default_shell(), "-c", command], cwd=self.config.path,
                                          env=self.environment())
        except OSError as exc:
            raise ApiError(500, f"could not start the server: {exc.strerror or exc}") from exc
        self.child = child
        self.pid = child.pid
        self.exit_code = None
        return child

    def begin(self) -> None:
        """Start the server (status ``starting``, or ``installing`` first); errors raise ApiError."""
        self.stopping = False
        if self.config.port is not None:
            self.assigned_port = allocate_port(self.config.port, self.config.strict_port)
        if self.config.install:
            self.environment()  # a missing env file is the caller's error, not a failed install
            self.set_status("installing")
            self.task = self._track(self._install_then_run())
        else:
            child = self.spawn(self.config.start)
            self.set_status("starting")
            self.task = self._track(self._supervise(child))

    def _track(self, coroutine: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self.supervisor.track(task)
        return task

    async def _install_then_run(self) -> None:
        child = self.spawn(self.config.install or "")
        code = await self._collect(child)
        if self.stopping:
            self._ended(code, "stopped")
            return
        if code != 0:
            self.note(f"install command exited with {code}")
            self._ended(code, "failed")
            return
        try:
            child = self.spawn(self.config.start)
        except ApiError as exc:
            self.note(exc.message)
            self._ended(None, "failed")
            return
        self.set_status("starting")
        await self._supervise(child)

    async def _collect(self, child: Child) -> int:
        """Pump the child's output into the logs until it exits; then end its whole group."""
        pumps = [OutputPump(pipe, self._sink(buffer)) for pipe, buffer in
                 ((child.stdout, self.stdout), (child.stderr, self.stderr)) if pipe is not None]
        for pump in pumps:
            self.supervisor.track(pump.task)
        try:
            code = await child.wait()
        finally:
            # What the leader left behind (``server &``) goes with it: it would hold the port.
            child.kill_group()
        if pumps:
            await asyncio.wait([pump.task for pump in pumps], timeout=DRAIN_GRACE)
        for pump in pumps:
            pump.detach()
        return code

    def _sink(self, buffer: TailBuffer) -> TextSink:
        async def write(text: str) -> None:
            buffer.append(text)
            self.combined.append(text)

        return write

    async def _supervise(self, child: Child) -> None:
        """Follow the server's process; restart it as its policy says; record how it ended."""
        while True:
            self.monitor.acquire(self)
            self.monitor.poll_soon()
            try:
                code = await self._collect(child)
            finally:
                self.monitor.release(self)
            if self.stopping:
                self._ended(code, "stopped")
                return
            if not self._should_restart(code):
                self._ended(code, "failed")
                return
            self._ended(code, "restarting")
            self.restart_count += 1
            await asyncio.sleep(self.config.restart_delay)
            if self.stopping:
                self.set_status("stopped")
                return
            try:
                child = self.spawn(self.config.start)
            except ApiError as exc:
                self.note(exc.message)
                self._ended(None, "failed")
                return
            self.set_status("starting")

    def _should_restart(self, code: int) -> bool:
        policy = self.config.restart_policy
        if policy == "never" or (policy == "on-failure" and code == 0):
            return False
        return self.config.max_restarts == 0 or self.restart_count < self.config.max_restarts

    def _ended(self, code: int | None, status: str) -> None:
        self.child = None
        self.pid = None
        self.port = None
        self.url = None
        self.exit_code = code
        self.set_status(status)

    async def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after ``stop_timeout``; status ``stopped``."""
        was_active = self.status in ACTIVE
        self.stopping = True
        child = self.child
        if child is not None and child.returncode is None:
            child.kill_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), self.config.stop_timeout or None)
            except asyncio.TimeoutError:
                child.kill_group(signal.SIGKILL)
                await child.wait()
        task = self.task
        if task is not None and not task.done():
            done, _ = await asyncio.wait([task], timeout=DRAIN_GRACE * 4)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if was_active:
            self._ended(self.exit_code, "stopped")

    def on_ports(self, snapshot: Snapshot, signals: SignalService) -> None:
        """Port monitor news: ``ready`` once the server's processes listen, ``running`` while not."""
        child = self.child
        if child is None or child.returncode is not None or self.status not in ("starting", "running", "ready"):
            return
        ports = snapshot.ports_of(child.pid)
        if not ports:
            if self.status != "running":
                self.port = self.url = None
                self.set_status("running")
            return
        port = self.assigned_port if self.assigned_port in ports else min(ports)
        if self.status == "ready" and port == self.port:
            return
        self.port, self.url = port, self.monitor.url(port)
        self.set_status("ready")
        if signals.active:
            signals.publish_soon({"signal": "server-ready", "port": port, "url": self.url})


class ServerRegistry:
    """Every server of the daemon, by slug."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.servers: dict[str, ManagedServer] = {}

    def get(self, slug: str) -> ManagedServer:
        """A server by slug (404 if none)."""
        server = self.servers.get(slug)
        if server is None:
            raise ApiError(404, f"server not found: {slug}")
        return server

    def on_ports(self, _: Snapshot, current: Snapshot) -> None:
        """Port monitor listener: update each server's status, port and URL."""
        signals = self._app[SIGNALS]
        for server in list(self.servers.values()):
            server.on_ports(current, signals)


SERVERS = web.AppKey("servers", ServerRegistry)


async def start_server(request: web.Request) -> web.Response:
    """POST /servers ServerStartOptions -> {server}."""
    body = await read_object(request)
    config = parse_options(body, request.app[CONFIG].workdir)
    registry = request.app[SERVERS]
    existing = registry.servers.get(config.slug)
    if existing is not None and (existing.status in ACTIVE or existing.lock.locked()):
        raise ApiError(409, f"a server with slug {config.slug!r} is already {existing.status}; stop it first")
    server = ManagedServer(config, request.app)
    server.begin()
    registry.servers[config.slug] = server
    return status_wrapped("Server started", {"server": server.info()})


@public
async def ready(request: web.Request) -> web.Response:
    """GET /ready: whether every managed server that should run is listening (so has a URL)."""
    servers = [
        {"slug": server.config.slug, "port": info["port"], "url": info["url"], "status": info["status"]}
        for server in request.app[SERVERS].servers.values()
        for info in (server.info(),)
    ]
    wanted = [entry for entry in servers if entry["status"] != "stopped"]
    return flat({"ready": all(entry["status"] == "ready" for entry in wanted), "servers": servers, "overlays": []})


async def list_servers(request: web.Request) -> web.Response:
    """GET /servers -> {servers}."""
    servers = [server.info() for server in request.app[SERVERS].servers.values()]
    return status_wrapped("Servers listed", {"servers": servers})


async def get_server(request: web.Request) -> web.Response:
    """GET /servers/{slug} -> {server}."""
    server = request.app[SERVERS].get(request.match_info["slug"])
    return status_wrapped("Server found", {"server": server.info()})


async def stop_server(request: web.Request) -> web.Response:
    """POST /servers/{slug}/stop: stop it and keep its configuration -> {slug}."""
    server = request.app[SERVERS].get(request.match_info["slug"])
    async with server.lock:
        await server.stop()
    return status_wrapped("Server stopped", {"slug": server.config.slug, "status": server.status})


async def restart_server(request: web.Request) -> web.Response:
    """POST /servers/{slug}/restart: stop it if it runs, start it again -> {server}."""
    server = request.app[SERVERS].get(request.match_info["slug"])
    async with server.lock:
        await server.stop()
        server.begin()
    return status_wrapped("Server restarted", {"server": server.info()})


async def delete_server(request: web.Request) -> web.Response:
    """DELETE /servers/{slug}: stop it and forget it -> {slug}."""
    registry = request.app[SERVERS]
    server = registry.get(request.match_info["slug"])
    async with server.lock:
        await server.stop()
    if registry.servers.get(server.config.slug) is server:
        del registry.servers[server.config.slug]
    return status_wrapped("Server deleted", {"slug": server.config.slug})


async def server_logs(request: web.Request) -> web.Response:
    """GET /servers/{slug}/logs?stream=stdout|stderr|combined -> {slug, stream, logs}."""
    server = request.app[SERVERS].get(request.match_info["slug"])
    stream = request.query.get("stream", "combined")
    if stream not in LOG_STREAMS:
        raise ApiError(400, "'stream' must be 'stdout', 'stderr' or 'combined'")
    return status_wrapped("Server logs", {"slug": server.config.slug, "stream": stream, "logs": server.logs(stream)})


def setup(app: web.Application) -> None:
    """Attach the registry and the /servers routes (after processes, ports and signals)."""
    registry = ServerRegistry(app)
    app[SERVERS] = registry
    app[PORTS].add_listener(registry.on_ports)
    app.router.add_get("/ready", ready)
    app.router.add_get("/servers", list_servers)
    app.router.add_post("/servers", start_server)
    app.router.add_get("/servers/{slug}", get_server)
    app.router.add_delete("/servers/{slug}", delete_server)
    app.router.add_post("/servers/{slug}/stop", stop_server)
    app.router.add_post("/servers/{slug}/restart", restart_server)
    app.router.add_get("/servers/{slug}/logs", server_logs)


_SERVER_INFO: dict[str, Any] = {"type": "object", "properties": {
    "slug": {"type": "string"}, "start": {"type": "string"}, "command": {"type": "string"},
    "install": {"type": ["string", "null"]}, "path": {"type": "string"},
    "original_path": {"type": ["string", "null"]}, "env_file": {"type": ["string", "null"]},
    "environment": {"type": "object", "additionalProperties": {"type": "string"}},
    "port": {"type": ["integer", "null"]}, "url": {"type": ["string", "null"]},
    "status": {"type": "string", "enum": ["installing", "starting", "running", "ready", "failed",
                                          "stopped", "restarting"]},
    "pid": {"type": ["integer", "null"]}, "terminal_id": {"type": ["string", "null"]},
    "restart_policy": {"type": "string"}, "max_restarts": {"type": "integer"},
    "restart_delay": {"type": "integer", "description": "nanoseconds"},
    "stop_timeout": {"type": "integer", "description": "nanoseconds"},
    "restart_count": {"type": "integer"}, "exit_code": {"type": ["integer", "null"]},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
}}
_START_OPTIONS: dict[str, Any] = {"type": "object", "required": ["slug", "start"], "properties": {
    "slug": {"type": "string"}, "start": {"type": "string", "description": "alias: command"},
    "install": {"type": "string"}, "path": {"type": "string"}, "env_file": {"type": "string"},
    "environment": {"type": "object", "additionalProperties": {"type": "string"}},
    "port": {"type": "integer", "description": "exported as $PORT"}, "strict_port": {"type": "boolean"},
    "autostart": {"type": "boolean"},
    "restart_policy": {"type": "string", "enum": list(RESTART_POLICIES)},
    "max_restarts": {"type": "integer"}, "restart_delay_ms": {"type": "integer"},
    "stop_timeout_ms": {"type": "integer"},
}}
_SLUG_PARAM = [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}]


def _status_wrapped(description: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": {
            "status": {"type": "string"}, "message": {"type": "string"},
            "data": {"type": "object", "properties": data},
        },
    }}}}


_ONE = {"server": _SERVER_INFO}
_SLUG = {"slug": {"type": "string"}}

OPENAPI_PATHS: dict[str, Any] = {
    "/ready": {"get": {
        "summary": "Whether every managed server that should run listens on its port", "security": [],
        "responses": {"200": {"description": "Readiness (flat)", "content": {"application/json": {"schema": {
            "type": "object", "required": ["ready", "servers", "overlays"], "properties": {
                "ready": {"type": "boolean"},
                "servers": {"type": "array", "items": {"type": "object", "properties": {
                    "slug": {"type": "string"}, "port": {"type": ["integer", "null"]},
                    "url": {"type": ["string", "null"]}, "status": {"type": "string"}}}},
                "overlays": {"type": "array", "items": {"type": "object"}}}}}}}},
    }},
    "/servers": {
        "get": {"summary": "List the managed servers",
                "responses": {"200": _status_wrapped("The servers", {"servers": {"type": "array", "items": _SERVER_INFO}}),
                              **error_responses(401)}},
        "post": {"summary": "Start a managed server",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _START_OPTIONS}}},
                 "responses": {"200": _status_wrapped("The server, starting", _ONE),
                               **error_responses(400, 401, 404, 409)}},
    },
    "/servers/{slug}": {
        "get": {"summary": "A managed server", "parameters": _SLUG_PARAM,
                "responses": {"200": _status_wrapped("The server", _ONE), **error_responses(401, 404)}},
        "delete": {"summary": "Stop a server and remove it", "parameters": _SLUG_PARAM,
                   "responses": {"200": _status_wrapped("The slug removed", _SLUG), **error_responses(401, 404)}},
    },
    "/servers/{slug}/stop": {"post": {
        "summary": "Stop a server (SIGTERM, then SIGKILL after stop_timeout); its configuration is kept",
        "parameters": _SLUG_PARAM,
        "responses": {"200": _status_wrapped("The slug stopped", _SLUG), **error_responses(401, 404)},
    }},
    "/servers/{slug}/restart": {"post": {
        "summary": "Stop a server if it runs and start it again", "parameters": _SLUG_PARAM,
        "responses": {"200": _status_wrapped("The server, starting", _ONE), **error_responses(401, 404, 409)},
    }},
    "/servers/{slug}/logs": {"get": {
        "summary": "The output a server has written (the last MiB of each stream)",
        "parameters": [*_SLUG_PARAM, {"name": "stream", "in": "query", "required": False,
                                      "schema": {"type": "string", "enum": list(LOG_STREAMS)}}],
        "responses": {"200": _status_wrapped("The logs", {**_SLUG, "stream": {"type": "string"},
                                                           "logs": {"type": "string"}}),
                      **error_responses(400, 401, 404)},
    }},
}
