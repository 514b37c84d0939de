"""The conformance suite against the real Runloop API: runs only when RUNLOOP_API_KEY is set."""

from __future__ import annotations

import os

import pytest

from computesdk_core.testing import ConformanceSuite


@pytest.mark.skipif(not os.environ.get("RUNLOOP_API_KEY"), reason="RUNLOOP_API_KEY is not set: no live Runloop tests")
class TestRunloopLive(ConformanceSuite):
    """Every conformance test on real devboxes (they cost money; each lives at most 10 minutes)."""

    provider = "runloop"
    work_root = "/home/user"
