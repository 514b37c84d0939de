"""sandbox.session_tokens and sandbox.magic_links against a real daemon, and end to end on local."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
import requests
from computesdk_daemon.testing import DaemonProcess

from computesdk_core import compute, errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.namespaces.auth import MagicLinks, SessionTokenInfo, SessionTokens
from computesdk_core.types import DaemonEndpoint, RunOptions

HTTP_TIMEOUT = 30


@pytest.fixture(scope="module")
def client(daemon: DaemonProcess) -> Iterator[DaemonClient]:
    daemon_client = DaemonClient(DaemonEndpoint(daemon.url, daemon.token), name="auth-test")
    yield daemon_client
    daemon_client.close()


@pytest.fixture
def tokens(client: DaemonClient) -> SessionTokens:
    return SessionTokens(lambda: client)


@pytest.fixture
def links(client: DaemonClient) -> MagicLinks:
    return MagicLinks(lambda: client)


def test_create_list_retrieve_revoke(tokens: SessionTokens) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    created = tokens.create(description="My Application", expires_in=3600)
    assert created.description == "My Application" and created.token.startswith("st_")
    assert created.created_at >= before - dt.timedelta(seconds=1)
    assert created.expires_at - created.created_at == dt.timedelta(hours=1)
    assert created.expires_at.tzinfo is not None
    listed = {info.id: info for info in tokens.list()}
    assert listed[created.id] == SessionTokenInfo(
        created.id, "My Application", created.created_at, created.expires_at, None
    )
    assert tokens.retrieve(created.id) == listed[created.id]
    tokens.revoke(created.id)
    assert created.id not in {info.id for info in tokens.list()}
    with pytest.raises(errors.NotFoundError):
        tokens.retrieve(created.id)
    tokens.revoke(created.id)  # already revoked: no error, as the seeds promise


def test_default_lifetime_is_seven_days(tokens: SessionTokens) -> None:
    created = tokens.create()
    assert created.description is None
    assert created.expires_at - created.created_at == dt.timedelta(days=7)


def test_bad_lifetime_is_a_validation_error(tokens: SessionTokens) -> None:
    with pytest.raises(errors.ValidationError):
        tokens.create(expires_in=-1)


def test_the_token_value_shows_in_no_repr_or_error(tokens: SessionTokens, daemon: DaemonProcess) -> None:
    created = tokens.create(description="hidden")
    assert created.token not in repr(created) and created.token not in str(created)
    assert created.token not in repr(tokens.list()) and created.token not in repr(tokens)
    tokens.revoke(created.id)
    refused = DaemonClient(DaemonEndpoint(daemon.url, created.token))
    try:
        with pytest.raises(errors.AuthenticationError) as caught:
            refused.run_command("true", RunOptions())
        assert created.token not in str(caught.value) and created.token not in repr(caught.value)
        assert created.token not in repr(refused)
    finally:
        refused.close()


def test_a_session_token_runs_commands_but_cannot_manage_tokens(tokens: SessionTokens, daemon: DaemonProcess) -> None:
    created = tokens.create(description="delegate")
    delegated = DaemonClient(DaemonEndpoint(daemon.url, created.token), name="delegate")
    try:
        assert delegated.run_command("echo hi", RunOptions()).stdout == "hi\n"
        streamed: list[str] = []
        result = delegated.run_command("echo streamed", RunOptions(on_stdout=streamed.append))
        assert result.exit_code == 0 and "".join(streamed) == "streamed\n", "the WebSocket accepts it too"
        delegated_tokens = SessionTokens(lambda: delegated)
        with pytest.raises(errors.PermissionDeniedError):
            delegated_tokens.create()
        with pytest.raises(errors.PermissionDeniedError):
            delegated_tokens.list()
        with pytest.raises(errors.PermissionDeniedError):
            delegated_tokens.revoke(created.id)
        with pytest.raises(errors.PermissionDeniedError):
            MagicLinks(lambda: delegated).create()
        assert tokens.retrieve(created.id).id == created.id, "the refused revoke did nothing"
    finally:
        delegated.close()


def test_an_expired_token_is_an_authentication_error(tokens: SessionTokens, daemon: DaemonProcess) -> None:
    created = tokens.create(expires_in=1)
    delegated = DaemonClient(DaemonEndpoint(daemon.url, created.token))
    try:
        time.sleep(1.2)
        with pytest.raises(errors.AuthenticationError):
            delegated.run_command("true", RunOptions())
    finally:
        delegated.close()


def test_magic_link(links: MagicLinks, daemon: DaemonProcess) -> None:
    link = links.create()
    assert link.redirect_url == "/play/" and link.url.startswith(daemon.url + "/auth/magic?token=")
    assert link.url not in repr(link)
    remaining = link.expires_at - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(minutes=4) < remaining <= dt.timedelta(minutes=5)
    with requests.Session() as browser:
        landed = browser.get(link.url, allow_redirects=False, timeout=HTTP_TIMEOUT)
        assert landed.status_code == 302 and landed.headers["Location"] == "/play/"
        assert browser.get(daemon.url + "/info", timeout=HTTP_TIMEOUT).status_code == 200, "the cookie logs in"
        assert browser.get(link.url, allow_redirects=False, timeout=HTTP_TIMEOUT).status_code == 400


def test_magic_link_redirects_must_stay_on_the_sandbox(links: MagicLinks) -> None:
    assert links.create(redirect_url="/dashboard").redirect_url == "/dashboard"
    with pytest.raises(errors.ValidationError):
        links.create(redirect_url="https://evil.example/")


def test_end_to_end_on_the_local_provider() -> None:
    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        created = sandbox.session_tokens.create(description="e2e")
        assert created.id in {info.id for info in sandbox.session_tokens.list()}
        link = sandbox.magic_links.create(redirect_url="/editor/")
        assert link.redirect_url == "/editor/"
        with requests.Session() as browser:
            landed = browser.get(link.url, allow_redirects=False, timeout=HTTP_TIMEOUT)
            assert landed.status_code == 302 and landed.headers["Location"] == "/editor/"
        sandbox.session_tokens.revoke(created.id)
        with pytest.raises(errors.NotFoundError):
            sandbox.session_tokens.retrieve(created.id)
        daemon_log = (sandbox.get_instance().dir / "daemon.log").read_text(errors="replace")
        assert created.token not in daemon_log and link.url.split("token=")[1] not in daemon_log
    finally:
        sandbox.destroy()
