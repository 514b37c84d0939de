"""The sandbox lifetime: deadline, extension, self-termination, and SIGTERM."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import time
from collections.abc import Callable

import pytest
from computesdk_daemon.testing import DaemonProcess, wait_until_dead

from computesdk_core.wire import parse_datetime

EXIT_DEADLINE = 15.0


def start_sleeper(daemon: DaemonProcess) -> tuple[int, int]:
    """A background command with a child of its own; returns (shell pid, child pid)."""
    data = daemon.run("echo $$ > pids; sleep 300 & echo $! >> pids; wait", background=True)
    assert data["status"] == "running"
    pids_file = daemon.workdir / "pids"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = pids_file.read_text().split() if pids_file.exists() else []
        if len(lines) == 2:
            return int(lines[0]), int(lines[1])
        time.sleep(0.05)
    raise AssertionError("the background command did not report its pids")


def test_extend_moves_the_deadline(start_daemon: Callable[..., DaemonProcess]) -> None:
    daemon = start_daemon("--timeout", "300")
    before = daemon.request("GET", "/info").json()["data"]
    response = daemon.request("POST", "/timeout/extend", json={"duration": 120})
    assert response.status_code == 200
    extended = response.json()["data"]
    assert extended["timeout"] == 420
    assert parse_datetime(extended["expires_at"]) - parse_datetime(before["expires_at"]) == dt.timedelta(
        seconds=120
    )
    after = daemon.request("GET", "/info").json()["data"]
    assert after["expires_at"] == extended["expires_at"]
    assert after["timeout"] == 420


def test_extend_rejects_bad_durations(daemon: DaemonProcess) -> None:
    for body in ({}, {"duration": -5}, {"duration": "long"}, {"duration": 0}):
        assert daemon.request("POST", "/timeout/extend", json=body).status_code == 400


def test_extend_without_a_deadline_keeps_none(daemon: DaemonProcess) -> None:
    data = daemon.request("POST", "/timeout/extend", json={"duration": 60}).json()["data"]
    assert data == {"timeout": None, "expires_at": None}


def test_daemon_ends_itself_at_the_deadline(start_daemon: Callable[..., DaemonProcess]) -> None:
    daemon = start_daemon("--timeout", "2")
    shell, child = start_sleeper(daemon)
    assert daemon.process is not None
    assert daemon.process.wait(timeout=EXIT_DEADLINE) == 0
    assert wait_until_dead(shell) and wait_until_dead(child), "a command outlived its sandbox"


def test_extension_postpones_the_end(start_daemon: Callable[..., DaemonProcess]) -> None:
    daemon = start_daemon("--timeout", "2.5")
    assert daemon.request("POST", "/timeout/extend", json={"duration": 2.5}).status_code == 200
    assert daemon.process is not None
    # Still alive past the original deadline...
    with pytest.raises(subprocess.TimeoutExpired):
        daemon.process.wait(timeout=2.5)
    # ...and gone after the extended one.
    assert daemon.process.wait(timeout=EXIT_DEADLINE) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_kills_every_child_then_exits_0(
    start_daemon: Callable[..., DaemonProcess], signum: int
) -> None:
    daemon = start_daemon()
    shell, child = start_sleeper(daemon)
    foreground = daemon.run("sleep 300 & echo $!")
    lingering = int(foreground["stdout"])
    assert daemon.process is not None
    daemon.process.send_signal(signum)
    assert daemon.process.wait(timeout=EXIT_DEADLINE) == 0
    for pid in (shell, child, lingering):
        assert wait_until_dead(pid), f"process {pid} outlived the daemon"
