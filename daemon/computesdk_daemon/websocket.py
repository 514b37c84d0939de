"""GET /ws: one socket per client, carrying channel messages in binary or JSON frames."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import web

from computesdk_core.protocol import decode_message
from computesdk_daemon import api_schema as api
from computesdk_daemon.auth import on_session_end
from computesdk_daemon.errors import ApiError
from computesdk_daemon.hub import HUB, ChannelHub, Connection, Mode

logger = logging.getLogger(__name__)

# Pings every 30 s; a client that stops answering is dropped, which also kills what it streams.
HEARTBEAT = 30.0
MAX_MESSAGE_SIZE = 16 * 1024 * 1024


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Upgrade (the auth middleware has already checked the token) and serve the socket."""
    protocol = request.query.get("protocol", "binary")
    if protocol not in ("binary", "json"):
        raise ApiError(400, "'protocol' must be 'binary' or 'json'")
    mode: Mode = "binary" if protocol == "binary" else "json"
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, compress=False, max_msg_size=MAX_MESSAGE_SIZE)
    await ws.prepare(request)
    hub = request.app[HUB]
    connection = Connection(ws, mode)
    hub.add(connection)
    closing: list[asyncio.Future[bool]] = []

    def close_for_credential() -> None:
        reason = b"the session token was revoked or has expired"
        closing.append(asyncio.ensure_future(ws.close(code=aiohttp.WSCloseCode.POLICY_VIOLATION, message=reason)))

    stop_watching = on_session_end(request, close_for_credential)
    try:
        async for frame in ws:
            if frame.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                # Both kinds are accepted in either mode; replies follow the connection's mode.
                await _dispatch(hub, connection, frame.data)
            elif frame.type == aiohttp.WSMsgType.ERROR:
                break
    finally:
        stop_watching()
        hub.remove(connection)
    return ws


async def _dispatch(hub: ChannelHub, connection: Connection, frame: bytes | str) -> None:
    try:
        message = decode_message(frame)
    except ValueError as exc:
        await connection.send_error(f"malformed message: {exc}")
        return
    if message.type in ("subscribe", "unsubscribe"):
        if not message.channel:
            await connection.send_error(f"'{message.type}' needs a channel")
        elif message.type == "subscribe":
            hub.subscribe(connection, message.channel)
        else:
            connection.channels.discard(message.channel)
        return
    handler = hub.handler_for(message.type)
    if handler is None:
        await connection.send_error(f"unknown message type: {message.type}")
        return
    try:
        await handler(connection, message)
    except ApiError as exc:
        await connection.send_error(exc.message)
    except Exception:
        logger.exception("WebSocket handler for %s failed", message.type)
        await connection.send_error(f"internal error handling {message.type}")


OPENAPI_PATHS = {
    "/ws": {"get": {
        "summary": "WebSocket upgrade: channel messages in binary or JSON frames",
        "description": "The token goes in the `token` query parameter (browsers cannot set headers). "
                       "Clients subscribe to channels and receive the messages published on them.",
        "parameters": [api.query_parameter(
            "protocol", "Frame format of the server's messages", {"type": "string", "enum": ["binary", "json"],
                                                                  "default": "binary"},
        )],
        "responses": {"101": api.empty("Switching protocols"), **api.errors(400, 401)},
    }},
}


def setup(app: web.Application) -> None:
    """Attach the hub and the /ws route; sockets are closed when the daemon shuts down."""
    hub = ChannelHub()
    app[HUB] = hub

    async def on_shutdown(_: web.Application) -> None:
        await hub.close_all()

    app.on_shutdown.append(on_shutdown)
    app.router.add_get("/ws", websocket)
