"""Test helpers: the real daemon started as a subprocess on a loopback port, and a client socket.

Used by the daemon's own tests and by any package that needs a real daemon in its tests.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import websocket

from computesdk_core.protocol import Message, decode_message, encode_message
from computesdk_core.protocol.messages import Mode

START_DEADLINE = 20.0
STOP_DEADLINE = 10.0
HTTP_TIMEOUT = 30.0


class DaemonProcess:
    """One real ``python -m computesdk_daemon`` with a random token and its own work directory."""

    def __init__(self, base: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.base = base
        self.workdir = base / "work"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ready_file = base / "ready.json"
        self.stdout_file = base / "daemon.stdout"
        self.stderr_file = base / "daemon.stderr"
        self.token = secrets.token_urlsafe(24)
        self.args = args
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.port = 0
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def start(self) -> DaemonProcess:
        """Start it and wait (with a deadline) for its ready file."""
        env = {**os.environ, **self.extra_env, "COMPUTESDK_ACCESS_TOKEN": self.token}
        argv = [sys.executable, "-m", "computesdk_daemon", "--port", "0"]
        argv += ["--ready-file", str(self.ready_file), "--workdir", str(self.workdir), *self.args]
        with open(self.stdout_file, "wb") as out, open(self.stderr_file, "wb") as err:
            self.process = subprocess.Popen(argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_DEADLINE
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.process.returncode}: {self.stderr()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"daemon not ready within {START_DEADLINE} s: {self.stderr()}")
            time.sleep(0.05)
        ready = json.loads(self.ready_file.read_text())
        self.port, self.url = ready["port"], ready["url"]
        return self

    def stderr(self) -> str:
        """What the daemon wrote to stderr so far."""
        return self.stderr_file.read_text(errors="replace") if self.stderr_file.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a deadline; returns the exit status."""
        self.session.close()
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_DEADLINE)
        return self.process.returncode

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An authenticated request to the daemon."""
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return self.session.request(method, self.url + path, **kwargs)

    def run(self, command: str, **options: Any) -> dict[str, Any]:
        """POST /run/command and return ``data`` (asserting a 200)."""
        response = self.request("POST", "/run/command", json={"command": command, **options})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def ws(self, protocol: Mode = "binary", token: str | None = None) -> DaemonSocket:
        """A WebSocket to /ws."""
        ws_url = self.url.replace("http://", "ws://")
        url = f"{ws_url}/ws?token={token if token is not None else self.token}&protocol={protocol}"
        return DaemonSocket(websocket.create_connection(url, timeout=HTTP_TIMEOUT), protocol)


class DaemonSocket:
    """A client WebSocket speaking the daemon protocol in one mode."""

    def __init__(self, ws: websocket.WebSocket, mode: Mode) -> None:
        self.ws = ws
        self.mode = mode

    def send(self, message_type: str, channel: str = "", data: Any = None) -> None:
        """Send a message in the socket's mode."""
        frame = encode_message(Message(message_type, channel, data if data is not None else {}), self.mode)
        if isinstance(frame, bytes):
            self.ws.send_binary(frame)
        else:
            self.ws.send(frame)

    def receive(self, timeout: float = HTTP_TIMEOUT) -> Message:
        """The next message (raises websocket's timeout error past ``timeout``)."""
        self.ws.settimeout(timeout)
        opcode, payload = self.ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_TEXT:
            assert self.mode == "json", "a binary-mode socket got a text frame"
            return decode_message(payload.decode())
        assert self.mode == "binary", "a json-mode socket got a binary frame"
        return decode_message(payload)

    def close(self) -> None:
        """Close the socket."""
        self.ws.close()


def pid_alive(pid: int) -> bool:
    """Whether a process exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def wait_until_dead(pid: int, deadline: float = 5.0) -> bool:
    """Poll until ``pid`` is gone; False if it still lives after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)
