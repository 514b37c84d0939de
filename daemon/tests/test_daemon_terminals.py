"""PTY terminals over the WebSocket and exec terminals with tracked commands, on a real daemon."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from computesdk_daemon.testing import DaemonProcess, DaemonSocket, pid_alive, wait_until_dead

from computesdk_core.protocol import Message

DEADLINE = 15.0


def create(daemon: DaemonProcess, **body: Any) -> dict[str, Any]:
    response = daemon.request("POST", "/terminals", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def read_until(socket: DaemonSocket, predicate: Any, deadline: float = DEADLINE) -> list[Message]:
    """Messages up to and including the first that satisfies ``predicate``."""
    received: list[Message] = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        message = socket.receive(max(0.1, end - time.monotonic()))
        received.append(message)
        if predicate(message, received):
            return received
    raise AssertionError(f"condition not met within {deadline} s; got {received}")


def output_of(messages: list[Message], encoding: str = "raw") -> str:
    parts = [m.data["output"] for m in messages if m.type == "terminal:output"]
    if encoding == "base64":
        return b"".join(base64.b64decode(p) for p in parts).decode()
    return "".join(parts)


def until_output(text: str, encoding: str = "raw") -> Any:
    return lambda _m, received: text in output_of(received, encoding)


@pytest.fixture
def pty(daemon: DaemonProcess) -> Iterator[tuple[dict[str, Any], DaemonSocket]]:
    terminal = create(daemon, pty=True)
    socket = daemon.ws("binary")
    socket.send("subscribe", terminal["channel"])
    yield terminal, socket
    socket.close()
    daemon.request("DELETE", f"/terminals/{terminal['id']}")


def test_pty_shape(daemon: DaemonProcess) -> None:
    terminal = create(daemon, pty=True, encoding="base64")
    try:
        assert terminal["pty"] is True and terminal["status"] == "running"
        assert terminal["channel"] == f"terminal:{terminal['id']}"
        assert terminal["ws_url"] == "/ws" and terminal["encoding"] == "base64"
        listed = daemon.request("GET", "/terminals").json()["data"]["terminals"]
        assert terminal["id"] in [t["id"] for t in listed]
        got = daemon.request("GET", f"/terminals/{terminal['id']}").json()["data"]
        assert got["id"] == terminal["id"] and got["pty"] is True
    finally:
        assert daemon.request("DELETE", f"/terminals/{terminal['id']}").status_code == 204


@pytest.mark.parametrize("mode", ["binary", "json"])
def test_pty_runs_what_is_typed(daemon: DaemonProcess, mode: str) -> None:
    terminal = create(daemon, pty=True)
    socket = daemon.ws(mode)  # type: ignore[arg-type]
    try:
        socket.send("subscribe", terminal["channel"])
        # Arithmetic: the answer appears only if the shell ran it, not from the echo of the input.
        socket.send("terminal:input", data={"terminal_id": terminal["id"], "input": "echo $((6*7))x\n"})
        messages = read_until(socket, until_output("42x"))
        assert all(m.channel == terminal["channel"] for m in messages)
        assert all(m.data.get("encoding") == "raw" for m in messages if m.type == "terminal:output")
    finally:
        socket.close()
        daemon.request("DELETE", f"/terminals/{terminal['id']}")


def test_first_prompt_waits_for_a_subscriber(daemon: DaemonProcess) -> None:
    terminal = create(daemon, pty=True, shell="/bin/sh")
    time.sleep(0.5)  # the shell prints its prompt before anyone listens
    socket = daemon.ws()
    try:
        socket.send("subscribe", terminal["channel"])
        messages = read_until(socket, lambda m, _r: m.type == "terminal:output")
        assert "$" in output_of(messages) or "#" in output_of(messages)
    finally:
        socket.close()
        daemon.request("DELETE", f"/terminals/{terminal['id']}")


def test_base64_output(daemon: DaemonProcess) -> None:
    terminal = create(daemon, pty=True, encoding="base64")
    socket = daemon.ws()
    try:
        socket.send("subscribe", terminal["channel"])
        socket.send("terminal:input", data={"terminal_id": terminal["id"], "input": "echo $((40+2))ü\n"})
        messages = read_until(socket, until_output("42ü", "base64"))
        assert all(m.data["encoding"] == "base64" for m in messages if m.type == "terminal:output")
    finally:
        socket.close()
        daemon.request("DELETE", f"/terminals/{terminal['id']}")


def test_initial_size_and_resize_are_seen_inside(daemon: DaemonProcess) -> None:
    terminal = create(daemon, pty=True, cols=100, rows=30)
    socket = daemon.ws()
    tid = terminal["id"]
    try:
        socket.send("subscribe", terminal["channel"])
        socket.send("terminal:input", data={"terminal_id": tid, "input": "echo size=$(stty size)\n"})
        read_until(socket, until_output("size=30 100"))
        socket.send("terminal:resize", data={"terminal_id": tid, "cols": 132, "rows": 43})
        socket.send("terminal:input", data={"terminal_id": tid, "input": "echo size=$(stty size)\n"})
        read_until(socket, until_output("size=43 132"))
        got = daemon.request("GET", f"/terminals/{tid}").json()["data"]
        assert (got["cols"], got["rows"]) == (132, 43)
    finally:
        socket.close()
        daemon.request("DELETE", f"/terminals/{tid}")


def test_destroy_kills_every_process_of_the_terminal(pty: tuple[dict[str, Any], DaemonSocket],
                                                     daemon: DaemonProcess) -> None:
    terminal, socket = pty
    tid = terminal["id"]
    # Two background jobs (each in a process group of its own under job control) and a child of one.
    socket.send("terminal:input", data={"terminal_id": tid,
                                        "input": "sleep 300 & echo P1=$!; (sleep 301; true) & echo P2=$!\n"})
    messages = read_until(socket, lambda _m, r: len(re.findall(r"P[12]=\d+", output_of(r))) == 2)
    pids = [int(pid) for pid in re.findall(r"P[12]=(\d+)", output_of(messages))]
    assert len(pids) == 2 and all(pid_alive(pid) for pid in pids)
    assert daemon.request("DELETE", f"/terminals/{tid}").status_code == 204
    assert all(wait_until_dead(pid) for pid in pids), "a job of the terminal survived its destruction"
    read_until(socket, lambda m, _r: m.type == "terminal:destroyed" and m.data["id"] == tid)
    assert daemon.request("GET", f"/terminals/{tid}").status_code == 404
    socket.send("terminal:input", data={"terminal_id": tid, "input": "echo hi\n"})
    error = read_until(socket, lambda m, _r: m.type == "terminal:error")[-1]
    assert error.channel == terminal["channel"] and tid in error.data["error"]


def test_shell_exit_destroys_the_terminal(pty: tuple[dict[str, Any], DaemonSocket], daemon: DaemonProcess) -> None:
    terminal, socket = pty
    socket.send("terminal:input", data={"terminal_id": terminal["id"], "input": "exit 3\n"})
    read_until(socket, lambda m, _r: m.type == "terminal:destroyed")
    got = daemon.request("GET", f"/terminals/{terminal['id']}").json()["data"]
    assert got["status"] == "stopped"
    socket.send("terminal:input", data={"terminal_id": terminal["id"], "input": "echo hi\n"})
    error = read_until(socket, lambda m, _r: m.type == "terminal:error")[-1]
    assert "not running" in error.data["error"]


def test_created_is_broadcast_to_every_socket(daemon: DaemonProcess) -> None:
    socket = daemon.ws("json")
    try:
        socket.send("subscribe", "unrelated")
        time.sleep(0.2)
        terminal = create(daemon, pty=True)
        created = read_until(socket, lambda m, _r: m.type == "terminal:created")[-1]
        assert created.channel == terminal["channel"]
        assert created.data == {"id": terminal["id"], "status": "running"}
    finally:
        socket.close()
        daemon.request("DELETE", f"/terminals/{terminal['id']}")


def test_bad_messages_get_terminal_errors(daemon: DaemonProcess) -> None:
    exec_terminal = create(daemon)
    pty_terminal = create(daemon, pty=True)
    socket = daemon.ws()
    try:
        socket.send("terminal:input", data={"terminal_id": "term_nope", "input": "x"})
        error = socket.receive()
        assert (error.type, error.channel) == ("terminal:error", "terminal:term_nope")
        assert "not found" in error.data["error"]
        socket.send("terminal:input", data={"terminal_id": exec_terminal["id"], "input": "x"})
        assert "exec terminal" in socket.receive().data["error"]
        socket.send("terminal:resize", data={"terminal_id": pty_terminal["id"], "cols": 0, "rows": 10})
        assert "cols" in socket.receive().data["error"]
    finally:
        socket.close()
        daemon.request("DELETE", f"/terminals/{exec_terminal['id']}")
        daemon.request("DELETE", f"/terminals/{pty_terminal['id']}")


def test_unknown_ids_and_bad_bodies(daemon: DaemonProcess) -> None:
    assert daemon.request("GET", "/terminals/term_nope").status_code == 404
    assert daemon.request("DELETE", "/terminals/term_nope").status_code == 404
    assert daemon.request("POST", "/terminals/term_nope/execute", json={"command": "true"}).status_code == 404
    assert daemon.request("GET", "/terminals/term_nope/commands").status_code == 404
    terminal = create(daemon)
    try:
        assert daemon.request("GET", f"/terminals/{terminal['id']}/commands/cmd_nope").status_code == 404
        assert daemon.request("GET", f"/terminals/{terminal['id']}/commands/cmd_nope/wait").status_code == 404
        assert daemon.request("POST", f"/terminals/{terminal['id']}/execute", json={}).status_code == 400
    finally:
        daemon.request("DELETE", f"/terminals/{terminal['id']}")
    for body in ({"encoding": "hex"}, {"pty": "yes"}, {"shell": "/no/such/shell"}, {"cols": 0}, {"rows": 1.5}):
        response = daemon.request("POST", "/terminals", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]


def test_command_endpoints_refuse_a_pty(daemon: DaemonProcess) -> None:
    terminal = create(daemon, pty=True)
    try:
        for method, path in (("POST", "/execute"), ("GET", "/commands"), ("GET", "/commands/cmd_x"),
                             ("GET", "/commands/cmd_x/wait")):
            response = daemon.request(method, f"/terminals/{terminal['id']}{path}", json={"command": "true"})
            assert response.status_code == 400, path
            assert "PTY" in response.json()["error"]
    finally:
        daemon.request("DELETE", f"/terminals/{terminal['id']}")


def test_exec_foreground_and_statuses(daemon: DaemonProcess) -> None:
    terminal = create(daemon, pty=False)
    tid = terminal["id"]
    assert terminal["pty"] is False and "channel" not in terminal
    try:
        ok = daemon.request("POST", f"/terminals/{tid}/execute", json={"command": "echo out; echo err >&2"})
        data = ok.json()["data"]
        assert (data["stdout"], data["stderr"], data["exit_code"]) == ("out\n", "err\n", 0)
        assert data["status"] == "completed" and data["terminal_id"] == tid and data["cmd_id"]
        assert isinstance(data["duration_ms"], int)
        failed = daemon.request("POST", f"/terminals/{tid}/execute", json={"command": "exit 5"}).json()["data"]
        assert (failed["status"], failed["exit_code"]) == ("failed", 5)
        listed = daemon.request("GET", f"/terminals/{tid}/commands").json()["data"]
        assert listed["count"] == 2
        assert [c["cmd_id"] for c in listed["commands"]] == [data["cmd_id"], failed["cmd_id"]]
        assert all("stdout" not in c and "stderr" not in c for c in listed["commands"])
        one = daemon.request("GET", f"/terminals/{tid}/commands/{data['cmd_id']}").json()["data"]
        assert one["stdout"] == "out\n" and one["finished_at"]
    finally:
        daemon.request("DELETE", f"/terminals/{tid}")


def test_exec_background_wait_and_destroy(daemon: DaemonProcess) -> None:
    tid = create(daemon)["id"]
    try:
        started = daemon.request("POST", f"/terminals/{tid}/execute",
                                 json={"command": "sleep 0.5; echo done", "background": True}).json()["data"]
        assert started["status"] == "running" and started["cmd_id"]
        path = f"/terminals/{tid}/commands/{started['cmd_id']}"
        assert daemon.request("GET", path).json()["data"]["status"] == "running"
        waited = daemon.request("GET", path + "/wait", params={"timeout": 30}).json()["data"]
        assert (waited["status"], waited["stdout"], waited["exit_code"]) == ("completed", "done\n", 0)
        slow = daemon.request("POST", f"/terminals/{tid}/execute",
                              json={"command": "sleep 300", "background": True}).json()["data"]
        begun = time.monotonic()
        still = daemon.request("GET", f"/terminals/{tid}/commands/{slow['cmd_id']}/wait",
                               params={"timeout": 0.5}).json()["data"]
        assert still["status"] == "running" and time.monotonic() - begun < 10
    finally:
        assert daemon.request("DELETE", f"/terminals/{tid}").status_code == 204
    assert daemon.request("GET", f"/terminals/{tid}/commands").status_code == 404


def test_destroying_an_exec_terminal_kills_its_commands(daemon: DaemonProcess) -> None:
    tid = create(daemon)["id"]
    marker = daemon.workdir / "pid-file"
    daemon.request("POST", f"/terminals/{tid}/execute",
                   json={"command": "sleep 300 & echo $! > pid-file; wait", "background": True})
    end = time.monotonic() + DEADLINE
    while not marker.exists() or not marker.read_text().strip():
        assert time.monotonic() < end, "the background command did not start"
        time.sleep(0.05)
    pid = int(marker.read_text())
    assert pid_alive(pid)
    assert daemon.request("DELETE", f"/terminals/{tid}").status_code == 204
    assert wait_until_dead(pid)


def test_implicit_terminal_is_not_listed(daemon: DaemonProcess) -> None:
    started = daemon.run("true", background=True)
    listed = daemon.request("GET", "/terminals").json()["data"]["terminals"]
    assert started["terminal_id"] not in [t["id"] for t in listed]
    assert daemon.request("DELETE", f"/terminals/{started['terminal_id']}").status_code == 400


def test_the_pty_is_the_shells_controlling_terminal(daemon: DaemonProcess) -> None:
    """^C reaches the foreground job: without a controlling terminal it would not."""
    terminal = create(daemon, pty=True, shell="/bin/bash")
    socket = daemon.ws()
    try:
        socket.send("subscribe", terminal["channel"])
        socket.send("terminal:input", data={"terminal_id": terminal["id"], "input": "tty; sleep 30\n"})
        read_until(socket, until_output("/dev/pts/"))
        time.sleep(0.3)
        started = time.monotonic()
        socket.send("terminal:input", data={"terminal_id": terminal["id"], "input": "\x03"})
        socket.send("terminal:input", data={"terminal_id": terminal["id"], "input": "echo after=$?\n"})
        read_until(socket, until_output("after=130"))
        assert time.monotonic() - started < 10
    finally:
        socket.close()
        daemon.request("DELETE", f"/terminals/{terminal['id']}")
