"""The signals service: port, error and server-ready signals on the ``signals`` channel.

Clients emit signals over HTTP; while the service is active the daemon also emits port
signals itself, whenever a process it started begins or stops listening on a TCP port.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from computesdk_daemon.errors import ApiError
from computesdk_daemon.hub import HUB
from computesdk_daemon.openapi import error_responses
from computesdk_daemon.ports import PORTS, PortMonitor, Snapshot
from computesdk_daemon.processes import SUPERVISOR
from computesdk_daemon.request_body import get_str, read_object, require_str
from computesdk_daemon.responses import wrapped

CHANNEL = "signals"
WS_URL = "/ws"
PORT_TYPES = ("open", "close")


class SignalService:
    """Whether the service is active, and publishing signals to the channel's subscribers."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.active = False

    @property
    def monitor(self) -> PortMonitor:
        """The daemon's port monitor."""
        return self._app[PORTS]

    def start(self) -> None:
        """Become active: detected ports are published from now on."""
        self.active = True
        self.monitor.acquire(self)

    def stop(self) -> None:
        """Become inactive: ports are no longer watched for signals."""
        self.active = False
        self.monitor.release(self)

    def describe(self) -> dict[str, Any]:
        """The status body of the start, stop and status endpoints."""
        return {"status": "active" if self.active else "stopped", "channel": CHANNEL, "ws_url": WS_URL}

    async def publish(self, data: dict[str, Any]) -> None:
        """Send one ``signal`` message to the channel's subscribers."""
        await self._app[HUB].publish(CHANNEL, "signal", data)

    def publish_soon(self, data: dict[str, Any]) -> None:
        """Publish from synchronous code on the loop (a port listener)."""
        self._app[SUPERVISOR].track(asyncio.ensure_future(self.publish(data)))

    def on_ports(self, previous: Snapshot, current: Snapshot) -> None:
        """Port monitor listener: one port signal per port opened or closed since the last poll."""
        if not self.active:
            return
        before, after = previous.ports, current.ports
        for port in sorted(after - before):
            self.publish_soon(port_signal(port, "open", self.monitor.url(port)))
        for port in sorted(before - after):
            self.publish_soon(port_signal(port, "close", self.monitor.url(port)))


SIGNALS = web.AppKey("signals", SignalService)


def port_signal(port: int, kind: str, url: str) -> dict[str, Any]:
    """The data of a port signal."""
    return {"signal": "port", "port": port, "type": kind, "url": url}


def parse_port(value: Any) -> int:
    """A TCP port number from a body or a path (0 included: it is a value, not "none")."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ApiError(400, "'port' must be an integer from 0 to 65535")
    return value


def parse_type(value: Any) -> str:
    """A port signal's type."""
    if value not in PORT_TYPES:
        raise ApiError(400, "'type' must be 'open' or 'close'")
    return str(value)


async def start(request: web.Request) -> web.Response:
    """POST /signals/start."""
    service = request.app[SIGNALS]
    service.start()
    return wrapped("Signal service started", service.describe())


async def stop(request: web.Request) -> web.Response:
    """POST /signals/stop."""
    service = request.app[SIGNALS]
    service.stop()
    return wrapped("Signal service stopped", service.describe())


async def status(request: web.Request) -> web.Response:
    """GET /signals/status."""
    return wrapped("Signal service status", request.app[SIGNALS].describe())


async def emit_port(request: web.Request) -> web.Response:
    """POST /signals/port {port, type, url?}."""
    body = await read_object(request)
    service = request.app[SIGNALS]
    port = parse_port(body.get("port"))
    kind = parse_type(body.get("type"))
    url = get_str(body, "url")
    if url is None:
        url = service.monitor.url(port)
    await service.publish(port_signal(port, kind, url))
    return wrapped("Port signal emitted", {"port": port, "type": kind, "url": url})


async def emit_port_path(request: web.Request) -> web.Response:
    """POST /signals/port/{port}/{type}: the daemon works out the URL."""
    service = request.app[SIGNALS]
    port = parse_port(request.match_info["port"])
    kind = parse_type(request.match_info["type"])
    url = service.monitor.url(port)
    await service.publish(port_signal(port, kind, url))
    return wrapped("Port signal emitted", {"port": port, "type": kind, "url": url})


