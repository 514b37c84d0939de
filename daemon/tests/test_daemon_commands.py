"""POST /run/command (foreground, timeout, background) and the tracked-command endpoints."""

from __future__ import annotations

import time

from computesdk_daemon.testing import DaemonProcess, pid_alive, wait_until_dead

from computesdk_core.wire import parse_datetime


def test_foreground_stdout_stderr_and_exit_code(daemon: DaemonProcess) -> None:
    data = daemon.run("echo out; echo err >&2; exit 7")
    assert data["command"] == "echo out; echo err >&2; exit 7"
    assert data["stdout"] == "out\n"
    assert data["stderr"] == "err\n"
    assert data["exit_code"] == 7
    assert isinstance(data["duration_ms"], int) and data["duration_ms"] >= 0
    assert "timed_out" not in data


def test_default_cwd_is_the_workdir_and_cwd_resolves_against_it(daemon: DaemonProcess) -> None:
    (daemon.workdir / "sub dir").mkdir(exist_ok=True)
    assert daemon.run("pwd")["stdout"].strip() == str(daemon.workdir)
    assert daemon.run("pwd", cwd="sub dir")["stdout"].strip() == str(daemon.workdir / "sub dir")
    assert daemon.run("pwd", cwd="/tmp")["stdout"].strip() == "/tmp"


def test_env_is_added_to_the_daemon_environment(daemon: DaemonProcess) -> None:
    data = daemon.run(
        'echo "$GREETING|$WHO|${PATH:+path-set}"', env={"GREETING": "héllo wörld", "WHO": "a b"}
    )
    assert data["stdout"] == "héllo wörld|a b|path-set\n"


def test_missing_command_is_exit_127_not_an_http_error(daemon: DaemonProcess) -> None:
    data = daemon.run("definitely-not-a-command-xyz")
    assert data["exit_code"] == 127
    assert "not found" in data["stderr"]


def test_missing_cwd_is_404(daemon: DaemonProcess) -> None:
    response = daemon.request("POST", "/run/command", json={"command": "true", "cwd": "/no/such/dir"})
    assert response.status_code == 404
    assert response.json() == {"error": "working directory does not exist: /no/such/dir"}


def test_bad_input_is_400(daemon: DaemonProcess) -> None:
    for body in (
        {},
        {"command": ""},
        {"command": 5},
        {"command": "true", "env": {"A": 1}},
        {"command": "true", "timeout": "soon"},
        {"command": "true", "shell": "/no/such/shell"},
    ):
        response = daemon.request("POST", "/run/command", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]


def test_explicit_shell(daemon: DaemonProcess) -> None:
    assert daemon.run("echo $0", shell="/bin/sh")["stdout"].strip() == "/bin/sh"


def test_invalid_utf8_output_is_replaced_not_fatal(daemon: DaemonProcess) -> None:
    data = daemon.run(r"printf 'a\377b'")
    assert data["stdout"] == "a\ufffdb"


def test_timeout_kills_the_whole_tree_with_partial_output(daemon: DaemonProcess) -> None:
    command = "echo started; sleep 100 & echo child=$!; sleep 100; wait"
    began = time.monotonic()
    data = daemon.run(command, timeout=1)
    elapsed = time.monotonic() - began
    assert elapsed < 4.0, f"returned {elapsed:.1f} s after the start, for a 1 s timeout"
    assert data["timed_out"] is True
    assert data["exit_code"] == 137
    assert data["stdout"].startswith("started\nchild=")
    child = int(data["stdout"].split("child=")[1].split()[0])
    assert wait_until_dead(child), "the background sleep outlived the timeout"


def test_timeout_does_not_wait_for_a_child_that_escaped_the_group(daemon: DaemonProcess) -> None:
    # setsid puts the sleep in another group: it survives the kill but still holds the pipes.
    data = daemon.run("setsid sleep 30 & echo escaped=$!; sleep 100", timeout=1)
    assert data["timed_out"] is True
    escaped = int(data["stdout"].split("escaped=")[1].split()[0])
    assert pid_alive(escaped)
    daemon.run(f"kill -9 {escaped}")
    assert wait_until_dead(escaped)


