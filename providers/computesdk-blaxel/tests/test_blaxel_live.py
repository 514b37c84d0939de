"""The conformance suite against the real Blaxel API: runs only when BL_API_KEY and BL_WORKSPACE are set."""

from __future__ import annotations

import os

import pytest

from computesdk_core.testing import ConformanceSuite


@pytest.mark.skipif(not (os.environ.get("BL_API_KEY") and os.environ.get("BL_WORKSPACE")),
                    reason="BL_API_KEY and BL_WORKSPACE are not set: no live Blaxel tests")
class TestBlaxelLive(ConformanceSuite):
    """Every conformance test on real sandboxes (they cost money; each lives at most 10 minutes)."""

    provider = "blaxel"
    work_root = "/tmp"
