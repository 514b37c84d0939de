"""``sandbox.signals``: port, error and server-ready signals from the sandbox, as events.

``start()`` subscribes to the daemon's ``signals`` channel (before turning the service on, so
nothing sent right after is missed) and returns a :class:`SignalService`. While it is active
the daemon also signals by itself each port that a process it started opens or closes.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

import attrs

from computesdk_core import errors
from computesdk_core.daemon_client import DaemonClient, SandboxSocket
from computesdk_core.daemon_client.events import EventEmitter, Handler
from computesdk_core.protocol import Message

__all__ = ["SignalEvent", "SignalService", "SignalStatus", "Signals"]

SignalEventName = Literal["port", "error", "signal"]
PortType = Literal["open", "close"]
_PORT_SIGNALS = ("port", "server-ready")


@attrs.frozen
class SignalEvent:
    """One signal. ``signal`` is ``port``, ``server-ready`` or ``error``.

    Port signals carry ``port``, ``url`` and (for ``port``) ``type`` (``open`` or ``close``);
    error signals carry ``message``. Fields a signal does not carry are None; 0 and "" are kept.
    """

    signal: str
    port: int | None = None
    url: str | None = None
    message: str | None = None
    type: str | None = None


@attrs.frozen
class SignalStatus:
    """The service's state on the daemon: ``status`` is ``active`` or ``stopped``."""

    status: str
    channel: str
    ws_url: str


def _event(data: Any) -> SignalEvent | None:
    if not isinstance(data, dict) or not isinstance(data.get("signal"), str):
        return None
    port = data.get("port")
    return SignalEvent(
        signal=data["signal"],
        # Binary frames carry numbers as floats; None only when the signal has no port at all.
        port=int(port) if isinstance(port, (int, float)) and not isinstance(port, bool) else None,
        url=data.get("url") if isinstance(data.get("url"), str) else None,
        message=data.get("message") if isinstance(data.get("message"), str) else None,
        type=data.get("type") if isinstance(data.get("type"), str) else None,
    )


def _status(data: Any) -> SignalStatus:
    data = data if isinstance(data, dict) else {}
    return SignalStatus(status=str(data.get("status") or "stopped"), channel=str(data.get("channel") or "signals"),
                        ws_url=str(data.get("ws_url") or "/ws"))


class SignalService:
    """A running subscription to the sandbox's signals, with ``on``/``off`` handlers.

    Events: ``port`` (port and server-ready signals), ``error``, and ``signal`` (every one).
    Handlers run on the sandbox's event thread, each getting a :class:`SignalEvent`.
    """

    def __init__(self, daemon: Callable[[], DaemonClient], client: DaemonClient, status: SignalStatus) -> None:
        self._daemon = daemon
        self._socket: SandboxSocket = client.socket
        self._status = status.status
        self._channel = status.channel
        self._emitter = EventEmitter(client.dispatcher, events=("port", "error", "signal"))
        self._lock = threading.Lock()
        self._subscribed = False

    def __repr__(self) -> str:
        return f"SignalService(channel={self._channel!r}, status={self._status!r})"

    @property
    def status(self) -> str:
        """``active`` until :meth:`stop`, then ``stopped``."""
        return self._status

    @property
    def channel(self) -> str:
        """The WebSocket channel the signals arrive on."""
        return self._channel

    def is_active(self) -> bool:
        """Whether the service is active."""
        return self._status == "active"

    def on(self, event: SignalEventName, handler: Handler) -> None:
        """Call ``handler(SignalEvent)`` for ``port``, ``error`` or every ``signal``."""
        self._emitter.on(event, handler)

    def off(self, event: SignalEventName, handler: Handler | None = None) -> None:
        """Stop calling ``handler`` (every handler of ``event`` when None); no error if absent."""
        self._emitter.off(event, handler)

    def _subscribe(self) -> None:
        self._socket.subscribe(self._channel, self._sink)
        self._subscribed = True

    def _sink(self, message: Message) -> None:
        if message.type != "signal":
            return  # connection news (lost, restored): the socket resubscribes by itself
        event = _event(message.data)
        if event is None:
            return
        if event.signal in _PORT_SIGNALS:
            self._emitter.emit("port", event)
        elif event.signal == "error":
            self._emitter.emit("error", event)
        self._emitter.emit("signal", event)

    def _detach(self) -> None:
        with self._lock:
            subscribed, self._subscribed = self._subscribed, False
            self._status = "stopped"
        if subscribed:
            self._socket.unsubscribe(self._channel, self._sink)

    def stop(self) -> None:
        """Stop the service on the daemon and stop receiving signals; idempotent."""
        if not self.is_active():
            return
        self._detach()
        try:
            self._daemon().http.data("POST", "/signals/stop")
        except errors.ConnectionLostError:
            pass  # the sandbox is gone: nothing is left to stop

    def __enter__(self) -> SignalService:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class Signals:
    """The signal service of one sandbox."""

    def __init__(self, daemon: Callable[[], DaemonClient]) -> None:
        self._daemon = daemon
        self._services: weakref.WeakSet[SignalService] = weakref.WeakSet()

    def __repr__(self) -> str:
        return "Signals()"

    def start(self) -> SignalService:
        """Start the service and return it, already listening (use ``on`` to add handlers)."""
        client = self._daemon()
        client.socket.connect()
        service = SignalService(self._daemon, client, SignalStatus("active", "signals", "/ws"))
        service._subscribe()
        try:
            status = _status(client.http.data("POST", "/signals/start"))
        except BaseException:
            service._detach()
            raise
        if status.channel != service.channel:
            # A daemon naming another channel: follow it.
            service._detach()
            service = SignalService(self._daemon, client, status)
            service._subscribe()
        self._services.add(service)
        return service

    def status(self) -> SignalStatus:
        """The service's state on the daemon."""
        return _status(self._daemon().http.data("GET", "/signals/status"))

    def stop(self) -> None:
        """Stop the service on the daemon; services started here stop receiving signals."""
        for service in list(self._services):
            service._detach()
        self._daemon().http.data("POST", "/signals/stop")

    def emit_port(self, port: int, type: PortType, url: str | None = None) -> None:
        """Signal that ``port`` was opened or closed (``url`` defaults to the port's URL in the sandbox)."""
        _check_port(port)
        if type not in ("open", "close"):
            raise errors.ValidationError("type must be 'open' or 'close'")
        client = self._daemon()
        if url is None:
            client.http.data("POST", f"/signals/port/{port}/{type}")
        else:
            client.http.data("POST", "/signals/port", json={"port": port, "type": type, "url": url})

    def emit_error(self, message: str) -> None:
        """Send an error signal."""
        if not isinstance(message, str) or not message:
            raise errors.ValidationError("message must be a non-empty string")
        self._daemon().http.data("POST", "/signals/error", json={"message": message})

    def emit_server_ready(self, port: int, url: str | None = None) -> None:
        """Signal that a server listens on ``port`` (``url`` defaults to the port's URL in the sandbox)."""
        _check_port(port)
        body: dict[str, Any] = {"port": port}
        if url is not None:
            body["url"] = url
        self._daemon().http.data("POST", "/signals/server-ready", json=body)


def _check_port(port: int) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise errors.ValidationError("port must be an integer from 0 to 65535")