def test_foreground_returns_while_a_background_child_keeps_running(daemon: DaemonProcess) -> None:
    data = daemon.run("sleep 30 & echo bg=$!")
    assert data["exit_code"] == 0
    pid = int(data["stdout"].split("bg=")[1])
    assert pid_alive(pid)
    assert daemon.run(f"kill {pid}")["exit_code"] == 0
    assert wait_until_dead(pid)


def test_background_command_and_wait(daemon: DaemonProcess) -> None:
    data = daemon.run("echo begin; sleep 1; echo end; echo oops >&2; exit 3", background=True)
    assert data["status"] == "running"
    assert data["stdout"] == "" and data["stderr"] == ""
    terminal_id, cmd_id = data["terminal_id"], data["cmd_id"]
    base = f"/terminals/{terminal_id}/commands/{cmd_id}"
    running = daemon.request("GET", base).json()["data"]
    assert running["status"] == "running"
    assert running["cmd_id"] == cmd_id
    assert "exit_code" not in running and "finished_at" not in running
    done = daemon.request("GET", base + "/wait", params={"timeout": 20}).json()["data"]
    assert done["status"] == "failed"
    assert done["exit_code"] == 3
    assert done["stdout"] == "begin\nend\n"
    assert done["stderr"] == "oops\n"
    assert parse_datetime(done["finished_at"]) >= parse_datetime(done["started_at"])
    assert done["duration_ms"] >= 900
    listed = daemon.request("GET", f"/terminals/{terminal_id}/commands").json()["data"]
    assert listed["count"] == len(listed["commands"])
    item = next(c for c in listed["commands"] if c["cmd_id"] == cmd_id)
    assert item["exit_code"] == 3 and "stdout" not in item


def test_wait_with_timeout_returns_still_running(daemon: DaemonProcess) -> None:
    data = daemon.run("sleep 30", background=True)
    base = f"/terminals/{data['terminal_id']}/commands/{data['cmd_id']}"
    began = time.monotonic()
    waited = daemon.request("GET", base + "/wait", params={"timeout": 0.5}).json()["data"]
    assert waited["status"] == "running"
    assert time.monotonic() - began < 10


def test_background_timeout_and_successful_status(daemon: DaemonProcess) -> None:
    killed = daemon.run("sleep 30", background=True, timeout=0.5)
    ok = daemon.run("true", background=True)
    for data, status, code in ((killed, "failed", 137), (ok, "completed", 0)):
        base = f"/terminals/{data['terminal_id']}/commands/{data['cmd_id']}"
        done = daemon.request("GET", base + "/wait", params={"timeout": 20}).json()["data"]
        assert (done["status"], done["exit_code"]) == (status, code)


def test_background_output_is_bounded(daemon: DaemonProcess) -> None:
    data = daemon.run("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo last-line", background=True)
    base = f"/terminals/{data['terminal_id']}/commands/{data['cmd_id']}"
    done = daemon.request("GET", base + "/wait", params={"timeout": 30}).json()["data"]
    assert done["status"] == "completed"
    assert done["stdout"].endswith("x\nlast-line\n")
    assert len(done["stdout"]) <= 1024 * 1024


def test_unknown_terminal_or_command_is_404(daemon: DaemonProcess) -> None:
    data = daemon.run("true", background=True)
    assert daemon.request("GET", f"/terminals/{data['terminal_id']}/commands/cmd_nope").status_code == 404
    assert daemon.request("GET", f"/terminals/term_nope/commands/{data['cmd_id']}").status_code == 404


def test_foreground_output_past_the_limit_is_marked_truncated(daemon: DaemonProcess) -> None:
    from computesdk_daemon.commands import FOREGROUND_LIMIT

    whole = daemon.run(f"head -c {FOREGROUND_LIMIT + 1000} /dev/zero | tr '\\0' x")
    assert whole.get("truncated") is True and len(whole["stdout"]) <= FOREGROUND_LIMIT
    small = daemon.run("echo fits")
    assert "truncated" not in small and small["stdout"] == "fits\n"
