"""The one WebSocket a sandbox keeps to its daemon, read by one named daemon thread.

Messages are routed by channel to *sinks*: callables run on the reader thread. A sink must be
quick or deliberately block (a bounded queue's ``put`` does, and so pushes back on the daemon
through TCP instead of piling output up in memory).
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import weakref
from collections.abc import Callable
from urllib.parse import urlencode

import tenacity
import websocket

from computesdk_core import errors
from computesdk_core.protocol import Message, decode_message, encode_message
from computesdk_core.protocol.frames import FrameError
from computesdk_core.protocol.messages import Mode

log = logging.getLogger(__name__)

Sink = Callable[[Message], None]
# Delivered to every sink when the socket ends, so that waiters stop waiting; subscriptions
# that outlive a drop then get RECONNECTED once the socket is back and resubscribed, or
# RECONNECT_FAILED when the daemon stayed unreachable.
DISCONNECTED = Message("connection:lost")
RECONNECTED = Message("connection:restored")
RECONNECT_FAILED = Message("connection:failed")
CONNECT_TIMEOUT = 10.0
RECONNECT_ATTEMPTS = 5
RECONNECT_MAX_WAIT = 30.0
_serial = itertools.count(1)


class SandboxSocket:
    """A lazily opened WebSocket to ``<daemon>/ws`` with channel subscriptions."""

    def __init__(self, url: str, token: str, mode: Mode = "binary", name: str = "sandbox") -> None:
        base = url.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        self._url = f"{base}/ws?{urlencode({'token': token, 'protocol': mode})}"
        self._mode: Mode = mode
        self._name = name
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._sinks: dict[str, list[Sink]] = {}
        self._ws: websocket.WebSocket | None = None
        self._reader: threading.Thread | None = None
        self._closed = False
        # Set by close(), so that waiting between reconnect attempts ends at once.
        self._closed_event = threading.Event()

    def __repr__(self) -> str:
        return f"SandboxSocket({self._name!r}, connected={self.connected})"

    @property
    def connected(self) -> bool:
        """Whether the socket is open now."""
        ws = self._ws
        return ws is not None and ws.connected

    def connect(self) -> None:
        """Open the socket if it is not open; raise ConnectionLostError or AuthenticationError."""
        with self._lock:
            if self._closed:
                raise errors.ConnectionLostError("this sandbox connection was closed")
            if self.connected:
                return
            try:
                ws = websocket.create_connection(self._url, timeout=CONNECT_TIMEOUT)
            except websocket.WebSocketBadStatusException as exc:
                if exc.status_code == 401:
                    raise errors.AuthenticationError("the daemon refused the access token") from None
                raise errors.ConnectionLostError(
                    f"the daemon refused the WebSocket (HTTP {exc.status_code})"
                ) from None
            except (OSError, websocket.WebSocketException) as exc:
                raise errors.ConnectionLostError(
                    f"cannot open the sandbox's WebSocket ({type(exc).__name__})"
                ) from None
            # Reads block until a frame comes; close() unblocks them.
            ws.settimeout(None)
            self._ws = ws
            # The thread holds the socket weakly, so dropping every reference to it ends the thread.
            self._reader = threading.Thread(
                target=_read_loop, args=(weakref.ref(self), ws), daemon=True,
                name=f"computesdk-ws-reader-{self._name}-{next(_serial)}",
            )
            self._reader.start()
            for channel in self._sinks:
                self._send_now(Message("subscribe", channel))

    def subscribe(self, channel: str, sink: Sink) -> None:
        """Route messages of ``channel`` to ``sink``; subscribe on the daemon for the first sink."""
        self.connect()
        with self._lock:
            first = channel not in self._sinks
            self._sinks.setdefault(channel, []).append(sink)
        if first:
            self.send(Message("subscribe", channel))

    def unsubscribe(self, channel: str, sink: Sink) -> None:
        """Stop routing ``channel`` to ``sink``; unsubscribe on the daemon when none is left."""
        with self._lock:
            sinks = self._sinks.get(channel, [])
            if sink in sinks:
                sinks.remove(sink)
            last = not sinks and channel in self._sinks
            if last:
                del self._sinks[channel]
        if last and self.connected:
            try:
                self.send(Message("unsubscribe", channel))
            except errors.ConnectionLostError:
                pass

    def send(self, message: Message) -> None:
        """Send one message; raise ConnectionLostError when the socket is gone."""
        self.connect()
        self._send_now(message)

    def _send_now(self, message: Message) -> None:
        ws = self._ws
        if ws is None:
            raise errors.ConnectionLostError("the sandbox's WebSocket is not open")
        frame = encode_message(message, self._mode)
        try:
            with self._send_lock:
                if isinstance(frame, bytes):
                    ws.send_binary(frame)
                else:
                    ws.send(frame)
        except (OSError, websocket.WebSocketException) as exc:
            raise errors.ConnectionLostError(f"the sandbox's WebSocket broke ({type(exc).__name__})") from None

    def _route(self, message: Message) -> None:
        with self._lock:
            sinks = list(self._sinks.get(message.channel, ()))
        for sink in sinks:
            sink(message)

    def _broadcast(self, message: Message) -> None:
        with self._lock:
            every = [sink for sinks in self._sinks.values() for sink in sinks]
        for sink in every:
            sink(message)

    def _lost(self, ws: websocket.WebSocket) -> None:
        with self._lock:
            if self._ws is ws:
                self._ws = None
        self._broadcast(DISCONNECTED)
        with self._lock:
            wanted = bool(self._sinks) and not self._closed
        if wanted:
            self._reconnect()

    def _pause(self, seconds: float) -> None:
        self._closed_event.wait(seconds)

    def _reconnect(self) -> None:
        """Reopen the socket with backoff; ``connect`` resubscribes every remembered channel."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(errors.ConnectionLostError),
            wait=tenacity.wait_exponential(multiplier=1, max=RECONNECT_MAX_WAIT),
            stop=tenacity.stop_after_attempt(RECONNECT_ATTEMPTS),
            sleep=self._pause,
            reraise=True,
        )
        try:
            retrying(self.connect)
        except errors.ComputeSDKError as exc:
            if not self._closed:
                log.warning("gave up reconnecting the sandbox's WebSocket: %s", exc)
                self._broadcast(RECONNECT_FAILED)
            return
        self._broadcast(RECONNECTED)

    def close(self) -> None:
        """Close the socket and wait (bounded) for the reader thread to end; idempotent."""
        with self._lock:
            self._closed = True
            self._closed_event.set()
            ws, self._ws = self._ws, None
            reader, self._reader = self._reader, None
        if ws is not None:
            try:
                with self._send_lock:
                    ws.send_close()
            except (OSError, websocket.WebSocketException):
                pass
        own_thread = reader is threading.current_thread()
        if reader is not None and not own_thread:
            # The daemon answers the close frame and the reader sees it and returns.
            reader.join(timeout=2)
        if ws is not None:
            _hard_close(ws)
        if reader is not None and not own_thread:
            reader.join(timeout=2)

    def __del__(self) -> None:
        ws = self._ws
        if ws is not None:
            _hard_close(ws)


def _hard_close(ws: websocket.WebSocket) -> None:
    """Close the TCP socket in a way that also wakes a thread blocked reading it."""
    try:
        if ws.sock is not None:
            ws.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        ws.shutdown()  # type: ignore[no-untyped-call]
    except (OSError, websocket.WebSocketException):
        pass


def _read_loop(owner: weakref.ref[SandboxSocket], ws: websocket.WebSocket) -> None:
    """Read frames until the socket ends, routing each to the owner's sinks."""
    try:
        while True:
            try:
                opcode, payload = ws.recv_data()
            except (OSError, websocket.WebSocketException):
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return
            frame: bytes | str = payload.decode() if opcode == websocket.ABNF.OPCODE_TEXT else payload
            try:
                message = decode_message(frame)
            except (FrameError, UnicodeDecodeError) as exc:
                log.warning("dropped a malformed frame from the daemon: %s", exc)
                continue
            sock = owner()
            if sock is None:
                return
            sock._route(message)
            del sock
    finally:
        sock = owner()
        if sock is not None:
            sock._lost(ws)
