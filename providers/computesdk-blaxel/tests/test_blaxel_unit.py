"""Edge cases of the Blaxel plugin against canned HTTP answers (``responses``), and its configuration."""

from __future__ import annotations

import json
import re
from typing import cast

import pytest
import responses
from computesdk_blaxel import config as blaxel_config
from computesdk_blaxel.commands import split_lines

from computesdk_core import compute, errors
from computesdk_core.compute import Compute

URL = "http://127.0.0.1:9/v0"
SBX = "http://127.0.0.1:9/sbx"
KEY = "bl_unit_key_abcdef0123456789"
WORKSPACE = "unit-ws"
pytestmark = pytest.mark.timeout(60)


def _compute(**extra: object) -> Compute:
    return compute(provider="blaxel", blaxel={"api_key": KEY, "workspace": WORKSPACE, "api_url": URL, **extra})


def _sandbox(name: str = "sbx-1", status: str = "DEPLOYED", **labels: str) -> dict[str, object]:
    return {"metadata": {"name": name, "labels": labels, "url": SBX, "createdAt": "2026-01-01T00:00:00Z"},
            "spec": {"runtime": {"image": "blaxel/base-image:latest", "ttl": "600s"}}, "status": status}


def _process(status: str = "completed", exit_code: int = 0, stdout: str = "", stderr: str = "") -> dict[str, object]:
    return {"pid": "12", "name": "p", "command": "c", "workingDir": "/", "status": status, "exitCode": exit_code,
            "stdout": stdout, "stderr": stderr, "logs": stdout + stderr, "startedAt": "", "completedAt": ""}


@responses.activate
def test_429_then_success_is_retried_for_a_read() -> None:
    """A 429 with Retry-After on GET is waited out and retried; the workspace headers are sent."""
    responses.get(f"{URL}/sandboxes/sbx-1", status=429, json={"code": 429, "message": "slow down"},
                  headers={"Retry-After": "0"})
    responses.get(f"{URL}/sandboxes/sbx-1", json=_sandbox())
    box = _compute().sandbox.get_by_id("sbx-1")
    assert box is not None and box.sandbox_id == "sbx-1"
    assert len(responses.calls) == 2
    sent = responses.calls[0].request.headers
    assert sent["X-Blaxel-Authorization"] == f"Bearer {KEY}" and sent["X-Blaxel-Workspace"] == WORKSPACE


@responses.activate
def test_429_on_create_is_not_retried() -> None:
    """Create is never repeated (it could make a second sandbox): the 429 reaches the caller."""
    responses.post(f"{URL}/sandboxes", status=429, json={"code": "RATE_LIMITED", "message": "too many sandboxes"},
                   headers={"Retry-After": "0"})
    with pytest.raises(errors.RateLimitError, match="too many sandboxes"):
        _compute().sandbox.create(timeout=60)
    assert len(responses.calls) == 1


@responses.activate
def test_500_on_destroy_is_retried_then_succeeds() -> None:
    """DELETE is safe to repeat: a 500 is retried."""
    responses.delete(f"{URL}/sandboxes/sbx-1", status=500, json={"code": "INTERNAL", "message": "hiccup"})
    responses.delete(f"{URL}/sandboxes/sbx-1", json=_sandbox(status="DELETING"))
    _compute(max_retries=1).sandbox.destroy("sbx-1")
    assert len(responses.calls) == 2


@responses.activate
def test_500_on_destroy_that_persists_raises_with_the_vendor_message() -> None:
    """When retries are exhausted the error keeps Blaxel's status and message."""
    responses.delete(f"{URL}/sandboxes/sbx-1", status=500, json={"code": "INTERNAL", "message": "backend down"})
    with pytest.raises(errors.ProviderAPIError) as caught:
        _compute(max_retries=0).sandbox.destroy("sbx-1")
    assert caught.value.status_code == 500 and "backend down" in str(caught.value)


@responses.activate
def test_destroy_of_an_unknown_sandbox_is_quiet() -> None:
    """404 on delete counts as destroyed."""
    responses.delete(f"{URL}/sandboxes/gone", status=404, json={"code": 404, "message": "not found"})
    _compute().sandbox.destroy("gone")


@responses.activate
def test_a_malformed_body_is_a_provider_error() -> None:
    """A 200 whose body is not JSON, or lacks the data list, raises ProviderAPIError instead of crashing."""
    responses.get(f"{URL}/sandboxes/sbx-1", body="<html>gateway</html>", status=200)
    responses.get(f"{URL}/sandboxes", json={"data": "nope"})
    blaxel = _compute()
    with pytest.raises(errors.ProviderAPIError, match="not JSON"):
        blaxel.sandbox.get_by_id("sbx-1")
    with pytest.raises(errors.ProviderAPIError, match="data"):
        blaxel.sandbox.list()


