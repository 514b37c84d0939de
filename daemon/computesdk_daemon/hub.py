"""WebSocket connections, their channel subscriptions, and publishing to a channel.

Features (streamed commands now; terminals, watchers, signals later) publish through
:meth:`ChannelHub.publish` and take client messages by registering a handler per type.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiohttp import web

from computesdk_core.protocol import Message
from computesdk_core.protocol.messages import encode_message

logger = logging.getLogger(__name__)

Mode = Literal["binary", "json"]


class Connection:
    """One client WebSocket: its wire mode, its channels, and what to do when it closes."""

    def __init__(self, ws: web.WebSocketResponse, mode: Mode) -> None:
        self.ws = ws
        self.mode: Mode = mode
        self.channels: set[str] = set()
        self._send_lock = asyncio.Lock()
        self._on_close: list[Callable[[], None]] = []
        self.closed = False

    async def send(self, message: Message) -> bool:
        """Send one message in this connection's mode, waiting while the socket is full.

        Returns False (and marks the connection closed) when the socket is gone.
        """
        if self.closed:
            return False
        frame = encode_message(message, self.mode)
        try:
            # One frame at a time: concurrent publishers must not interleave a frame's writes.
            async with self._send_lock:
                if isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_str(frame)
        except (ConnectionError, RuntimeError):
            self.mark_closed()
            return False
        return True

    async def send_error(self, text: str) -> None:
        """Tell the client that one of its messages failed (the connection stays open)."""
        await self.send(Message("error", "", {"message": text}))

    def on_close(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` once when the connection closes; returns a function that cancels it."""
        if self.closed:
            callback()
            return lambda: None
        self._on_close.append(callback)

        def cancel() -> None:
            if callback in self._on_close:
                self._on_close.remove(callback)

        return cancel

    def mark_closed(self) -> None:
        """Record that the socket is gone and run the close callbacks."""
        if self.closed:
            return
        self.closed = True
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("a WebSocket close callback failed")


MessageHandler = Callable[[Connection, Message], Awaitable[None]]


class ChannelHub:
    """All live connections, and the handlers of client message types."""

    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self._handlers: dict[str, MessageHandler] = {}
        self._awaiting: dict[str, asyncio.Event] = {}

    def add_handler(self, message_type: str, handler: MessageHandler) -> None:
        """Handle client messages of ``message_type`` (one handler per type)."""
        if message_type in self._handlers:
            raise ValueError(f"a handler for {message_type!r} is already registered")
        self._handlers[message_type] = handler

    def handler_for(self, message_type: str) -> MessageHandler | None:
        """The handler of a client message type, if any."""
        return self._handlers.get(message_type)

    def add(self, connection: Connection) -> None:
        """Track a new connection."""
        self.connections.add(connection)

    def remove(self, connection: Connection) -> None:
        """Forget a connection and run its close callbacks."""
        self.connections.discard(connection)
        connection.mark_closed()

    def subscribe(self, connection: Connection, channel: str) -> None:
        """Add ``channel`` to a connection's subscriptions, waking who waits for a subscriber."""
        connection.channels.add(channel)
        event = self._awaiting.pop(channel, None)
        if event is not None:
            event.set()

    async def wait_for_subscriber(self, channel: str) -> None:
        """Return once ``channel`` has an open subscriber (at once if it has one)."""
        while not self.subscribers(channel):
            await self._awaiting.setdefault(channel, asyncio.Event()).wait()

    def subscribers(self, channel: str) -> list[Connection]:
        """Open connections subscribed to ``channel``."""
        return [c for c in self.connections if channel in c.channels and not c.closed]

    async def publish(self, channel: str, message_type: str, data: Any) -> int:
        """Send a message to every subscriber of ``channel``; returns how many got it.

        Each send is awaited, so a slow subscriber slows the publisher (backpressure) rather
        than piling frames up in memory.
        """
        message = Message(message_type, channel, data)
        delivered = 0
        for connection in self.subscribers(channel):
            if await connection.send(message):
                delivered += 1
            else:
                self.remove(connection)
        return delivered

    async def close_all(self) -> None:
        """Close every connection (the daemon is going away)."""
        for connection in list(self.connections):
            try:
                await asyncio.wait_for(
                    connection.ws.close(code=1001, message=b"daemon shutting down"), timeout=1.0
                )
            except (asyncio.TimeoutError, ConnectionError, RuntimeError):
                pass
            self.remove(connection)


HUB = web.AppKey("hub", ChannelHub)
