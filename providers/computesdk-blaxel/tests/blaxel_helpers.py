"""Shared pieces of the Blaxel tests: the emulator fixture and a compute instance bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_blaxel import BlaxelEmulator

from computesdk_core import compute
from computesdk_core.testing.emulator import LocalBackend, find_vendor_specs

API_KEY = "bl_test_key_0123456789abcdef"
WORKSPACE = "computesdk-tests"
SPEC_MISSING = "shared/vendor-specs/blaxel is not on this machine: sandbox API traffic is not validated"


def start_emulator() -> BlaxelEmulator:
    """A running emulator whose sandboxes are real local sandboxes (bubblewrap)."""
    return BlaxelEmulator(API_KEY, WORKSPACE, LocalBackend()).start()  # type: ignore[return-value]


def stop_emulator(emulator: BlaxelEmulator) -> None:
    """Stop every server and destroy every sandbox left."""
    emulator.close()
    emulator.backend.close()


def blaxel_config(emulator: BlaxelEmulator, **extra: Any) -> dict[str, Any]:
    """The provider options pointing at ``emulator``."""
    return {"api_key": API_KEY, "workspace": WORKSPACE, "api_url": emulator.url, **extra}


def compute_for(emulator: BlaxelEmulator, **extra: Any) -> Any:
    """A compute instance whose provider is blaxel, talking to ``emulator``."""
    return compute(provider="blaxel", blaxel=blaxel_config(emulator, **extra))


def assert_no_violations(emulator: BlaxelEmulator) -> None:
    """Every sandbox API request and JSON answer matched the sandbox API's spec (skips without it)."""
    if find_vendor_specs() is None or not (find_vendor_specs() / "blaxel").is_dir():  # type: ignore[operator]
        pytest.skip(SPEC_MISSING)
    assert emulator.servers, "no sandbox API server was started"
    assert all(server.validating for server in emulator.servers.values())
    assert emulator.violations_everywhere == []


@pytest.fixture(scope="module")
def emulator() -> Iterator[BlaxelEmulator]:
    """One emulator for a test module."""
    server = start_emulator()
    try:
        yield server
    finally:
        stop_emulator(server)