@responses.activate
@pytest.mark.parametrize("answer", [{"status": 404, "json": {"code": 404, "message": "nope"}}, {"status": 410},
                                    {"json": _sandbox(status="TERMINATED")}, {"json": _sandbox(status="DELETING")}],
                         ids=["404", "410", "terminated", "deleting"])
def test_an_expired_sandbox_is_none(answer: dict[str, object]) -> None:
    """get_by_id gives None for 404/410 and for sandboxes being deleted or terminated."""
    responses.get(f"{URL}/sandboxes/sbx-1", **answer)
    assert _compute().sandbox.get_by_id("sbx-1") is None


@responses.activate
def test_create_sends_the_blaxel_fields() -> None:
    """Image, memory, ttl in seconds, envs as a name/value list, labels with the name, region, ports."""
    responses.post(f"{URL}/sandboxes", json=_sandbox())
    _compute(region="eu-lon-1").sandbox.create(timeout=90.2, image="my/image:1", envs={"A": "1"}, metadata={"k": "v"},
                                               name="app", namespace="u1", ports=[3000])
    body = json.loads(cast(bytes, responses.calls[0].request.body))
    assert body["metadata"]["name"].startswith("computesdk-")
    assert body["metadata"]["labels"] == {"k": "v", "computesdk_name": "app", "computesdk_namespace": "u1"}
    assert body["spec"] == {"region": "eu-lon-1", "runtime": {
        "image": "my/image:1", "memory": 4096, "ttl": "91s", "envs": [{"name": "A", "value": "1"}],
        "ports": [{"target": 3000, "protocol": "HTTP"}]}}


@responses.activate
def test_a_sandbox_that_fails_to_deploy_raises_and_is_deleted() -> None:
    """DEPLOYING then FAILED: create raises with the last event and deletes what was made."""
    responses.post(f"{URL}/sandboxes", json=_sandbox(status="DEPLOYING"))
    failed = _sandbox(status="FAILED")
    failed["events"] = [{"message": "image pull failed"}]
    responses.get(url=re.compile(f"{URL}/sandboxes/computesdk-.*"), json=failed)
    responses.delete(url=re.compile(f"{URL}/sandboxes/computesdk-.*"), json=failed)
    with pytest.raises(errors.ProviderAPIError, match="image pull failed"):
        _compute().sandbox.create(timeout=60)
    assert responses.calls[-1].request.method == "DELETE"


@responses.activate
def test_a_sandbox_api_without_streaming_answers_with_json() -> None:
    """An older sandbox API answers POST /process with a plain ProcessResponse: it is the result."""
    responses.get(f"{URL}/sandboxes/sbx-1", json=_sandbox())
    responses.post(f"{SBX}/process", json=_process(exit_code=3, stdout="out\n", stderr="err\n"))
    box = _compute().sandbox.get_by_id("sbx-1")
    assert box is not None
    result = box.run_command("whatever", timeout=30)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    sent = responses.calls[-1].request
    assert sent.headers["Accept"] == "text/event-stream" and sent.headers["Authorization"] == f"Bearer {KEY}"
    body = json.loads(cast(bytes, sent.body))
    assert body["waitForCompletion"] is True and body["command"] == "whatever" and body["timeout"] == 35


@responses.activate
def test_a_gateway_timeout_on_process_start_is_followed_by_polling() -> None:
    """504 from the CDN on POST /process: the process (found by its name) is polled to its end."""
    responses.get(f"{URL}/sandboxes/sbx-1", json=_sandbox())
    responses.post(f"{SBX}/process", status=504, body="<html>504</html>")
    responses.get(url=re.compile(f"{SBX}/process/computesdk-.*"),
                  json=_process(status="running", stdout="a"))
    responses.get(url=re.compile(f"{SBX}/process/computesdk-.*"),
                  json=_process(status="completed", stdout="ab"))
    box = _compute().sandbox.get_by_id("sbx-1")
    assert box is not None
    chunks: list[str] = []
    result = box.run_command("long", timeout=30, on_stdout=chunks.append)
    assert result.stdout == "ab" and chunks == ["a", "b"]
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 1


