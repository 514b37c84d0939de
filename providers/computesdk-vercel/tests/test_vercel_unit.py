"""Edge cases of the Vercel plugin against canned HTTP answers (``responses``), and its configuration."""

from __future__ import annotations

import base64
import gzip
import io
import json
import tarfile
from typing import Any, cast

import pytest
import responses
from computesdk_vercel import config as vercel_config
from computesdk_vercel.files import tarball
from responses import matchers

from computesdk_core import compute, errors
from computesdk_core.compute import Compute

URL = "http://127.0.0.1:9"
TOKEN = "vercel_unit_token_abcdef0123456789"
TEAM = "team_unit"
PROJECT = "prj_unit"
SANDBOX = f"{URL}/v2/sandboxes/box"
SESSION = f"{URL}/v2/sandboxes/sessions"
pytestmark = pytest.mark.timeout(60)


def _compute(**extra: object) -> Compute:
    return compute(provider="vercel", vercel={"token": TOKEN, "team_id": TEAM, "project_id": PROJECT,
                                              "api_url": URL, **extra})


def _answer(session_id: str = "sbs_1", status: str = "running", **sandbox: object) -> dict[str, Any]:
    return {"sandbox": {"name": "box", "status": status, "createdAt": 1_700_000_000_000, "timeout": 600_000,
                        "currentSessionId": session_id, "tags": {}, **sandbox},
            "session": {"id": session_id, "status": status, "cwd": "/vercel/sandbox", "timeout": 600_000},
            "routes": [{"url": "https://sb-abc.vercel.run", "subdomain": "sb-abc", "port": 3000}]}


