"""The examples of docs/servers.md run against a local sandbox."""

from __future__ import annotations

import re

import pytest

from computesdk_core import compute
from tests.docs_examples import python_blocks, run_examples

pytestmark = pytest.mark.timeout(120)


def test_the_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(python_blocks("servers.md")) == 10, "docs/servers.md lost examples"
    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        run_examples("servers.md", sandbox)
        left = sandbox.servers.list()
    finally:
        sandbox.destroy()
    printed = capsys.readouterr().out
    assert "api\nstarting\npython3 -m http.server $PORT\n" in printed
    assert ".env.production\n" in printed
    assert "Failed to start server: server 'test-server' is failed (exit code 127)" in printed
    assert "invalid-command: command not found" in printed
    assert re.search(r"Ready at http://127\.0\.0\.1:\d+", printed)
    assert "Found 3 servers" in printed and "api: ready" in printed and "test-server: failed" in printed
    assert "Server is ready at: http://127.0.0.1:" in printed and re.search(r"Process ID: \d+", printed)
    assert "Terminal: None" in printed and "Server failed, restarting..." in printed
    assert "hello from .env.production\n" in printed
    assert "Server stopped\nServer started with new configuration\nServer stopped\n" in printed
    assert "New status: starting" in printed and "All servers restarted" in printed
    assert "Servers left: 0" in printed and left == []
    assert "Traceback" not in printed
