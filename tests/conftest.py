"""Shared fixtures of the core's tests: a real daemon on loopback, a client of it, a local sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from computesdk_daemon.testing import DaemonProcess

from computesdk_core import compute
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.types import DaemonEndpoint


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """A real daemon subprocess on a loopback port, shared by the tests of one module."""
    process = DaemonProcess(tmp_path_factory.mktemp("daemon")).start()
    yield process
    process.stop()


@pytest.fixture
def client(daemon: DaemonProcess, request: pytest.FixtureRequest) -> Iterator[DaemonClient]:
    """A client of the module's daemon, closed (with its threads) after the test."""
    daemon_client = DaemonClient(DaemonEndpoint(daemon.url, daemon.token), name=request.node.name[:40])
    yield daemon_client
    daemon_client.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    """A local-provider sandbox shared by the tests of one module, destroyed at the end."""
    made = compute(provider="local").sandbox.create(timeout=300)
    try:
        yield made
    finally:
        made.destroy()