def _stream(*lines: dict[str, Any]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def _finished(code: int | None, command_id: str = "cmd_1") -> dict[str, Any]:
    return {"command": {"id": command_id, "name": "sh", "args": [], "exitCode": code}}


@responses.activate
def test_429_then_success_is_retried_for_a_read_and_every_call_is_scoped() -> None:
    """A 429 with Retry-After on GET is waited out and retried; teamId and projectId ride along."""
    responses.get(SANDBOX, status=429, json={"error": {"code": "rate_limited", "message": "slow down"}},
                  headers={"Retry-After": "0"})
    responses.get(SANDBOX, json=_answer(),
                  match=[matchers.query_param_matcher({"teamId": TEAM, "projectId": PROJECT, "resume": "false"})])
    box = _compute().sandbox.get_by_id("box")
    assert box is not None and box.sandbox_id == "box"
    assert len(responses.calls) == 2
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


@responses.activate
def test_429_on_create_is_not_retried() -> None:
    """Create is never repeated (it could make a second sandbox): the 429 reaches the caller."""
    responses.post(f"{URL}/v3/sandboxes", status=429, json={"error": {"code": "rate_limited", "message": "too many"}},
                   headers={"Retry-After": "0"})
    with pytest.raises(errors.RateLimitError, match="too many"):
        _compute().sandbox.create(timeout=60)
    assert len(responses.calls) == 1


@responses.activate
def test_create_sends_milliseconds_ports_tags_and_the_project() -> None:
    """The create body: timeout in ms, declared ports, metadata and name as tags, projectId."""
    responses.post(f"{URL}/v3/sandboxes", json=_answer())
    _compute().sandbox.create(timeout=90, ports=[8080, 3000], metadata={"k": "v"}, envs={"A": "1"})
    body = json.loads(cast(bytes, responses.calls[0].request.body))
    assert body == {"projectId": PROJECT, "timeout": 90_000, "ports": [3000, 8080], "tags": {"k": "v"},
                    "env": {"A": "1"}}


@responses.activate
def test_500_on_destroy_is_retried_then_succeeds() -> None:
    """DELETE is safe to repeat: a 500 is retried."""
    responses.delete(SANDBOX, status=500, json={"error": {"code": "internal", "message": "hiccup"}})
    responses.delete(SANDBOX, json={"sandbox": {"name": "box"}})
    _compute(max_retries=1).sandbox.destroy("box")
    assert len(responses.calls) == 2


@responses.activate
def test_500_on_destroy_that_persists_raises_with_the_vendor_message() -> None:
    """Retries exhausted: the error keeps Vercel's status and nested message."""
    responses.delete(SANDBOX, status=500, json={"error": {"code": "internal", "message": "backend down"}})
    with pytest.raises(errors.ProviderAPIError) as caught:
        _compute(max_retries=0).sandbox.destroy("box")
    assert caught.value.status_code == 500 and "backend down" in str(caught.value)


@responses.activate
def test_destroy_of_a_deleted_sandbox_is_quiet() -> None:
    """404 on DELETE counts as destroyed."""
    responses.delete(SANDBOX, status=404, json={"error": {"code": "not_found", "message": "no such sandbox"}})
    _compute().sandbox.destroy("box")


@responses.activate
def test_a_deleted_or_gone_sandbox_is_none() -> None:
    """404 and 410 on GET both mean: no such sandbox."""
    responses.get(SANDBOX, status=404, json={"error": {"code": "not_found", "message": "gone"}})
    responses.get(f"{URL}/v2/sandboxes/old", status=410, json={"error": {"code": "gone", "message": "expired"}})
    assert _compute().sandbox.get_by_id("box") is None
    assert _compute().sandbox.get_by_id("old") is None


@responses.activate
def test_a_malformed_body_is_a_provider_error() -> None:
    """A 200 that is not JSON, or JSON without the sandbox object, is a ProviderAPIError naming the call."""
    responses.get(SANDBOX, body="<html>oops</html>", content_type="text/html")
    with pytest.raises(errors.ProviderAPIError, match="not JSON"):
        _compute().sandbox.get_by_id("box")
    responses.replace(responses.GET, SANDBOX, json={"unexpected": True})
    with pytest.raises(errors.ProviderAPIError, match="'sandbox'"):
        _compute().sandbox.get_by_id("box")


@responses.activate
def test_410_on_a_session_call_resumes_and_repeats_once() -> None:
    """The command gets 410; GET ?resume=true gives a new session; the command runs there."""
    responses.get(SANDBOX, json=_answer("sbs_1"), match=[matchers.query_param_matcher(
        {"teamId": TEAM, "projectId": PROJECT, "resume": "false"})])
    responses.post(f"{SESSION}/sbs_1/cmd", status=410, json={"error": {"code": "session_stopped", "message": "stopped"}})
    responses.get(SANDBOX, json=_answer("sbs_2"), match=[matchers.query_param_matcher(
        {"teamId": TEAM, "projectId": PROJECT, "resume": "true"})])
    responses.post(f"{SESSION}/sbs_2/cmd", body=_stream(_finished(None),
                                                        {"stream": "stdout", "data": "hi\n"}, _finished(0)),
                   content_type="application/x-ndjson")
    box = _compute().sandbox.get_by_id("box")
    assert box is not None
    assert box.run_command("echo hi").stdout == "hi\n"
    assert box.get_instance().session_id == "sbs_2"
    sent = json.loads(cast(bytes, responses.calls[-1].request.body))
    assert sent["command"] == "sh" and sent["args"] == ["-c", "echo hi"] and sent["wait"] and sent["logs"]


@responses.activate
def test_422_while_stopping_waits_then_resumes() -> None:
    """422 (sandbox_stopping): the session is polled until stopped, then the sandbox resumes."""
    responses.get(SANDBOX, json=_answer("sbs_1"), match=[matchers.query_param_matcher(
        {"teamId": TEAM, "projectId": PROJECT, "resume": "false"})])
    responses.post(f"{SESSION}/sbs_1/fs/read", status=422,
                   json={"error": {"code": "sandbox_stopping", "message": "stopping"}})
    responses.get(f"{SESSION}/sbs_1", json={"session": {"id": "sbs_1", "status": "stopping"}})
    responses.get(f"{SESSION}/sbs_1", json={"session": {"id": "sbs_1", "status": "stopped"}})
    responses.get(SANDBOX, json=_answer("sbs_2"), match=[matchers.query_param_matcher(
        {"teamId": TEAM, "projectId": PROJECT, "resume": "true"})])
    responses.post(f"{SESSION}/sbs_2/fs/read", body=b"bytes!", content_type="application/octet-stream")
    box = _compute().sandbox.get_by_id("box")
    assert box is not None and box.filesystem.read_bytes("/x") == b"bytes!"


@responses.activate
def test_a_422_of_a_running_session_is_raised() -> None:
    """A 422 for another reason (the session is running) reaches the caller unchanged."""
    responses.get(SANDBOX, json=_answer("sbs_1"))
    responses.post(f"{SESSION}/sbs_1/fs/read", status=422, json={"error": {"code": "bad_path", "message": "bad path"}})
    responses.get(f"{SESSION}/sbs_1", json={"session": {"id": "sbs_1", "status": "running"}})
    box = _compute().sandbox.get_by_id("box")
    assert box is not None
    with pytest.raises(errors.ProviderAPIError, match="bad path"):
        box.filesystem.read_bytes("/x")


@responses.activate
def test_a_stream_that_is_not_ndjson_or_carries_an_error_line_raises() -> None:
    """The cmd answer must be application/x-ndjson; an in-band error line is raised with its message."""
    responses.get(SANDBOX, json=_answer())
    responses.post(f"{SESSION}/sbs_1/cmd", body="{}", content_type="application/json")
    box = _compute().sandbox.get_by_id("box")
    assert box is not None
    with pytest.raises(errors.ProviderAPIError, match="x-ndjson"):
        box.run_command("true")
    responses.replace(responses.POST, f"{SESSION}/sbs_1/cmd", content_type="application/x-ndjson",
                      body=_stream(_finished(None), {"stream": "error",
                                                     "data": {"code": "sandbox_stopped", "message": "VM went away"}}))
    with pytest.raises(errors.ProviderAPIError, match="VM went away"):
        box.run_command("true")


@responses.activate
def test_a_missing_file_and_a_non_file_answer() -> None:
    """fs/read: 404 with an empty body is PathNotFoundError; a JSON answer is not taken as the file."""
    responses.get(SANDBOX, json=_answer())
    responses.post(f"{SESSION}/sbs_1/fs/read", status=404, body=b"")
    box = _compute().sandbox.get_by_id("box")
    assert box is not None
    with pytest.raises(errors.PathNotFoundError):
        box.filesystem.read_bytes("/missing")
    responses.replace(responses.POST, f"{SESSION}/sbs_1/fs/read", json={"error": "weird"})
    with pytest.raises(errors.ProviderAPIError, match="not file bytes"):
        box.filesystem.read_bytes("/weird")


@responses.activate
def test_write_sends_a_gzipped_tar_named_relative_to_root() -> None:
    """fs/write: Content-Type application/gzip, x-cwd /, one entry for the path without its leading slash."""
    responses.get(SANDBOX, json=_answer())
    responses.post(f"{SESSION}/sbs_1/fs/write", json={})
    box = _compute().sandbox.get_by_id("box")
    assert box is not None
    box.filesystem.write_file("app/main.py", "print(1)\n")
    request = responses.calls[-1].request
    assert request.headers["Content-Type"] == "application/gzip" and request.headers["x-cwd"] == "/"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(cast(bytes, request.body)))) as archive:
        (member,) = archive.getmembers()
        assert member.name == "vercel/sandbox/app/main.py" and member.mode == 0o644
        extracted = archive.extractfile(member)
        assert extracted is not None and extracted.read() == b"print(1)\n"


