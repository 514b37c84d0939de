"""Env files on a real daemon: dotenv syntax, merges that keep every other byte, round trips."""

from __future__ import annotations

from typing import Any

import pytest
from computesdk_daemon.testing import DaemonProcess
from dotenv import dotenv_values

pytestmark = pytest.mark.timeout(60)

ORIGINAL = (
    "# Database settings\n"
    "\n"
    "export DB_HOST=localhost   # the host\n"
    "DB_PASS='s3cr3t # not a comment'\n"
    'GREETING="hello\\nworld"\n'
    "   SPACED = value   \n"
    "# trailing comment\n"
)


def env_request(daemon: DaemonProcess, method: str, file: str, body: Any = None) -> Any:
    return daemon.request(method, "/env", params={"file": file}, json=body)


def test_retrieve_parses_like_dotenv(daemon: DaemonProcess) -> None:
    (daemon.workdir / ".env").write_text(ORIGINAL)
    reply = env_request(daemon, "GET", ".env")
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "success" and body["data"]["file"] == ".env"
    assert body["data"]["variables"] == {
        "DB_HOST": "localhost", "DB_PASS": "s3cr3t # not a comment", "GREETING": "hello\nworld", "SPACED": "value",
    }
    assert body["data"]["variables"] == dotenv_values(daemon.workdir / ".env")


def test_update_merges_and_keeps_every_other_byte(daemon: DaemonProcess) -> None:
    path = daemon.workdir / "merge.env"
    path.write_text(ORIGINAL)
    reply = env_request(daemon, "POST", "merge.env", {"variables": {"DB_PASS": "changed", "NEW_KEY": "added"}})
    assert reply.json()["data"] == {"file": "merge.env", "keys": ["DB_PASS", "NEW_KEY"]}
    expected = ORIGINAL.replace("DB_PASS='s3cr3t # not a comment'\n", "DB_PASS=changed\n") + "NEW_KEY=added\n"
    assert path.read_text() == expected
    variables = env_request(daemon, "GET", "merge.env").json()["data"]["variables"]
    assert variables["DB_PASS"] == "changed" and variables["NEW_KEY"] == "added"
    assert variables["DB_HOST"] == "localhost"


def test_export_prefix_and_crlf_line_endings_survive_an_update(daemon: DaemonProcess) -> None:
    path = daemon.workdir / "crlf.env"
    path.write_bytes(b"# windows\r\nexport A=1\r\nB=2\r\n")
    env_request(daemon, "POST", "crlf.env", {"variables": {"A": "one", "C": "3"}})
    assert path.read_bytes() == b"# windows\r\nexport A=one\r\nB=2\r\nC=3\r\n"


@pytest.mark.parametrize("value", [
    "with spaces", "it's \"quoted\"", "a # hash", "x=y=z", "line one\nline two", "back\\slash \\n",
    "${NOT_EXPANDED} $HOME", "", "trailing space ", "tab\there", "ünïcødé ✓",
])
def test_values_round_trip_through_the_file_and_dotenv(daemon: DaemonProcess, value: str) -> None:
    reply = env_request(daemon, "POST", "trip.env", {"variables": {"V": value}})
    assert reply.status_code == 200, reply.text
    assert env_request(daemon, "GET", "trip.env").json()["data"]["variables"]["V"] == value
    assert dotenv_values(daemon.workdir / "trip.env", interpolate=False)["V"] == value


def test_update_creates_the_file_and_its_directories(daemon: DaemonProcess) -> None:
    assert env_request(daemon, "HEAD", "config/.env.local").status_code == 404
    env_request(daemon, "POST", "config/.env.local", {"variables": {"DEBUG": "true", "LOG_LEVEL": "verbose"}})
    assert env_request(daemon, "HEAD", "config/.env.local").status_code == 200
    assert (daemon.workdir / "config" / ".env.local").read_text() == "DEBUG=true\nLOG_LEVEL=verbose\n"


def test_absolute_paths_are_used_as_they_are(daemon: DaemonProcess) -> None:
    target = daemon.base / "elsewhere.env"
    env_request(daemon, "POST", str(target), {"variables": {"X": "1"}})
    assert target.read_text() == "X=1\n"


def test_invalid_names_are_refused_and_nothing_is_written(daemon: DaemonProcess) -> None:
    path = daemon.workdir / "strict.env"
    path.write_text("KEEP=1\n")
    for bad in ("1ABC", "A-B", "A B", "", "A=B"):
        reply = env_request(daemon, "POST", "strict.env", {"variables": {"GOOD": "x", bad: "y"}})
        assert reply.status_code == 400
        assert repr(bad) in reply.json()["error"]
    assert path.read_text() == "KEEP=1\n"
    assert env_request(daemon, "POST", "strict.env", {"variables": {"N": 5}}).status_code == 400
    assert env_request(daemon, "POST", "strict.env", {"variables": ["N"]}).status_code == 400


def test_remove_drops_only_the_named_keys_and_reports_those_present(daemon: DaemonProcess) -> None:
    path = daemon.workdir / "remove.env"
    path.write_text(ORIGINAL)
    reply = env_request(daemon, "DELETE", "remove.env", {"keys": ["DB_PASS", "NOT_THERE", "SPACED"]})
    assert reply.json()["data"] == {"file": "remove.env", "keys": ["DB_PASS", "SPACED"]}
    expected = ORIGINAL.replace("DB_PASS='s3cr3t # not a comment'\n", "").replace("   SPACED = value   \n", "")
    assert path.read_text() == expected


def test_missing_files_and_missing_parameters(daemon: DaemonProcess) -> None:
    assert env_request(daemon, "GET", "absent.env").status_code == 404
    assert env_request(daemon, "DELETE", "absent.env", {"keys": ["A"]}).status_code == 404
    assert daemon.request("GET", "/env").status_code == 400
    assert daemon.request("HEAD", "/env").status_code == 400
    (daemon.workdir / "adir").mkdir()
    assert env_request(daemon, "GET", "adir").status_code == 400
    assert env_request(daemon, "HEAD", "adir").status_code == 404