@responses.activate
def test_a_process_that_never_started_after_a_gateway_error_is_an_error() -> None:
    """503 on start and 404 for the name: the command did not run, and the caller is told."""
    responses.get(f"{URL}/sandboxes/sbx-1", json=_sandbox())
    responses.post(f"{SBX}/process", status=503, body="waking up")
    responses.get(url=re.compile(f"{SBX}/process/computesdk-.*"), status=404,
                  json={"error": "process not found"})
    responses.delete(url=re.compile(f"{SBX}/process/computesdk-.*/kill"), status=404, json={"error": "process not found"})
    box = _compute().sandbox.get_by_id("sbx-1")
    assert box is not None
    with pytest.raises(errors.ProviderAPIError, match="lost process"):
        box.run_command("x", timeout=30)


@responses.activate
def test_a_missing_file_is_path_not_found() -> None:
    """404 from the sandbox's filesystem route is PathNotFoundError naming the path."""
    responses.get(f"{URL}/sandboxes/sbx-1", json=_sandbox())
    responses.get(f"{SBX}/filesystem/%2Fhome%2Fuser%2Fnope.txt", status=404, json={"error": "file not found"})
    box = _compute().sandbox.get_by_id("sbx-1")
    assert box is not None
    with pytest.raises(errors.PathNotFoundError, match="/home/user/nope.txt"):
        box.filesystem.read_file("/home/user/nope.txt")


@pytest.mark.parametrize("environ, variable", [({"BL_WORKSPACE": "w"}, "BL_API_KEY"),
                                               ({"BL_API_KEY": "k_abcdef"}, "BL_WORKSPACE")])
def test_a_missing_credential_names_the_variable(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str],
                                                 variable: str) -> None:
    """Without a key or a workspace, the error says which variable to set."""
    for name in ("BL_API_KEY", "BL_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(errors.MissingCredentialsError, match=variable):
        compute(provider="blaxel").sandbox.list()


def test_config_reads_the_environment_and_explicit_values_win() -> None:
    """BL_API_KEY, BL_WORKSPACE, BL_API_URL and BL_REGION are read; explicit options override them."""
    environ = {"BL_API_KEY": "env_key_123456", "BL_WORKSPACE": "env-ws", "BL_API_URL": "http://127.0.0.1:7/v0/",
               "BL_REGION": "us-pdx-1"}
    resolved = blaxel_config.resolve({}, environ)
    assert resolved["api_key"].reveal() == "env_key_123456" and resolved["workspace"] == "env-ws"
    assert resolved["api_url"] == "http://127.0.0.1:7/v0" and resolved["region"] == "us-pdx-1"
    explicit = blaxel_config.resolve({"api_key": "explicit_key_1", "workspace": "w2", "region": "eu-lon-1"}, environ)
    assert explicit["api_key"].reveal() == "explicit_key_1" and explicit["workspace"] == "w2"
    assert explicit["region"] == "eu-lon-1"
    assert blaxel_config.resolve({"api_key": "k_abcdef", "workspace": "w"}, {})["api_url"] == "https://api.blaxel.ai/v0"
    assert "explicit_key_1" not in repr(explicit)
    assert blaxel_config.detect(environ) and not blaxel_config.detect({"BL_API_KEY": "k"})


@pytest.mark.parametrize("options, fragment", [
    ({"colour": "blue"}, "known keys: api_key, workspace, api_url"),
    ({"request_timeout": 0}, "request_timeout"),
    ({"memory": "big"}, "memory"),
    ({"api_url": "ftp://x"}, "api_url"),
])
def test_bad_options_are_configuration_errors(options: dict[str, object], fragment: str) -> None:
    """Unknown keys list the known ones; bad values name the option."""
    with pytest.raises(errors.ConfigurationError, match=fragment):
        blaxel_config.resolve({"api_key": "k_abcdef", "workspace": "w", **options}, {})


def test_ndjson_lines_survive_any_cut() -> None:
    """Lines are reassembled from chunks cut anywhere (inside UTF-8 characters too); a last line without newline counts."""
    stream = '{"type": "stdout", "data": "hé ✓"}\n\n{"type": "keepalive"}\n{"type": "result", "data": "{}"}'.encode()
    expected = [b'{"type": "stdout", "data": "h\xc3\xa9 \xe2\x9c\x93"}', b"", b'{"type": "keepalive"}',
                b'{"type": "result", "data": "{}"}']
    for cut in range(1, len(stream)):
        for second in range(cut, len(stream)):
            assert list(split_lines([stream[:cut], stream[cut:second], stream[second:]])) == expected
