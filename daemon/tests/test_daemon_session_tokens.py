"""Session tokens over HTTP and WebSocket: creation, use, listing, revocation, expiry, permissions."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import requests
import websocket
from computesdk_daemon.testing import HTTP_TIMEOUT, DaemonProcess, DaemonSocket

from computesdk_core.wire import parse_datetime


def as_bearer(daemon: DaemonProcess, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
    """A request with ``token`` instead of the access token."""
    headers = {"Authorization": f"Bearer {token}"}
    return requests.request(method, daemon.url + path, headers=headers, timeout=HTTP_TIMEOUT, **kwargs)


def create(daemon: DaemonProcess, **body: Any) -> dict[str, Any]:
    response = daemon.request("POST", "/auth/session_tokens", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_returns_the_flat_camel_case_token_once(daemon: DaemonProcess) -> None:
    created = create(daemon, description="ci runner")
    assert set(created) == {"id", "token", "description", "createdAt", "expiresAt", "expiresIn"}
    assert created["description"] == "ci runner" and created["expiresIn"] == 604800
    lifetime = parse_datetime(created["expiresAt"]) - parse_datetime(created["createdAt"])
    assert lifetime == dt.timedelta(days=7)
    listed = daemon.request("GET", "/auth/session_tokens").json()
    assert created["token"] not in str(listed)
    one = daemon.request("GET", f"/auth/session_tokens/{created['id']}").json()
    assert one == {k: v for k, v in created.items() if k != "token"}


@pytest.mark.parametrize("key", ["expiresIn", "expires_in"])
def test_lifetime_in_seconds_under_either_key(daemon: DaemonProcess, key: str) -> None:
    created = create(daemon, **{key: 3600})
    assert created["expiresIn"] == 3600
    lifetime = parse_datetime(created["expiresAt"]) - parse_datetime(created["createdAt"])
    assert lifetime == dt.timedelta(hours=1)


@pytest.mark.parametrize("body", [{"expiresIn": 0}, {"expiresIn": -5}, {"expiresIn": "soon"},
                                  {"expiresIn": 1e300}, {"description": 7}])
def test_bad_bodies_are_400(daemon: DaemonProcess, body: dict[str, Any]) -> None:
    response = daemon.request("POST", "/auth/session_tokens", json=body)
    assert response.status_code == 400, response.text
    assert "error" in response.json()


def test_a_session_token_works_for_http_and_websocket(daemon: DaemonProcess) -> None:
    token = create(daemon, description="worker")["token"]
    ran = as_bearer(daemon, "POST", "/run/command", token, json={"command": "echo delegated"})
    assert ran.status_code == 200 and ran.json()["data"]["stdout"] == "delegated\n"
    by_query = requests.get(daemon.url + "/info", params={"token": token}, timeout=HTTP_TIMEOUT)
    assert by_query.status_code == 200
    status = as_bearer(daemon, "GET", "/auth/status", token).json()["data"]
    assert status["authenticated"] is True and status["token_type"] == "session_token"
    assert parse_datetime(status["expires_at"]) > dt.datetime.now(dt.timezone.utc)
    sock = daemon.ws(token=token)
    sock.send("subscribe", "anything")
    sock.close()


def test_last_use_is_listed(daemon: DaemonProcess) -> None:
    created = create(daemon, description="tracked")

    def listed() -> dict[str, Any]:
        tokens = daemon.request("GET", "/auth/session_tokens").json()["data"]["tokens"]
        (item,) = [t for t in tokens if t["id"] == created["id"]]
        return dict(item)

    item = listed()
    assert set(item) == {"id", "description", "created_at", "expires_at", "last_used_at"}
    assert item["last_used_at"] is None and item["description"] == "tracked"
    assert as_bearer(daemon, "GET", "/info", created["token"]).status_code == 200
    assert parse_datetime(listed()["last_used_at"]) >= parse_datetime(item["created_at"])


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/auth/session_tokens", {}),
    ("GET", "/auth/session_tokens", None),
    ("GET", "/auth/session_tokens/{id}", None),
    ("DELETE", "/auth/session_tokens/{id}", None),
    ("POST", "/auth/magic-links", {}),
])
def test_a_session_token_cannot_manage_credentials(
    daemon: DaemonProcess, method: str, path: str, body: dict[str, Any] | None
) -> None:
    created = create(daemon)
    response = as_bearer(daemon, method, path.format(id=created["id"]), created["token"], json=body)
    assert response.status_code == 403, response.text
    assert "access token" in response.json()["error"]
    assert daemon.request("GET", f"/auth/session_tokens/{created['id']}").status_code == 200, "not revoked"


def test_revoked_token_is_refused_everywhere(daemon: DaemonProcess) -> None:
    created = create(daemon)
    token = created["token"]
    revoked = daemon.request("DELETE", f"/auth/session_tokens/{created['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "success" and revoked.json()["message"]
    refused = as_bearer(daemon, "POST", "/run/command", token, json={"command": "true"})
    assert refused.status_code == 401 and token not in refused.text
    assert as_bearer(daemon, "GET", "/auth/status", token).json()["data"] == {"authenticated": False}
    with pytest.raises(websocket.WebSocketBadStatusException) as ws_refused:
        daemon.ws(token=token)
    assert ws_refused.value.status_code == 401
    assert daemon.request("DELETE", f"/auth/session_tokens/{created['id']}").status_code == 404
    assert daemon.request("GET", f"/auth/session_tokens/{created['id']}").status_code == 404


def test_unknown_token_id_is_404(daemon: DaemonProcess) -> None:
    for method in ("GET", "DELETE"):
        response = daemon.request(method, "/auth/session_tokens/token_nope")
        assert response.status_code == 404 and "token_nope" in response.json()["error"]


def test_an_expired_token_is_refused(daemon: DaemonProcess) -> None:
    created = create(daemon, expiresIn=1)
    assert as_bearer(daemon, "GET", "/info", created["token"]).status_code == 200
    time.sleep(1.2)
    assert as_bearer(daemon, "GET", "/info", created["token"]).status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as ws_refused:
        daemon.ws(token=created["token"])
    assert ws_refused.value.status_code == 401
    still_listed = daemon.request("GET", "/auth/session_tokens").json()["data"]["tokens"]
    assert created["id"] in [t["id"] for t in still_listed], "expired tokens stay listed for revocation"


def test_auth_info_is_public(daemon: DaemonProcess) -> None:
    response = requests.get(daemon.url + "/auth/info", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["message"] and data["instructions"]
    assert data["endpoints"]["create_session_token"] == "POST /auth/session_tokens"
    assert set(data["endpoints"]) == {"create_session_token", "list_session_tokens", "get_session_token",
                                      "revoke_session_token", "create_magic_link", "auth_status", "auth_info"}


def test_no_token_value_reaches_the_logs(daemon: DaemonProcess) -> None:
    created = create(daemon)
    as_bearer(daemon, "GET", "/info", created["token"] + "x")
    as_bearer(daemon, "GET", "/auth/session_tokens", created["token"])
    echoed = daemon.request("POST", "/auth/session_tokens", json={"expiresIn": created["token"]})
    assert echoed.status_code == 400 and created["token"] not in echoed.text
    logs = daemon.stderr() + daemon.stdout_file.read_text(errors="replace")
    assert created["token"] not in logs and daemon.token not in logs


def _closed_by_daemon(sock: DaemonSocket) -> bool:
    """Whether the daemon closes the socket (policy violation) within a generous deadline."""
    sock.ws.settimeout(10)
    try:
        opcode, payload = sock.ws.recv_data(control_frame=True)
    except websocket.WebSocketConnectionClosedException:
        return True
    except websocket.WebSocketTimeoutException:
        return False
    return opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(payload[:2], "big") == 1008


def test_revoking_closes_open_websockets_of_that_token(daemon: DaemonProcess) -> None:
    doomed, kept = create(daemon), create(daemon)
    doomed_sock, kept_sock = daemon.ws(token=doomed["token"]), daemon.ws(token=kept["token"])
    try:
        assert daemon.request("DELETE", f"/auth/session_tokens/{doomed['id']}").status_code == 200
        assert _closed_by_daemon(doomed_sock)
        kept_sock.send("subscribe", "still-here")
        kept_sock.send("no-such-type", "still-here")
        assert kept_sock.receive(timeout=10).type == "error", "another token's socket stays open"
    finally:
        doomed_sock.close()
        kept_sock.close()


def test_an_open_websocket_closes_when_its_token_expires(daemon: DaemonProcess) -> None:
    sock = daemon.ws(token=create(daemon, expiresIn=1)["token"])
    try:
        assert _closed_by_daemon(sock)
    finally:
        sock.close()
