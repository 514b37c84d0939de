"""The ``computesdk`` command line, run as a user runs it, on the local provider."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="the local provider needs bubblewrap")


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COMPUTESDK_PROVIDER"}
    return subprocess.run([sys.executable, "-m", "computesdk_core", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_run_streams_output_and_passes_the_exit_code_through() -> None:
    done = cli("run", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert done.returncode == 3
    assert done.stdout == "out\n"
    assert "err\n" in done.stderr


def test_run_kills_a_command_past_its_timeout() -> None:
    done = cli("run", "--timeout", "1", "--", "echo started; sleep 30")
    assert done.returncode == 124
    assert done.stdout == "started\n" and "timed out" in done.stderr


def test_run_without_a_command_says_how_to_give_one() -> None:
    done = cli("run")
    assert done.returncode == 2 and "computesdk run -- " in done.stderr


def _not_installed() -> str:
    from computesdk_core import compute
    from computesdk_core.plugins import KNOWN_PACKAGES

    missing = sorted(set(KNOWN_PACKAGES) - set(compute.providers()))
    if not missing:
        pytest.skip("every known provider is installed here")
    return missing[0]


def test_providers_lists_local_as_selected_and_missing_packages() -> None:
    done = cli("providers")
    assert done.returncode == 0
    assert "* local" in done.stdout and "run_command" in done.stdout
    assert f"pip install computesdk-{_not_installed()}" in done.stdout


def test_create_exec_list_destroy() -> None:
    created = cli("create", "--timeout", "120")
    assert created.returncode == 0, created.stderr
    sandbox_id = created.stdout.strip()
    try:
        assert sandbox_id in cli("list").stdout
        done = cli("exec", sandbox_id, "--", "echo hi > /tmp/f && cat /tmp/f")
        assert (done.returncode, done.stdout) == (0, "hi\n")
    finally:
        assert cli("destroy", sandbox_id).returncode == 0
    assert sandbox_id not in cli("list").stdout
    assert cli("destroy", sandbox_id).returncode == 0
    gone = cli("exec", sandbox_id, "--", "true")
    assert gone.returncode == 2 and f"no sandbox '{sandbox_id}'" in gone.stderr


def test_an_uninstalled_provider_is_a_clear_error() -> None:
    name = _not_installed()
    done = cli("--provider", name, "list")
    assert done.returncode == 1 and f"pip install computesdk-{name}" in done.stderr


class _Terminal:
    """A stream that says it is a terminal and keeps what is written."""

    def __init__(self, tty: bool) -> None:
        self.text = ""
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_the_spinner_shows_progress_on_a_terminal_and_nothing_elsewhere() -> None:
    import threading
    import time

    from computesdk_core.cli.progress import Spinner

    terminal, pipe = _Terminal(tty=True), _Terminal(tty=False)
    with Spinner("Creating sandbox", stream=terminal, interval=0.05):
        time.sleep(0.3)
    with Spinner("Creating sandbox", stream=pipe):
        pass
    assert terminal.text.count("Creating sandbox...") >= 3
    assert terminal.text.endswith("s\x1b[K\n") and "Creating sandbox: done in" in terminal.text
    assert pipe.text == ""
    assert not [t for t in threading.enumerate() if t.name == "computesdk-spinner"]
