"""Edge cases of Daytona's HTTP answers, with ``responses`` standing in for the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from computesdk_daytona import plugin
from computesdk_daytona.commands import _Session
from computesdk_daytona.config import resolve_config
from computesdk_daytona.handle import DaytonaSandbox

from computesdk_core import errors
from computesdk_core.types import CreateOptions

API = "http://127.0.0.1:9/api"
TOOLBOX = "http://127.0.0.1:9/toolbox"
KEY = "dtn_http_test_key_0123456789"
SANDBOX_ID = "3f6c8a5e-0000-4000-8000-000000000001"


def sandbox_object(state: str = "started", **extra: Any) -> dict[str, Any]:
    """A sandbox object as Daytona's control plane returns it."""
    return {"id": SANDBOX_ID, "organizationId": "org", "name": SANDBOX_ID, "user": "daytona", "env": {},
            "labels": {"team": "a"}, "public": False, "networkBlockAll": False, "target": "us", "cpu": 1, "gpu": 0,
            "memory": 1, "disk": 3, "state": state, "autoStopInterval": 15, "createdAt": "2026-11-23T10:00:00.000Z",
            "toolboxProxyUrl": TOOLBOX, **extra}


@pytest.fixture
def config() -> dict[str, Any]:
    """A configuration aimed at the fake API."""
    return dict(resolve_config({"api_key": KEY, "api_url": API, "start_timeout": 5}, {}))


@pytest.fixture
def mocked() -> Any:
    """The fake API; every registered answer must be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def test_429_then_success_is_retried_for_a_lookup(config: dict[str, Any], mocked: Any) -> None:
    """A rate-limited GET is sent again (after Retry-After) and its answer used."""
    url = f"{API}/sandbox/{SANDBOX_ID}"
    mocked.get(url, status=429, json={"statusCode": 429, "message": "slow down"}, headers={"Retry-After": "0"})
    mocked.get(url, json=sandbox_object())
    record = plugin.sandbox_get(config=config, sandbox_id=SANDBOX_ID)
    assert record is not None and record.sandbox_id == SANDBOX_ID and record.metadata == {"team": "a"}
    assert len(mocked.calls) == 2
    assert mocked.calls[0].request.headers["Authorization"] == f"Bearer {KEY}"


def test_429_on_create_is_not_retried(config: dict[str, Any], mocked: Any) -> None:
    """Creating is never repeated: a second POST could make a second sandbox."""
    mocked.post(f"{API}/sandbox", status=429, json={"message": "too many sandboxes"}, headers={"Retry-After": "0"})
    with pytest.raises(errors.RateLimitError):
        plugin.sandbox_create(config=config, options=CreateOptions())
    assert len(mocked.calls) == 1


def test_500_on_destroy_is_retried_then_succeeds(config: dict[str, Any], mocked: Any) -> None:
    """DELETE is idempotent: a 500 is retried and the second answer counts."""
    url = f"{API}/sandbox/{SANDBOX_ID}"
    mocked.delete(url, status=500, json={"statusCode": 500, "message": "runner unavailable"})
    mocked.delete(url, json=sandbox_object("destroying"))
    assert plugin.sandbox_destroy(config=config, sandbox_id=SANDBOX_ID) is True
    assert len(mocked.calls) == 2


def test_500_on_destroy_that_persists_raises_with_the_status(config: dict[str, Any], mocked: Any) -> None:
    """When every attempt fails the error carries the status and Daytona's message."""
    config["client"].http.attempts = 2
    url = f"{API}/sandbox/{SANDBOX_ID}"
    for _ in range(2):
        mocked.delete(url, status=500, json={"statusCode": 500, "message": "runner unavailable"})
    with pytest.raises(errors.ProviderAPIError) as caught:
        plugin.sandbox_destroy(config=config, sandbox_id=SANDBOX_ID)
    assert caught.value.status_code == 500
    assert "runner unavailable" in str(caught.value)


@pytest.mark.parametrize("status", [404, 410])
def test_expired_sandbox_is_none(config: dict[str, Any], mocked: Any, status: int) -> None:
    """A sandbox that is gone (404 or 410) is None, and destroying it again is no error."""
    url = f"{API}/sandbox/{SANDBOX_ID}"
    mocked.get(url, status=status, json={"statusCode": status, "message": "Sandbox not found"})
    mocked.delete(url, status=status, json={"statusCode": status, "message": "Sandbox not found"})
    assert plugin.sandbox_get(config=config, sandbox_id=SANDBOX_ID) is None
    assert plugin.sandbox_destroy(config=config, sandbox_id=SANDBOX_ID) is True


