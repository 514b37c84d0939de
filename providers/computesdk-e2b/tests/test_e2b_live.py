"""Against the real E2B, only when E2B_API_KEY is set (never in CI here: there is no network)."""

from __future__ import annotations

import os

import pytest

from computesdk_core import compute

pytestmark = pytest.mark.skipif(not os.environ.get("E2B_API_KEY"), reason="E2B_API_KEY is not set")


def test_live_create_run_files_and_destroy() -> None:
    """A real sandbox runs a command, streams it, keeps a file and is gone after destroy."""
    e2b = compute(provider="e2b")
    chunks: list[str] = []
    with e2b.sandbox.create(timeout=120, metadata={"purpose": "computesdk-live-test"}) as sandbox:
        result = sandbox.run_command("echo live; echo err >&2; exit 2", timeout=60, on_stdout=chunks.append)
        assert (result.stdout, result.stderr, result.exit_code) == ("live\n", "err\n", 2)
        assert "".join(chunks) == "live\n"
        sandbox.filesystem.write_file("/tmp/computesdk-live.txt", "hello")
        assert sandbox.filesystem.read_file("/tmp/computesdk-live.txt") == "hello"
        assert sandbox.get_url(3000).startswith(f"https://3000-{sandbox.sandbox_id}.")
        sandbox_id = sandbox.sandbox_id
    assert e2b.sandbox.get_by_id(sandbox_id) is None
