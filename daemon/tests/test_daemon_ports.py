"""The port monitor's /proc reading, on real processes of this test (its "daemon")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from computesdk_daemon import ports

pytestmark = pytest.mark.timeout(60)

LISTENER = ("import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); "
            "print(s.getsockname()[1], flush=True); time.sleep(30)")


def wait_for_port(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    return int(process.stdout.readline())


def test_a_childs_listening_port_is_found_with_its_tree_and_group() -> None:
    # The listener is a grandchild (through a shell) in a session of its own.
    shell = subprocess.Popen(["/bin/sh", "-c", f'{sys.executable} -c "{LISTENER}"; true'], stdout=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        port = wait_for_port(shell)
        end = time.monotonic() + 10
        while port not in (snapshot := ports.take_snapshot(os.getpid())).ports:
            assert time.monotonic() < end, "the listening port was not found"
            time.sleep(0.05)
        assert port in snapshot.ports_of(shell.pid)
        assert port not in snapshot.ports_of(os.getpid() + 10_000_000)  # no such process
        assert snapshot.ports_by_pid.get(shell.pid) is None, "the shell itself does not listen"
    finally:
        os.killpg(shell.pid, 9)
        shell.wait(timeout=10)
    end = time.monotonic() + 10
    while port in ports.take_snapshot(os.getpid()).ports:
        assert time.monotonic() < end, "the closed port was still reported"
        time.sleep(0.05)


def test_sockets_of_the_daemon_itself_are_never_a_childs_port() -> None:
    """Between fork and exec a child holds the parent's sockets; they must not count as its ports."""
    own = socket.socket()
    own.bind(("127.0.0.1", 0))
    own.listen()
    own_port = own.getsockname()[1]
    ballast = bytearray(200 * 1024 * 1024)  # a big parent makes the fork-to-exec window wider
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if own_port in ports.take_snapshot(os.getpid()).ports:
                seen.append(own_port)

    watcher = threading.Thread(target=watch, name="test-port-watch", daemon=True)
    watcher.start()
    try:
        end = time.monotonic() + 3
        while time.monotonic() < end:
            subprocess.run(["true"], close_fds=True, check=True, timeout=10)
    finally:
        done.set()
        watcher.join(timeout=10)
        own.close()
        del ballast
    assert seen == []


@pytest.mark.parametrize(("host", "url"), [
    ("127.0.0.1", "http://127.0.0.1:3000"),
    ("0.0.0.0", "http://127.0.0.1:3000"),
    ("::", "http://127.0.0.1:3000"),
    ("::1", "http://[::1]:3000"),
    ("sandbox.local", "http://sandbox.local:3000"),
])
def test_port_urls(host: str, url: str) -> None:
    assert ports.port_url(host, 3000) == url
