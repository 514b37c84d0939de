"""Managed servers on a real daemon: real HTTP servers, real exits, real signals to process groups."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from computesdk_daemon.testing import DaemonProcess, pid_alive, wait_until_dead

pytestmark = pytest.mark.timeout(90)

PY = sys.executable
HTTP_SERVER = f"{PY} -m http.server $PORT --bind 127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(daemon: DaemonProcess, **options: Any) -> dict[str, Any]:
    reply = daemon.request("POST", "/servers", json=options)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == "success"
    server: dict[str, Any] = body["data"]["server"]
    return server


def info(daemon: DaemonProcess, slug: str) -> dict[str, Any]:
    reply = daemon.request("GET", f"/servers/{slug}")
    assert reply.status_code == 200, reply.text
    server: dict[str, Any] = reply.json()["data"]["server"]
    return server


def wait_for(daemon: DaemonProcess, slug: str, statuses: set[str], deadline: float = 20) -> dict[str, Any]:
    end = time.monotonic() + deadline
    while True:
        server = info(daemon, slug)
        if server["status"] in statuses:
            return server
        assert time.monotonic() < end, f"{slug} still {server['status']} after {deadline} s"
        time.sleep(0.1)


def logs(daemon: DaemonProcess, slug: str, stream: str = "combined") -> str:
    reply = daemon.request("GET", f"/servers/{slug}/logs", params={"stream": stream})
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert data["slug"] == slug and data["stream"] == stream
    text: str = data["logs"]
    return text


@pytest.fixture
def cleanup(daemon: DaemonProcess) -> Iterator[list[str]]:
    slugs: list[str] = []
    yield slugs
    for slug in slugs:
        daemon.request("DELETE", f"/servers/{slug}")


def test_a_server_becomes_ready_serves_and_stops(daemon: DaemonProcess, cleanup: list[str]) -> None:
    port = free_port()
    cleanup.append("web")
    (daemon.workdir / "hello.txt").write_text("hello from the sandbox")
    server = start(daemon, slug="web", start=HTTP_SERVER, port=port)
    assert server["status"] == "starting" and server["command"] == HTTP_SERVER and server["pid"]
    ready = wait_for(daemon, "web", {"ready"})
    assert ready["port"] == port and ready["url"] == f"http://127.0.0.1:{port}"
    assert requests.get(ready["url"] + "/hello.txt", timeout=10).text == "hello from the sandbox"
    assert [s["slug"] for s in daemon.request("GET", "/servers").json()["data"]["servers"]] == ["web"]

    duplicate = daemon.request("POST", "/servers", json={"slug": "web", "start": "true"})
    assert duplicate.status_code == 409 and "web" in duplicate.json()["error"]

    stopped = daemon.request("POST", "/servers/web/stop").json()
    assert stopped["status"] == "success" and stopped["data"]["slug"] == "web"
    assert wait_until_dead(ready["pid"])
    after = info(daemon, "web")
    assert after["status"] == "stopped" and after["url"] is None and after["pid"] is None
    with pytest.raises(requests.ConnectionError):
        requests.get(ready["url"], timeout=5)


def test_restart_runs_a_new_process_and_delete_forgets_the_server(daemon: DaemonProcess) -> None:
    first = start(daemon, slug="again", start=HTTP_SERVER, port=free_port())
    wait_for(daemon, "again", {"ready"})
    restarted = daemon.request("POST", "/servers/again/restart").json()["data"]["server"]
    assert restarted["status"] == "starting" and restarted["pid"] != first["pid"]
    assert wait_until_dead(first["pid"])
    ready = wait_for(daemon, "again", {"ready"})
    assert requests.get(ready["url"], timeout=10).status_code == 200
    assert daemon.request("DELETE", "/servers/again").status_code == 200
    assert wait_until_dead(ready["pid"])
    assert daemon.request("GET", "/servers/again").status_code == 404
    # A stopped or deleted slug can be started again.
    start(daemon, slug="again", start="sleep 30")
    daemon.request("DELETE", "/servers/again")


def test_the_port_of_a_server_without_one_is_detected(daemon: DaemonProcess, cleanup: list[str]) -> None:
    cleanup.append("anyport")
    # Port 0: the kernel picks one, and only the port monitor can tell which.
    start(daemon, slug="anyport", start=f"{PY} -m http.server 0 --bind 127.0.0.1")
    ready = wait_for(daemon, "anyport", {"ready"})
    assert ready["port"] > 0
    assert requests.get(ready["url"], timeout=10).status_code == 200


def test_a_server_that_exits_by_itself_fails_and_keeps_its_output(daemon: DaemonProcess) -> None:
    start(daemon, slug="crash", start="echo starting up; echo no database >&2; exit 3")
    failed = wait_for(daemon, "crash", {"failed"})
    assert failed["exit_code"] == 3 and failed["pid"] is None
    assert logs(daemon, "crash", "stdout") == "starting up\n"
    assert logs(daemon, "crash", "stderr") == "no database\n"
    assert "starting up" in logs(daemon, "crash") and "no database" in logs(daemon, "crash")
    # A missing program fails the same way, with the shell's complaint in the logs.
    start(daemon, slug="typo", start="definitely-not-a-program-xyz")
    assert wait_for(daemon, "typo", {"failed"})["exit_code"] == 127
    assert "not found" in logs(daemon, "typo", "stderr")
    for slug in ("crash", "typo"):
        daemon.request("DELETE", f"/servers/{slug}")


def test_env_file_and_environment_reach_the_process(daemon: DaemonProcess) -> None:
    app = daemon.workdir / "app"
    app.mkdir()
    (app / ".env.production").write_text("# settings\nexport A=from-file\nB='quoted value # kept'\nC=file\n")
    show = f"{PY} -c \"import os; print(os.getcwd(), os.environ['A'], os.environ['B'], os.environ['C'])\""
    server = start(daemon, slug="envy", start=show, path="app", env_file=".env.production",
                   environment={"C": "inline"})
    assert server["env_file"] == ".env.production" and server["path"] == str(app)
    wait_for(daemon, "envy", {"failed"})
    assert logs(daemon, "envy", "stdout") == f"{app} from-file quoted value # kept inline\n"
    daemon.request("DELETE", "/servers/envy")


def test_stop_kills_a_server_that_ignores_sigterm(daemon: DaemonProcess) -> None:
    server = start(daemon, slug="stubborn", start="trap '' TERM; sleep 60", stop_timeout_ms=300)
    assert server["stop_timeout"] == 300_000_000  # nanoseconds on the wire
    wait_for(daemon, "stubborn", {"running"})
    assert daemon.request("POST", "/servers/stubborn/stop").status_code == 200
    assert wait_until_dead(server["pid"])
    assert info(daemon, "stubborn")["status"] == "stopped"
    daemon.request("DELETE", "/servers/stubborn")


def test_sigterm_ends_a_server_and_everything_in_its_group(daemon: DaemonProcess) -> None:
    server = start(daemon, slug="family", start="sleep 60 & sleep 60 & wait")
    wait_for(daemon, "family", {"running"})
    children = daemon.run(f"pgrep -g {server['pid']}")["stdout"].split()
    assert len(children) >= 3
    daemon.request("POST", "/servers/family/stop")
    assert all(wait_until_dead(int(pid)) for pid in children)
    daemon.request("DELETE", "/servers/family")


def test_on_failure_restarts_up_to_max_restarts(daemon: DaemonProcess) -> None:
    start(daemon, slug="flaky", start="echo run; exit 1", restart_policy="on-failure", max_restarts=2,
          restart_delay_ms=50)
    end = time.monotonic() + 20
    while True:
        server = info(daemon, "flaky")
        if server["status"] == "failed" and server["restart_count"] == 2:
            break
        assert time.monotonic() < end, server
        time.sleep(0.1)
    assert logs(daemon, "flaky").count("run\n") == 3
    daemon.request("DELETE", "/servers/flaky")


def test_a_taken_port_moves_up_unless_strict(daemon: DaemonProcess) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        strict = daemon.request("POST", "/servers", json={"slug": "strict", "start": "sleep 5", "port": port,
                                                          "strict_port": True})
        assert strict.status_code == 409 and str(port) in strict.json()["error"]
        moved = start(daemon, slug="moved", start="sleep 5", port=port)
        assert moved["port"] > port
    daemon.request("DELETE", "/servers/moved")


@pytest.mark.parametrize(("body", "status", "complaint"), [
    ({"slug": "has space", "start": "true"}, 400, "slug"),
    ({"slug": "../up", "start": "true"}, 400, "slug"),
    ({"slug": "ok"}, 400, "start"),
    ({"start": "true"}, 400, "slug"),
    ({"slug": "ok", "start": "true", "path": "no/such/dir"}, 404, "no/such/dir"),
    ({"slug": "ok", "start": "true", "env_file": "missing.env"}, 400, "missing.env"),
    ({"slug": "ok", "start": "true", "restart_policy": "sometimes"}, 400, "restart_policy"),
    ({"slug": "ok", "start": "true", "health_check": {"path": "/"}}, 400, "health_check"),
])
def test_bad_start_options_are_refused(daemon: DaemonProcess, body: dict[str, Any], status: int,
                                       complaint: str) -> None:
    reply = daemon.request("POST", "/servers", json=body)
    assert reply.status_code == status, reply.text
    assert complaint in reply.json()["error"]
    assert daemon.request("GET", "/servers/ok").status_code == 404


def test_unknown_slugs_and_streams(daemon: DaemonProcess) -> None:
    for method, path in [("GET", "/servers/nope"), ("POST", "/servers/nope/stop"), ("POST", "/servers/nope/restart"),
                         ("DELETE", "/servers/nope"), ("GET", "/servers/nope/logs")]:
        reply = daemon.request(method, path)
        assert reply.status_code == 404, (method, path)
        assert "nope" in reply.json()["error"]
    start(daemon, slug="quiet", start="true")
    assert daemon.request("GET", "/servers/quiet/logs", params={"stream": "both"}).status_code == 400
    daemon.request("DELETE", "/servers/quiet")


def test_a_server_with_the_command_alias_and_the_command_line_pid(daemon: DaemonProcess) -> None:
    server = start(daemon, slug="alias", command="sleep 30")
    assert server["start"] == "sleep 30" and pid_alive(server["pid"])
    daemon.request("DELETE", "/servers/alias")
    assert wait_until_dead(server["pid"])


def test_ready_reports_servers_and_waits_for_them(daemon: DaemonProcess, cleanup: list[str]) -> None:
    cleanup.append("slowweb")
    started = daemon.request("POST", "/servers", json={"slug": "slowweb", "start": "sleep 1; exec python3 -m http.server $PORT"})
    assert started.status_code == 200, started.text
    early = requests.get(daemon.url + "/ready", timeout=10).json()
    assert early["ready"] is False and [s["slug"] for s in early["servers"]] == ["slowweb"]
    wait_for(daemon, "slowweb", {"ready"})
    late = requests.get(daemon.url + "/ready", timeout=10).json()
    assert late["ready"] is True and late["servers"][0]["url"].startswith("http://127.0.0.1:")
