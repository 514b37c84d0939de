"""Helpers of the local provider's tests: run commands through the real daemon, poll, skip without bwrap."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import pytest
import requests

from computesdk_core.types import SandboxRecord

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
# The ``create`` fixture: keyword arguments of CreateOptions (and ``cfg``) -> the new sandbox's record.
Create = Callable[..., SandboxRecord]
# Lifetime of every test sandbox, so that a crashed run leaves nothing behind for long.
TEST_TIMEOUT = 300.0


@attrs.frozen
class Ctx:
    """What hooks on one sandbox receive (the core passes a SandboxContext with these attributes)."""

    record: SandboxRecord
    config: Mapping[str, Any]


def run(record: SandboxRecord, command: str, *, background: bool = False, timeout: float = 30) -> dict[str, Any]:
    """Run a shell command through the sandbox's daemon (POST /run/command); return the response's data."""
    response = requests.post(
        f"{record.native.url}/run/command",
        json={"command": command, "timeout": timeout, "background": background},
        headers={"Authorization": f"Bearer {record.native.token}"},
        timeout=timeout + 10,
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def ok(record: SandboxRecord, command: str) -> str:
    """Run a command that must succeed; return its stdout."""
    data = run(record, command)
    assert data["exit_code"] == 0, (command, data["stdout"], data["stderr"])
    return data["stdout"]


def healthy(url: str) -> bool:
    """Whether the daemon at ``url`` answers /health."""
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


