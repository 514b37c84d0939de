"""Edge cases of the Runloop plugin against canned HTTP answers (``responses``), and the SSE parser."""

from __future__ import annotations

import pytest
import responses
from computesdk_runloop import config as runloop_config
from computesdk_runloop.sse import Event, iter_events
from responses import matchers

from computesdk_core import compute, errors
from computesdk_core.compute import Compute

URL = "http://127.0.0.1:9"
KEY = "rl_unit_key_abcdef0123456789"
pytestmark = pytest.mark.timeout(60)


def _compute(**extra: object) -> Compute:
    return compute(provider="runloop", runloop={"api_key": KEY, "api_url": URL, **extra})


def _view(devbox_id: str = "dbx_1", status: str = "running", **extra: object) -> dict[str, object]:
    return {"id": devbox_id, "status": status, "create_time_ms": 1_700_000_000_000, "end_time_ms": None,
            "metadata": {}, "launch_parameters": {"keep_alive_time_seconds": 600}, "capabilities": [],
            "state_transitions": [], **extra}


@responses.activate
def test_429_then_success_is_retried_for_a_read() -> None:
    """A 429 with Retry-After on GET is waited out and retried; the devbox comes back."""
    responses.get(f"{URL}/v1/devboxes/dbx_1", status=429, json={"message": "slow down"}, headers={"Retry-After": "0"})
    responses.get(f"{URL}/v1/devboxes/dbx_1", json=_view())
    box = _compute().sandbox.get_by_id("dbx_1")
    assert box is not None and box.sandbox_id == "dbx_1"
    assert len(responses.calls) == 2
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {KEY}"


@responses.activate
def test_429_on_create_is_not_retried() -> None:
    """Create is never repeated (it could start a second devbox): the 429 reaches the caller."""
    responses.post(f"{URL}/v1/devboxes", status=429, json={"message": "too many devboxes"},
                   headers={"Retry-After": "0"})
    with pytest.raises(errors.RateLimitError, match="too many devboxes"):
        _compute().sandbox.create(timeout=60)
    assert len(responses.calls) == 1


@responses.activate
def test_500_on_destroy_is_retried_then_succeeds() -> None:
    """Shutdown is safe to repeat: a 500 is retried."""
    responses.post(f"{URL}/v1/devboxes/dbx_1/shutdown", status=500, json={"message": "backend hiccup"})
    responses.post(f"{URL}/v1/devboxes/dbx_1/shutdown", json=_view(status="shutdown"))
    _compute(max_retries=1).sandbox.destroy("dbx_1")
    assert len(responses.calls) == 2


@responses.activate
def test_500_on_destroy_that_persists_raises_with_the_vendor_message() -> None:
    """When retries are exhausted the error keeps Runloop's status and message."""
    responses.post(f"{URL}/v1/devboxes/dbx_1/shutdown", status=500, json={"message": "backend down"})
    with pytest.raises(errors.ProviderAPIError) as caught:
        _compute(max_retries=0).sandbox.destroy("dbx_1")
    assert caught.value.status_code == 500 and "backend down" in str(caught.value)


@responses.activate
def test_destroy_of_an_unknown_or_ended_devbox_is_quiet() -> None:
    """404 on shutdown, or a 400 for a devbox that already ended, count as destroyed."""
    responses.post(f"{URL}/v1/devboxes/gone/shutdown", status=404, json={"message": "Devbox not found"})
    responses.post(f"{URL}/v1/devboxes/dbx_1/shutdown", status=400, json={"message": "Devbox is not running"})
    responses.get(f"{URL}/v1/devboxes/dbx_1", json=_view(status="shutdown"))
    runloop = _compute()
    runloop.sandbox.destroy("gone")
    runloop.sandbox.destroy("dbx_1")


@responses.activate
def test_a_400_on_shutdown_of_a_live_devbox_is_raised() -> None:
    """A refusal for a devbox that still runs is not swallowed."""
    responses.post(f"{URL}/v1/devboxes/dbx_1/shutdown", status=400, json={"message": "cannot shut down now"})
    responses.get(f"{URL}/v1/devboxes/dbx_1", json=_view())
    with pytest.raises(errors.ValidationError, match="cannot shut down now"):
        _compute().sandbox.destroy("dbx_1")


@responses.activate
def test_a_malformed_body_is_a_provider_error() -> None:
    """A 200 whose body is not JSON, or lacks the list, raises ProviderAPIError instead of crashing."""
    responses.get(f"{URL}/v1/devboxes/dbx_1", body="<html>gateway</html>", status=200)
    responses.get(f"{URL}/v1/devboxes", json={"devboxes": "nope", "has_more": False})
    runloop = _compute()
    with pytest.raises(errors.ProviderAPIError, match="not JSON"):
        runloop.sandbox.get_by_id("dbx_1")
    with pytest.raises(errors.ProviderAPIError, match="devboxes"):
        runloop.sandbox.list()


@responses.activate
@pytest.mark.parametrize("answer", [{"status": 404}, {"status": 410}, {"json": _view(status="shutdown")},
                                    {"json": _view(status="failure")}], ids=["404", "410", "shutdown", "failure"])
def test_an_expired_devbox_is_none(answer: dict[str, object]) -> None:
    """get_by_id gives None for 404/410 and for devboxes that ended."""
    responses.get(f"{URL}/v1/devboxes/dbx_1", **answer)  # type: ignore[arg-type]
    assert _compute().sandbox.get_by_id("dbx_1") is None


