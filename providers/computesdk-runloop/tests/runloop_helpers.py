"""Shared pieces of the Runloop tests: the emulator fixture and a compute instance bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_runloop import RunloopEmulator

from computesdk_core import compute
from computesdk_core.testing.emulator import LocalBackend, find_vendor_specs

API_KEY = "rl_test_key_0123456789abcdef"
SPEC_MISSING = "shared/vendor-specs/runloop is not on this machine: traffic is not validated"


def start_emulator() -> tuple[RunloopEmulator, LocalBackend]:
    """A running emulator with a backend of real local sandboxes (bubblewrap)."""
    backend = LocalBackend()
    emulator = RunloopEmulator(API_KEY, backend).start()
    return emulator, backend


def stop_emulator(emulator: RunloopEmulator, backend: LocalBackend) -> None:
    """Stop serving and destroy every sandbox left."""
    emulator.stop()
    backend.close()


def runloop_config(emulator: RunloopEmulator, **extra: Any) -> dict[str, Any]:
    """The provider options pointing at ``emulator``."""
    return {"api_key": API_KEY, "api_url": emulator.url, **extra}


def compute_for(emulator: RunloopEmulator, **extra: Any) -> Any:
    """A compute instance whose provider is runloop, talking to ``emulator``."""
    return compute(provider="runloop", runloop=runloop_config(emulator, **extra))


def assert_no_violations(emulator: RunloopEmulator) -> None:
    """Every request and JSON answer matched Runloop's spec (skips when the spec is absent)."""
    if find_vendor_specs() is None or not emulator.validating:
        pytest.skip(SPEC_MISSING)
    assert emulator.violations == []


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunloopEmulator]:
    """One emulator for a test module."""
    server, backend = start_emulator()
    try:
        yield server
    finally:
        stop_emulator(server, backend)
