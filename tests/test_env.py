"""``sandbox.env`` against a real daemon on loopback, and on the local provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from computesdk_daemon.testing import DaemonProcess
from dotenv import dotenv_values

from computesdk_core import compute, errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.namespaces.env import EnvFiles
from computesdk_core.types import DaemonEndpoint

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def env(daemon: DaemonProcess) -> Iterator[EnvFiles]:
    client = DaemonClient(DaemonEndpoint(daemon.url, daemon.token), name="env-test")
    yield EnvFiles(lambda: client)
    client.close()


def test_update_retrieve_remove_and_exists(env: EnvFiles, daemon: DaemonProcess) -> None:
    assert env.exists(".env.local") is False
    assert env.update(".env.local", {"DEBUG": "true", "LOG_LEVEL": "verbose"}) == ["DEBUG", "LOG_LEVEL"]
    assert env.exists(".env.local") is True
    assert env.retrieve(".env.local") == {"DEBUG": "true", "LOG_LEVEL": "verbose"}
    assert env.update(".env.local", {"DEBUG": "false"}) == ["DEBUG"]
    assert env.retrieve(".env.local") == {"DEBUG": "false", "LOG_LEVEL": "verbose"}
    assert env.remove(".env.local", ["DEBUG", "NEVER_SET"]) == ["DEBUG"]
    assert env.retrieve(".env.local") == {"LOG_LEVEL": "verbose"}
    assert (daemon.workdir / ".env.local").read_text() == "LOG_LEVEL=verbose\n"


def test_comments_and_untouched_lines_survive(env: EnvFiles, daemon: DaemonProcess) -> None:
    original = "# keep me\nexport A=1  # inline\n\nB='two words'\n"
    (daemon.workdir / "kept.env").write_text(original)
    env.update("kept.env", {"C": "3"})
    assert (daemon.workdir / "kept.env").read_text() == original + "C=3\n"
    assert env.retrieve("kept.env") == {"A": "1", "B": "two words", "C": "3"}


def test_awkward_values_round_trip(env: EnvFiles, daemon: DaemonProcess) -> None:
    values = {"SPACES": "a b c", "QUOTES": "it's \"so\"", "HASH": "x # y", "EQUALS": "k=v",
              "NEWLINES": "one\ntwo\n", "DOLLAR": "${HOME}", "EMPTY": ""}
    env.update("awkward.env", values)
    assert env.retrieve("awkward.env") == values
    assert dotenv_values(daemon.workdir / "awkward.env", interpolate=False) == values


def test_errors(env: EnvFiles) -> None:
    with pytest.raises(errors.PathNotFoundError):
        env.retrieve("missing.env")
    with pytest.raises(FileNotFoundError):
        env.remove("missing.env", ["A"])
    with pytest.raises(errors.ValidationError, match="9LIVES"):
        env.update("bad.env", {"OK": "1", "9LIVES": "x"})
    assert env.exists("bad.env") is False
    with pytest.raises(errors.ValidationError):
        env.update("bad.env", {"N": 1})  # type: ignore[dict-item]
    with pytest.raises(errors.ValidationError):
        env.remove("bad.env", "A")
    with pytest.raises(errors.ValidationError):
        env.retrieve("")


def test_env_files_on_a_local_sandbox(tmp_path: Path) -> None:
    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        assert sandbox.env.exists(".env") is False
        sandbox.env.update(".env", {"API_KEY": "secret value", "PORT": "3000"})
        # The file is a real file in the sandbox, read by the sandbox's own processes.
        shown = sandbox.run_command("cat .env")
        assert "API_KEY='secret value'" in shown.stdout and "PORT=3000" in shown.stdout
        assert sandbox.env.retrieve(".env") == {"API_KEY": "secret value", "PORT": "3000"}
        assert sandbox.env.remove(".env", ["PORT"]) == ["PORT"]
        assert sandbox.env.retrieve(".env") == {"API_KEY": "secret value"}
    finally:
        sandbox.destroy()
