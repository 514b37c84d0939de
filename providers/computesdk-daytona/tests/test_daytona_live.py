"""The conformance suite against the real Daytona, only when ``DAYTONA_API_KEY`` is set.

``DAYTONA_API_URL`` and ``DAYTONA_TARGET`` are honoured as the provider does. These tests create
and destroy real sandboxes (billed to the key's organization).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from computesdk_core import compute
from computesdk_core.testing import ConformanceSuite

pytestmark = pytest.mark.skipif(not os.environ.get("DAYTONA_API_KEY"), reason="DAYTONA_API_KEY is not set")


class TestDaytonaLiveConformance(ConformanceSuite):
    """Every conformance test on Daytona's cloud (configuration from the environment)."""

    provider = "daytona"

    @pytest.fixture(scope="class")
    @classmethod
    def compute_instance(cls) -> Any:
        """A compute instance configured from Daytona's environment variables."""
        return compute(provider="daytona")