async def emit_error(request: web.Request) -> web.Response:
    """POST /signals/error {message}."""
    body = await read_object(request)
    message = require_str(body, "message")
    await request.app[SIGNALS].publish({"signal": "error", "message": message})
    return wrapped("Error signal emitted", {"message": message})


async def emit_server_ready(request: web.Request) -> web.Response:
    """POST /signals/server-ready {port, url?}."""
    body = await read_object(request)
    service = request.app[SIGNALS]
    port = parse_port(body.get("port"))
    url = get_str(body, "url")
    if url is None:
        url = service.monitor.url(port)
    await service.publish({"signal": "server-ready", "port": port, "url": url})
    return wrapped("Server-ready signal emitted", {"port": port, "type": "server-ready", "url": url})


def setup(app: web.Application) -> None:
    """Attach the service and its routes (after websocket and ports)."""
    service = SignalService(app)
    app[SIGNALS] = service
    app[PORTS].add_listener(service.on_ports)
    app.router.add_post("/signals/start", start)
    app.router.add_post("/signals/stop", stop)
    app.router.add_get("/signals/status", status)
    app.router.add_post("/signals/port", emit_port)
    app.router.add_post("/signals/port/{port}/{type}", emit_port_path)
    app.router.add_post("/signals/error", emit_error)
    app.router.add_post("/signals/server-ready", emit_server_ready)


_STATUS_SCHEMA = {"type": "object", "properties": {
    "status": {"type": "string", "enum": ["active", "stopped"]},
    "channel": {"type": "string"}, "ws_url": {"type": "string"},
}}
_PORT_SCHEMA = {"type": "object", "properties": {
    "port": {"type": "integer"}, "type": {"type": "string"}, "url": {"type": "string"},
}}


def _wrapped(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"message": {"type": "string"}, "data": schema},
    }}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


OPENAPI_PATHS: dict[str, Any] = {
    "/signals/start": {"post": {
        "summary": "Start the signal service (detected ports are published on the 'signals' channel)",
        "responses": {"200": _wrapped("The service's status", _STATUS_SCHEMA), **error_responses(401)},
    }},
    "/signals/stop": {"post": {
        "summary": "Stop the signal service",
        "responses": {"200": _wrapped("The service's status", _STATUS_SCHEMA), **error_responses(401)},
    }},
    "/signals/status": {"get": {
        "summary": "Whether the signal service is active",
        "responses": {"200": _wrapped("The service's status", _STATUS_SCHEMA), **error_responses(401)},
    }},
    "/signals/port": {"post": {
        "summary": "Publish a port signal (url defaults to the port's URL in the sandbox)",
        "requestBody": _body({"type": "object", "required": ["port", "type"], "properties": {
            "port": {"type": "integer"}, "type": {"type": "string", "enum": ["open", "close"]},
            "url": {"type": "string"},
        }}),
        "responses": {"200": _wrapped("The signal sent", _PORT_SCHEMA), **error_responses(400, 401)},
    }},
    "/signals/port/{port}/{type}": {"post": {
        "summary": "Publish a port signal; the daemon works out the URL",
        "parameters": [
            {"name": "port", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "type", "in": "path", "required": True, "schema": {"type": "string", "enum": ["open", "close"]}},
        ],
        "responses": {"200": _wrapped("The signal sent", _PORT_SCHEMA), **error_responses(400, 401)},
    }},
    "/signals/error": {"post": {
        "summary": "Publish an error signal",
        "requestBody": _body({"type": "object", "required": ["message"],
                              "properties": {"message": {"type": "string"}}}),
        "responses": {"200": _wrapped("The message sent", {"type": "object", "properties": {
            "message": {"type": "string"}}}), **error_responses(400, 401)},
    }},
    "/signals/server-ready": {"post": {
        "summary": "Publish a server-ready signal",
        "requestBody": _body({"type": "object", "required": ["port"], "properties": {
            "port": {"type": "integer"}, "url": {"type": "string"},
        }}),
        "responses": {"200": _wrapped("The signal sent", _PORT_SCHEMA), **error_responses(400, 401)},
    }},
}
