"""Fixtures of the E2B provider's tests (imported by the test modules that use them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_e2b import E2BEmulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[E2BEmulator]:
    """A running E2B emulator whose sandboxes are real local sandboxes; stopped after the module."""
    with E2BEmulator() as running:
        yield running
