"""The daytona provider against the core conformance suite, through the Daytona emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_daytona import EmulatorProcess, spawn

from computesdk_core import compute
from computesdk_core.testing import ConformanceSuite


class TestDaytonaConformance(ConformanceSuite):
    """Every conformance test, with Daytona's wire format on both APIs and real local sandboxes."""

    provider = "daytona"

    @pytest.fixture(scope="class")
    @classmethod
    def daytona_emulator(cls) -> Iterator[EmulatorProcess]:
        """The emulator of this class (a child process)."""
        with spawn() as emulator:
            yield emulator

    @pytest.fixture(scope="class")
    @classmethod
    def compute_instance(cls, daytona_emulator: EmulatorProcess) -> Any:
        """A compute instance whose daytona configuration points at the emulator."""
        return compute(provider="daytona", daytona={"api_key": daytona_emulator.api_key,
                                                    "api_url": daytona_emulator.url})

    def test_zz_traffic_matched_daytonas_specs(self, daytona_emulator: EmulatorProcess, sandbox: Any) -> None:
        """Every request the plugin sent and every answer given during the suite matched Daytona's documents."""
        validating, violations = daytona_emulator.report()
        if not validating:
            pytest.skip("shared/vendor-specs/daytona is not present")
        assert violations == []