@responses.activate
def test_a_second_enable_tunnel_falls_back_to_the_existing_tunnel() -> None:
    """enable_tunnel answering 400 (already has one) uses the tunnel key the devbox view carries."""
    responses.post(f"{URL}/v1/devboxes", json=_view(status="running"))
    responses.post(f"{URL}/v1/devboxes/dbx_1/enable_tunnel", status=400, json={"message": "already has a tunnel"})
    responses.get(f"{URL}/v1/devboxes/dbx_1", json=_view(tunnel={
        "tunnel_key": "k3y", "auth_mode": "open", "create_time_ms": 1, "http_keep_alive": True, "wake_on_http": False}))
    box = _compute().sandbox.create(timeout=60)
    assert box.get_url(3000) == "https://3000-k3y.tunnel.runloop.ai"
    assert box.get_url(3001) == "https://3001-k3y.tunnel.runloop.ai"
    assert len([c for c in responses.calls if str(c.request.url).endswith("/enable_tunnel")]) == 1


@responses.activate
def test_create_sends_the_runloop_fields() -> None:
    """Lifetime in whole seconds, envs, metadata, name, and a snapshot id reach the create request."""
    expected = {"snapshot_id": "snp_9", "metadata": {"k": "v", "computesdk_name": "app", "computesdk_namespace": "u1"},
                "name": "app", "environment_variables": {"A": "1"},
                "launch_parameters": {"keep_alive_time_seconds": 91, "resource_size_request": "MEDIUM"}}
    responses.post(f"{URL}/v1/devboxes", json=_view(status="running"), match=[matchers.json_params_matcher(expected)])
    _compute().sandbox.create(timeout=90.2, snapshot_id="snp_9", envs={"A": "1"}, metadata={"k": "v"},
                              name="app", namespace="u1", resource_size="MEDIUM")


@responses.activate
def test_a_devbox_that_fails_to_boot_raises_with_the_reason() -> None:
    """A devbox ending in ``failure`` while awaited raises, naming Runloop's failure reason."""
    responses.post(f"{URL}/v1/devboxes", json=_view(status="provisioning"))
    responses.post(f"{URL}/v1/devboxes/dbx_1/wait_for_status", json=_view(status="failure", failure_reason="out_of_memory"))
    responses.post(f"{URL}/v1/devboxes/dbx_1/shutdown", json=_view(status="failure"))
    with pytest.raises(errors.ProviderAPIError, match="out_of_memory"):
        _compute().sandbox.create(timeout=60)


def test_a_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key anywhere, the error says to set RUNLOOP_API_KEY."""
    monkeypatch.delenv("RUNLOOP_API_KEY", raising=False)
    with pytest.raises(errors.MissingCredentialsError, match="RUNLOOP_API_KEY"):
        compute(provider="runloop").sandbox.list()


def test_config_reads_the_environment_and_explicit_values_win() -> None:
    """RUNLOOP_API_KEY and RUNLOOP_BASE_URL are read; explicit options override them."""
    environ = {"RUNLOOP_API_KEY": "env_key_123456", "RUNLOOP_BASE_URL": "http://127.0.0.1:7/"}
    resolved = runloop_config.resolve({}, environ)
    assert resolved["api_key"].reveal() == "env_key_123456" and resolved["api_url"] == "http://127.0.0.1:7"
    explicit = runloop_config.resolve({"api_key": "explicit_key_1", "api_url": "http://127.0.0.1:8"}, environ)
    assert explicit["api_key"].reveal() == "explicit_key_1" and explicit["api_url"] == "http://127.0.0.1:8"
    assert runloop_config.resolve({"api_key": "k_abcdef"}, {})["api_url"] == "https://api.runloop.ai"
    assert "explicit_key_1" not in repr(explicit)
    assert runloop_config.detect(environ) and not runloop_config.detect({"RUNLOOP_API_KEY": " "})


@pytest.mark.parametrize("options, fragment", [
    ({"colour": "blue"}, "known keys: api_key, api_url"),
    ({"request_timeout": 0}, "request_timeout"),
    ({"tunnel_auth_mode": "secret"}, "tunnel_auth_mode"),
    ({"api_url": "ftp://x"}, "api_url"),
])
def test_bad_options_are_configuration_errors(options: dict[str, object], fragment: str) -> None:
    """Unknown keys list the known ones; bad values name the option."""
    with pytest.raises(errors.ConfigurationError, match=fragment):
        runloop_config.resolve({"api_key": "k_abcdef", **options}, {})


def test_sse_events_survive_any_cut_crlf_comments_and_multiline_data() -> None:
    """Events are reassembled from arbitrary byte cuts (inside UTF-8 characters too), with CRLF endings, comments and data lines."""
    stream = ('data: {"output": "hé ✓", "offset": 0}\r\n\r\n: keep-alive\n\n'
              'event: error\ndata: {"code": 404,\ndata:  "message": "gone"}\n\n').encode()
    for cut in range(1, len(stream)):
        events = list(iter_events([stream[:cut], stream[cut:]]))
        assert events == [Event("message", '{"output": "hé ✓", "offset": 0}'),
                          Event("error", '{"code": 404,\n "message": "gone"}')]