def test_sandbox_being_destroyed_is_none(config: dict[str, Any], mocked: Any) -> None:
    """Daytona still shows a deleted sandbox for a while, as ``destroying``; that is gone too."""
    mocked.get(f"{API}/sandbox/{SANDBOX_ID}", json=sandbox_object("destroying"))
    assert plugin.sandbox_get(config=config, sandbox_id=SANDBOX_ID) is None


def test_malformed_body_is_a_provider_error(config: dict[str, Any], mocked: Any) -> None:
    """A 200 whose body is not JSON, or JSON of the wrong shape, raises instead of crashing."""
    mocked.get(f"{API}/sandbox/{SANDBOX_ID}", body="<html>gateway</html>", status=200)
    with pytest.raises(errors.ProviderAPIError):
        plugin.sandbox_get(config=config, sandbox_id=SANDBOX_ID)
    mocked.get(f"{API}/sandbox", json=[1, 2, 3])
    with pytest.raises(errors.ProviderAPIError):
        plugin.sandbox_list(config=config)


def test_refused_key_is_an_authentication_error_without_the_key(config: dict[str, Any], mocked: Any) -> None:
    """401 maps to AuthenticationError; an answer echoing the key has it masked."""
    mocked.get(f"{API}/sandbox", status=401, json={"statusCode": 401, "message": f"bad key {KEY}"})
    with pytest.raises(errors.AuthenticationError) as caught:
        plugin.sandbox_list(config=config)
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


def test_daytona_message_is_kept_over_the_status_phrase(config: dict[str, Any], mocked: Any) -> None:
    """Daytona's errors carry ``error: "Bad Request"`` and the real text in ``message``."""
    mocked.post(f"{API}/sandbox", status=400, json={
        "path": "/api/sandbox", "statusCode": 400, "error": "Bad Request",
        "message": "Cannot specify Sandbox resources when using a snapshot"})
    with pytest.raises(errors.ValidationError) as caught:
        plugin.sandbox_create(config=config, options=CreateOptions())
    assert "Cannot specify Sandbox resources" in str(caught.value)


def test_create_waits_until_started_and_fails_on_error_state(config: dict[str, Any], mocked: Any) -> None:
    """A sandbox that ends in ``error`` fails the create with Daytona's reason."""
    mocked.post(f"{API}/sandbox", json=sandbox_object("creating"))
    mocked.get(f"{API}/sandbox/{SANDBOX_ID}", json=sandbox_object("error", errorReason="no capacity in region"))
    with pytest.raises(errors.ProviderAPIError) as caught:
        plugin.sandbox_create(config=config, options=CreateOptions(timeout=90, metadata={"n": 3}))
    assert "no capacity in region" in str(caught.value)
    body = json.loads(mocked.calls[0].request.body)
    assert body["autoStopInterval"] == 2 and body["labels"] == {"n": "3"}


def test_list_follows_the_cursor(config: dict[str, Any], mocked: Any) -> None:
    """``list`` asks for the next page until there is no ``nextCursor``."""
    second = sandbox_object(id="second")
    mocked.get(f"{API}/sandbox", json={"items": [second], "nextCursor": None},
               match=[responses.matchers.query_param_matcher({"limit": "100", "cursor": "c2"})])
    mocked.get(f"{API}/sandbox", json={"items": [sandbox_object()], "nextCursor": "c2"},
               match=[responses.matchers.query_param_matcher({"limit": "100"})])
    assert [r.sandbox_id for r in plugin.sandbox_list(config=config)] == [SANDBOX_ID, "second"]


def test_logs_of_an_older_toolbox_arrive_as_combined_text(config: dict[str, Any], mocked: Any) -> None:
    """A toolbox that answers logs as plain text gives them as stdout rather than failing."""
    box = DaytonaSandbox(config["client"], sandbox_object(), 5)
    mocked.post(f"{TOOLBOX}/{SANDBOX_ID}/process/session", status=201)
    session = _Session(box)
    mocked.get(f"{TOOLBOX}/{SANDBOX_ID}/process/session/{session.id}/command/c1/logs", body="out and err\n",
               content_type="text/plain")
    assert session.logs("c1") == ("out and err\n", "")
