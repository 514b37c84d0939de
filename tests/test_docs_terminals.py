"""The examples of docs/terminals.md run against a local sandbox."""

from __future__ import annotations

import re
import time

import pytest

from computesdk_core import compute
from tests.docs_examples import python_blocks, run_examples

DEADLINE = 15.0


def test_the_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(python_blocks("terminals.md")) == 6, "docs/terminals.md lost examples"
    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        run_examples("terminals.md", sandbox)
        printed = capsys.readouterr().out
        # Handlers print on the event thread, possibly after the blocks have run.
        end = time.monotonic() + DEADLINE
        while "PTY terminal destroyed" not in printed and time.monotonic() < end:
            time.sleep(0.05)
            printed += capsys.readouterr().out
        assert sandbox.terminals.list() == []
    finally:
        sandbox.destroy()
    assert "Traceback" not in printed
    assert "Output: 45" in printed and "Status: completed" in printed and "Command succeeded" in printed
    assert "Status: running" in printed and "Output: installed" in printed and "Current status: completed" in printed
    assert "Active terminals: 0" in printed
    assert re.search(r"Terminal term_\w+: running", printed) and "PTY terminal on channel: terminal:term_" in printed
    assert "Terminal destroyed" in printed and "All terminals destroyed" in printed
    assert "PTY terminal destroyed" in printed
