"""Fixtures of the daytona provider's tests: one emulator (control plane + toolbox) per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_daytona import EmulatorProcess, spawn


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    """A Daytona emulator in a child process; its local sandboxes go when the module ends."""
    with spawn() as running:
        yield running
