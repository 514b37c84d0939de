"""The pieces provider packages share: the vendor HTTP client (errors, safe retries) and the emulator base."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
import responses
from werkzeug.wrappers import Request, Response

from computesdk_core import errors
from computesdk_core.secrets import Secret
from computesdk_core.testing.emulator import Emulator, find_vendor_specs, json_response, route
from computesdk_core.vendor_http import VendorAPI

BASE = "https://api.vendor.test"


@pytest.fixture
def api() -> Iterator[VendorAPI]:
    client = VendorAPI("vendor", BASE, headers={"X-API-Key": Secret("vk_live_secret_value")}, attempts=3)
    yield client
    client.close()


@responses.activate
def test_429_then_success_is_retried_honouring_retry_after(api: VendorAPI) -> None:
    responses.get(f"{BASE}/things", status=429, headers={"Retry-After": "0.2"}, json={"message": "slow down"})
    responses.get(f"{BASE}/things", json=[{"id": 1}])
    started = time.monotonic()
    assert api.json("GET", "/things") == [{"id": 1}]
    assert time.monotonic() - started >= 0.2
    assert responses.calls[0].request.headers["X-API-Key"] == "vk_live_secret_value"


@responses.activate
def test_a_failing_create_is_not_repeated(api: VendorAPI) -> None:
    responses.post(f"{BASE}/sandboxes", status=503, json={"message": "busy"})
    with pytest.raises(errors.ProviderAPIError, match="busy") as caught:
        api.json("POST", "/sandboxes", json={})
    assert caught.value.status_code == 503 and len(responses.calls) == 1


@responses.activate
def test_idempotent_calls_give_up_after_their_attempts(api: VendorAPI) -> None:
    responses.delete(f"{BASE}/sandboxes/x", status=500, json={"error": {"message": "boom"}})
    with pytest.raises(errors.ProviderAPIError, match="boom"):
        api.request("DELETE", "/sandboxes/x")
    assert len(responses.calls) == 3


@responses.activate
@pytest.mark.parametrize("status, kind", [(401, errors.AuthenticationError), (403, errors.PermissionDeniedError),
                                          (404, errors.NotFoundError), (410, errors.NotFoundError),
                                          (400, errors.ValidationError)])
def test_status_codes_map_into_the_error_tree_and_keep_the_message(api: VendorAPI, status: int, kind: type) -> None:
    responses.get(f"{BASE}/x", status=status, json={"code": status, "message": "vendor says no"})
    with pytest.raises(kind, match="vendor says no") as caught:
        api.request("GET", "/x")
    assert caught.value.status_code == status and caught.value.provider == "vendor"
    assert len(responses.calls) == 1


@responses.activate
def test_a_malformed_body_is_a_clear_error(api: VendorAPI) -> None:
    responses.get(f"{BASE}/x", body="<html>gateway</html>", status=200)
    with pytest.raises(errors.ProviderAPIError, match="not JSON"):
        api.json("GET", "/x")


@responses.activate
def test_the_key_never_shows_in_errors(api: VendorAPI) -> None:
    responses.get(f"{BASE}/x", status=401, json={"message": "bad key vk_live_secret_value"})
    with pytest.raises(errors.AuthenticationError) as caught:
        api.request("GET", "/x")
    assert "vk_live_secret_value" not in str(caught.value) and "vk_live_secret_value" not in repr(api)


def test_an_unreachable_vendor_is_a_connection_error_after_retries() -> None:
    api = VendorAPI("vendor", "http://127.0.0.1:9", attempts=2)
    with pytest.raises(errors.ConnectionLostError, match="cannot reach"):
        api.request("GET", "/x")


class ToyEnvd(Emulator):
    """Speaks two routes of E2B's envd document; /metrics answers wrongly on purpose."""

    spec = "e2b/envd.yaml"

    @route("/envs")
    def envs(self, request: Request) -> Response:
        return json_response({"HOME": "/home/user"})

    @route("/metrics")
    def metrics(self, request: Request) -> Response:
        return json_response({"unexpected": True}, status=418)


def test_the_emulator_serves_routes_and_reports_spec_violations() -> None:
    if find_vendor_specs() is None:
        pytest.skip("../shared/vendor-specs is absent: nothing to validate against")
    with ToyEnvd() as emulator:
        assert emulator.validating
        assert requests.get(emulator.url + "/envs", timeout=10).json() == {"HOME": "/home/user"}
        assert emulator.violations == []
        requests.get(emulator.url + "/metrics", timeout=10)
        assert any("418" in violation for violation in emulator.violations)
        assert requests.get(emulator.url + "/nope", timeout=10).status_code == 404
        assert any("no such route" in violation for violation in emulator.violations)
    assert not [t for t in __import__("threading").enumerate() if t.name == "emulator-ToyEnvd"]


@responses.activate
def test_the_vendor_message_wins_over_a_status_phrase(api: VendorAPI) -> None:
    responses.get(f"{BASE}/x", status=400, json={"statusCode": 400, "error": "Bad Request", "message": "the real reason"})
    with pytest.raises(errors.ValidationError, match="the real reason"):
        api.request("GET", "/x")


def test_one_client_per_configuration_and_ids_stay_one_path_segment() -> None:
    from computesdk_core.vendor_http import ClientCache, path_segment

    made: list[dict] = []
    cache = ClientCache(lambda config: made.append(dict(config)) or object())
    first = cache.get({"api_key": Secret("k" * 10), "ports": [1, 2], "extra": {"a": 1}})
    assert cache.get({"extra": {"a": 1}, "ports": [1, 2], "api_key": Secret("k" * 10)}) is first
    assert cache.get({"api_key": Secret("other-key"), "ports": [1, 2], "extra": {"a": 1}}) is not first
    assert len(made) == 2
    assert path_segment("../a b/c?d#e") == "..%2Fa%20b%2Fc%3Fd%23e"
