"""Fixtures that run the real daemon (a subprocess on a loopback port)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from computesdk_daemon.testing import DaemonProcess


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """A daemon shared by the tests of one module."""
    process = DaemonProcess(tmp_path_factory.mktemp("daemon")).start()
    yield process
    process.stop()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    """Start daemons of one's own (extra CLI args, env); all are stopped at teardown."""
    started: list[DaemonProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> DaemonProcess:
        process = DaemonProcess(tmp_path / f"daemon{len(started)}", *args, env=env)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()
