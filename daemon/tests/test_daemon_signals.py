"""Signals: the service's status, emitted signals reaching subscribers, and detected ports."""

from __future__ import annotations

import socket
import sys
from typing import Any

import pytest
from computesdk_daemon.testing import DaemonProcess, DaemonSocket

from computesdk_core.protocol import Message

pytestmark = pytest.mark.timeout(60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listen_for(port: int, seconds: float) -> str:
    """A command that listens on ``port`` for ``seconds``, then exits."""
    code = (f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); "
            f"time.sleep({seconds})")
    return f"{sys.executable} -c \"{code}\""


def subscribed(daemon: DaemonProcess, protocol: Any = "binary") -> DaemonSocket:
    ws = daemon.ws(protocol)
    ws.send("subscribe", "signals")
    return ws


def next_signal(ws: DaemonSocket, timeout: float = 10) -> dict[str, Any]:
    message: Message = ws.receive(timeout)
    assert message.type == "signal" and message.channel == "signals", message
    assert isinstance(message.data, dict)
    return {key: int(value) if key == "port" else value for key, value in message.data.items()}


def test_start_stop_and_status_report_the_service_state(daemon: DaemonProcess) -> None:
    started = daemon.request("POST", "/signals/start").json()
    assert started["data"] == {"status": "active", "channel": "signals", "ws_url": "/ws"}
    assert daemon.request("GET", "/signals/status").json()["data"]["status"] == "active"
    stopped = daemon.request("POST", "/signals/stop").json()
    assert stopped["data"]["status"] == "stopped"
    assert daemon.request("GET", "/signals/status").json()["data"]["status"] == "stopped"


@pytest.mark.parametrize("protocol", ["binary", "json"])
def test_emitted_signals_reach_subscribers(daemon: DaemonProcess, protocol: str) -> None:
    ws = subscribed(daemon, protocol)
    try:
        reply = daemon.request("POST", "/signals/port", json={"port": 3000, "type": "open", "url": "http://x:3000"})
        assert reply.json()["data"] == {"port": 3000, "type": "open", "url": "http://x:3000"}
        assert next_signal(ws) == {"signal": "port", "port": 3000, "type": "open", "url": "http://x:3000"}
        daemon.request("POST", "/signals/error", json={"message": "Connection failed"})
        assert next_signal(ws) == {"signal": "error", "message": "Connection failed"}
        daemon.request("POST", "/signals/server-ready", json={"port": 8080, "url": "https://example.com:8080"})
        assert next_signal(ws) == {"signal": "server-ready", "port": 8080, "url": "https://example.com:8080"}
        # Port 0 is a value like any other, not a missing one.
        daemon.request("POST", "/signals/port", json={"port": 0, "type": "close", "url": ""})
        assert next_signal(ws) == {"signal": "port", "port": 0, "type": "close", "url": ""}
    finally:
        ws.close()


def test_the_path_form_works_out_the_url(daemon: DaemonProcess) -> None:
    ws = subscribed(daemon)
    try:
        reply = daemon.request("POST", "/signals/port/4321/close")
        assert reply.status_code == 200
        assert reply.json()["data"] == {"port": 4321, "type": "close", "url": "http://127.0.0.1:4321"}
        assert next_signal(ws)["url"] == "http://127.0.0.1:4321"
    finally:
        ws.close()


@pytest.mark.parametrize(("path", "body", "complaint"), [
    ("/signals/port", {"port": 80, "type": "opened", "url": "u"}, "type"),
    ("/signals/port", {"port": 70000, "type": "open", "url": "u"}, "port"),
    ("/signals/port", {"port": True, "type": "open"}, "port"),
    ("/signals/port/http/open", None, "port"),
    ("/signals/port/80/opened", None, "type"),
    ("/signals/error", {}, "message"),
    ("/signals/server-ready", {"url": "u"}, "port"),
])
def test_bad_signals_are_refused(daemon: DaemonProcess, path: str, body: Any, complaint: str) -> None:
    reply = daemon.request("POST", path, json=body)
    assert reply.status_code == 400
    assert complaint in reply.json()["error"]


def test_ports_opened_and_closed_by_the_daemons_processes_are_signalled(daemon: DaemonProcess) -> None:
    ws = subscribed(daemon)
    daemon.request("POST", "/signals/start")
    try:
        port = free_port()
        daemon.run(listen_for(port, 2.0), background=True)
        assert next_signal(ws) == {"signal": "port", "port": port, "type": "open", "url": f"http://127.0.0.1:{port}"}
        assert next_signal(ws) == {"signal": "port", "port": port, "type": "close", "url": f"http://127.0.0.1:{port}"}
    finally:
        daemon.request("POST", "/signals/stop")
        ws.close()


def test_no_port_signals_while_stopped_or_for_other_processes(daemon: DaemonProcess) -> None:
    ws = subscribed(daemon)
    try:
        daemon.request("POST", "/signals/stop")
        # Foreground: it has listened and exited before the next request.
        daemon.run(listen_for(free_port(), 1.2))
        daemon.request("POST", "/signals/start")
        # A socket of this test process is not one the daemon started.
        with socket.socket() as foreign:
            foreign.bind(("127.0.0.1", 0))
            foreign.listen()
            daemon.run(f"{sys.executable} -c 'import time; time.sleep(1.2)'")
        daemon.request("POST", "/signals/error", json={"message": "marker"})
        assert next_signal(ws) == {"signal": "error", "message": "marker"}
    finally:
        daemon.request("POST", "/signals/stop")
        ws.close()