def test_tarball_is_the_same_for_the_same_file() -> None:
    """Same path and bytes give the same entry (a retried write is harmless)."""
    first = tarfile.open(fileobj=io.BytesIO(gzip.decompress(tarball("/a/b", b"x"))))
    assert [m.name for m in first.getmembers()] == ["a/b"]


def test_get_url_of_an_undeclared_port_says_to_declare_it() -> None:
    """The error names the port and the create option."""
    with responses.RequestsMock() as mock:
        mock.get(SANDBOX, json=_answer())
        box = _compute().sandbox.get_by_id("box")
    assert box is not None
    assert box.get_url(port=3000) == "https://sb-abc.vercel.run"
    with pytest.raises(errors.ValidationError, match="declared at create"):
        box.get_url(port=4000)


# --- configuration --------------------------------------------------------------------------


def _jwt(payload: dict[str, Any]) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{encoded}.signature"


def test_a_missing_token_names_the_variables() -> None:
    """No credentials: MissingCredentialsError naming VERCEL_TOKEN and VERCEL_OIDC_TOKEN."""
    with pytest.raises(errors.MissingCredentialsError, match="VERCEL_TOKEN.*VERCEL_OIDC_TOKEN"):
        vercel_config.resolve({}, {})


def test_a_token_without_team_or_project_names_the_missing_variable() -> None:
    """A token alone is not enough: the team id and then the project id are asked for by variable name."""
    with pytest.raises(errors.MissingCredentialsError, match="VERCEL_TEAM_ID"):
        vercel_config.resolve({}, {"VERCEL_TOKEN": "t"})
    with pytest.raises(errors.MissingCredentialsError, match="VERCEL_PROJECT_ID"):
        vercel_config.resolve({}, {"VERCEL_TOKEN": "t", "VERCEL_TEAM_ID": "team"})


