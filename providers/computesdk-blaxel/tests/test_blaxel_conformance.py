"""The Blaxel provider against the core conformance suite, through the emulator of both Blaxel APIs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from blaxel_helpers import assert_no_violations, compute_for, start_emulator, stop_emulator
from emulator_blaxel import BlaxelEmulator

from computesdk_core.testing import ConformanceSuite


class TestBlaxelConformance(ConformanceSuite):
    """Every conformance test, on sandboxes the emulator runs as local sandboxes."""

    provider = "blaxel"

    @pytest.fixture(scope="class")
    @classmethod
    def blaxel_emulator(cls) -> Iterator[BlaxelEmulator]:
        """The emulator of this class; its sandbox API traffic is checked against the spec at the end."""
        server = start_emulator()
        try:
            yield server
        finally:
            stop_emulator(server)

    @pytest.fixture(scope="class")
    @classmethod
    def compute_instance(cls, blaxel_emulator: BlaxelEmulator) -> Any:
        """A compute instance bound to the emulator."""
        return compute_for(blaxel_emulator)

    def test_zz_traffic_matches_the_sandbox_api_spec(self, blaxel_emulator: BlaxelEmulator, sandbox: Any) -> None:
        """Every sandbox API request the plugin sent during the suite, and every JSON answer, matched the spec."""
        assert_no_violations(blaxel_emulator)
