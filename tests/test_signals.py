"""``sandbox.signals`` against a real daemon on loopback, and on the local provider."""

from __future__ import annotations

import queue
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from computesdk_core import compute, errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.namespaces.signals import SignalEvent, Signals, SignalService, SignalStatus
from computesdk_core.types import RunOptions

pytestmark = pytest.mark.timeout(60)
DEADLINE = 10.0


@pytest.fixture
def signals(client: DaemonClient) -> Iterator[Signals]:
    namespace = Signals(lambda: client)
    yield namespace
    namespace.stop()


class Collector:
    """A handler that records what it gets and on which thread."""

    def __init__(self) -> None:
        self.events: queue.Queue[Any] = queue.Queue()
        self.threads: set[str] = set()

    def __call__(self, event: Any) -> None:
        self.threads.add(threading.current_thread().name)
        self.events.put(event)

    def next(self, timeout: float = DEADLINE) -> Any:
        return self.events.get(timeout=timeout)

    def empty_after(self, marker: Collector) -> bool:
        """True when nothing came here before ``marker`` got its next event."""
        marker.next()
        return self.events.empty()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_start_status_and_stop(signals: Signals) -> None:
    assert signals.status() == SignalStatus("stopped", "signals", "/ws")
    service = signals.start()
    assert isinstance(service, SignalService)
    assert service.is_active() and service.status == "active" and service.channel == "signals"
    assert signals.status().status == "active"
    service.stop()
    assert not service.is_active() and service.status == "stopped"
    assert signals.status().status == "stopped"
    service.stop()  # idempotent


def test_events_are_routed_by_kind(signals: Signals) -> None:
    with signals.start() as service:
        ports, failures, every = Collector(), Collector(), Collector()
        service.on("port", ports)
        service.on("error", failures)
        service.on("signal", every)
        signals.emit_port(3000, "open", "http://localhost:3000")
        signals.emit_server_ready(8080, "https://example.com:8080")
        signals.emit_error("Database connection failed")
        opened = SignalEvent("port", port=3000, url="http://localhost:3000", type="open")
        ready = SignalEvent("server-ready", port=8080, url="https://example.com:8080")
        failed = SignalEvent("error", message="Database connection failed")
        assert [ports.next(), ports.next()] == [opened, ready]
        assert failures.next() == failed
        assert [every.next(), every.next(), every.next()] == [opened, ready, failed]
        assert all(name.startswith("computesdk-events") for name in ports.threads)
    assert not service.is_active()


def test_port_zero_and_empty_urls_are_kept(signals: Signals) -> None:
    with signals.start() as service:
        seen = Collector()
        service.on("port", seen)
        signals.emit_port(0, "close", "")
        assert seen.next() == SignalEvent("port", port=0, url="", type="close")
        # Without a URL the daemon works it out.
        signals.emit_port(5000, "open")
        assert seen.next() == SignalEvent("port", port=5000, url="http://127.0.0.1:5000", type="open")
        signals.emit_server_ready(5001)
        assert seen.next() == SignalEvent("server-ready", port=5001, url="http://127.0.0.1:5001")


def test_off_removes_one_handler(signals: Signals) -> None:
    with signals.start() as service:
        first, second = Collector(), Collector()
        service.on("error", first)
        service.on("error", second)
        service.off("error", first)
        service.off("error", Collector())  # never registered: no error
        signals.emit_error("only the second")
        assert second.next().message == "only the second"
        assert first.events.empty()
        with pytest.raises(errors.ValidationError):
            service.on("ports", first)  # type: ignore[arg-type]


def test_stopped_services_get_nothing_more(signals: Signals, client: DaemonClient) -> None:
    service = signals.start()
    seen = Collector()
    service.on("signal", seen)
    signals.stop()  # the namespace's stop reaches services started from it
    assert not service.is_active()
    marker_service = signals.start()
    marker = Collector()
    marker_service.on("error", marker)
    signals.emit_error("after stop")
    assert seen.empty_after(marker)
    marker_service.stop()


def test_detected_ports_arrive_as_port_events(signals: Signals, client: DaemonClient) -> None:
    with signals.start() as service:
        seen = Collector()
        service.on("port", seen)
        port = free_port()
        code = f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(1.5)"
        client.run_command(f"{sys.executable} -c \"{code}\"", RunOptions(background=True))
        url = f"http://127.0.0.1:{port}"
        assert seen.next() == SignalEvent("port", port=port, url=url, type="open")
        assert seen.next() == SignalEvent("port", port=port, url=url, type="close")


def test_bad_arguments(signals: Signals) -> None:
    with pytest.raises(errors.ValidationError):
        signals.emit_port(70000, "open", "u")
    with pytest.raises(errors.ValidationError):
        signals.emit_port(80, "opened", "u")  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError):
        signals.emit_error("")


def test_signals_on_a_local_sandbox() -> None:
    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        with sandbox.signals.start() as service:
            seen = Collector()
            service.on("port", seen)
            port = free_port()
            sandbox.run_command(f"python3 -m http.server {port} --bind 127.0.0.1 >/dev/null 2>&1", background=True)
            event = seen.next()
            assert (event.signal, event.port, event.type) == ("port", port, "open")
            assert event.url == f"http://127.0.0.1:{port}"
            assert sandbox.signals.status().status == "active"
        assert sandbox.signals.status().status == "stopped"
    finally:
        sandbox.destroy()