def test_an_oidc_token_brings_team_and_project() -> None:
    """VERCEL_OIDC_TOKEN alone: team and project come from its payload; explicit values win."""
    token = _jwt({"owner_id": "team_o", "project_id": "prj_o"})
    resolved = vercel_config.resolve({}, {"VERCEL_OIDC_TOKEN": token})
    assert (resolved["team_id"], resolved["project_id"]) == ("team_o", "prj_o")
    assert resolved["token"].reveal() == token
    assert vercel_config.resolve({"project_id": "prj_x"}, {"VERCEL_OIDC_TOKEN": token})["project_id"] == "prj_x"
    with pytest.raises(errors.ConfigurationError, match="JWT"):
        vercel_config.resolve({}, {"VERCEL_OIDC_TOKEN": "not-a-jwt"})


def test_an_access_token_wins_over_an_oidc_token() -> None:
    """VERCEL_TOKEN is used when both are set; an explicit token wins over the environment."""
    environ = {"VERCEL_TOKEN": "env-token", "VERCEL_OIDC_TOKEN": _jwt({"owner_id": "t", "project_id": "p"}),
               "VERCEL_TEAM_ID": "team", "VERCEL_PROJECT_ID": "prj"}
    assert vercel_config.resolve({}, environ)["token"].reveal() == "env-token"
    assert vercel_config.resolve({"token": "mine"}, environ)["token"].reveal() == "mine"
    assert vercel_config.detect(environ) and not vercel_config.detect({"VERCEL_TOKEN": "x"})


def test_unknown_options_and_secrets_stay_out_of_messages() -> None:
    """An unknown key lists the known ones; the resolved config's repr does not show the token."""
    with pytest.raises(errors.ConfigurationError, match="known keys: token, oidc_token"):
        vercel_config.resolve({"api_key": "x"}, {})
    resolved = vercel_config.resolve({"token": "sekrit-token-value", "team_id": "t", "project_id": "p"}, {})
    assert "sekrit-token-value" not in repr(resolved)
    assert resolved["api_url"] == "https://api.vercel.com"


@responses.activate
def test_a_stream_cut_before_the_finished_line_is_completed_from_logs_and_state() -> None:
    """The stream ends after one chunk; the state gives the exit code, the logs the rest (no repeats)."""
    responses.get(SANDBOX, json=_answer())
    responses.post(f"{SESSION}/sbs_1/cmd", content_type="application/x-ndjson",
                   body=_stream(_finished(None), {"stream": "stdout", "data": "a"}))
    responses.get(f"{SESSION}/sbs_1/cmd/cmd_1", json=_finished(3))
    responses.get(f"{SESSION}/sbs_1/cmd/cmd_1/logs", content_type="application/x-ndjson",
                  body=_stream({"stream": "stdout", "data": "ab"}, {"stream": "stderr", "data": "e"}))
    box = _compute().sandbox.get_by_id("box")
    assert box is not None
    chunks: list[str] = []
    result = box.run_command("x", on_stdout=chunks.append)
    assert (result.stdout, result.stderr, result.exit_code) == ("ab", "e", 3)
    assert chunks == ["a", "b"]


@responses.activate
def test_a_stream_cut_before_the_command_started_is_a_lost_connection() -> None:
    """Without even the started line there is no command to follow: ConnectionLostError."""
    responses.get(SANDBOX, json=_answer())
    responses.post(f"{SESSION}/sbs_1/cmd", content_type="application/x-ndjson", body="")
    box = _compute().sandbox.get_by_id("box")
    assert box is not None
    with pytest.raises(errors.ConnectionLostError):
        box.run_command("x")
