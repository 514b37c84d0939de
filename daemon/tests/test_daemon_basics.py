"""Start-up, health, info, auth and error shapes of the real daemon."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
import requests
import websocket
from computesdk_daemon.testing import HTTP_TIMEOUT, DaemonProcess

from computesdk_core.wire import parse_datetime


def test_ready_file_and_listening_line(daemon: DaemonProcess) -> None:
    ready = json.loads(daemon.ready_file.read_text())
    assert ready["pid"] == daemon.process.pid
    assert ready["url"] == f"http://127.0.0.1:{ready['port']}"
    assert daemon.stdout_file.read_text().strip() == f"computesdk-daemon listening on {ready['url']}"


def test_health_needs_no_token(daemon: DaemonProcess) -> None:
    response = requests.get(daemon.url + "/health", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert abs(parse_datetime(body["timestamp"]) - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)


def test_ready_is_public_and_flat(daemon: DaemonProcess) -> None:
    response = requests.get(daemon.url + "/ready", timeout=HTTP_TIMEOUT)
    assert response.json() == {"ready": True, "servers": [], "overlays": []}


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic x"}]
)
def test_missing_or_wrong_token_is_401(daemon: DaemonProcess, headers: dict[str, str]) -> None:
    response = requests.get(daemon.url + "/info", headers=headers, timeout=HTTP_TIMEOUT)
    assert response.status_code == 401
    assert "error" in response.json()
    assert daemon.token not in response.text
    refused = requests.post(
        daemon.url + "/run/command",
        json={"command": "touch should-not-exist"},
        headers=headers,
        timeout=HTTP_TIMEOUT,
    )
    assert refused.status_code == 401
    assert not (daemon.workdir / "should-not-exist").exists()


def test_token_query_parameter_is_accepted(daemon: DaemonProcess) -> None:
    ok = requests.get(daemon.url + "/info", params={"token": daemon.token}, timeout=HTTP_TIMEOUT)
    assert ok.status_code == 200
    wrong = requests.get(daemon.url + "/info", params={"token": daemon.token + "x"}, timeout=HTTP_TIMEOUT)
    assert wrong.status_code == 401


def test_websocket_refuses_bad_token_before_upgrade(daemon: DaemonProcess) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        daemon.ws(token="not-the-token")
    assert refused.value.status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as missing:
        daemon.ws(token="")
    assert missing.value.status_code == 401


def test_auth_status(daemon: DaemonProcess) -> None:
    anonymous = requests.get(daemon.url + "/auth/status", timeout=HTTP_TIMEOUT).json()["data"]
    assert anonymous["authenticated"] is False
    assert "token_type" not in anonymous
    known = daemon.request("GET", "/auth/status").json()["data"]
    assert known == {"authenticated": True, "token_type": "access_token"}


def test_info_fields(daemon: DaemonProcess) -> None:
    body = daemon.request("GET", "/info").json()
    data = body["data"]
    assert isinstance(body["message"], str)
    assert data["auth_enabled"] is True
    assert data["sandbox_count"] == 1
    assert data["status"] == "running"
    assert data["sandbox_url"] == daemon.url.replace("127.0.0.1", "127.0.0.1")
    assert data["timeout"] is None and data["expires_at"] is None
    assert data["metadata"] == {}
    assert data["version"]
    assert parse_datetime(data["created_at"]) <= dt.datetime.now(dt.timezone.utc)


def test_info_reports_sandbox_id_metadata_and_timeout(start_daemon: Callable[..., DaemonProcess]) -> None:
    env = {"COMPUTESDK_SANDBOX_ID": "sbx-42", "COMPUTESDK_METADATA": json.dumps({"team": "é", "n": 1})}
    daemon = start_daemon("--timeout", "600", env=env)
    data = daemon.request("GET", "/info").json()["data"]
    assert data["sandbox_id"] == "sbx-42"
    assert data["metadata"] == {"team": "é", "n": 1}
    assert data["timeout"] == 600
    lifetime = parse_datetime(data["expires_at"]) - parse_datetime(data["created_at"])
    assert lifetime == dt.timedelta(seconds=600)


def test_unknown_route_and_method_are_json_errors(daemon: DaemonProcess) -> None:
    missing = daemon.request("GET", "/no/such/endpoint")
    assert missing.status_code == 404
    assert "error" in missing.json()
    wrong_method = daemon.request("PUT", "/health")
    assert wrong_method.status_code == 405
    assert "error" in wrong_method.json()


def test_bad_json_body_is_400(daemon: DaemonProcess) -> None:
    for body in (b"{not json", b"[1, 2]"):
        response = daemon.request("POST", "/run/command", data=body)
        assert response.status_code == 400
        assert "error" in response.json()


def test_commands_never_see_the_token(daemon: DaemonProcess) -> None:
    data = daemon.run("env")
    assert data["exit_code"] == 0
    assert "PATH=" in data["stdout"]
    assert daemon.token not in data["stdout"]
    assert "COMPUTESDK_ACCESS_TOKEN" not in data["stdout"]
    environ = daemon.workdir / "environ"
    daemon.run(f"cat /proc/{daemon.process.pid}/environ > environ")
    assert daemon.token.encode() not in environ.read_bytes()


def test_refuses_to_start_without_token(tmp_path: os.PathLike[str]) -> None:
    env = {key: value for key, value in os.environ.items() if key != "COMPUTESDK_ACCESS_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "computesdk_daemon", "--port", "0"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "COMPUTESDK_ACCESS_TOKEN" in result.stderr
