"""Magic links: creation, one-time redemption, the session cookie, and redirect checks."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from computesdk_daemon.testing import HTTP_TIMEOUT, DaemonProcess

from computesdk_core.wire import parse_datetime

COOKIE = "computesdk_session"


def create_link(daemon: DaemonProcess, **body: Any) -> dict[str, Any]:
    response = daemon.request("POST", "/auth/magic-links", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def redeem(url: str) -> requests.Response:
    """Open the link as a browser would, without following the redirect."""
    return requests.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)


def test_link_shape(daemon: DaemonProcess) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    link = create_link(daemon)
    assert link["redirect_url"] == "/play/"
    parts = urlsplit(link["magic_url"])
    assert f"{parts.scheme}://{parts.netloc}" == daemon.url
    assert parts.path == "/auth/magic" and parts.query.startswith("token=")
    expires = parse_datetime(link["expires_at"])
    assert before + dt.timedelta(minutes=4) < expires <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)


def test_redeeming_sets_an_http_only_session_cookie_and_redirects(daemon: DaemonProcess) -> None:
    link = create_link(daemon, redirectUrl="/dashboard?tab=1")
    response = redeem(link["magic_url"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard?tab=1"
    set_cookie = response.headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
    assert set_cookie.startswith(COOKIE + "=")
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    assert "samesite=lax" in set_cookie.lower() and "max-age=604800" in set_cookie.lower()
    assert "path=/;" in set_cookie.lower() + ";"
    cookie = response.cookies[COOKIE]
    # The cookie alone (no Authorization header) authenticates, as a session token.
    info = requests.get(daemon.url + "/info", cookies={COOKIE: cookie}, timeout=HTTP_TIMEOUT)
    assert info.status_code == 200
    status = requests.get(daemon.url + "/auth/status", cookies={COOKIE: cookie}, timeout=HTTP_TIMEOUT)
    assert status.json()["data"]["token_type"] == "session_token"
    ran = requests.post(daemon.url + "/run/command", json={"command": "echo from-browser"},
                        cookies={COOKIE: cookie}, headers={"Origin": daemon.url}, timeout=HTTP_TIMEOUT)
    assert ran.status_code == 200 and ran.json()["data"]["stdout"] == "from-browser\n"
    # It is a session token: listed (as "magic link"), and it cannot manage tokens.
    tokens = daemon.request("GET", "/auth/session_tokens").json()["data"]["tokens"]
    assert "magic link" in [t["description"] for t in tokens]
    refused = requests.get(daemon.url + "/auth/session_tokens", cookies={COOKIE: cookie}, timeout=HTTP_TIMEOUT)
    assert refused.status_code == 403


def test_a_link_works_once(daemon: DaemonProcess) -> None:
    link = create_link(daemon)
    assert redeem(link["magic_url"]).status_code == 302
    again = redeem(link["magic_url"])
    assert again.status_code == 400
    assert again.headers["Content-Type"].startswith("text/html")
    assert "Set-Cookie" not in again.headers


@pytest.mark.parametrize("query", ["", "?token=", "?token=made-up"])
def test_bad_links_are_400_html(daemon: DaemonProcess, query: str) -> None:
    response = redeem(daemon.url + "/auth/magic" + query)
    assert response.status_code == 400 and "<html" in response.text.lower()


def test_a_head_request_does_not_use_up_the_link(daemon: DaemonProcess) -> None:
    link = create_link(daemon)
    assert requests.head(link["magic_url"], timeout=HTTP_TIMEOUT).status_code == 405
    assert redeem(link["magic_url"]).status_code == 302


def test_the_cookie_is_refused_from_another_origin(daemon: DaemonProcess) -> None:
    cookie = redeem(create_link(daemon)["magic_url"]).cookies[COOKIE]
    other = requests.post(daemon.url + "/run/command", json={"command": "true"}, cookies={COOKIE: cookie},
                          headers={"Origin": "http://127.0.0.1:1"}, timeout=HTTP_TIMEOUT)
    assert other.status_code == 403
    # A bearer token is not a browser's ambient credential: Origin does not matter for it.
    with_token = daemon.request("POST", "/run/command", json={"command": "true"},
                                headers={"Origin": "http://127.0.0.1:1"})
    assert with_token.status_code == 200


def test_a_revoked_cookie_session_is_refused(daemon: DaemonProcess) -> None:
    before = {t["id"] for t in daemon.request("GET", "/auth/session_tokens").json()["data"]["tokens"]}
    cookie = redeem(create_link(daemon)["magic_url"]).cookies[COOKIE]
    after = daemon.request("GET", "/auth/session_tokens").json()["data"]["tokens"]
    (new_id,) = {t["id"] for t in after} - before
    assert daemon.request("DELETE", f"/auth/session_tokens/{new_id}").status_code == 200
    refused = requests.get(daemon.url + "/info", cookies={COOKIE: cookie}, timeout=HTTP_TIMEOUT)
    assert refused.status_code == 401


def test_a_wrong_bearer_token_is_not_rescued_by_a_good_cookie(daemon: DaemonProcess) -> None:
    cookie = redeem(create_link(daemon)["magic_url"]).cookies[COOKIE]
    response = requests.get(daemon.url + "/info", cookies={COOKIE: cookie},
                            headers={"Authorization": "Bearer wrong"}, timeout=HTTP_TIMEOUT)
    assert response.status_code == 401


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "http://127.0.0.1:1/", "http://{host}@evil.example/", " /play/", "/play/\nx",
])
def test_redirects_off_the_sandbox_are_refused(daemon: DaemonProcess, target: str) -> None:
    host = urlsplit(daemon.url).netloc
    response = daemon.request("POST", "/auth/magic-links", json={"redirectUrl": target.format(host=host)})
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("target", ["/", "/play/", "editor/index.html", "/a?b=c#d", "{url}/ide"])
def test_redirects_on_the_sandbox_are_kept(daemon: DaemonProcess, target: str) -> None:
    wanted = target.format(url=daemon.url)
    link = create_link(daemon, redirectUrl=wanted)
    assert link["redirect_url"] == wanted
    assert redeem(link["magic_url"]).headers["Location"] == wanted


def test_link_values_stay_out_of_the_logs(daemon: DaemonProcess) -> None:
    link = create_link(daemon)
    value = urlsplit(link["magic_url"]).query.removeprefix("token=")
    cookie = redeem(link["magic_url"]).cookies[COOKIE]
    redeem(link["magic_url"])
    logs = daemon.stderr() + daemon.stdout_file.read_text(errors="replace")
    assert value not in logs and cookie not in logs
