"""The E2B provider against the core conformance suite, through the E2B emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from e2b_emulator_process import EmulatorProcess

from computesdk_core import compute
from computesdk_core.testing import ConformanceSuite


class TestE2BConformance(ConformanceSuite):
    """Every conformance test, with E2B's wire format between the plugin and real local sandboxes.

    The emulator runs in a child process: the suite counts the threads a sandbox leaves behind,
    and the emulator's server threads are none of the client's.
    """

    provider = "e2b"

    @pytest.fixture(scope="class")
    @classmethod
    def emulator(cls) -> Iterator[EmulatorProcess]:
        """The emulator of this class; after the suite, nothing it saw may depart from E2B's specs."""
        running = EmulatorProcess().start()
        try:
            yield running
        finally:
            violations = running.stop()
        assert violations == [], violations

    @pytest.fixture(scope="class")
    @classmethod
    def compute_instance(cls, emulator: EmulatorProcess) -> Any:
        """A compute instance whose ``e2b`` options point at the emulator."""
        return compute(provider="e2b", e2b=emulator.config)
