"""POST /run/code: named languages, auto-detection, merged output, missing interpreters."""

from __future__ import annotations

import shutil

import pytest
from computesdk_daemon.testing import DaemonProcess


def run_code(daemon: DaemonProcess, code: str, **options: object) -> dict[str, object]:
    response = daemon.request("POST", "/run/code", json={"code": code, **options})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_python_output_merges_stderr_in_order(daemon: DaemonProcess) -> None:
    code = "import sys\nprint('one', flush=True)\nprint('two', file=sys.stderr, flush=True)\nprint('three')\n"
    data = run_code(daemon, code, language="python")
    assert data == {"output": "one\ntwo\nthree\n", "exit_code": 0, "language": "python"}


def test_python_error_exit_code_and_traceback(daemon: DaemonProcess) -> None:
    data = run_code(daemon, "raise SystemExit('bad thing')", language="python3")
    assert data["exit_code"] == 1
    assert "bad thing" in data["output"]


def test_code_runs_in_the_workdir(daemon: DaemonProcess) -> None:
    data = run_code(daemon, "import os\nprint(os.getcwd())", language="python")
    assert data["output"].strip() == str(daemon.workdir)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("language", ["node", "javascript", "js"])
def test_node(daemon: DaemonProcess, language: str) -> None:
    data = run_code(daemon, "console.log([1, 2, 3].map(x => x * 2).join(','))", language=language)
    assert data == {"output": "2,4,6\n", "exit_code": 0, "language": "node"}


def test_shell_languages(daemon: DaemonProcess) -> None:
    assert run_code(daemon, 'echo "$((6 * 7))"', language="bash")["output"] == "42\n"
    assert run_code(daemon, "echo hi; exit 3", language="sh")["exit_code"] == 3


@pytest.mark.parametrize(
    "code",
    [
        "print('hi')",
        "import json\nx = json.dumps([1])",
        "from os import path\nx = path.sep",
        "def f():\n    return 1\nf()",
        'name = "x"\ns = f"{name}"',
        "if __name__ == '__main__':\n    pass",
    ],
)
def test_autodetects_python(daemon: DaemonProcess, code: str) -> None:
    data = run_code(daemon, code)
    assert data["language"] == "python"
    assert data["exit_code"] == 0, data["output"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("code", ["console.log(40 + 2)", "const x = require('path');\nconsole.log(42)"])
def test_autodetects_node(daemon: DaemonProcess, code: str) -> None:
    data = run_code(daemon, code)
    assert data == {"output": "42\n", "exit_code": 0, "language": "node"}


@pytest.mark.skipif(shutil.which("ruby") is not None, reason="ruby is installed here")
def test_missing_interpreter_is_exit_127(daemon: DaemonProcess) -> None:
    data = run_code(daemon, "puts 1", language="ruby")
    assert data["exit_code"] == 127
    assert "ruby" in data["output"] and "not found" in data["output"]


def test_timeout(daemon: DaemonProcess) -> None:
    data = run_code(daemon, "import time\nprint('before', flush=True)\ntime.sleep(100)", timeout=1)
    assert data["exit_code"] == 137
    assert data["timed_out"] is True
    assert data["output"] == "before\n"


def test_bad_input_is_400(daemon: DaemonProcess) -> None:
    for body in ({}, {"code": "x", "language": "cobol"}, {"code": 1}):
        response = daemon.request("POST", "/run/code", json=body)
        assert response.status_code == 400
        assert response.json()["error"]
