"""The examples of docs/signals.md run against a local sandbox."""

from __future__ import annotations

import re

import pytest

from computesdk_core import compute
from tests.docs_examples import python_blocks, run_examples

pytestmark = pytest.mark.timeout(120)


def test_the_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(python_blocks("signals.md")) == 7, "docs/signals.md lost examples"
    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        run_examples("signals.md", sandbox)
        status = sandbox.signals.status().status
    finally:
        sandbox.destroy()
    printed = capsys.readouterr().out
    assert "Active: True\nStatus: active\nChannel: signals\n" in printed
    # The port the background http.server opened, signalled by the daemon by itself.
    assert re.search(r"Port \d+ open: http://127\.0\.0\.1:\d+", printed)
    assert "active\nsignals\n/ws\n" in printed
    assert "Port 3000 open: http://localhost:3000" in printed and "Port 3000 close: http://localhost:3000" in printed
    assert "Error: Database connection failed" in printed and "Error: Operation failed: disk full" in printed
    assert "Port 3000 None: http://localhost:3000" in printed  # a server-ready signal has no type
    assert "Handler 1: 4000" in printed and "Handler 2: 4000" in printed
    assert "Signal: server-ready\nPort: 4000 - http://localhost:4000\n" in printed
    assert "Signal service stopped\nFalse\n" in printed
    assert "Inside the block: seen while the block runs" in printed
    assert "Signal service stopped via namespace" in printed and status == "stopped"
    assert "Traceback" not in printed
