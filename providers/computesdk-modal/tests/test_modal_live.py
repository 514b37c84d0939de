"""Against the real Modal, only when MODAL_TOKEN_ID and MODAL_TOKEN_SECRET are set (never here: no network)."""

from __future__ import annotations

import os

import pytest

from computesdk_core import compute
from computesdk_core.testing import ConformanceSuite

LIVE = bool(os.environ.get("MODAL_TOKEN_ID") and os.environ.get("MODAL_TOKEN_SECRET"))
pytestmark = pytest.mark.skipif(not LIVE, reason="MODAL_TOKEN_ID and MODAL_TOKEN_SECRET are not set: no live Modal tests")


def test_live_create_run_files_tunnel_snapshot_and_destroy() -> None:
    """A real sandbox streams a command, keeps a file, has a tunnel, snapshots, and is gone after destroy."""
    modal = compute(provider="modal")
    chunks: list[str] = []
    with modal.sandbox.create(timeout=300, ports=[3000], metadata={"purpose": "computesdk-live-test"}) as sandbox:
        result = sandbox.run_command("echo live; echo err >&2; exit 2", timeout=60, on_stdout=chunks.append)
        assert (result.stdout, result.stderr, result.exit_code) == ("live\n", "err\n", 2)
        assert "".join(chunks) == "live\n"
        sandbox.filesystem.write_file("/tmp/computesdk-live.txt", "hello")
        assert sandbox.filesystem.read_file("/tmp/computesdk-live.txt") == "hello"
        assert sandbox.get_url(3000).startswith("https://")
        snapshot = modal.snapshot.create(sandbox.sandbox_id)
        assert snapshot.id.startswith("im-")
        sandbox_id = sandbox.sandbox_id
    assert modal.sandbox.get_by_id(sandbox_id) is None


class TestModalLive(ConformanceSuite):
    """Every conformance test on real Modal sandboxes (they cost money; each lives at most 10 minutes).

    Modal's tunnel hosts do not contain the port number, so the get_url conformance test may fail live.
    """

    provider = "modal"
    create_options = {"ports": [3000, 8080]}
