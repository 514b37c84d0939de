"""Edge cases of E2B's HTTP API, answered by ``responses``: retries, errors, bodies, configuration."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from computesdk_e2b import plugin
from computesdk_e2b.config import resolve_config
from computesdk_e2b.records import record_of

from computesdk_core import compute, errors
from computesdk_core.types import CreateOptions

API = "https://api.e2b.test"
KEY = "e2b_unit_test_key_abcdef"
SANDBOX = "isandbox123"
DETAIL = {
    "templateID": "base", "sandboxID": SANDBOX, "clientID": "c", "startedAt": "2026-01-01T00:00:00.123456789Z",
    "endAt": "2026-01-01T00:10:00Z", "cpuCount": 2, "memoryMB": 512, "diskSizeMB": 1024,
    "metadata": {"computesdk_name": "app", "computesdk_namespace": "team", "k": "v"},
    "state": "running", "envdVersion": "0.5.7",
}


@pytest.fixture
def config() -> dict[str, Any]:
    """Options pointing at the fake API (no retry waits beyond Retry-After: 0)."""
    return resolve_config({"api_key": KEY, "api_url": API}, {})


@pytest.fixture
def api() -> Any:
    """The ``responses`` mock, asserting every registered answer was used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_429_then_success_is_retried_and_returns_the_sandbox(config: dict[str, Any], api: Any) -> None:
    """A rate-limited GET is retried after Retry-After and then succeeds."""
    api.get(f"{API}/sandboxes/{SANDBOX}", json={"code": 429, "message": "slow down"}, status=429,
            headers={"Retry-After": "0"})
    api.get(f"{API}/sandboxes/{SANDBOX}", json=DETAIL)
    record = plugin.sandbox_get(config=config, sandbox_id=SANDBOX)
    assert record is not None and record.sandbox_id == SANDBOX
    assert (record.name, record.namespace, dict(record.metadata)) == ("app", "team", {"k": "v"})
    assert record.timeout == 600 and record.created_at.microsecond == 123456
    assert len(api.calls) == 2
    assert api.calls[0].request.headers["X-API-Key"] == KEY


def test_500_on_destroy_is_retried_until_it_succeeds(config: dict[str, Any], api: Any) -> None:
    """DELETE is idempotent: 5xx answers are retried with backoff until E2B accepts it."""
    for _ in range(2):
        api.delete(f"{API}/sandboxes/{SANDBOX}", json={"code": 500, "message": "orchestrator exploded"}, status=500)
    api.delete(f"{API}/sandboxes/{SANDBOX}", status=204)
    assert plugin.sandbox_destroy(config=config, sandbox_id=SANDBOX) is True
    assert len(api.calls) == 3


def test_500_on_a_call_that_is_not_retried_keeps_the_vendors_message(config: dict[str, Any], api: Any) -> None:
    """A pause (not idempotent) failing with 500 raises at once with E2B's message and status."""
    api.post(f"{API}/sandboxes/{SANDBOX}/pause", json={"code": 500, "message": "orchestrator exploded"}, status=500)
    native = record_of(config, {"sandboxID": SANDBOX}).native
    with pytest.raises(errors.ProviderAPIError) as caught:
        native.pause()
    assert "orchestrator exploded" in str(caught.value) and caught.value.status_code == 500
    assert len(api.calls) == 1


def test_destroy_of_a_sandbox_already_gone_succeeds(config: dict[str, Any], api: Any) -> None:
    """A 404 on DELETE means the work is done."""
    api.delete(f"{API}/sandboxes/{SANDBOX}", json={"code": 404, "message": "not found"}, status=404)
    assert plugin.sandbox_destroy(config=config, sandbox_id=SANDBOX) is True


def test_create_is_never_retried(config: dict[str, Any], api: Any) -> None:
    """A 503 on POST /sandboxes raises at once: a retry could start a second sandbox."""
    api.post(f"{API}/sandboxes", json={"code": 503, "message": "no capacity", "error_code": "x"}, status=503)
    with pytest.raises(errors.ProviderAPIError, match="no capacity"):
        plugin.sandbox_create(config=config, options=CreateOptions(timeout=30))
    assert len(api.calls) == 1


def test_create_sends_seconds_template_envs_metadata_and_name(config: dict[str, Any], api: Any) -> None:
    """The request body carries E2B's field names, a whole-second lifetime and the name keys."""
    api.post(f"{API}/sandboxes", status=201, json={"templateID": "snap:default", "sandboxID": SANDBOX,
                                                   "clientID": "c", "envdVersion": "0.5.7",
                                                   "envdAccessToken": "tok-secret-123", "domain": "e2b.dev"})
    record = plugin.sandbox_create(config=config, options=CreateOptions(
        timeout=90.2, snapshot_id="snap:default", envs={"A": "1"}, metadata={"n": 3}, name="app", namespace="ns"))
    sent = json.loads(api.calls[0].request.body)
    assert sent == {"templateID": "snap:default", "timeout": 91, "secure": True, "envVars": {"A": "1"},
                    "metadata": {"n": "3", "computesdk_name": "app", "computesdk_namespace": "ns"}}
    assert (record.name, record.namespace, record.timeout) == ("app", "ns", 90.2)
    assert record.native.get_host(8080) == f"8080-{SANDBOX}.e2b.dev"
    assert "tok-secret-123" not in repr(record.native)


