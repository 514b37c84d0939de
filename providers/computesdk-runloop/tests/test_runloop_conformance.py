"""The Runloop provider against the core conformance suite, through the emulator of Runloop's API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_runloop import RunloopEmulator
from runloop_helpers import assert_no_violations, compute_for, start_emulator, stop_emulator

from computesdk_core.testing import ConformanceSuite


class TestRunloopConformance(ConformanceSuite):
    """Every conformance test, on devboxes the emulator runs as local sandboxes."""

    provider = "runloop"

    @pytest.fixture(scope="class")
    @classmethod
    def runloop_emulator(cls) -> Iterator[RunloopEmulator]:
        """The emulator of this class, its traffic checked against Runloop's spec at the end."""
        server, backend = start_emulator()
        try:
            yield server
        finally:
            stop_emulator(server, backend)

    @pytest.fixture(scope="class")
    @classmethod
    def compute_instance(cls, runloop_emulator: RunloopEmulator) -> Any:
        """A compute instance bound to the emulator."""
        return compute_for(runloop_emulator)

    def test_zz_traffic_matches_the_runloop_spec(self, runloop_emulator: RunloopEmulator, sandbox: Any) -> None:
        """Every request the plugin sent during the suite, and every JSON answer, matched the spec."""
        assert_no_violations(runloop_emulator)
