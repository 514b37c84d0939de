"""The E2B provider against the core conformance suite, through the E2B emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_e2b import E2BEmulator

from computesdk_core import compute
from computesdk_core.testing import ConformanceSuite


class TestE2BConformance(ConformanceSuite):
    """Every conformance test, with E2B's wire format between the plugin and real local sandboxes."""

    provider = "e2b"

    @pytest.fixture(scope="class")
    @classmethod
    def emulator(cls) -> Iterator[E2BEmulator]:
        """The emulator of this class; after the suite, nothing it saw may depart from E2B's specs."""
        with E2BEmulator() as running:
            yield running
            assert running.violations == []

    @pytest.fixture(scope="class")
    @classmethod
    def compute_instance(cls, emulator: E2BEmulator) -> Any:
        """A compute instance whose ``e2b`` options point at the emulator."""
        return compute(provider="e2b", e2b=emulator.config)