def test_malformed_bodies_raise_provider_errors(config: dict[str, Any], api: Any) -> None:
    """A body that is not JSON, or JSON of the wrong shape, is a ProviderAPIError, not a crash."""
    api.get(f"{API}/sandboxes/{SANDBOX}", body="<html>gateway</html>", status=200)
    api.get(f"{API}/v2/sandboxes", json={"sandboxes": []})
    with pytest.raises(errors.ProviderAPIError, match="not JSON"):
        plugin.sandbox_get(config=config, sandbox_id=SANDBOX)
    with pytest.raises(errors.ProviderAPIError, match="list of sandboxes"):
        plugin.sandbox_list(config=config)


@pytest.mark.parametrize("status", [404, 410])
def test_expired_sandbox_gives_none(config: dict[str, Any], api: Any, status: int) -> None:
    """A sandbox E2B no longer knows (404) or that has ended (410) is None, not an error."""
    api.get(f"{API}/sandboxes/{SANDBOX}", json={"code": status, "message": "gone"}, status=status)
    assert plugin.sandbox_get(config=config, sandbox_id=SANDBOX) is None


def test_list_follows_next_tokens_and_find_filters_by_metadata(config: dict[str, Any], api: Any) -> None:
    """Pages are followed through X-Next-Token; find sends the name keys as one encoded metadata query."""
    other = {**DETAIL, "sandboxID": "iother", "metadata": {}}
    api.get(f"{API}/v2/sandboxes", json=[DETAIL], headers={"X-Next-Token": "p2"},
            match=[responses.matchers.query_param_matcher({"state": "running,paused", "limit": "100"})])
    api.get(f"{API}/v2/sandboxes", json=[other],
            match=[responses.matchers.query_param_matcher({"state": "running,paused", "limit": "100",
                                                           "nextToken": "p2"})])
    api.get(f"{API}/v2/sandboxes", json=[DETAIL], match=[responses.matchers.query_param_matcher(
        {"state": "running,paused", "limit": "100",
         "metadata": "computesdk_name=app&computesdk_namespace=team"})])
    assert [r.sandbox_id for r in plugin.sandbox_list(config=config)] == [SANDBOX, "iother"]
    found = plugin.sandbox_find(config=config, name="app", namespace="team")
    assert found is not None and found.sandbox_id == SANDBOX


def test_a_vendor_message_echoing_the_key_is_redacted(config: dict[str, Any], api: Any) -> None:
    """The API key never shows in an error, even when E2B's message repeats it."""
    api.get(f"{API}/sandboxes/{SANDBOX}", json={"code": 401, "message": f"bad key {KEY}"}, status=401)
    with pytest.raises(errors.AuthenticationError) as caught:
        plugin.sandbox_get(config=config, sandbox_id=SANDBOX)
    assert KEY not in str(caught.value) and "bad key" in str(caught.value)


def test_missing_key_names_the_variable() -> None:
    """Without a key the error is a configuration error naming E2B_API_KEY."""
    with pytest.raises(errors.MissingCredentialsError, match="E2B_API_KEY"):
        resolve_config({}, {})
    box = compute(provider="e2b")
    with pytest.raises(errors.ConfigurationError, match="E2B_API_KEY"):
        box.sandbox.get_by_id("x")


def test_config_precedence_defaults_and_unknown_keys() -> None:
    """Explicit options win, E2B's variables come next, then E2B's defaults; unknown keys list the known."""
    env = {"E2B_API_KEY": "e2b_from_env_123", "E2B_API_URL": "http://127.0.0.1:9/", "E2B_DOMAIN": "e2b.dev"}
    from_env = resolve_config({}, env)
    assert (from_env["api_key"].reveal(), from_env["api_url"], from_env["domain"]) == (
        "e2b_from_env_123", "http://127.0.0.1:9", "e2b.dev")
    explicit = resolve_config({"api_key": "e2b_explicit_1", "domain": "e2b.pro"}, {"E2B_API_KEY": "e2b_env_2"})
    assert (explicit["api_key"].reveal(), explicit["api_url"], explicit["timeout"]) == (
        "e2b_explicit_1", "https://api.e2b.pro", 300.0)
    assert "e2b_explicit_1" not in repr(explicit)
    with pytest.raises(errors.ConfigurationError, match="known keys: api_key, api_url"):
        resolve_config({"api_key": KEY, "apikey": "x"}, {})
    with pytest.raises(errors.ConfigurationError, match="must start with 'e2b_'"):
        resolve_config({"api_key": "sk-not-e2b"}, {})
    assert plugin.provider_detect(environ={"E2B_API_KEY": KEY}) is True
    assert plugin.provider_detect(environ={}) is False
