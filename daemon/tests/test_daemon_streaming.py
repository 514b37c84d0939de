"""Two-phase streamed commands over the WebSocket, in binary and JSON mode."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from computesdk_daemon.testing import DaemonProcess, DaemonSocket, wait_until_dead

from computesdk_core.protocol import Message

STREAM_DEADLINE = 60.0


def create_stream(daemon: DaemonProcess, command: str, **options: object) -> dict[str, object]:
    data = daemon.run(command, stream=True, **options)
    assert data["status"] == "pending"
    assert data["cmd_id"] and data["channel"] and data["terminal_id"]
    return data


def collect(socket: DaemonSocket, cmd_id: str) -> tuple[list[tuple[float, Message]], Message]:
    """Messages for ``cmd_id`` (with arrival times) up to its command:exit."""
    received: list[tuple[float, Message]] = []
    deadline = time.monotonic() + STREAM_DEADLINE
    while time.monotonic() < deadline:
        message = socket.receive()
        assert message.type != "error", message.data
        if message.data.get("cmd_id") != cmd_id:
            continue
        if message.type == "command:exit":
            return received, message
        received.append((time.monotonic(), message))
    raise AssertionError("no command:exit before the deadline")


@pytest.mark.parametrize("mode", ["binary", "json"])
def test_output_streams_before_the_command_ends(daemon: DaemonProcess, mode: str) -> None:
    socket = daemon.ws(mode)
    try:
        data = create_stream(daemon, "echo a; echo problem >&2; sleep 1; echo b; exit 4")
        socket.send("subscribe", data["channel"])
        socket.send("command:start", data={"cmd_id": data["cmd_id"]})
        received, exit_message = collect(socket, data["cmd_id"])
        exit_time = time.monotonic()
    finally:
        socket.close()
    assert exit_message.channel == data["channel"]
    assert exit_message.data["exit_code"] == 4
    assert exit_message.data["terminal_id"] == data["terminal_id"]
    assert exit_message.data["duration_ms"] >= 900
    stdout = "".join(m.data["output"] for _, m in received if m.type == "command:stdout")
    stderr = "".join(m.data["output"] for _, m in received if m.type == "command:stderr")
    assert (stdout, stderr) == ("a\nb\n", "problem\n")
    first_arrival = received[0][0]
    assert exit_time - first_arrival >= 0.5, "output was held back until the command ended"


def test_stream_honours_cwd_env_and_timeout(daemon: DaemonProcess) -> None:
    socket = daemon.ws("json")
    try:
        data = create_stream(daemon, 'pwd; echo "$X"; sleep 100', cwd="/tmp", env={"X": "ü"}, timeout=1)
        socket.send("subscribe", data["channel"])
        socket.send("command:start", data={"cmd_id": data["cmd_id"]})
        received, exit_message = collect(socket, data["cmd_id"])
    finally:
        socket.close()
    assert "".join(m.data["output"] for _, m in received) == "/tmp\nü\n"
    assert exit_message.data["exit_code"] == 137
    assert exit_message.data["timed_out"] is True


def test_command_does_not_start_before_command_start(daemon: DaemonProcess) -> None:
    marker = daemon.workdir / "started-marker"
    data = create_stream(daemon, "touch started-marker")
    time.sleep(0.5)
    assert not marker.exists()
    socket = daemon.ws()
    try:
        socket.send("subscribe", data["channel"])
        socket.send("command:start", data={"cmd_id": data["cmd_id"]})
        _, exit_message = collect(socket, data["cmd_id"])
    finally:
        socket.close()
    assert exit_message.data["exit_code"] == 0
    assert marker.exists()
    details = daemon.request("GET", f"/terminals/{data['terminal_id']}/commands/{data['cmd_id']}").json()[
        "data"
    ]
    assert details["status"] == "completed"


def test_start_requires_subscription_and_a_known_command(daemon: DaemonProcess) -> None:
    data = create_stream(daemon, "true")
    socket = daemon.ws()
    try:
        socket.send("command:start", data={"cmd_id": data["cmd_id"]})
        not_subscribed = socket.receive()
        assert not_subscribed.type == "command:error"
        assert not_subscribed.channel == data["channel"]
        assert not_subscribed.data["cmd_id"] == data["cmd_id"]
        assert "subscribe" in not_subscribed.data["error"]
        socket.send("command:start", data={"cmd_id": "cmd_unknown"})
        unknown = socket.receive()
        assert (unknown.type, unknown.data["cmd_id"]) == ("command:error", "cmd_unknown")
        socket.send("command:start", data={})
        assert socket.receive().type == "error"
        # The refusal left the command pending: a subscribed client can still start it.
        socket.send("subscribe", data["channel"])
        socket.send("command:start", data={"cmd_id": data["cmd_id"]})
        _, exit_message = collect(socket, data["cmd_id"])
        assert exit_message.data["exit_code"] == 0
        socket.send("command:start", data={"cmd_id": data["cmd_id"]})
        assert socket.receive().type == "command:error", "a command may start only once"
    finally:
        socket.close()


@pytest.mark.parametrize("mode", ["binary", "json"])
def test_malformed_frames_get_an_error_and_the_socket_stays(daemon: DaemonProcess, mode: str) -> None:
    socket = daemon.ws(mode)
    try:
        socket.ws.send_binary(b"\x03\x00")
        assert socket.receive().type == "error"
        socket.ws.send("{not json")
        assert socket.receive().type == "error"
        socket.send("no:such-type", data={"x": 1})
        assert socket.receive().type == "error"
        data = create_stream(daemon, "echo still-works")
        socket.send("subscribe", data["channel"])
        socket.send("command:start", data={"cmd_id": data["cmd_id"]})
        received, _ = collect(socket, data["cmd_id"])
        assert "".join(m.data["output"] for _, m in received) == "still-works\n"
    finally:
        socket.close()


def test_closing_the_socket_kills_the_command(daemon: DaemonProcess) -> None:
    socket = daemon.ws()
    data = create_stream(daemon, "echo pid=$$; sleep 100 & echo child=$!; wait")
    socket.send("subscribe", data["channel"])
    socket.send("command:start", data={"cmd_id": data["cmd_id"]})
    text = ""
    while "child=" not in text or not text.endswith("\n"):
        text += socket.receive().data["output"]
    socket.close()
    child = int(text.split("child=")[1].split()[0])
    assert wait_until_dead(child, deadline=10), "the command outlived its WebSocket"


def test_fifty_megabytes_arrive_complete_without_buffering(
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    daemon = start_daemon()
    status = Path(f"/proc/{daemon.process.pid}/status")

    def peak_rss_kib() -> int:
        line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1])

    size = 50_000_000
    socket = daemon.ws()
    try:
        data = create_stream(daemon, f"head -c {size} /dev/zero | tr '\\0' a; echo end >&2")
        baseline = peak_rss_kib()
        socket.send("subscribe", data["channel"])
        socket.send("command:start", data={"cmd_id": data["cmd_id"]})
        total = 0
        deadline = time.monotonic() + STREAM_DEADLINE
        while time.monotonic() < deadline:
            message = socket.receive()
            if message.type == "command:exit":
                break
            if message.type == "command:stdout":
                output = message.data["output"]
                assert output.count("a") == len(output)
                total += len(output)
        else:
            raise AssertionError("stream did not finish in time")
    finally:
        socket.close()
    assert message.data["exit_code"] == 0
    assert total == size
    grown_mib = (peak_rss_kib() - baseline) / 1024
    assert grown_mib < 40, f"daemon memory grew by {grown_mib:.0f} MiB while streaming 50 MB"


def test_pending_command_is_listed_as_created_not_run(daemon: DaemonProcess) -> None:
    data = create_stream(daemon, "true")
    listed = daemon.request("GET", f"/terminals/{data['terminal_id']}/commands").json()["data"]
    assert data["cmd_id"] not in [c["cmd_id"] for c in listed["commands"]]
